"""The network drawn as columns of neurons: input -> hidden layers -> output.

Each neuron is a small heatmap of its output over the input plane; connections are blue
(positive) or orange (negative), thicker and more opaque the larger |w|. Above each hidden
layer sit its controls (neurons +/-, activation, dropout). Layers wider than
``MAX_VISIBLE`` are drawn collapsed (first few, "… N more", last few) so a 10,000-unit layer
costs what a 12-unit one does. All edits go through ``controller.edit_spec`` (undoable).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen, QPixmap
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

from playground.app.widgets import colors
from playground.spec import ACTIVATIONS, LayerSpec

MAX_VISIBLE = 12  # a layer wider than this is drawn collapsed
EDGE_SHOWN = 5  # neurons shown at each end of a collapsed layer
GRID_RES = 24  # resolution of the fallback neuron grids
HEADER_H = 96  # height of the controls strip above the neurons
MIN_COL_W = 132
FRAME_MS = 33  # at most ~30 repaints per second
BOUNDED = {"tanh", "sine", "sigmoid", "softmax"}
UNIT_ACTIVATIONS = {"sigmoid", "softmax"}  # outputs in (0, 1): 0.5 is the neutral colour


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


@dataclass
class _Conn:
    """One drawn connection (or a summary of many, when an end is an ellipsis slot)."""

    layer: int  # 0 = input -> first hidden
    src: int  # neuron index, or -1 for the ellipsis
    dst: int
    p0: QPointF
    p1: QPointF
    weight: float = 0.0  # the weight, or for a summary the mean weight
    count: int = 1
    color: QColor | None = None
    width: float = 1.0


class NetworkCanvas(QWidget):
    """Paints neurons and connections; hover shows weights, biases and a large neuron heatmap."""

    def __init__(self, view: NetworkView):
        super().__init__(view)
        self.view = view
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.sizes: list[int] = []  # units per column: inputs, hidden..., outputs
        self.col_names: list[list[str]] = []
        self.activations: list[str] = []  # per non-input column
        self.columns: list[list[tuple[int, QRectF]]] = []  # per column: (neuron, rect); -1 = ellipsis
        self.conns: list[_Conn] = []
        self.params: list[tuple[np.ndarray, np.ndarray]] | None = None
        self.images: dict[tuple[int, int], object] = {}  # (column, neuron) -> QImage
        self.grids: list[np.ndarray | None] = []  # per column: (units, r, r) display values
        self.neuron_size = 30.0
        self._popup = _HeatmapPopup(self)

    # -- structure ----------------------------------------------------------------------
    def set_structure(self, sizes, col_names, activations) -> None:
        self.sizes = list(sizes)
        self.col_names = col_names
        self.activations = list(activations)
        self.grids = [None] * len(self.sizes)
        self.images.clear()
        self.setMinimumSize(self.minimumSizeHint())
        self.relayout()

    def minimumSizeHint(self) -> QSize:
        return QSize(max(1, len(self.sizes)) * MIN_COL_W, HEADER_H + 220)

    def sizeHint(self) -> QSize:
        return QSize(max(1, len(self.sizes)) * 170, 460)

    def column_x(self, c: int) -> float:
        """Centre x of column c; the input and output columns sit inwards to leave room for labels."""
        n = max(1, len(self.sizes))
        w = self.width() / n
        if n > 1 and c == 0:
            return w * 0.68
        if n > 1 and c == n - 1:
            return self.width() - w * 0.68
        return w * (c + 0.5)

    def relayout(self) -> None:
        if not self.sizes:
            return
        top, bottom = HEADER_H + 8, self.height() - 14
        slots = [visible_slots(u) for u in self.sizes]
        most = max(len(s) for s in slots)
        avail = max(40.0, bottom - top)
        pitch = min(avail / most, 62.0)
        self.neuron_size = size = max(14.0, min(40.0, pitch * 0.72))
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
                    self.conns.append(_Conn(layer, i, j, p0, p1))
        self.restyle()
        self.view.position_controls()

    def resizeEvent(self, event) -> None:
        self.relayout()
        super().resizeEvent(event)

    # -- weights ----------------------------------------------------------------------
    def conn_weight(self, c: _Conn) -> tuple[float, int]:
        """(weight or mean weight, number of weights) a drawn connection stands for."""
        if self.params is None or c.layer >= len(self.params):
            return 0.0, 1
        W = self.params[c.layer][0]
        rows = slice(*hidden_range(W.shape[0])) if c.src < 0 else slice(c.src, c.src + 1)
        cols = slice(*hidden_range(W.shape[1])) if c.dst < 0 else slice(c.dst, c.dst + 1)
        block = W[rows, cols]
        if block.size == 0:
            return 0.0, 0
        return float(block.mean()), int(block.size)

    def restyle(self) -> None:
        """Colour and width of every connection from the current parameters."""
        if not self.conns:
            return
        ws = [self.conn_weight(c) for c in self.conns]
        mags = np.abs(np.array([w for w, _ in ws]))
        top = float(np.nanmax(mags)) if mags.size else 0.0
        top = top if top > 0 and math.isfinite(top) else 1.0
        for c, (w, n) in zip(self.conns, ws):
            t = min(1.0, abs(w) / top) if math.isfinite(w) else 0.0
            c.weight, c.count = w, n
            c.color = colors.signed_color(w, 0.12 + 0.88 * t)
            c.width = 0.6 + 4.4 * t

    def connection(self, layer: int, src: int, dst: int) -> _Conn | None:
        for c in self.conns:
            if c.layer == layer and c.src == src and c.dst == dst:
                return c
        return None

    # -- neuron images ---------------------------------------------------------------
    def set_column_grids(self, c: int, values: np.ndarray | None) -> None:
        """values: (units, r, r) display values in [-1, 1] for column c."""
        self.grids[c] = values
        for j, _ in self.columns[c] if c < len(self.columns) else []:
            self.images.pop((c, j), None)
            if values is not None and 0 <= j < values.shape[0]:
                self.images[(c, j)] = colors.heatmap_image(values[j])

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        text = colors.text_color(pal)
        dim = colors.text_color(pal, dim=True)
        for c in self.conns:
            pen = QPen(c.color or dim, c.width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            if c.src < 0 or c.dst < 0:
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            dx = (c.p1.x() - c.p0.x()) * 0.45
            if abs(c.p0.y() - c.p1.y()) < 0.5:
                p.drawLine(c.p0, c.p1)
            else:
                path = QPainterPath(c.p0)
                path.cubicTo(QPointF(c.p0.x() + dx, c.p0.y()), QPointF(c.p1.x() - dx, c.p1.y()), c.p1)
                p.drawPath(path)
        border = colors.mix(text, QColor(pal.color(QPalette.ColorRole.Window)), 0.65)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        for ci, col in enumerate(self.columns):
            for j, r in col:
                if j < 0:
                    self._paint_ellipsis(p, ci, r, small, dim)
                    continue
                img = self.images.get((ci, j))
                if img is not None:
                    p.drawImage(r, img)
                else:
                    p.setBrush(pal.color(QPalette.ColorRole.Base))
                    p.setPen(Qt.PenStyle.NoPen)
                    p.drawRoundedRect(r, 3, 3)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(border, 1))
                p.drawRoundedRect(r, 3, 3)
                if ci > 0:
                    self._paint_bias(p, ci, j, r)
            self._paint_labels(p, ci, col, small, text, dim)
        p.end()

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

    def _paint_bias(self, p: QPainter, ci: int, j: int, r: QRectF) -> None:
        if self.params is None or ci - 1 >= len(self.params):
            return
        b = self.params[ci - 1][1]
        if j >= b.shape[0]:
            return
        top = float(np.max(np.abs(b))) or 1.0
        t = min(1.0, abs(float(b[j])) / top)
        h = max(1.0, (r.height() - 4) * t)
        bar = QRectF(r.left() - 5, r.bottom() - 2 - h, 3, h)
        p.fillRect(bar, colors.signed_color(float(b[j]), 0.9))

    def _paint_labels(self, p, ci, col, small, text, dim) -> None:
        names = self.col_names[ci] if ci < len(self.col_names) else []
        last = ci == len(self.columns) - 1
        if ci != 0 and not last:
            return
        p.setFont(self.font())
        p.setPen(text)
        room = self.column_x(0) - self.neuron_size / 2 - 14
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
        if c.src >= 0 and c.dst >= 0:
            src = self.neuron_name(c.layer, c.src)
            dst = self.neuron_name(c.layer + 1, c.dst)
            return f"w[layer {c.layer + 1}: {src} \u2192 {dst}] = {c.weight:.4f}"

        def side(ci, j):
            if j >= 0:
                return self.neuron_name(ci, j)
            lo, hi = hidden_range(self.sizes[ci])
            return f"{self.neuron_name(ci, lo)}\u2026{self.neuron_name(ci, hi - 1)}"

        return (
            f"{c.count:,} weights in layer {c.layer + 1}: {side(c.layer, c.src)} \u2192 "
            f"{side(c.layer + 1, c.dst)}, mean w = {c.weight:.4f}"
        )

    def neuron_tooltip(self, ci: int, j: int) -> str:
        name = self.neuron_name(ci, j)
        if ci == 0:
            return f"input {name}"
        kind = "output" if ci == len(self.sizes) - 1 else f"layer {ci}"
        act = self.activations[ci - 1] if ci - 1 < len(self.activations) else ""
        text = f"{name} ({kind}, {act})"
        if self.params is not None and ci - 1 < len(self.params):
            text += f"\nbias = {float(self.params[ci - 1][1][j]):.4f}"
        return text

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
        row = QHBoxLayout()
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
        self.setFixedWidth(MIN_COL_W - 14)

    def set_layer(self, layer: LayerSpec) -> None:
        text = f"{layer.units:,} neuron{'s' if layer.units != 1 else ''}"
        if self.units.fontMetrics().horizontalAdvance(text) > self.width() - 2 * 24 - 8:
            text = f"{layer.units:,}"
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


def _small_button(text: str, tip: str) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.setAutoRaise(False)
    b.setFixedSize(24, 24)
    f = b.font()
    f.setBold(True)
    b.setFont(f)
    return b


class NetworkView(QWidget):
    """The network diagram and its architecture controls, bound to an ExperimentController."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.canvas = NetworkCanvas(self)
        self.scroll.setWidget(self.canvas)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.scroll)
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
        self.rebuild()

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
            b.setFixedWidth(56)
            row.addWidget(b)
        lay.addWidget(self.layers_label)
        lay.addLayout(row)
        self.remove_layer_button.clicked.connect(self.remove_layer)
        self.add_layer_button.clicked.connect(self.add_layer)
        box.setFixedWidth(MIN_COL_W - 14)
        return box

    def position_controls(self) -> None:
        n = len(self.canvas.sizes)
        if n == 0:
            return
        h = HEADER_H - 12
        x0 = self.canvas.column_x(0)
        self._layers_box.setGeometry(int(x0 - self._layers_box.width() / 2), 6, self._layers_box.width(), 52)
        self._input_caption.setGeometry(int(x0 - 60), 52, 120, h - 52 + 6)
        for i, box in enumerate(self.layer_controls):
            x = self.canvas.column_x(i + 1)
            box.adjustSize()
            box.setGeometry(
                int(x - box.width() / 2),
                h - box.sizeHint().height() + 6,
                box.width(),
                box.sizeHint().height(),
            )
        xo = self.canvas.column_x(n - 1)
        self._output_box.setGeometry(int(xo - 65), 6, 130, h)

    # -- state from the controller ---------------------------------------------------------
    def _experiment(self):
        return getattr(self.controller, "experiment", None)

    def rebuild(self) -> None:
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
        self.layers_label.setText(f"{n} hidden layer{'s' if n != 1 else ''}")
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

    def _input_images(self) -> None:
        """Input neurons show their feature over the input plane (2-D and 1-D toy data)."""
        exp = self._experiment()
        if exp is None or exp.dataset.raw_train.shape[1] > 2:
            return
        ds = exp.dataset
        b = ds.raw_bounds(pad=0.05)
        xs = np.linspace(*b[0], GRID_RES)
        ys = np.linspace(*(b[1] if len(b) > 1 else (-1.0, 1.0)), GRID_RES)
        gx, gy = np.meshgrid(xs, ys)
        pts = np.column_stack([gx.ravel(), gy.ravel()])[:, : ds.raw_train.shape[1]]
        try:
            feats = ds.pipeline.apply(pts)
        except Exception:  # a pipeline that cannot take grid points: plain neurons
            return
        vals = feats.T.reshape(-1, GRID_RES, GRID_RES)
        scale = np.maximum(np.abs(vals).max(axis=(1, 2), keepdims=True), 1e-12)
        self.canvas.set_column_grids(0, vals / scale)

    def _fallback_grids(self) -> None:
        """Neuron pictures before the first snapshot, only if the engine is already compiled."""
        exp = self._experiment()
        if exp is None or exp.dataset.raw_train.shape[1] > 2:
            return
        from playground.engine import kernels

        if not kernels.predict_kernel.signatures:  # never compile on the GUI thread
            return
        try:
            _, _, _, hid = exp.grid(resolution=GRID_RES, hidden=True, theta=exp.trainer.theta.copy())
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

    def _on_snapshot(self, snap) -> None:
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
    from playground.app.widgets import run_preview

    run_preview(lambda c: NetworkView(c), size=(980, 560))
