"""Inverted dropout after a layer's activation (``torch.nn.Dropout``), keyed by (seed, step,
layer, row, unit) so a run is reproducible however it is split. ``mask_np`` is the twin."""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.jit import JIT_INLINE
from playground.engine.rng import dropout_uniform, dropout_uniform_np


@njit(**JIT_INLINE)
def apply(a, mask, off, rows, width, p, layer, base):
    """a[off:] *= mask, mask = 1/(1-p) where the draw is >= p, else 0 (stored in mask)."""
    keep_scale = 1.0 / (1.0 - p)
    for i in range(rows):
        r = off + i * width
        for j in range(width):
            mk = keep_scale if dropout_uniform(base, layer, i, j) >= p else 0.0
            mask[r + j] = mk
            a[r + j] *= mk


def mask_np(drop_key: int, step: int, layer: int, rows: int, units: int, p: float) -> np.ndarray:
    u = dropout_uniform_np(drop_key, step, layer, rows, units)
    return np.where(u >= p, 1.0 / (1.0 - p), 0.0)
