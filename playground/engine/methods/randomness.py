"""Counter-based random numbers for the stochastic methods (``engine/rng.py``'s splitmix64):
every draw is a pure function of (stream key, counter, index), so a run does not depend on
how its steps are split into calls, and a resumed session draws the same numbers."""

from __future__ import annotations

import numpy as np

from playground.engine.rng import derive_key, splitmix64_np

ANNEALING_TAG = 0x414E4E45414C
GENETIC_TAG = 0x47454E4554
CMAES_TAG = 0x434D414553


def stream_key(seed: int, tag: int) -> np.uint64:
    return np.uint64(derive_key(seed, tag))


def uniforms(key: np.uint64, counter: int, n: int, offset: int = 0) -> np.ndarray:
    """n uniforms in [0, 1) for (key, counter), indices offset .. offset + n - 1."""
    base = splitmix64_np(np.uint64(key) ^ splitmix64_np(np.uint64(counter)))
    idx = np.arange(offset, offset + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = splitmix64_np(base + idx)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normals(key: np.uint64, counter: int, n: int, offset: int = 0) -> np.ndarray:
    """n standard normals (Box-Muller on pairs of uniforms) for (key, counter)."""
    u = uniforms(key, counter, 2 * n, 2 * offset)
    return np.sqrt(-2.0 * np.log1p(-u[0::2])) * np.cos(2.0 * np.pi * u[1::2])
