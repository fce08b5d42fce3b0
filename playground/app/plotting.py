"""Plotting helpers for every live view (the plots panel, the race): items created once, curves fed
from preallocated min/max envelopes, ranges set by the view.

The plots panel (:mod:`playground.app.panels.plots`) redraws from a QTimer only when the
history changed, never once per training step. Curves use pen width 1, no antialiasing, and
pre-reduced data so long runs stay cheap.

What made frames expensive, and what replaced it (the GUI thread shares the GIL with the trainer,
so every millisecond painted here is one the trainer may wait for):

- pyqtgraph's axis grid is drawn by the axis items over the whole view box, so every curve update
  repainted both axes (~3 ms per plot per frame): the grid is one cheap "pairs" curve instead
  (:class:`GridLines`), and the axes repaint only when the range changes;
- auto-range recomputed bounds and moved the axes on every frame: ranges follow the data at a
  few Hz (:data:`RANGE_INTERVAL_S`), the epoch axis to round numbers past the data, until the
  user pans or zooms (a double-click resumes following);
- pyqtgraph's clip-to-view and downsampling rescanned every curve's whole history each frame:
  each curve keeps an incremental min/max :class:`PeakEnvelope` (a few hundred points, the raw
  envelope intact) fed straight to its PlotCurveItem (:class:`EnvelopeCurve`); a zoomed-in view
  reduces just its visible range;
- axes, title, legend, grid and event markers keep a pixmap cache (curve updates repaint the
  region they overlap: a blit instead of their Python ``paint``).
- legends sit in the title row, never over the curves (:func:`fit_legend` gives the row the
  height the legend needs when the plot is narrow);
- empty plots show a one-epoch axis (:data:`EMPTY_X`), and after a divergence the ranges follow
  only what is readable: values many times (linear) or decades (log) beyond where a curve started
  are left off the top (:func:`readable_range`), so no axis ever reads "4e+153".

The race view builds its plots from the same helpers (:func:`new_plot`, :func:`add_curve`,
:func:`set_curve`, :func:`readable_range`).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from . import theme

EMA_ALPHA = 0.1  # weight of the newest point in the smoothed loss
LOG_FLOOR = 1e-300
X_HEADROOM = 1.05  # the epoch axis ends at a round number past the data (nice_end): it moves rarely
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
ENVELOPE_BUCKETS = 512  # a curve draws at most ~2 points per bucket: far more than its pixels
EMPTY_X = (0.0, 1.0)  # the x axis (epochs) before any data: a whole epoch, not 0.0002 ticks
EMPTY_Y = {"linear": (0.0, 1.0), "log": (-3.0, 1.0)}  # y before any data (log: decades 1e-3..10)
LINEAR_CAP = 10.0  # a linear axis shows values up to this many times where the curve started
LOG_CAP_DECADES = 6.0  # a log axis shows at most this many decades above the start...
LOG_FLOOR_DECADES = 15.0  # ...and this many below it
DRAW_CAP = 1e6  # drawn points are clamped to this many times the start: far off-screen, finite
TITLE_H = 30  # pyqtgraph's title row height
LEGEND_ROW_H = 20  # one row of legend entries


def nice_end(v: float) -> float:
    """The smallest round number (NICE_STEPS x 10^k) >= v: ~10 axis changes per decade of epochs
    (each one re-lays the axis out and rebuilds the grid), and stable tick labels in between."""
    if not math.isfinite(v) or v <= 1e-6:
        return EMPTY_X[1]
    scale = 10.0 ** math.floor(math.log10(v))
    return next((m * scale for m in NICE_STEPS if m * scale >= v * (1 - 1e-12)), 10.0 * scale)


EMA_LAG_FRACTION = 0.05  # early on, the average spans at most this share of the rows so far


def ema(
    values: np.ndarray, alpha: float = EMA_ALPHA, start: float = np.nan, first_row: int | None = None
) -> np.ndarray:
    """Exponential moving average that skips NaN and infinities (they stay NaN, the average carries over).

    With ``first_row`` (the index of ``values[0]`` in its series) the weight of row ``i`` is
    ``max(alpha, 1 / (EMA_LAG_FRACTION * (i + 1)))``: the average never spans more than ~5% of
    the rows so far, so a short history (a slow network, a few rows an epoch) is drawn as it
    is, not as a curve lagging far behind the numbers shown; from 200 rows on it is ``alpha``.
    The weight depends on the row index only, so the average stays incremental."""
    out = np.empty_like(values)
    acc = start if math.isfinite(start) else math.nan
    for i, v in enumerate(values.tolist()):
        if math.isfinite(v):
            a = alpha
            if first_row is not None:
                a = max(alpha, min(1.0, 1.0 / (EMA_LAG_FRACTION * (first_row + i + 1))))
            acc = v if acc != acc or a >= 1.0 else acc + a * (v - acc)
            out[i] = acc
        else:
            out[i] = np.nan
    return out


class PeakEnvelope:
    """One curve's data reduced to at most ``2 * buckets`` points (+ a short raw tail), incrementally.

    Every bucket of ``width`` consecutive rows keeps its minimum and its maximum at their own x, so
    the raw min/max envelope (spikes included) stays visible however long the run. New rows are
    folded in as they arrive; when there are too many buckets, pairs merge and the width doubles
    (O(buckets), rarely). Short series pass through untouched. The history may be decimated by the
    core (it shrinks, or its rows move): that is detected and the envelope is rebuilt once.
    """

    def __init__(self, buckets: int = ENVELOPE_BUCKETS):
        self.max_buckets = int(buckets)
        self.reset()

    def reset(self) -> None:
        self.width = 0  # rows per bucket; 0: no buckets yet (the series is short, drawn raw)
        self.done = 0  # rows folded into buckets
        self.k = 0
        cap = self.max_buckets + 1
        self._xlo, self._lo = np.empty(cap), np.empty(cap)
        self._xhi, self._hi = np.empty(cap), np.empty(cap)
        self._mark = (math.nan, math.nan)  # (x, y) of row done - 1: detects a rewritten history

    def update(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = min(len(x), len(y))
        if self.done and (n < self.done or not self._same_mark(x, y)):
            self.reset()
        if self.width == 0:
            if n <= 2 * self.max_buckets:
                return x[:n], y[:n]
            self.width = 1 << max(0, math.ceil(math.log2(n / self.max_buckets)))
        while True:
            m = min((n - self.done) // self.width, self.max_buckets + 1 - self.k)
            if m > 0:
                self._fold(x, y, m)
            if self.k <= self.max_buckets and (n - self.done) < self.width:
                break
            self._merge_pairs()
        if self.done:
            self._mark = (float(x[self.done - 1]), float(y[self.done - 1]))
        return self._points(x[self.done : n], y[self.done : n])

    def _same_mark(self, x: np.ndarray, y: np.ndarray) -> bool:
        mx, my = self._mark
        vx, vy = float(x[self.done - 1]), float(y[self.done - 1])
        return vx == mx and (vy == my or (vy != vy and my != my))

    def _fold(self, x: np.ndarray, y: np.ndarray, m: int) -> None:
        w, s = self.width, self.done
        e = s + m * w
        ys = np.asarray(y[s:e], dtype=np.float64).reshape(m, w)
        xs = np.asarray(x[s:e], dtype=np.float64).reshape(m, w)
        finite = np.isfinite(ys)
        ilo = np.where(finite, ys, np.inf).argmin(axis=1)
        ihi = np.where(finite, ys, -np.inf).argmax(axis=1)
        r = np.arange(m)
        k = self.k
        self._lo[k : k + m], self._xlo[k : k + m] = ys[r, ilo], xs[r, ilo]
        self._hi[k : k + m], self._xhi[k : k + m] = ys[r, ihi], xs[r, ihi]
        empty = ~finite.any(axis=1)
        if empty.any():  # no finite value: the bucket is a gap in the line
            idx = k + np.flatnonzero(empty)
            self._lo[idx] = self._hi[idx] = np.nan
        self.k += m
        self.done = e

    def _merge_pairs(self) -> None:
        k = self.k
        if k % 2:  # the odd last bucket goes back to the raw tail and is folded again
            k -= 1
            self.done -= self.width
        half = k // 2
        for pos, val, better in ((self._xlo, self._lo, np.less), (self._xhi, self._hi, np.greater)):
            a, b = val[0:k:2].copy(), val[1:k:2].copy()
            pa, pb = pos[0:k:2].copy(), pos[1:k:2].copy()
            take_b = better(b, a) | (np.isnan(a) & ~np.isnan(b))
            val[:half] = np.where(take_b, b, a)
            pos[:half] = np.where(take_b, pb, pa)
        self.k = half
        self.width *= 2

    def _points(self, tail_x: np.ndarray, tail_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k, t = self.k, len(tail_x)
        xlo, lo, xhi, hi = self._xlo[:k], self._lo[:k], self._xhi[:k], self._hi[:k]
        lo_first = xlo <= xhi
        px, py = np.empty(2 * k + t), np.empty(2 * k + t)
        px[0 : 2 * k : 2] = np.where(lo_first, xlo, xhi)
        py[0 : 2 * k : 2] = np.where(lo_first, lo, hi)
        px[1 : 2 * k : 2] = np.where(lo_first, xhi, xlo)
        py[1 : 2 * k : 2] = np.where(lo_first, hi, lo)
        px[2 * k :], py[2 * k :] = tail_x, tail_y
        return px, py


def _pen(color: str, alpha: int = 255, style=Qt.PenStyle.SolidLine):
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=1, style=style)


def readable_number(v: float, places: int) -> str:
    """A tick label a person reads at a glance: 12,500 -> "12.5k", 2,000,000 -> "2M" (never
    "1.5e+06"); below 10,000 with ``places`` decimals, as pyqtgraph does."""
    a = abs(v)
    if a >= 1e4:
        for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if a >= factor:
                text = f"{v / factor:.3g}"
                return (text if "e" not in text else f"{v / factor:,.0f}") + suffix
    if places > 6:  # ticks 1e-7 apart: "3e-7", not seven zeros
        return "0" if v == 0 else f"{v:.2g}".replace("e-0", "e-")
    return f"{v:.{places}f}"


_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


MAX_LOG_MINOR_LABELS = 6  # more minor ticks than this on a log axis: label 1, 2 and 5 only


def _log_digit(exponent: float) -> int:
    """The leading digit of 10**exponent (1 at a decade, 2..9 between)."""
    return round(10.0 ** (exponent - math.floor(exponent + 1e-9)))


def decade_label(exponent: float) -> str:
    """A log axis' label at 10**exponent: plain from 0.01 to 1000 ("0.01", "1", "100"), a
    power of ten beyond ("10⁻⁵", "10⁶"), so one axis never mixes "0.0001" with "10⁻⁵"."""
    e = round(exponent)
    digit = 1
    if abs(exponent - e) > 1e-9:  # a minor tick between decades (2, 3 ... 9 x 10^n)
        e = math.floor(exponent)
        digit = round(10.0 ** (exponent - e))
    if -2 <= e <= 3:
        return f"{digit * 10.0**e:.{max(0, -e)}f}"
    power = "10" + str(e).translate(_SUPERSCRIPT)
    return power if digit == 1 else f"{digit}\u00b7{power}"


class ReadableAxis(pg.AxisItem):
    """An axis whose linear tick labels read "500k", "1.5M" instead of "1.5e+06", and whose
    log labels follow one rule (:func:`decade_label`)."""

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            if scale <= 0:
                return ["" for _ in values]
            labels = [decade_label(v + math.log10(scale)) for v in values]
            if len(values) > MAX_LOG_MINOR_LABELS:  # 2..9 between decades: "2" and "5" only
                keep = [_log_digit(v + math.log10(scale)) in (1, 2, 5) for v in values]
                labels = [t if k else "" for t, k in zip(labels, keep, strict=True)]
            return labels
        if spacing * scale <= 0:
            return super().tickStrings(values, scale, spacing)
        places = max(0, math.ceil(-math.log10(spacing * scale)))
        return [readable_number(v * scale, places) for v in values]


def new_plot(title: str, y_label: str, x_label: str = "epoch", log_y: bool = False) -> pg.PlotWidget:
    """A live plot: title (left), axis labels, no pyqtgraph clip / downsampling / autorange
    (curves come reduced by :class:`PeakEnvelope`, ranges are set by the caller), an empty
    range that reads well (:data:`EMPTY_X`, :data:`EMPTY_Y`), themed."""
    w = pg.PlotWidget(axisItems={"bottom": ReadableAxis("bottom"), "left": ReadableAxis("left")})
    w.setAntialiasing(False)
    p = w.getPlotItem()
    p.setTitle(title, size="10pt", justify="left")
    p.setLabel("bottom", x_label)
    p.setLabel("left", y_label)
    # curves get data already reduced by PeakEnvelope: pyqtgraph's own clip / downsampling would
    # only rescan it every frame
    p.setClipToView(False)
    p.setDownsampling(ds=1, auto=False)
    p.setMenuEnabled(True)
    p.hideButtons()
    p.setLogMode(y=log_y)
    vb = p.getViewBox()
    vb.setMouseEnabled(x=True, y=False)
    vb.disableAutoRange()
    vb.setRange(xRange=EMPTY_X, yRange=empty_y(log_y), padding=0)
    theme.style_plot(p, grid=False)
    w.setMinimumSize(220, 150)
    return w


def empty_y(log: bool) -> tuple[float, float]:
    """The y range of a plot without data (view coordinates: decades on a log axis)."""
    return EMPTY_Y["log" if log else "linear"]


CACHED = QGraphicsItem.CacheMode.DeviceCoordinateCache


def cache_decorations(plot: pg.PlotWidget) -> None:
    """Axes, title and legend keep a pixmap of themselves (repainted only when they change).

    Every curve update repaints the scene region it covers, which reaches into the axes; without
    a cache each of them re-ran its Python ``paint`` every frame (~2 ms per frame in all)."""
    pi = plot.getPlotItem()
    items = [pi.getAxis(name) for name in ("left", "bottom", "right", "top")] + [pi.titleLabel]
    if pi.legend is not None:
        items.append(pi.legend)
    for it in items:
        if it is not None:
            it.setCacheMode(CACHED)
    for name in ("left", "bottom"):
        # no SI-prefix relabelling (an HTML label re-set and a layout pass) at every range change
        pi.getAxis(name).enableAutoSIPrefix(False)


def title_legend(plot: pg.PlotWidget) -> pg.LegendItem:
    """A legend in the title row, right-aligned: it never covers a curve or the title.

    :func:`fit_legend` lays it out whenever the plot's width changes: as many columns as fit
    beside the title, more rows (and a taller title row) when the plot is narrow, or a row of
    its own under the title when not even one entry fits beside it."""
    pi = plot.getPlotItem()
    legend = pg.LegendItem(
        offset=None, labelTextSize="8pt", colCount=1, horSpacing=2, verSpacing=0, frame=False
    )
    legend.layout.setContentsMargins(0, 0, 0, 0)  # fit_legend measures the entries alone
    legend.setParentItem(pi)
    legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(0, 0))
    pi.legend = legend  # plot(name=...) adds its curves here; theme.style_plot recolours it
    pi.geometryChanged.connect(lambda: fit_legend(plot))
    return legend


def fit_legend(plot: pg.PlotWidget) -> None:
    """Columns, position and title-row height for the legend of :func:`title_legend`."""
    pi = plot.getPlotItem()
    legend = pi.legend
    if legend is None:
        return
    n = len(legend.items)
    key = (n, round(pi.width()), pi.titleLabel.text)
    if getattr(legend, "_fitted", None) == key:
        return
    legend._fitted = key
    if n == 0:
        pi.layout.setRowFixedHeight(0, TITLE_H)
        return
    title = pi.titleLabel
    text_rect = title.mapRectToItem(pi, title.item.mapRectToParent(title.item.boundingRect()))
    spacing = legend.layout.horizontalSpacing()
    widths = [s.width() + label.item.boundingRect().width() + 2 * spacing + 4 for s, label in legend.items]

    row_h = max([LEGEND_ROW_H] + [label.item.boundingRect().height() for _s, label in legend.items])

    def size(cols: int) -> tuple[float, float]:  # entries fill row by row
        return sum(max(widths[c::cols]) for c in range(cols)), math.ceil(n / cols) * row_h

    def most_columns(room: float) -> int:
        return next((c for c in range(n, 0, -1) if size(c)[0] <= room), 0)

    beside = most_columns(pi.width() - text_rect.right() - 8)  # in the title row, right-aligned
    below = max(1, most_columns(pi.width() - 4))  # or in rows of its own under the title
    if beside and max(TITLE_H, size(beside)[1] + 4) <= TITLE_H + size(below)[1]:
        cols, offset, top = beside, (0, 2), 0
    else:
        cols, offset, top = below, (0, TITLE_H - 2), TITLE_H
    w, h = size(cols)
    if cols != legend.columnCount:
        legend.setColumnCount(cols)
    legend.size = (w, h)  # pyqtgraph's own updateSize measures stretched labels: ours is exact
    legend.setGeometry(0, 0, w, h)
    legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=offset)
    title.setMaximumHeight(TITLE_H)
    h = max(h, legend.height())  # the entries' minimum sizes win over our measure
    pi.layout.setRowFixedHeight(0, max(TITLE_H, offset[1] + h + 2) if not top else top + h + 2)


class EnvelopeCurve(pg.PlotDataItem):
    """A PlotDataItem whose (already reduced) points go straight to its PlotCurveItem.

    ``PlotDataItem.setData`` re-derives bounds, log values and display datasets and emits several
    signals each time (~0.3 ms per curve per frame while training); here the plot keeps its ranges
    itself, so only the log transform of the y axis is needed. Legend, pen and visibility work as
    for any PlotDataItem; ``getData`` returns the points drawn (before any log transform).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.envelope = PeakEnvelope()
        self._points = (np.empty(0), np.empty(0))

    def set_points(self, x: np.ndarray, y: np.ndarray) -> None:
        self._points = (x, y)
        if self.opts["logMode"][1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(y)
        o = self.opts
        self.curve.setData(x=x, y=y, pen=o["pen"], connect=o["connect"], antialias=o["antialias"])
        if not self.curve.isVisible():  # PlotDataItem hides it while its own dataset is empty
            self.curve.show()

    def getData(self):
        return self._points

    def updateItems(self, *args, **kwargs):  # a log-mode switch re-derives the drawn points
        super().updateItems(*args, **kwargs)
        if len(getattr(self, "_points", ((),))[0]):
            self.set_points(*self._points)


def add_curve(
    plot: pg.PlotWidget, color: str, name: str | None = None, alpha: int = 255, dashed: bool = False
) -> EnvelopeCurve:
    """A curve for :func:`set_curve` (pen width 1, gaps at NaN); ``name`` puts it in the legend."""
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    item = EnvelopeCurve([], [], pen=_pen(color, alpha, style), name=name, connect="finite")
    item.setClipToView(False)
    item.setDownsampling(ds=1, auto=False)
    plot.getPlotItem().addItem(item)
    if name is not None:
        fit_legend(plot)
    return item


def peak_reduce(x: np.ndarray, y: np.ndarray, buckets: int = ENVELOPE_BUCKETS):
    """One-shot min/max reduction of (x, y) to about ``2 * buckets`` points (zoomed-in views)."""
    env = PeakEnvelope(buckets)
    return env.update(x, y)


def set_curve(
    item: EnvelopeCurve,
    x: np.ndarray,
    y: np.ndarray,
    floor: float | None = None,
    view: tuple[float, float] | None = None,
    ceiling: float | None = None,
) -> None:
    """Draw (x, y) through the item's PeakEnvelope; ``floor`` / ``ceiling`` clamp the drawn points
    (log axes; absurd values after a divergence) after the reduction (min / max commute with
    it), so no full-length copy is made per frame. With ``view`` (the user zoomed or panned:
    x range), only that part is reduced, at full detail."""
    n = min(len(x), len(y))
    if n == 0:
        item.envelope.reset()
        item.set_points(np.empty(0), np.empty(0))
        return
    if view is None:
        px, py = item.envelope.update(x, y)
    else:
        i0 = max(0, int(np.searchsorted(x[:n], view[0])) - 1)
        i1 = min(n, int(np.searchsorted(x[:n], view[1])) + 1)
        px, py = peak_reduce(x[i0:i1], y[i0:i1])
    if floor is not None or ceiling is not None:
        with np.errstate(invalid="ignore"):
            py = np.clip(py, floor, ceiling)  # NaN stays NaN: a gap
    item.set_points(px, py)


def first_finite(a: np.ndarray, positive: bool = False) -> float | None:
    """The first finite (and, for a log axis, positive) value of a series: where it started."""
    a = np.asarray(a, dtype=np.float64).ravel()
    for lo in range(0, len(a), 256):  # the start is almost always in the first block
        block = a[lo : lo + 256]
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(block) & (block > 0) if positive else np.isfinite(block)
        if ok.any():
            return float(block[int(np.argmax(ok))])
    return None


def readable_start(arrays, log: bool = False) -> float | None:
    """The largest |first value| of the arrays: where the curves started (None without data)."""
    starts = [first_finite(a, positive=log) for a in arrays]
    starts = [abs(v) for v in starts if v is not None]
    return max(starts) if starts else None


def readable_range(arrays, log: bool, start: float | None = None) -> tuple[float, float] | None:
    """(lo, hi) in view coordinates over the finite values worth reading, or None without data.

    ``start`` (by default the largest first value of the arrays) anchors what is readable: a
    linear axis goes up to :data:`LINEAR_CAP` x start, a log axis :data:`LOG_CAP_DECADES` above
    and :data:`LOG_FLOOR_DECADES` below it. What lies beyond (a diverging loss, 1e153 gradients)
    is drawn off the edge, and the axis keeps labels a person can read."""
    arrays = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    if start is None:
        start = readable_start(arrays, log)
    lo_cap, hi_cap = -math.inf, math.inf
    if start is not None and math.isfinite(start):
        if log and start > 0:
            lo_cap, hi_cap = start * 10.0**-LOG_FLOOR_DECADES, start * 10.0**LOG_CAP_DECADES
        elif not log and start != 0:
            hi_cap = abs(start) * LINEAR_CAP
            lo_cap = -hi_cap if any(a.size and np.nanmin(a) < 0 for a in arrays) else -math.inf
    r = finite_range(arrays, log, lo_cap, hi_cap)
    return r if r is not None or start is None else finite_range(arrays, log)


def finite_range(
    arrays, log: bool, lo_cap: float = -math.inf, hi_cap: float = math.inf
) -> tuple[float, float] | None:
    """(lo, hi) over the finite (and, for a log axis, positive) values of the arrays within
    [lo_cap, hi_cap], padded 5 %, in view coordinates (decades for a log axis), or None."""
    lo, hi = math.inf, -math.inf
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        if a.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(a) & (a >= lo_cap) & (a <= hi_cap)
            if log:
                ok &= a > 0
        if not ok.any():
            continue
        v = a[ok]
        lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if lo > hi:
        return None
    if log:
        lo, hi = math.log10(max(lo, LOG_FLOOR)), math.log10(max(hi, LOG_FLOOR))
    if hi - lo < 1e-12:
        half = 0.5 if log else max(0.5 * abs(hi), 1e-12)
        lo, hi = lo - half, hi + half
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


class GridLines:
    """The plot's grid as one "pairs" curve inside the view box, rebuilt when the range or the
    view's size changes (an empty plot's range never changes: its grid comes with its size).

    pyqtgraph draws its grid with the axis items across the view box, so each curve update
    repaints both axes with all their lines and labels (~3 ms per plot and frame, measured).
    """

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.item = pg.PlotCurveItem(connect="pairs", antialias=False, skipFiniteCheck=True)
        self.item.setZValue(-100)
        self.item.setCacheMode(CACHED)  # changes with the range only; curves repaint over it
        vb = plot.getPlotItem().getViewBox()
        vb.addItem(self.item, ignoreBounds=True)
        vb.sigResized.connect(lambda _vb: self.rebuild())
        self.set_color()

    def set_color(self) -> None:
        t = theme.current()
        c = pg.mkColor(t.plot_fg)
        c.setAlphaF(t.grid_alpha * 0.75)
        self.item.setPen(pg.mkPen(c, width=1))

    def rebuild(self) -> None:
        pi = self.plot.getPlotItem()
        vb = pi.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        size = vb.size()
        xs = self._ticks(pi.getAxis("bottom"), x0, x1, size.width())
        ys = self._ticks(pi.getAxis("left"), y0, y1, size.height())
        px = np.empty(2 * (len(xs) + len(ys)))
        py = np.empty_like(px)
        n = 2 * len(xs)
        px[:n:2] = px[1:n:2] = xs
        py[:n:2], py[1:n:2] = y0, y1
        px[n::2], px[n + 1 :: 2] = x0, x1
        py[n::2] = py[n + 1 :: 2] = ys
        self.item.setData(px, py)

    @staticmethod
    def _ticks(axis: pg.AxisItem, lo: float, hi: float, pixels: float) -> np.ndarray:
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or pixels < 10:
            return np.empty(0)
        try:
            levels = axis.tickValues(lo, hi, pixels)
        except (ValueError, OverflowError, ZeroDivisionError):
            return np.empty(0)
        values = [v for _spacing, vals in levels[:2] for v in vals]
        if axis.logMode and len(levels) > 1 and len(levels[0][1]) >= 3:
            values = list(levels[0][1])  # decades only: minor log ticks crowd the plot
        return np.array([v for v in values if lo <= v <= hi], dtype=np.float64)


class HoverReadout:
    """Crosshair + label showing the exact values of the curves nearest the mouse."""

    def __init__(self, plot: pg.PlotWidget, series):
        self.plot = plot
        self.series = series  # callable -> list of (name, x array, y array)
        pi = plot.getPlotItem()
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((128, 128, 128, 140), width=1))
        self.label = pg.TextItem(anchor=(0, 1), color=theme.current().plot_fg, fill=pg.mkBrush(0, 0, 0, 0))
        for it in (self.vline, self.label):
            it.setVisible(False)
            pi.addItem(it, ignoreBounds=True)
        self.label.setZValue(100)
        plot.scene().sigMouseMoved.connect(self.on_moved)

    def on_moved(self, pos) -> None:
        pi = self.plot.getPlotItem()
        vb = pi.getViewBox()
        if not pi.sceneBoundingRect().contains(pos):
            self.hide()
            return
        pt = vb.mapSceneToView(pos)
        lines = []
        x_at = None
        for name, xs, ys in self.series():
            if len(xs) == 0:
                continue
            i = int(np.clip(np.searchsorted(xs, pt.x()), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - pt.x()) < abs(xs[i] - pt.x()):
                i -= 1
            x_at = xs[i] if x_at is None else x_at
            if np.isfinite(ys[i]):
                lines.append(f"{name}: {ys[i]:.4g}")
        if x_at is None:
            self.hide()
            return
        self.vline.setPos(x_at)
        self.label.setText(f"epoch {x_at:.4g}\n" + "\n".join(lines))
        self.label.setColor(theme.current().plot_fg)
        self.label.setPos(pt.x(), pt.y())
        self.vline.setVisible(True)
        self.label.setVisible(True)

    def hide(self) -> None:
        self.vline.setVisible(False)
        self.label.setVisible(False)
