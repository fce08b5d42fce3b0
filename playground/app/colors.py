"""The shared palette: TensorFlow Playground's orange / blue diverging colours and class colours.

Negative values (and class 0) are orange, positive values (and class 1) blue, zero a light
neutral grey, exactly as TF Playground paints its heatmaps. In the dark theme zero is a dark
grey instead (:func:`set_dark`, called by ``theme.apply_theme``), so neuron pictures, feature
icons and data thumbnails follow the theme. Every view uses these helpers so a colour means
the same thing everywhere in the app.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPalette

ORANGE = "#f59322"
BLUE = "#0877bd"
NEUTRAL = "#e8eaeb"  # zero on the light theme (TF Playground's)
NEUTRAL_DARK = "#3a3f47"  # zero on the dark theme: a step above its panels, far from orange and blue
ERROR_RED = "#d93025"

# Class colours: TF Playground's orange (class 0) and blue (class 1), then distinct hues that
# stay readable on light and dark backgrounds.
CLASS_COLORS = (
    ORANGE,
    BLUE,
    "#3fa34d",
    "#c2417b",
    "#8e6ccf",
    "#d4b21f",
    "#17a2b8",
    "#8c564b",
    "#7f7f7f",
    "#a5b82c",
)

_LUT_SIZE = 256


def _rgb(hex_color: str) -> np.ndarray:
    c = QColor(hex_color)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float64)


_dark = False
_luts: dict[tuple[int, str], np.ndarray] = {}


def set_dark(dark: bool) -> None:
    """Zero's colour for the theme: light grey (light theme) or dark grey (dark theme)."""
    global _dark
    _dark = bool(dark)


def neutral() -> str:
    """The colour of zero (and of "no data") in the current theme."""
    return NEUTRAL_DARK if _dark else NEUTRAL


def diverging_lut(n: int = _LUT_SIZE, neutral_color: str | None = None) -> np.ndarray:
    """(n, 4) uint8 RGBA table from orange (-1) through neutral (0) to blue (+1); the neutral of
    the current theme unless one is given. Tables are cached (callers must not modify them)."""
    mid_color = neutral_color or neutral()
    key = (n, mid_color)
    if key not in _luts:
        t = np.linspace(-1.0, 1.0, n)[:, None]
        lo, mid, hi = _rgb(ORANGE), _rgb(mid_color), _rgb(BLUE)
        rgb = np.where(t < 0, mid + (lo - mid) * (-t), mid + (hi - mid) * t)
        rgba = np.empty((n, 4), dtype=np.uint8)
        rgba[:, :3] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
        rgba[:, 3] = 255
        _luts[key] = rgba
    return _luts[key]


def values_to_rgba(values: np.ndarray, vmin: float = -1.0, vmax: float = 1.0) -> np.ndarray:
    """Map values (any shape) to uint8 RGBA (shape + (4,)) on the diverging scale; NaN -> neutral."""
    v = np.asarray(values, dtype=np.float64)
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.nan_to_num((v - vmin) / span, nan=0.5, posinf=1.0, neginf=0.0)
    idx = np.clip((t * (_LUT_SIZE - 1)).round(), 0, _LUT_SIZE - 1).astype(np.intp)
    return diverging_lut()[idx]


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """An (h, w, 4) uint8 RGBA array -> a QImage that owns a copy of the pixels."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    img = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    return img.copy()  # detach from the numpy buffer


def heatmap_image(values: np.ndarray, vmin: float = -1.0, vmax: float = 1.0) -> QImage:
    """A 2-D array (row 0 = lowest y) -> QImage with y pointing up, on the diverging scale."""
    return rgba_to_qimage(values_to_rgba(np.asarray(values)[::-1], vmin, vmax))


def signed_color(value: float, alpha: float = 1.0) -> QColor:
    """Blue for positive, orange for negative values (weights, biases)."""
    c = QColor(BLUE if value >= 0 else ORANGE)
    c.setAlphaF(float(min(1.0, max(0.0, alpha))))
    return c


def class_color(k: int) -> QColor:
    return QColor(CLASS_COLORS[int(k) % len(CLASS_COLORS)])


def class_colors_rgba(labels: np.ndarray) -> np.ndarray:
    """(n,) class indices -> (n, 4) uint8 RGBA."""
    table = np.array([[*_rgb(c), 255] for c in CLASS_COLORS], dtype=np.uint8)
    return table[np.asarray(labels, dtype=np.intp) % len(CLASS_COLORS)]


def text_color(palette: QPalette, dim: bool = False) -> QColor:
    """Text colour of the current theme; ``dim`` gives a softer secondary shade."""
    c = QColor(palette.color(QPalette.ColorRole.WindowText))
    if dim:
        c.setAlphaF(0.6)
    return c


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """Blend a -> b by t in [0, 1] (for theme-aware fills between text and window colours)."""
    t = float(min(1.0, max(0.0, t)))
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        a.alphaF() + (b.alphaF() - a.alphaF()) * t,
    )


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def diverging_colormap():
    """The same orange-neutral-blue scale as a pyqtgraph ColorMap (for ImageItem heatmaps)."""
    import pyqtgraph as pg  # imported lazily: widgets that only paint with QPainter do not need it

    return pg.ColorMap([0.0, 0.5, 1.0], [QColor(ORANGE), QColor(neutral()), QColor(BLUE)])


__all__ = [
    "ORANGE",
    "BLUE",
    "NEUTRAL",
    "NEUTRAL_DARK",
    "set_dark",
    "neutral",
    "ERROR_RED",
    "CLASS_COLORS",
    "diverging_lut",
    "values_to_rgba",
    "rgba_to_qimage",
    "heatmap_image",
    "signed_color",
    "class_color",
    "class_colors_rgba",
    "text_color",
    "mix",
    "is_dark",
    "diverging_colormap",
]
