"""Neural Playground: watch neural networks learn by gradient descent.

Python API::

    from playground import Experiment, load
    exp = Experiment.from_spec("spec.json")
    exp.train(steps=1000)
"""

from __future__ import annotations

__version__ = "0.1.0"

from playground._numba_cache import install_cache_locator

install_cache_locator()  # before any @njit(cache=True) module is imported

from playground.errors import DataError, PlaygroundError, SessionError, SpecError  # noqa: E402
from playground.spec import ExperimentSpec  # noqa: E402


def __getattr__(name):
    # Lazy: `import playground` stays cheap (the CLI and the app import what they need).
    if name == "Experiment":
        from playground.experiment import Experiment

        return Experiment
    if name == "load":
        from playground.session import load

        return load
    raise AttributeError(name)


__all__ = [
    "Experiment",
    "ExperimentSpec",
    "load",
    "PlaygroundError",
    "SpecError",
    "DataError",
    "SessionError",
    "__version__",
]
