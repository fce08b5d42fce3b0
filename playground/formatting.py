"""How numbers read in text meant for people: tables, chart labels, legends, progress lines.

One place, so a sweep table, an SVG chart and a race legend show the same value the same way.

>>> fmt(0.012345), fmt(10), fmt(None), fmt(float("nan"))
('0.0123', '10', '–', '–')
"""

from __future__ import annotations

import math

MISSING = "\u2013"  # an en dash: no value (never run, diverged, not finite)


def fmt(v) -> str:
    """A value for a label: floats to 3 significant digits, a dash for None/NaN/inf."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return MISSING
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
