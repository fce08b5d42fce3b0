"""The network drawn as columns of neurons: input -> hidden layers -> output.

Each neuron is a small heatmap of its output over the input plane; connections are blue
(positive) or orange (negative), thicker and more opaque the larger |w|. Above each hidden
layer sit its controls (neurons +/-, activation, dropout). Layers wider than
``MAX_VISIBLE`` are drawn collapsed (first few, "… N more", last few) so a 10,000-unit layer
costs what a 12-unit one does. All edits go through ``controller.edit_spec`` (undoable).

While the step inspector is open on a phase (:class:`PhaseDrawing`, from
``panels/inspector.py``), the drawing shows that phase instead of the weights: Forward and
Loss colour every neuron by its value for the chosen sample (or the batch mean) with the
number on it; Gradients and Update draw every connection by the weight's gradient or the
step's change (the same diverging colours: blue positive, orange negative; width and opacity
by magnitude relative to the largest) and colour each neuron by its bias's. A legend under the
neurons says which phase is drawn and its scale; leaving the inspector draws the weights again.
In presenter mode (``app/presenter.py``) connections, outlines and bias bars are thicker.

The diagram is of dense networks on flat data. For image data, or a stack with convolution,
pooling or flatten layers, the view shows the stack as a list of blocks with their output
shapes instead (the Layers panel edits it; the image views show its maps and filters).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from playground.app import colors, presenter, weight_editor
from playground.app.figures import install_figure_menu
from playground.app.phase_drawing import PhaseDrawing
from playground.shapes import format_shape, stack_report
from playground.spec import ACTIVATIONS, LayerSpec

MAX_VISIBLE = 12  # a layer wider than this is drawn collapsed
EDGE_SHOWN = 5  # neurons shown at each end of a collapsed layer
GRID_RES = 24  # resolution of the fallback neuron grids
HEADER_H = 96  # height of the controls strip above the neurons (taller with large fonts)
MIN_COL_W = 64  # narrowest column: below this the picture scrolls instead of shrinking
MIN_BODY_H = 110  # narrowest room for the neurons under the controls strip
CONTROLS_W = 112  # width of the controls above a hidden layer (narrower when the columns are)
MIN_CONTROLS_W = 56
ZOOM_STEP = 1.25  # Ctrl + wheel / Ctrl + = / Ctrl + - zoom by this factor; Ctrl + 0 fits again
MAX_ZOOM = 4.0
FRAME_MS = 55  # the picture is rebuilt from snapshots at most ~18 times per second
CONNECTIONS_MS = 100  # antialiased wide strokes are the costly part: at most 10 redraws per second
WIDTH_LEVELS = 16  # connections are drawn in this many width/opacity steps per sign
EXACT_MEAN_LIMIT = 250_000  # a summary connection over more weights averages a strided sample
BOUNDED = {"tanh", "sine", "sigmoid", "softmax"}
UNIT_ACTIVATIONS = {"sigmoid", "softmax"}  # outputs in (0, 1): 0.5 is the neutral colour
NUMBER_FONT_MIN = 6.0  # smallest point size of a number written on a neuron (else: hover)


def connection_width(t: float) -> float:
    """The pen width of a connection of relative strength t in [0, 1]: 0.6 to 5 px, for a
    projector (presenter mode) the thinnest PEN_SCALE times thicker and the widest by its
    square root (2.5x of every width made a dense layer one blot)."""
    k = presenter.pen_width(1.0)
    lo, hi = 0.6 * k, 5.0 * math.sqrt(k)
    return lo + (hi - lo) * t


def short_number(v: float) -> str:
    """A number written on a neuron: two significant digits (the tooltip has six)."""
    v = float(v)
    if not math.isfinite(v):
        return "\u2013"
    return "0" if v == 0 else f"{v:.2g}".replace("e-0", "e-").replace("-", "\u2212")


def visible_slots(units: int) -> list[int]:
    """Neuron indices drawn for a layer; -1 marks the "… N more" slot of a collapsed layer."""
    if units <= MAX_VISIBLE:
        return list(range(units))
    return [*range(EDGE_SHOWN), -1, *range(units - EDGE_SHOWN, units)]


def hidden_range(units: int) -> tuple[int, int]:
    """[start, stop) of the neurons folded into the ellipsis slot (empty if not collapsed)."""
    return (EDGE_SHOWN, units - EDGE_SHOWN) if units > MAX_VISIBLE else (0, 0)


def display_values(values: np.ndarray, activation: str) -> np.ndarray:
    """Activations -> [-1, 1] for the diverging colour scale."""
    if activation in UNIT_ACTIVATIONS:
        return 2.0 * values - 1.0
    if activation in BOUNDED:
        return values
    m = float(np.nanmax(np.abs(values))) if values.size else 1.0
    return values / m if m > 1.0 and math.isfinite(m) else values


_LUT32: dict[str, np.ndarray] = {}  # the diverging scale as QImage.Format_RGB32 pixels, per theme


def _argb32_lut() -> np.ndarray:
    key = colors.neutral()
    if key not in _LUT32:
        rgba = colors.diverging_lut().astype(np.uint32)
        _LUT32[key] = (0xFF << 24) | (rgba[:, 0] << 16) | (rgba[:, 1] << 8) | rgba[:, 2]
    return _LUT32[key]


def heatmap_pixels(values: np.ndarray) -> np.ndarray:
    """(..., r, r) values in [-1, 1] (row 0 = lowest y) -> uint32 RGB32 pixels, y pointing up."""
    v = np.asarray(values, dtype=np.float64)[..., ::-1, :]
    idx = np.nan_to_num((v + 1.0) * 127.5, nan=127.5, posinf=255.0, neginf=0.0)
    return _argb32_lut()[np.clip(np.rint(idx), 0, 255).astype(np.intp)]


def _pixels_to_image(pixels: np.ndarray) -> QImage:
    px = np.ascontiguousarray(pixels, dtype=np.uint32)
    h, w = px.shape
    return QImage(px.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()  # owns its pixels


def _block_mean(block: np.ndarray) -> float:
    """Mean of a block of weights; a strided sample of very large blocks keeps frames bounded."""
    if block.size > EXACT_MEAN_LIMIT:
        step = int(math.ceil(math.sqrt(block.size / EXACT_MEAN_LIMIT)))
        block = block[::step, ::step]
    return float(block.mean()) if block.size else 0.0


class _Conn:
    """One drawn connection (or a summary of many, when an end is an ellipsis slot).

    Geometry is fixed at layout; weight, colour and width are read from the canvas's arrays,
    which :meth:`NetworkCanvas.restyle` recomputes with numpy for all connections at once.
    """

    __slots__ = ("canvas", "index", "layer", "src", "dst", "p0", "p1", "path")

    def __init__(self, canvas, index: int, layer: int, src: int, dst: int, p0: QPointF, p1: QPointF):
        self.canvas, self.index = canvas, index
        self.layer, self.src, self.dst = layer, src, dst  # src/dst: neuron index, -1 = ellipsis
        self.p0, self.p1 = p0, p1
        self.path = QPainterPath(p0)
        if abs(p0.y() - p1.y()) < 0.5:
            self.path.lineTo(p1)
        else:
            dx = (p1.x() - p0.x()) * 0.45
            self.path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)

    @property
    def summary(self) -> bool:
        return self.src < 0 or self.dst < 0

    @property
    def weight(self) -> float:
        """The weight, or for a summary the mean weight."""
        w = self.canvas._weights
        return float(w[self.index]) if self.index < len(w) else 0.0

    @property
    def count(self) -> int:
        n = self.canvas._counts
        return int(n[self.index]) if self.index < len(n) else 1

    @property
    def strength(self) -> float:
        """|w| relative to the largest drawn |w|, in [0, 1]."""
        t = self.canvas._strengths
        return float(t[self.index]) if self.index < len(t) else 0.0

    @property
    def color(self) -> QColor:
        return colors.signed_color(self.weight, 0.12 + 0.88 * self.strength)

    @property
    def width(self) -> float:
        return connection_width(self.strength)


class NetworkCanvas(QWidget):
    """Paints neurons and connections; hover shows weights, biases and a large neuron heatmap.

    Painting is a single pixmap blit. The pixmap is composed when the weights or pictures
    change (at most ~18 times per second while training): connections stroked in one path per
    sign and width step, neuron thumbnails (QImages made by a numpy colour lookup), bias bars,
    and on top a cached overlay of everything static (frames, labels, "… N more" pills) that is
    only redrawn when the layout, size or theme changes.
    """

    def __init__(self, view: NetworkView):
        super().__init__(view)
        self.view = view
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.sizes: list[int] = []  # units per column: inputs, hidden..., outputs
        self.col_names: list[list[str]] = []
        self.activations: list[str] = []  # per non-input column
        self.columns: list[list[tuple[int, QRectF]]] = []  # per column: (neuron, rect); -1 = ellipsis
        self.conns: list[_Conn] = []
        self.params: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.images: dict[tuple[int, int], QImage] = {}  # (column, neuron) -> thumbnail
        self.grids: list[np.ndarray | None] = []  # per column: (units, r, r) display values
        self.neuron_size = 30.0
        self.compositions = 0  # frames composed (tests and benchmarks read it)
        self._weights = np.zeros(0)
        self._counts = np.zeros(0, dtype=np.int64)
        self._strengths = np.zeros(0)
        self._summary = np.zeros(0, dtype=bool)
        self._overlay: QPixmap | None = None
        self._frame: QPixmap | None = None
        self._lines: QPixmap | None = None  # the connections, redrawn only when their style moved
        self._lines_key: np.ndarray | None = None
        self._lines_time = 0.0
        self._lines_timer = QTimer(self)  # draws the newest style once a throttled redraw is due
        self._lines_timer.setSingleShot(True)
        self._lines_timer.timeout.connect(self._refresh)
        self._popup = _HeatmapPopup(self)
        self.phase: PhaseDrawing | None = None  # a step inspector phase drawn instead of the weights
        self._top = 1.0  # the largest |value| the connections are scaled to
        self._drawn_scale = presenter.pen_width(1.0)

    # -- structure ----------------------------------------------------------------------
    def set_structure(self, sizes, col_names, activations) -> None:
        self.sizes = list(sizes)
        self.col_names = col_names
        self.activations = list(activations)
        self.grids = [None] * len(self.sizes)
        self.images.clear()
        self.view._apply_zoom()
        self.relayout()

    def minimumSizeHint(self) -> QSize:
        """Small enough that the whole network fits the view (it zooms to fit, and scrolls only
        when the user zooms in, see :meth:`NetworkView.set_zoom`)."""
        return QSize(max(1, len(self.sizes)) * MIN_COL_W, self.view.header_height() + MIN_BODY_H)

    def sizeHint(self) -> QSize:
        return QSize(max(1, len(self.sizes)) * 150, 460)

    def column_x(self, c: int) -> float:
        """Centre x of column c; the input and output columns sit inwards to leave room for labels."""
        n = max(1, len(self.sizes))
        w = self.width() / n
        if n > 1 and c == 0:
            return w * 0.68
        if n > 1 and c == n - 1:
            return self.width() - w * 0.68
        return w * (c + 0.5)

    def legend_height(self) -> int:
        """Room under the neurons for the phase legend (none while the weights are drawn)."""
        if self.phase is None:
            return 0
        return len(self.legend_lines()) * (QFontMetrics(self.font()).height() + 2) + 10

    def relayout(self) -> None:
        if not self.sizes:
            return
        top, bottom = self.view.header_height() + 8, self.height() - 14 - self.legend_height()
        slots = [visible_slots(u) for u in self.sizes]
        most = max(len(s) for s in slots)
        avail = max(40.0, bottom - top)
        pitch = min(avail / most, 62.0)
        self.neuron_size = size = max(6.0, min(40.0, pitch * 0.72, self.width() / max(1, len(slots)) * 0.4))
        self.columns = []
        for c, col in enumerate(slots):
            x = self.column_x(c)
            y0 = top + (avail - pitch * len(col)) / 2 + pitch / 2
            self.columns.append(
                [(j, QRectF(x - size / 2, y0 + k * pitch - size / 2, size, size)) for k, j in enumerate(col)]
            )
        self.conns = []
        for layer in range(len(self.sizes) - 1):
            for i, ri in self.columns[layer]:
                for j, rj in self.columns[layer + 1]:
                    p0 = QPointF(ri.right() + 1, ri.center().y())
                    p1 = QPointF(rj.left() - 1, rj.center().y())
                    self.conns.append(_Conn(self, len(self.conns), layer, i, j, p0, p1))
        self._summary = np.array([c.summary for c in self.conns], dtype=bool)
        self._overlay = self._lines = None
        self.restyle()
        self.view.position_controls()

    def resizeEvent(self, event) -> None:
        self.relayout()
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            step = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
            self.view.set_zoom(self.view.zoom * step)
            event.accept()
            return
        super().wheelEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._overlay = self._frame = self._lines = None  # theme switch: everything changes colour
            if event.type() == QEvent.Type.FontChange:  # presenter mode: a taller header, labels
                QTimer.singleShot(0, self.relayout)  # after the children have their new fonts
            for c, values in enumerate(self.grids):
                if values is not None and c < len(self.columns):
                    self.set_column_grids(c, values)  # neuron pictures in the theme's zero colour
            self.update()
        super().changeEvent(event)

    # -- weights ----------------------------------------------------------------------
    @property
    def shown_params(self):
        """Per layer (W, b) the connections are drawn from: the weights, or the inspector
        phase's gradient or update."""
        if self.phase is not None and self.phase.params is not None:
            return self.phase.params
        return self.params

    def set_phase(self, drawing: PhaseDrawing | None) -> None:
        """Draw a step inspector phase (None: the weights again)."""
        was = self.phase is not None
        self.phase = drawing
        self._popup.hide()
        if was != (drawing is not None):
            self.relayout()  # the legend takes (or gives back) room under the neurons
        else:
            self.restyle()

    def conn_weight(self, c: _Conn) -> tuple[float, int]:
        """(weight or mean weight, number of weights) a drawn connection stands for."""
        params = self.shown_params
        if params is None or c.layer >= len(params):
            return 0.0, 1
        W = params[c.layer][0]
        rows = slice(*hidden_range(W.shape[0])) if c.src < 0 else slice(c.src, c.src + 1)
        cols = slice(*hidden_range(W.shape[1])) if c.dst < 0 else slice(c.dst, c.dst + 1)
        block = W[rows, cols]
        if block.size == 0:
            return 0.0, 0
        return _block_mean(block), int(block.size)

    def _layer_weights(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean weights, counts), both (len(src slots), len(dst slots)), for one drawn layer."""
        src = [j for j, _ in self.columns[layer]]
        dst = [j for j, _ in self.columns[layer + 1]]
        means = np.zeros((len(src), len(dst)))
        counts = np.ones((len(src), len(dst)), dtype=np.int64)
        params = self.shown_params
        if params is None or layer >= len(params):
            return means, counts
        W = params[layer][0]
        if W.shape != (self.sizes[layer], self.sizes[layer + 1]):
            return means, counts
        rs = np.array([k for k, j in enumerate(src) if j >= 0], dtype=np.intp)
        cs = np.array([k for k, j in enumerate(dst) if j >= 0], dtype=np.intp)
        ri = np.array([j for j in src if j >= 0], dtype=np.intp)
        ci = np.array([j for j in dst if j >= 0], dtype=np.intp)
        means[np.ix_(rs, cs)] = W[np.ix_(ri, ci)]
        r_lo, r_hi = hidden_range(W.shape[0])
        c_lo, c_hi = hidden_range(W.shape[1])
        if -1 in src:  # the ellipsis row: per visible column, the mean over the folded rows
            k = src.index(-1)
            rows = W[r_lo:r_hi]
            means[k, cs] = rows[:, ci].mean(axis=0) if rows.shape[0] <= 4096 else rows[::8, ci].mean(axis=0)
            counts[k, :] = r_hi - r_lo
        if -1 in dst:
            m = dst.index(-1)
            cols = W[:, c_lo:c_hi]
            means[rs, m] = cols[ri].mean(axis=1) if cols.shape[1] <= 4096 else cols[ri, ::8].mean(axis=1)
            counts[:, m] *= c_hi - c_lo
        if -1 in src and -1 in dst:
            means[src.index(-1), dst.index(-1)] = _block_mean(W[r_lo:r_hi, c_lo:c_hi])
        return means, counts

    def restyle(self) -> None:
        """Weights, colours and widths of every connection from the current parameters."""
        self._frame = None
        self.update()
        if not self.conns:
            self._weights = self._strengths = np.zeros(0)
            self._counts = np.zeros(0, dtype=np.int64)
            return
        blocks = [self._layer_weights(layer) for layer in range(len(self.sizes) - 1)]
        w = np.concatenate([m.ravel() for m, _ in blocks])
        self._counts = np.concatenate([n.ravel() for _, n in blocks])
        mags = np.abs(w)
        finite = np.isfinite(mags)
        top = float(mags[finite].max()) if finite.any() else 0.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        self._top = top
        self._weights = w
        self._strengths = np.where(finite, np.minimum(1.0, mags / top), 0.0)

    def connection(self, layer: int, src: int, dst: int) -> _Conn | None:
        for c in self.conns:
            if c.layer == layer and c.src == src and c.dst == dst:
                return c
        return None

    # -- neuron images ---------------------------------------------------------------
    def set_column_grids(self, c: int, values: np.ndarray | None) -> None:
        """values: (units, r, r) display values in [-1, 1] for column c."""
        self.grids[c] = values
        self._frame = None
        self.update()
        shown = [j for j, _ in self.columns[c]] if c < len(self.columns) else []
        for j in shown:
            self.images.pop((c, j), None)
        if values is None:
            return
        shown = [j for j in shown if 0 <= j < values.shape[0]]
        if not shown:
            return
        pixels = heatmap_pixels(values[shown])  # one lookup for the whole column
        for k, j in enumerate(shown):
            self.images[(c, j)] = _pixels_to_image(pixels[k])

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        scale = presenter.pen_width(1.0)
        if scale != self._drawn_scale:  # presenter mode on or off: every line's width changes
            self._drawn_scale = scale
            self._overlay = self._frame = self._lines = None
        if self._frame is None or self._frame.size() != self._pixel_size():
            self._frame = self._compose()
        p = QPainter(self)
        p.drawPixmap(event.rect(), self._frame, self._device_rect(event.rect()))
        p.end()

    def _pixel_size(self) -> QSize:
        return self.size() * self.devicePixelRatioF()

    def _device_rect(self, r: QRect) -> QRect:
        d = self.devicePixelRatioF()
        return QRect(
            int(r.x() * d), int(r.y() * d), int(math.ceil(r.width() * d)), int(math.ceil(r.height() * d))
        )

    def _new_pixmap(self) -> QPixmap:
        pm = QPixmap(self._pixel_size())
        pm.setDevicePixelRatio(self.devicePixelRatioF())
        return pm

    def _compose(self) -> QPixmap:
        """The whole picture: background, connections, thumbnails, bias bars, static overlay."""
        self.compositions += 1
        if self._overlay is None or self._overlay.size() != self._pixel_size():
            self._overlay = self._paint_overlay()
        pm = self._new_pixmap()
        p = QPainter(pm)
        p.drawPixmap(0, 0, self._connections_layer())
        self._paint_neurons(p)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.drawPixmap(0, 0, self._overlay)
        self._paint_legend(p)
        p.end()
        return pm

    def paint_figure(self, p: QPainter) -> None:
        """What ``_compose`` shows, painted into ``p`` directly (vectors, no cached pixmaps):
        an exported figure (app/figures.py) keeps its lines and text as lines and text."""
        p.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_connections(p, self._style_key())
        self._paint_neurons(p)
        self._paint_frames(p)
        self._paint_legend(p)

    def _paint_neurons(self, p: QPainter) -> None:
        """Every neuron's picture (or an empty box before the first snapshot) and its bias bar;
        with an inspector phase, the neurons it gives a value are filled by it, its number on."""
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        base = self.palette().color(QPalette.ColorRole.Base)
        values = self.neuron_values()
        for ci, col in enumerate(self.columns):
            shown = values[ci] if ci < len(values) else None
            for j, r in col:
                if j < 0:
                    continue
                if shown is not None and j < len(shown[0]):
                    self._paint_value(p, r, float(shown[0][j]), float(shown[1][j]))
                    continue
                img = self.images.get((ci, j))
                if img is not None:
                    p.drawImage(r, img)
                else:
                    p.fillRect(r.adjusted(1, 1, -1, -1), base)
            if ci > 0 and (self.phase is None or self.phase.neurons is not None):
                self._paint_biases(p, ci, col)

    def neuron_values(self) -> list:
        """Per column, (numbers, colour values in [-1, 1]) the inspector phase writes on its
        neurons, or None (the neuron's picture): the forward pass's inputs and activations, or
        the bias entries of the gradient or update (scaled to the largest of them)."""
        d = self.phase
        if d is None:
            return []
        if d.neurons is not None:
            out = []
            for ci, v in enumerate(d.neurons):
                v = np.asarray(v, dtype=np.float64).ravel()
                if ci >= len(self.sizes) or v.size != self.sizes[ci]:
                    out.append(None)
                    continue
                act = "linear" if ci == 0 else self.activations[ci - 1]
                out.append((v, np.clip(display_values(v, act), -1.0, 1.0)))
            return out
        params = d.params
        if params is None or len(params) != len(self.sizes) - 1:
            return []
        biases = [np.asarray(b, dtype=np.float64).ravel() for _, b in params]
        finite = [np.abs(b[np.isfinite(b)]) for b in biases]
        top = max((float(a.max()) for a in finite if a.size), default=0.0) or 1.0
        out = [None]  # the inputs have no bias: their pictures stay
        for ci, b in enumerate(biases, start=1):
            out.append((b, np.clip(b / top, -1.0, 1.0)) if b.size == self.sizes[ci] else None)
        return out

    def _paint_value(self, p: QPainter, r: QRectF, number: float, shade: float) -> None:
        """A neuron filled with the colour of ``shade`` and ``number`` written on it, in the
        largest font (down to NUMBER_FONT_MIN points) that fits the box."""
        idx = int(np.clip(np.rint((np.nan_to_num(shade) + 1.0) * 127.5), 0, 255))
        fill = QColor.fromRgba(int(_argb32_lut()[idx]))
        p.fillRect(r, fill)
        text = short_number(number)
        font = QFont(self.font())
        size = min(font.pointSizeF() * 0.9, 9.0 * presenter.pen_width(1.0) ** 0.5)
        while size >= NUMBER_FONT_MIN:
            font.setPointSizeF(size)
            fm = QFontMetrics(font)
            if fm.horizontalAdvance(text) <= r.width() - 2 and fm.height() <= r.height():
                break
            size -= 0.5
        else:
            return  # too small to write on: the tooltip says it
        p.setFont(font)
        luma = 0.2126 * fill.redF() + 0.7152 * fill.greenF() + 0.0722 * fill.blueF()
        p.setPen(QColor("#000000") if luma > 0.5 else QColor("#ffffff"))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    @Slot()
    def _refresh(self) -> None:
        self._frame = None
        self.update()

    def _style_key(self) -> np.ndarray:
        """Per connection: dashed, sign and width step; the picture changes only when this does."""
        if len(self._strengths) != len(self.conns):
            return np.zeros(0, dtype=np.int64)
        level = np.rint(self._strengths * (WIDTH_LEVELS - 1)).astype(np.int64)
        positive = self._weights >= 0
        return (self._summary.astype(np.int64) * 2 + positive) * WIDTH_LEVELS + level

    def _connections_layer(self) -> QPixmap:
        key = self._style_key()
        fresh = self._lines is not None and self._lines.size() == self._pixel_size()
        if fresh and self._lines_key is not None and np.array_equal(key, self._lines_key):
            return self._lines
        wait_ms = CONNECTIONS_MS - (time.perf_counter() - self._lines_time) * 1000.0
        if fresh and wait_ms > 0:
            if not self._lines_timer.isActive():
                self._lines_timer.start(int(wait_ms) + 1)
            return self._lines
        pm = self._new_pixmap()
        pm.fill(self.palette().color(QPalette.ColorRole.Window))
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_connections(p, key)
        p.end()
        self._lines, self._lines_key, self._lines_time = pm, key, time.perf_counter()
        return pm

    def _paint_connections(self, p: QPainter, key: np.ndarray) -> None:
        """One pen per (dashed, sign, width step); each curve is stroked alone (merged paths with
        overlapping curves rasterise slower)."""
        if len(key) != len(self.conns):
            return
        p.setBrush(Qt.BrushStyle.NoBrush)
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        conns = self.conns
        for group in np.split(order, bounds):
            k = int(key[group[0]])
            t = (k % WIDTH_LEVELS) / (WIDTH_LEVELS - 1)
            pen = QPen(colors.signed_color(1.0 if (k // WIDTH_LEVELS) % 2 else -1.0, 0.12 + 0.88 * t))
            pen.setWidthF(connection_width(t))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            if k // (2 * WIDTH_LEVELS):
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            for i in group.tolist():
                p.drawPath(conns[i].path)

    def _paint_biases(self, p: QPainter, ci: int, col) -> None:
        if self.params is None or ci - 1 >= len(self.params):
            return
        b = np.asarray(self.params[ci - 1][1], dtype=np.float64)
        if b.size == 0:
            return
        top = float(np.max(np.abs(b))) if np.isfinite(b).all() else 0.0
        top = top or 1.0
        w = 3.0 * presenter.pen_width(1.0) ** 0.5
        for j, r in col:
            if 0 <= j < b.shape[0] and math.isfinite(b[j]):
                t = min(1.0, abs(float(b[j])) / top)
                h = max(1.0, (r.height() - 4) * t)
                p.fillRect(
                    QRectF(r.left() - 2 - w, r.bottom() - 2 - h, w, h), colors.signed_color(float(b[j]), 0.9)
                )

    def outline_width(self) -> float:
        """The pen width of a neuron's frame (thicker for a projector)."""
        return presenter.pen_width(1.0)

    def legend_rect(self) -> QRectF:
        h = self.legend_height()
        return QRectF(6, self.height() - h - 4, max(0.0, self.width() - 12.0), h)

    def legend_lines(self) -> list[str]:
        """The phase legend: which phase is drawn, its scale (beside the colour strip), and
        the phase's note (the loss, where the update comes from)."""
        d = self.phase
        if d is None:
            return []
        if d.neurons is not None:
            scale = "neurons: a (inputs: x), orange \u2212 / blue +; lines: the weights"
        elif d.params is not None:
            b_top = max((abs(float(v)) for v in self._bias_top()), default=0.0)
            scale = (
                f"lines: {d.symbol}, width \u221d |{d.symbol}| (widest {self._top:.3g}); "
                f"neurons: {d.bias_symbol} (largest {b_top:.3g})"
            )
        else:
            scale = "lines: the weights"
        return [d.title, scale, *([d.note] if d.note else [])]

    def _bias_top(self) -> list[float]:
        d = self.phase
        if d is None or d.params is None:
            return []
        return [float(np.nanmax(np.abs(b))) for _, b in d.params if np.size(b)]

    def _paint_legend(self, p: QPainter) -> None:
        """The inspector phase drawn and its scale, under the neurons (nothing for the weights)."""
        if self.phase is None:
            return
        box = self.legend_rect()
        pal = self.palette()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(colors.mix(colors.text_color(pal), pal.color(QPalette.ColorRole.Window), 0.6), 1))
        p.setBrush(pal.color(QPalette.ColorRole.Window))
        p.drawRoundedRect(box, 4, 4)
        fm = QFontMetrics(self.font())
        title, scale, *note = self.legend_lines()
        inner = box.adjusted(8, 4, -8, -4)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(colors.text_color(pal))
        line1 = QRectF(inner.left(), inner.top(), inner.width(), fm.height())
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        elided = QFontMetrics(bold).elidedText(title, Qt.TextElideMode.ElideRight, int(inner.width()))
        p.drawText(line1, left, elided)
        p.setFont(self.font())
        p.setPen(colors.text_color(pal, dim=True))
        sign_w = fm.horizontalAdvance("\u2212 ")
        line2 = QRectF(inner.left(), inner.top() + fm.height() + 2, inner.width(), fm.height())
        p.drawText(line2, left, "\u2212")
        strip = QRectF(line2.left() + sign_w, line2.top() + 3, min(90.0, inner.width() / 5), fm.height() - 6)
        lut = colors.diverging_lut()
        n = 30
        for k in range(n):  # the diverging scale, orange (-) to blue (+)
            c = lut[int(round(k * 255 / (n - 1)))]
            cell = QRectF(
                strip.left() + k * strip.width() / n, strip.top(), strip.width() / n + 0.5, strip.height()
            )
            p.fillRect(cell, QColor(int(c[0]), int(c[1]), int(c[2])))
        rest = QRectF(strip.right() + 4, line2.top(), inner.right() - strip.right() - 4, fm.height())
        text = f"+   {scale}"
        p.drawText(rest, left, fm.elidedText(text, Qt.TextElideMode.ElideRight, int(rest.width())))
        for k, line in enumerate(note, start=2):
            r = QRectF(inner.left(), inner.top() + k * (fm.height() + 2), inner.width(), fm.height())
            p.drawText(r, left, fm.elidedText(line, Qt.TextElideMode.ElideRight, int(r.width())))

    def _paint_overlay(self) -> QPixmap:
        """What changes only with the layout or theme: neuron frames, labels, ellipsis pills."""
        pm = self._new_pixmap()
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_frames(p)
        p.end()
        return pm

    def _paint_frames(self, p: QPainter) -> None:
        """Neuron frames, labels and the "… N more" pills."""
        pal = self.palette()
        text = colors.text_color(pal)
        dim = colors.text_color(pal, dim=True)
        border = colors.mix(text, QColor(pal.color(QPalette.ColorRole.Window)), 0.65)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        for ci, col in enumerate(self.columns):
            for j, r in col:
                if j < 0:
                    self._paint_ellipsis(p, ci, r, small, dim)
                    continue
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(border, self.outline_width()))
                p.drawRoundedRect(r, 3, 3)
            self._paint_labels(p, ci, col, small, text, dim)

    def _paint_ellipsis(self, p: QPainter, ci: int, r: QRectF, font: QFont, dim: QColor) -> None:
        text = f"\u2026 {self.sizes[ci] - 2 * EDGE_SHOWN:,} more"
        p.setFont(font)
        w = p.fontMetrics().horizontalAdvance(text) + 14
        h = p.fontMetrics().height() + 6
        pill = QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h)
        p.setPen(QPen(colors.mix(dim, self.palette().color(QPalette.ColorRole.Window), 0.5), 1))
        p.setBrush(self.palette().color(QPalette.ColorRole.Window))
        p.drawRoundedRect(pill, h / 2, h / 2)
        p.setPen(dim)
        p.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_labels(self, p, ci, col, small, text, dim) -> None:
        names = self.col_names[ci] if ci < len(self.col_names) else []
        last = ci == len(self.columns) - 1
        if ci != 0 and not last:
            return
        p.setFont(self.font())
        p.setPen(text)
        room = self.column_x(0) - self.neuron_size / 2 - 14
        if last:  # the output's labels may use what is right of it
            room = max(room, self.width() - self.column_x(ci) - self.neuron_size / 2 - 10)
        for j, r in col:
            if j < 0 or j >= len(names):
                continue
            if ci == 0:
                box = QRectF(r.left() - room - 8, r.top() - 4, room, r.height() + 8)
                align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            else:
                box = QRectF(r.right() + 8, r.top() - 4, room, r.height() + 8)
                align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            label = p.fontMetrics().elidedText(names[j], Qt.TextElideMode.ElideRight, int(box.width()))
            if label != names[j] and len(label) <= 2:
                continue  # a letter and an ellipsis say nothing: the tooltip names it
            p.drawText(box, align, label)

    # -- hover -------------------------------------------------------------------------
    def neuron_at(self, pos: QPointF) -> tuple[int, int] | None:
        for ci, col in enumerate(self.columns):
            for j, r in col:
                if j >= 0 and r.adjusted(-6, -2, 2, 2).contains(pos):
                    return ci, j
        return None

    def connection_at(self, pos: QPointF, tolerance: float = 4.0) -> _Conn | None:
        best, best_d = None, tolerance
        for c in self.conns:
            if not (min(c.p0.x(), c.p1.x()) <= pos.x() <= max(c.p0.x(), c.p1.x())):
                continue
            # connections are drawn as S-curves; sample the curve's y at this x
            t = (pos.x() - c.p0.x()) / max(1e-9, c.p1.x() - c.p0.x())
            s = t * t * (3 - 2 * t)
            y = c.p0.y() + (c.p1.y() - c.p0.y()) * s
            d = abs(pos.y() - y)
            if d < best_d:
                best, best_d = c, d
        return best

    def neuron_name(self, ci: int, j: int) -> str:
        names = self.col_names[ci] if ci < len(self.col_names) else []
        if ci == 0 or ci == len(self.sizes) - 1:
            return names[j] if j < len(names) else f"{j + 1}"
        return f"h{j + 1}"

    def connection_tooltip(self, c: _Conn) -> str:
        d = self.phase
        if d is not None and d.params is not None and c.src >= 0 and c.dst >= 0:
            src = self.neuron_name(c.layer, c.src)
            dst = self.neuron_name(c.layer + 1, c.dst)
            text = f"{d.symbol}[layer {c.layer + 1}: {src} \u2192 {dst}] = {c.weight:.6g}"
            if self.params is not None and c.layer < len(self.params):
                text += f"\nw = {float(self.params[c.layer][0][c.src, c.dst]):.6g}"
            return text
        if c.src >= 0 and c.dst >= 0:
            src = self.neuron_name(c.layer, c.src)
            dst = self.neuron_name(c.layer + 1, c.dst)
            return f"w[layer {c.layer + 1}: {src} \u2192 {dst}] = {c.weight:.4f}"

        def side(ci, j):
            if j >= 0:
                return self.neuron_name(ci, j)
            lo, hi = hidden_range(self.sizes[ci])
            return f"{self.neuron_name(ci, lo)}\u2026{self.neuron_name(ci, hi - 1)}"

        symbol = d.symbol if d is not None and d.params is not None else "w"
        return (
            f"{c.count:,} weights in layer {c.layer + 1}: {side(c.layer, c.src)} \u2192 "
            f"{side(c.layer + 1, c.dst)}, mean {symbol} = {c.weight:.4f}"
        )

    def neuron_tooltip(self, ci: int, j: int) -> str:
        name = self.neuron_name(ci, j)
        if ci == 0:
            return f"input {name}" + self._phase_tooltip(ci, j)
        kind = "output" if ci == len(self.sizes) - 1 else f"layer {ci}"
        act = self.activations[ci - 1] if ci - 1 < len(self.activations) else ""
        text = f"{name} ({kind}, {act})"
        if self.params is not None and ci - 1 < len(self.params):
            text += f"\nbias = {float(self.params[ci - 1][1][j]):.4f}"
        return text + self._phase_tooltip(ci, j)

    def _phase_tooltip(self, ci: int, j: int) -> str:
        """The inspector phase's numbers of a neuron (six significant digits)."""
        d = self.phase
        if d is None:
            return ""
        if d.neurons is not None:
            if ci >= len(d.neurons) or j >= np.size(d.neurons[ci]):
                return ""
            a = float(np.ravel(d.neurons[ci])[j])
            if ci == 0:
                return f"\nx = {a:.6g}"
            z = ""
            if d.pre is not None and ci - 1 < len(d.pre) and j < np.size(d.pre[ci - 1]):
                z = f"z = {float(np.ravel(d.pre[ci - 1])[j]):.6g}, "
            return f"\n{z}a = {a:.6g}"
        if d.params is not None and 0 < ci <= len(d.params) and j < np.size(d.params[ci - 1][1]):
            return f"\n{d.bias_symbol} = {float(np.ravel(d.params[ci - 1][1])[j]):.6g}"
        return ""

    def tooltip_at(self, pos: QPointF) -> str:
        hit = self.neuron_at(pos)
        if hit is not None:
            return self.neuron_tooltip(*hit)
        c = self.connection_at(pos)
        return self.connection_tooltip(c) if c is not None else ""

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        hit = self.neuron_at(pos)
        if hit is not None:
            img = self.images.get(hit)
            rect = dict(self.columns[hit[0]])[hit[1]]
            self._popup.show_image(
                img, self.neuron_tooltip(*hit), self.mapToGlobal(rect.topRight().toPoint())
            )
            QToolTip.hideText()
            return
        self._popup.hide()
        text = self.tooltip_at(pos)
        if text:
            QToolTip.showText(event.globalPosition().toPoint() + QPoint(12, 12), text, self)
        else:
            QToolTip.hideText()

    def mousePressEvent(self, event) -> None:
        """A click on a connection edits its weight, on a neuron its bias (TensorFlow
        Playground's behaviour); summaries (an ellipsis end) and inputs have none to edit."""
        if event.button() != Qt.MouseButton.LeftButton or self.params is None:
            return super().mousePressEvent(event)
        pos = event.position()
        hit = self.neuron_at(pos)
        if hit is not None:
            ci, j = hit
            if ci > 0:
                self._popup.hide()
                weight_editor.edit_bias(self.view.controller, ci - 1, j, self)
            return
        c = self.connection_at(pos)
        if c is not None and not c.summary:
            QToolTip.hideText()
            weight_editor.edit_weight(self.view.controller, c.layer, c.src, c.dst, self)
            return
        super().mousePressEvent(event)

    def leaveEvent(self, event) -> None:
        self._popup.hide()
        QToolTip.hideText()
        super().leaveEvent(event)


