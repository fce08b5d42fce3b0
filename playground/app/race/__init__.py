"""Race mode: several variants of one experiment trained side by side, from the same start.

- :mod:`.controller`: :class:`RaceController`, the GUI-side owner (members, live histories, thread);
- :mod:`.worker`: :class:`RaceWorker`, which trains every member round-robin in that thread;
- :mod:`.view`: :class:`RaceView`, the overlaid curves, per-variant boundaries and summary table;
- :mod:`.dialog`: :class:`RaceDialog`, Race > Race Variants…;
- :mod:`.mode`: :class:`RaceMode`, what entering and leaving the mode does to the main window,
  and lessons (a lesson of several variants is a race).

Building a race (overrides, shared initial weights, targets) is core code: ``playground.variants``.
"""
