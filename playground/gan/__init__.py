"""GAN mode: a generator and a discriminator, two dense networks trained against each other
on 2-D points (docs/GAN.md).

``spec.py`` the GanSpec (JSON, validated with field paths); ``data.py`` the real points;
``kernels.py`` the numba kernels (many iterations per call) and ``reference.py`` their numpy
twin; ``model.py`` GanTrainer, the Python API; ``metrics.py`` modes covered, distance,
collapse; ``session.py`` exact save / resume; ``bench.py`` BENCHMARKS.md's W6.
"""

from playground.gan.model import GanTrainer, RunReport, StepResult
from playground.gan.spec import GanSpec, default_gan_spec

__all__ = ["GanSpec", "GanTrainer", "RunReport", "StepResult", "default_gan_spec"]