class _HeatmapPopup(QFrame):
    """A frameless window with a 200 x 200 heatmap of one neuron and its caption."""

    SIZE = 200

    def __init__(self, parent: QWidget):
        super().__init__(parent, Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(4)
        self.image = QLabel()
        self.image.setFixedSize(self.SIZE, self.SIZE)
        self.caption = QLabel()
        lay.addWidget(self.image)
        lay.addWidget(self.caption)

    def show_image(self, img, caption: str, at: QPoint) -> None:
        self.caption.setText(caption)
        self.image.setVisible(img is not None)
        if img is not None:
            pm = QPixmap.fromImage(img).scaled(
                self.SIZE,
                self.SIZE,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.image.setPixmap(pm)
        self.adjustSize()
        self.move(at + QPoint(10, -10))
        self.show()


class _LayerControls(QFrame):
    """Controls above one hidden layer: − units +, activation, dropout."""

    def __init__(self, view: NetworkView, index: int):
        super().__init__(view.canvas)
        self.view, self.index = view, index
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        row = self._row = QHBoxLayout()
        row.setSpacing(2)
        self.minus = _small_button("\u2212", "Remove a neuron from this layer")
        self.plus = _small_button("+", "Add a neuron to this layer")
        self.units = QLabel()
        self.units.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.minus)
        row.addWidget(self.units, 1)
        row.addWidget(self.plus)
        lay.addLayout(row)
        self.activation = QComboBox()
        self.activation.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.activation.setMinimumContentsLength(3)  # it narrows with its column
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.setToolTip("Activation function of this layer")
        from playground.engine.activations import ACTIVATIONS as REGISTRY

        for k, name in enumerate(ACTIVATIONS):
            self.activation.setItemData(k, REGISTRY[name].description, Qt.ItemDataRole.ToolTipRole)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.9)
        self.dropout.setSingleStep(0.05)
        self.dropout.setDecimals(2)
        self.dropout.setPrefix("dropout ")
        self.dropout.setKeyboardTracking(False)
        self.dropout.setToolTip(
            "Fraction of this layer's neurons switched off at random in each training step"
        )
        lay.addWidget(self.activation)
        lay.addWidget(self.dropout)
        self.minus.clicked.connect(self._remove)
        self.plus.clicked.connect(self._add)
        self.activation.activated.connect(self._activation)
        self.dropout.valueChanged.connect(self._dropout)
        self.setFixedWidth(CONTROLS_W)

    def set_width(self, width: int) -> None:
        """Narrow columns get compact controls: the neuron count on a line of its own, the
        dropout without its prefix (the tooltip says what it is)."""
        width = int(width)
        fm = QFontMetrics(self.dropout.font())
        compact = width < CONTROLS_W - 8 or fm.horizontalAdvance("dropout 0.00") + 28 > max(width, CONTROLS_W)
        if width == self.width() and compact == getattr(self, "_compact", None):
            return
        self._compact = compact
        self.setFixedWidth(width)
        lay, row = self.layout(), self._row
        if compact and row.indexOf(self.units) >= 0:
            row.removeWidget(self.units)
            lay.insertWidget(0, self.units)
            row.insertStretch(1, 1)
        elif not compact and row.indexOf(self.units) < 0:
            lay.removeWidget(self.units)
            row.takeAt(1)  # the stretch between the buttons
            row.insertWidget(1, self.units, 1)
        self.dropout.setPrefix("" if compact else "dropout ")
        if getattr(self, "_layer", None) is not None:
            self.set_layer(self._layer)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange and getattr(self, "_layer", None) is not None:
            QTimer.singleShot(0, self._refit)  # presenter mode: the neuron count's font again

    def _refit(self) -> None:
        self.set_layer(self._layer)

    def set_layer(self, layer: LayerSpec) -> None:
        self._layer = layer
        text = neurons_text(layer.units)
        room = self.width() - 4
        if self.layout().indexOf(self.units) < 0:  # between the buttons
            room -= self.minus.width() + self.plus.width() + 4
        font = self.font()
        if QFontMetrics(font).horizontalAdvance(text) > room:
            font.setPointSizeF(max(6.5, font.pointSizeF() * 0.82))
            if QFontMetrics(font).horizontalAdvance(text) > room:
                text = neurons_text(layer.units, short=True)
        self.units.setFont(font)
        self.units.setText(text)
        self.units.setToolTip(f"{layer.units:,} neurons in hidden layer {self.index + 1}")
        self.minus.setEnabled(layer.units > 1)
        self.activation.setCurrentText(layer.activation)
        self.dropout.blockSignals(True)
        self.dropout.setValue(layer.dropout)
        self.dropout.blockSignals(False)

    def _add(self) -> None:
        self.view.add_neuron(self.index)

    def _remove(self) -> None:
        self.view.remove_neuron(self.index)

    def _activation(self, _k: int) -> None:
        self.view.set_activation(self.index, self.activation.currentText())

    def _dropout(self, value: float) -> None:
        self.view.set_dropout(self.index, value)


