"""Counter-based random numbers (splitmix64) shared by the kernels and their twins.

Shuffles and dropout masks are pure functions of (seed, epoch) and (seed, step, layer,
row, unit): no hidden generator state, so results do not depend on how steps are split
into kernel calls, and a resumed session continues exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.jit import JIT_INLINE

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
SHUFFLE_TAG = 0x5348554646
DROPOUT_TAG = 0x44524F50


@njit(**JIT_INLINE)
def splitmix64(x):
    z = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**JIT_INLINE)
def to_unit(h):
    """uint64 -> float in [0, 1) with 53 random bits."""
    return np.float64(h >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(**JIT_INLINE)
def epoch_permutation(key, epoch, perm):
    """Fisher-Yates shuffle of 0..n-1 into perm, keyed by (key, epoch)."""
    n = perm.shape[0]
    for i in range(n):
        perm[i] = i
    h = splitmix64(np.uint64(key) ^ splitmix64(np.uint64(epoch)))
    for i in range(n - 1, 0, -1):
        h = splitmix64(h)
        j = np.int64(h % np.uint64(i + 1))
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t


@njit(**JIT_INLINE)
def dropout_base(key, step):
    return splitmix64(np.uint64(key) ^ splitmix64(np.uint64(step)))


@njit(**JIT_INLINE)
def dropout_uniform(base, layer, row, unit):
    c = (np.uint64(layer) << np.uint64(48)) + (np.uint64(row) << np.uint64(24)) + np.uint64(unit)
    return to_unit(splitmix64(base + c))


def derive_key(seed: int, tag: int) -> int:
    """A 64-bit stream key from the experiment seed and a purpose tag."""
    return int(splitmix64_np(np.uint64(seed % 2**64) ^ np.uint64(tag)))


# ----------------------------------------------------------------------------- numpy twins


def splitmix64_np(x):
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def epoch_permutation_np(key: int, epoch: int, n: int) -> np.ndarray:
    perm = np.arange(n, dtype=np.int64)
    h = splitmix64_np(np.uint64(key) ^ splitmix64_np(np.uint64(epoch)))
    for i in range(n - 1, 0, -1):
        h = splitmix64_np(h)
        j = int(h % np.uint64(i + 1))
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def dropout_uniform_np(key: int, step: int, layer: int, rows: int, units: int) -> np.ndarray:
    base = splitmix64_np(np.uint64(key) ^ splitmix64_np(np.uint64(step)))
    r = np.arange(rows, dtype=np.uint64)[:, None] << np.uint64(24)
    u = np.arange(units, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        c = (np.uint64(layer) << np.uint64(48)) + r + u
        h = splitmix64_np(base + c)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
