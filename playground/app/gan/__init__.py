"""GAN mode: a generator and a discriminator trained against each other on 2-D points, live.

- :mod:`.controller`: :class:`GanController`, the GUI-side owner (spec, worker thread);
- :mod:`.worker`: :class:`GanWorker`, which trains the GanTrainer in that thread and sends
  :class:`GanSnapshot`\\ s;
- :mod:`.view`: :class:`GanView`, the plane (heatmap, samples, arrows, warped grid, modes),
  both losses, the fit, step-by-step buttons and painting.

The numbers are core code: ``playground.gan`` (docs/GAN.md).
"""
