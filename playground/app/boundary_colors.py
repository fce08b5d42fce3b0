"""Colours of a decision boundary, shared by the boundary panel and the race's thumbnails.

Binary classification: TF Playground's orange ↔ neutral ↔ blue scale with the two class
target codes as fixed levels (the neutral middle is the decision threshold); multi-class: one
colour per class, intensity by confidence. Colours mix towards the theme's neutral so the
data points on top stay visible.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg

from playground.engine.losses import target_codes

from .colors import CLASS_COLORS, neutral, values_to_rgba

HEATMAP_STRENGTH = 0.78  # blend the heatmap towards neutral so the points stay visible


def _neutral_rgb() -> np.ndarray:
    """The current theme's zero colour (``colors.neutral``), read at draw time."""
    return np.array(pg.mkColor(neutral()).getRgb()[:3], dtype=np.float64)


def _mix_neutral(rgb: np.ndarray, strength: float = HEATMAP_STRENGTH) -> np.ndarray:
    mid = _neutral_rgb()
    return mid + (rgb - mid) * strength


def output_levels(loss: str, output_activation: str) -> tuple[float, float]:
    """The fixed colour range of a single-output network: its two class target codes, so the
    neutral middle is where accuracy changes class (``losses.decision_threshold``)."""
    if output_activation == "softmax":
        return (0.0, 1.0)
    return target_codes(loss, output_activation)


@functools.lru_cache(maxsize=8)
def _binary_lut(discretize: bool, neutral_color: str) -> np.ndarray:
    """``binary_lut`` of the current theme, cached per theme: ``neutral_color`` (the caller
    passes ``colors.neutral()``) is only the cache key; the table reads the theme itself."""
    return binary_lut(discretize)


def binary_lut(discretize: bool, n: int = 256) -> np.ndarray:
    """(n, 4) uint8 lookup table of the binary heatmap: the diverging scale mixed towards neutral
    (a hard orange / blue split when discretized). The image then takes the raw outputs with
    fixed levels, and pyqtgraph maps them through this table in C."""
    t = np.linspace(-1.0, 1.0, n)
    if discretize:
        t = np.where(t > 0, 1.0, -1.0)
    rgba = values_to_rgba(t, -1.0, 1.0).astype(np.float64)
    rgba[:, :3] = _mix_neutral(rgba[:, :3])
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


def classification_rgba(out: np.ndarray, loss: str, output_activation: str, discretize: bool) -> np.ndarray:
    """(r, r, n_out) outputs -> (r, r, 4) uint8 colours (binary diverging or per-class)."""
    if out.shape[-1] == 1 or out.shape[-1] == 2:
        v = out[..., -1]
        lo, hi = output_levels(loss, output_activation if out.shape[-1] == 1 else "softmax")
        if discretize:
            v = np.where(v > (lo + hi) / 2, hi, lo)
        rgba = values_to_rgba(v, lo, hi).astype(np.float64)
        rgba[..., :3] = _mix_neutral(rgba[..., :3])
        return rgba.astype(np.uint8)
    k = out.shape[-1]
    cls = np.argmax(out, axis=-1)
    table = np.array([pg.mkColor(c).getRgb()[:3] for c in CLASS_COLORS], dtype=np.float64)
    rgb = table[cls % len(table)]
    if discretize:
        conf = np.ones(cls.shape)
    else:
        p = np.max(out, axis=-1)
        conf = np.clip((p - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    mid = _neutral_rgb()
    rgb = mid + (rgb - mid) * (0.25 + 0.75 * conf[..., None]) * HEATMAP_STRENGTH
    rgba = np.empty(cls.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = np.clip(rgb, 0, 255)
    rgba[..., 3] = 255
    return rgba