def neurons_text(units: int, short: bool = False) -> str:
    """ "12 neurons", "1 neuron"; ``short`` for narrow columns: "12.3k neurons"."""
    word = "neuron" if units == 1 else "neurons"
    if short and units >= 1000:
        return f"{units / 1000:.3g}k {word}"
    return f"{units:,} {word}"


def _small_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(False)
    b.setFixedSize(22, 22)
    f = b.font()
    f.setBold(True)
    b.setFont(f)
    return b


class NetworkView(QWidget):
    """The network diagram and its architecture controls, bound to an ExperimentController."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.zoom = 1.0
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.canvas = NetworkCanvas(self)
        self.scroll.setWidget(self.canvas)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.scroll)
        self.stack_label = QLabel()  # image data / image layers: the stack as text
        self.stack_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack_label.setWordWrap(True)
        self.stack_label.setTextFormat(Qt.TextFormat.RichText)
        self.stack_label.hide()
        lay.addWidget(self.stack_label)
        self.layer_controls: list[_LayerControls] = []
        self._layers_box = self._make_layers_box()
        self._output_box = QLabel(self.canvas)
        self._output_box.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        self._input_caption = QLabel(self.canvas)
        self._input_caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)
        self._pending = None
        self._last_frame = 0.0
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._apply_pending)
        controller.specChanged.connect(self._on_spec_changed)
        controller.experimentReplaced.connect(self._on_experiment_replaced)
        controller.snapshot.connect(self._on_snapshot)
        if hasattr(controller, "axesChanged"):  # the input pictures follow the boundary's axes
            controller.axesChanged.connect(self._on_axes_changed)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, action in (
            ("Ctrl+0", lambda: self.set_zoom(1.0)),
            ("Ctrl+=", lambda: self.set_zoom(self.zoom * ZOOM_STEP)),
            ("Ctrl++", lambda: self.set_zoom(self.zoom * ZOOM_STEP)),
            ("Ctrl+-", lambda: self.set_zoom(self.zoom / ZOOM_STEP)),
        ):
            QShortcut(QKeySequence(keys), self, action, context=ctx)
        self.rebuild()
        install_figure_menu(self, "network")  # exports the diagram (the canvas) as vectors

    # -- header widgets ---------------------------------------------------------------
    def _make_layers_box(self) -> QWidget:
        box = QWidget(self.canvas)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.layers_label = QLabel()
        self.layers_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.remove_layer_button = _small_button("\u2212 layer", "Remove the last hidden layer")
        self.add_layer_button = _small_button("+ layer", "Add a hidden layer")
        for b in (self.remove_layer_button, self.add_layer_button):
            b.setFixedWidth(54)
            row.addWidget(b)
        lay.addWidget(self.layers_label)
        lay.addLayout(row)
        self.layers_label.setText("0 hidden layers")
        self.remove_layer_button.clicked.connect(self.remove_layer)
        self.add_layer_button.clicked.connect(self.add_layer)
        box.setFixedWidth(CONTROLS_W)
        return box

    def _layers_box_height(self) -> int:
        button = getattr(self, "add_layer_button", None)  # (asked for before it is built)
        return QFontMetrics(self.canvas.font()).height() + 3 + (button.height() if button else 22) + 2

    def header_height(self) -> int:
        """The controls strip above the neurons: HEADER_H, taller when the fonts are large
        (presenter mode) so the layer controls and the input caption never overlap."""
        line = QFontMetrics(self.canvas.font()).height()
        need = 6 + self._layers_box_height() + 2 + 2 * line + 4 + 6
        hints = [box.sizeHint().height() + 12 for box in getattr(self, "layer_controls", ())]
        return int(max(HEADER_H, need, *hints))

    def position_controls(self) -> None:
        """Header widgets follow the columns; narrow columns get narrower (compact) controls, so
        nothing overlaps and the whole network fits the view."""
        canvas = self.canvas
        n = len(canvas.sizes)
        if n == 0:
            return
        h = self.header_height() - 12
        width = canvas.width()
        pitch = width / n
        wc = int(min(CONTROLS_W, max(MIN_CONTROLS_W, pitch - 8)))
        x0 = canvas.column_x(0)
        first = canvas.column_x(1) - wc / 2 if self.layer_controls else canvas.column_x(n - 1) - 65
        lw = int(min(CONTROLS_W, max(48, first - 8)))
        self._set_layers_box_width(lw)
        lb_h = self._layers_box_height()
        self._layers_box.setGeometry(4, 6, lw, lb_h)
        left, right = max(0.0, x0 - 60), max(x0 + 20, min(x0 + 60, first - 4))
        cap_y = 6 + lb_h + 2
        self._input_caption.setGeometry(int(left), cap_y, int(right - left), max(10, h - cap_y + 6))
        n_in = canvas.sizes[0]
        features = f"{n_in} feature{'s' if n_in != 1 else ''}"
        if QFontMetrics(self._input_caption.font()).horizontalAdvance(features) > right - left:
            features = f"{n_in}"  # a narrow column with large fonts
        self._input_caption.setText(f"<b>INPUTS</b><br>{features}")
        for i, box in enumerate(self.layer_controls):
            x = canvas.column_x(i + 1)
            box.set_width(wc)
            hint = box.sizeHint().height()
            box.setGeometry(int(x - wc / 2), max(2, h - hint + 6), wc, hint)
        xo = canvas.column_x(n - 1)
        lo = canvas.column_x(n - 2) + wc / 2 + 4 if n > 2 else 0.0
        left, right = max(lo, xo - 65), min(width - 1.0, xo + 65)
        self._output_box.setGeometry(int(left), 6, int(max(20.0, right - left)), h)

    def _set_layers_box_width(self, width: int) -> None:
        fm = QFontMetrics(self.remove_layer_button.font())
        full = max(54, fm.horizontalAdvance("\u2212 layer") + 6)  # wider with large fonts
        compact = width < CONTROLS_W - 8 or 2 * full + 4 > max(width, CONTROLS_W)
        self._layers_box.setFixedWidth(width)
        for b, sign in ((self.remove_layer_button, "\u2212"), (self.add_layer_button, "+")):
            b.setText(sign if compact else f"{sign} layer")
            b.setFixedWidth(max(22, (width - 6) // 2) if compact else full)
        n = len(self.layer_controls)
        long_text = f"{n} hidden layer{'s' if n != 1 else ''}"
        fits = QFontMetrics(self.layers_label.font()).horizontalAdvance(long_text) <= width
        self.layers_label.setText(long_text if fits and not compact else f"{n} layer{'s' if n != 1 else ''}")
        self.layers_label.setToolTip(f"{n} hidden layer{'s' if n != 1 else ''}")

    # -- zoom ------------------------------------------------------------------------------
    def set_zoom(self, zoom: float) -> None:
        """1 = the whole network fits the view (the default, kept on every resize and network
        change); above 1 the picture grows past the view and scrolls."""
        self.zoom = float(min(MAX_ZOOM, max(1.0, zoom)))
        self._apply_zoom()

    def _apply_zoom(self) -> None:
        hint = self.canvas.minimumSizeHint()
        if self.zoom <= 1.0:
            self.canvas.setMinimumSize(hint)
            return
        vp = self.scroll.viewport().size()
        self.canvas.setMinimumSize(
            max(hint.width(), int(vp.width() * self.zoom)), max(hint.height(), int(vp.height() * self.zoom))
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.zoom > 1.0:
            self._apply_zoom()

    # -- state from the controller ---------------------------------------------------------
    def _experiment(self):
        return getattr(self.controller, "experiment", None)

    def drawable(self) -> bool:
        """Whether the diagram applies: a dense network on flat data."""
        exp = self._experiment()
        if exp is not None and exp.dataset.X_train.ndim > 2:  # images, sequences
            return False
        return all(layer.kind == "dense" for layer in self.controller.spec.network.hidden)

    def _show_stack(self) -> None:
        """The network as a list of blocks, for networks the diagram does not draw."""
        spec = self.controller.spec
        exp = self._experiment()
        lines = []
        if exp is not None:
            shape = exp.dataset.input_shape
            rows, err = stack_report(shape, spec.network.hidden, int(exp.trainer.layout.sizes[-1]))
            lines.append(f"input {format_shape(shape)}")
            for r in rows:
                kind = "flatten" if r.implicit else (r.kind if r.index is not None else "output dense")
                params = f" · {r.n_params:,} parameters" if r.n_params else ""
                lines.append(f"{kind} → <b>{format_shape(r.shape)}</b>{params}")
            if err is not None:
                lines.append(f"<span style='color:#d62728'>{err}</span>")
        self.stack_label.setText(
            "<p><b>NETWORK</b></p><p>" + "<br>".join(lines) + "</p><p style='color:gray'>The diagram draws "
            "dense networks on flat data. Edit these layers in the <b>Layers</b> panel; the image "
            "views show their feature maps and filters, the sequence views their states over time.</p>"
        )

    def rebuild(self) -> None:
        drawable = self.drawable()
        self.scroll.setVisible(drawable)
        self.stack_label.setVisible(not drawable)
        if not drawable:
            self._show_stack()
            return
        spec = self.controller.spec
        exp = self._experiment()
        hidden = spec.network.hidden
        if exp is not None:
            sizes = [int(s) for s in exp.trainer.layout.sizes]
            inputs = list(exp.dataset.feature_names)
            n_out = sizes[-1]
            classes = exp.dataset.class_names
        else:
            inputs = list(spec.data.features) or ["x1", "x2"]
            n_out, classes = 1, None
            sizes = [len(inputs), *(layer.units for layer in hidden), n_out]
        if n_out == 1:
            outputs = ["output"]
        elif classes and len(classes) == n_out:
            outputs = [str(c) for c in classes]
        else:
            outputs = [f"y{k + 1}" for k in range(n_out)]
        acts = [layer.activation for layer in hidden] + [spec.network.output_activation]
        names = [inputs] + [[] for _ in hidden] + [outputs]
        while len(self.layer_controls) > len(hidden):
            self.layer_controls.pop().deleteLater()
        while len(self.layer_controls) < len(hidden):
            box = _LayerControls(self, len(self.layer_controls))
            box.show()
            self.layer_controls.append(box)
        for box, layer in zip(self.layer_controls, hidden):
            box.set_layer(layer)
        n = len(hidden)
        self.remove_layer_button.setEnabled(n > 0)
        n_in = sizes[0]
        self._input_caption.setText(f"<b>INPUTS</b><br>{n_in} feature{'s' if n_in != 1 else ''}")
        self._output_box.setText(f"<b>OUTPUT</b><br>{spec.network.output_activation}")
        self.canvas.set_structure(sizes, names, acts)
        self.canvas.params = exp.params if exp is not None else None
        self.canvas.restyle()
        self._input_images()
        self._fallback_grids()
        self.canvas.update()

    def _grid_axes(self, ds) -> tuple[int, int]:
        """The raw columns the boundary shows, as ``Experiment.grid`` takes them: the
        controller's axes ((0, 0) for 1-D data, whose grid reads only the first)."""
        if ds.raw_train.shape[1] <= 1:
            return (0, 0)
        axes = getattr(self.controller, "axes", (0, 1))  # a PreviewController has none
        return (int(axes[0]), int(axes[1]))

    def _input_images(self) -> None:
        """Input neurons show their feature over the plane the boundary shows: its two raw
        columns vary, every other column is held at its mean (as ``Experiment.grid`` does),
        so with more than two columns the held features are flat."""
        exp = self._experiment()
        if exp is None:
            return
        ds = exp.dataset
        try:
            _xs, _ys, feats = exp.grid_inputs(self._grid_axes(ds), GRID_RES)
        except Exception:  # a pipeline that cannot take grid points: plain neurons
            return
        vals = np.asarray(feats, dtype=np.float64).T.reshape(-1, GRID_RES, GRID_RES)
        # scaled by the larger of the picture's and the data's own range: a feature held at its
        # mean is near zero (neutral), not stretched to full colour
        data_max = np.abs(np.asarray(ds.X_train, dtype=np.float64)).max(axis=0)[:, None, None]
        scale = np.maximum(np.maximum(np.abs(vals).max(axis=(1, 2), keepdims=True), data_max), 1e-12)
        self.canvas.set_column_grids(0, vals / scale)

    def _fallback_grids(self) -> None:
        """Neuron pictures before the first snapshot, only if the engine is already compiled."""
        exp = self._experiment()
        if exp is None:
            return
        from playground.engine.kernels import predict_compiled

        if not predict_compiled(exp.trainer.theta.dtype):  # never compile on the GUI thread
            return
        try:
            axes, theta = self._grid_axes(exp.dataset), exp.trainer.theta.copy()
            _, _, _, hid = exp.grid(axes=axes, resolution=GRID_RES, hidden=True, theta=theta)
        except Exception:
            return
        self._set_neuron_grids(np.moveaxis(hid, -1, 0))

    def _set_neuron_grids(self, grids: np.ndarray) -> None:
        """grids: (total neurons of hidden + output layers, r, r), in layer order."""
        start = 0
        for c in range(1, len(self.canvas.sizes)):
            units = self.canvas.sizes[c]
            block = grids[start : start + units]
            start += units
            if block.shape[0] != units:
                return
            self.canvas.set_column_grids(c, display_values(block, self.canvas.activations[c - 1]))

    def _on_spec_changed(self, _spec=None) -> None:
        self.rebuild()

    def _on_experiment_replaced(self) -> None:
        self._pending = None
        self.rebuild()

    def _on_axes_changed(self, _axes) -> None:
        if not self.drawable():
            return
        self._input_images()  # the hidden neurons' pictures follow with the next snapshot
        self.canvas.update()

    def _on_snapshot(self, snap) -> None:
        if self.stack_label.isVisible() or not self.drawable():
            return
        self._pending = snap
        if not self._frame_timer.isActive():
            wait = max(0.0, FRAME_MS - (time.perf_counter() - self._last_frame) * 1000.0)
            self._frame_timer.start(int(wait))

    def _apply_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is not None:
            self.apply_snapshot(snap)

    def apply_snapshot(self, snap) -> None:
        """Restyle weights and neuron pictures from a snapshot (``.params``, ``.neuron_grids``)."""
        self._last_frame = time.perf_counter()
        params = getattr(snap, "params", None)
        if params is not None:
            if [W.shape[0] for W, _ in params] + [params[-1][0].shape[1]] != self.canvas.sizes:
                return  # a snapshot of the network before the last edit
            self.canvas.params = params
            self.canvas.restyle()
        grids = getattr(snap, "neuron_grids", None)
        if grids is not None:
            grids = np.asarray(grids)
            total = sum(self.canvas.sizes[1:])
            if grids.ndim == 3 and grids.shape[0] != total and grids.shape[-1] == total:
                grids = np.moveaxis(grids, -1, 0)
            self._set_neuron_grids(grids)
        self.canvas.update()

    @Slot(object)
    def show_phase(self, drawing: PhaseDrawing | None) -> None:
        """Draw a step inspector phase (the inspector view's ``drawingChanged``); None: the
        weights again."""
        self.canvas.set_phase(drawing)

    # -- edits ---------------------------------------------------------------------------
    def _edit_hidden(self, hidden: tuple[LayerSpec, ...], text: str) -> None:
        spec = self.controller.spec
        new = replace(spec, network=replace(spec.network, hidden=tuple(hidden)))
        self.controller.edit_spec(new, text)

    def _with_layer(self, i: int, **changes) -> tuple[LayerSpec, ...]:
        hidden = list(self.controller.spec.network.hidden)
        hidden[i] = replace(hidden[i], **changes)
        return tuple(hidden)

    def add_neuron(self, i: int) -> None:
        units = self.controller.spec.network.hidden[i].units
        self._edit_hidden(self._with_layer(i, units=units + 1), f"Add neuron to layer {i + 1}")

    def remove_neuron(self, i: int) -> None:
        units = self.controller.spec.network.hidden[i].units
        if units > 1:
            self._edit_hidden(self._with_layer(i, units=units - 1), f"Remove neuron from layer {i + 1}")

    def set_activation(self, i: int, name: str) -> None:
        if self.controller.spec.network.hidden[i].activation != name:
            self._edit_hidden(self._with_layer(i, activation=name), f"Layer {i + 1} activation {name}")

    def set_dropout(self, i: int, p: float) -> None:
        if abs(self.controller.spec.network.hidden[i].dropout - p) > 1e-12:
            self._edit_hidden(self._with_layer(i, dropout=round(float(p), 4)), f"Layer {i + 1} dropout {p:g}")

    def add_layer(self) -> None:
        hidden = self.controller.spec.network.hidden
        last = hidden[-1] if hidden else LayerSpec(4, "tanh")
        new = LayerSpec(units=min(last.units, 8) or 4, activation=last.activation)
        self._edit_hidden((*hidden, new), f"Add hidden layer {len(hidden) + 1}")

    def remove_layer(self) -> None:
        hidden = self.controller.spec.network.hidden
        if hidden:
            self._edit_hidden(hidden[:-1], f"Remove hidden layer {len(hidden)}")


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: NetworkView(c), size=(980, 560))
