"""Live plots: loss, gradient norm per layer, accuracy / R².

Plot items are created once; a QTimer (~30 fps) redraws from the controller's LiveHistory with
``setData`` only when it changed, never once per training step. Curves use pen width 1,
``setClipToView`` and peak downsampling so long runs stay cheap.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from . import theme
from .controller import ExperimentController

TRAIN_COLOR = "#0877bd"
TEST_COLOR = "#f59322"
LAYER_COLORS = ("#0877bd", "#f59322", "#3fa34d", "#c2417b", "#8e6ccf", "#d4b21f", "#17a2b8", "#8c564b")
EMA_ALPHA = 0.1  # weight of the newest point in the smoothed loss
LOG_FLOOR = 1e-300


def ema(values: np.ndarray, alpha: float = EMA_ALPHA, start: float = np.nan) -> np.ndarray:
    """Exponential moving average that skips NaN and infinities (they stay NaN, the average carries over)."""
    out = np.empty_like(values)
    acc = start if math.isfinite(start) else math.nan
    for i, v in enumerate(values.tolist()):
        if math.isfinite(v):
            acc = v if acc != acc else acc + alpha * (v - acc)
            out[i] = acc
        else:
            out[i] = np.nan
    return out


def _pen(color: str, alpha: int = 255, style=Qt.PenStyle.SolidLine):
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=1, style=style)


def _new_plot(title: str, y_label: str) -> pg.PlotWidget:
    w = pg.PlotWidget()
    p = w.getPlotItem()
    p.setTitle(title, size="10pt")
    p.setLabel("bottom", "epoch")
    p.setLabel("left", y_label)
    p.setClipToView(True)
    p.setDownsampling(auto=True, mode="peak")
    p.setMenuEnabled(True)
    p.hideButtons()
    p.getViewBox().setMouseEnabled(x=True, y=False)
    theme.style_plot(p)
    w.setMinimumSize(220, 150)
    return w


def _curve(plot: pg.PlotWidget, color: str, name: str | None = None, alpha: int = 255) -> pg.PlotDataItem:
    item = plot.getPlotItem().plot([], [], pen=_pen(color, alpha), name=name, connect="finite")
    item.setClipToView(True)
    item.setDownsampling(auto=True, method="peak")
    return item


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


class PlotsPanel(QWidget):
    """The three live plots side by side, with their toggles."""

    def __init__(self, controller: ExperimentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.frames = 0  # redraws done (the smoke test reports frames/s)
        self._drawn_version = -1
        self._event_lines: list[pg.InfiniteLine] = []
        self._events_drawn: list = []
        self._n_layers = -1

        self.loss_plot = _new_plot("Loss", "loss")
        self.loss_plot.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.train_raw = _curve(self.loss_plot, TRAIN_COLOR, None, alpha=70)
        self.test_raw = _curve(self.loss_plot, TEST_COLOR, None, alpha=70)
        self.train_loss = _curve(self.loss_plot, TRAIN_COLOR, "train")
        self.test_loss = _curve(self.loss_plot, TEST_COLOR, "test")
        self._ema_cache: dict[str, tuple[int, np.ndarray]] = {}

        self.grad_plot = _new_plot("Gradient norm per layer", "‖∇W‖")
        self.grad_plot.getPlotItem().setLogMode(y=True)
        self.grad_legend = self.grad_plot.getPlotItem().addLegend(
            offset=(10, 5), labelTextSize="8pt", colCount=4, verSpacing=-6
        )
        self.grad_curves: list[pg.PlotDataItem] = []

        self.metric_plot = _new_plot("Accuracy", "accuracy")
        self.metric_plot.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="8pt")
        self.train_metric = _curve(self.metric_plot, TRAIN_COLOR, "train")
        self.test_metric = _curve(self.metric_plot, TEST_COLOR, "test")

        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Show the loss on a logarithmic axis: slow late progress becomes visible")
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setToolTip("Draw an exponential moving average over the raw (faint) curve")
        self.smooth_check.setChecked(True)
        self.log_check.toggled.connect(self.set_log_scale)
        self.smooth_check.toggled.connect(self._force_redraw)

        HoverReadout(self.loss_plot, self._loss_series)
        HoverReadout(self.grad_plot, self._grad_series)
        HoverReadout(self.metric_plot, self._metric_series)

        loss_box = QWidget()
        lv = QVBoxLayout(loss_box)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(2)
        lv.addWidget(self.loss_plot, 1)
        toggles = QHBoxLayout()
        toggles.setContentsMargins(8, 0, 0, 0)
        toggles.addWidget(self.log_check)
        toggles.addWidget(self.smooth_check)
        toggles.addStretch(1)
        lv.addLayout(toggles)
        self.loss_box = loss_box

        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.setSpacing(6)
        row.addWidget(loss_box, 1)
        row.addWidget(self.grad_plot, 1)
        row.addWidget(self.metric_plot, 1)

        controller.experimentReplaced.connect(self._on_replaced)
        controller.specChanged.connect(self._on_spec_changed)
        self._on_replaced()
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- public ------------------------------------------------------------------------------
    def plot_widgets(self) -> dict[str, pg.PlotWidget]:
        return {"loss": self.loss_plot, "gradients": self.grad_plot, "metric": self.metric_plot}

    def set_plot_visible(self, name: str, visible: bool) -> None:
        w = self.loss_box if name == "loss" else self.plot_widgets()[name]
        w.setVisible(visible)

    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        self.loss_plot.getPlotItem().setLogMode(y=on)
        self._force_redraw()

    def event_markers(self) -> list[pg.InfiniteLine]:
        return list(self._event_lines)

    def apply_theme(self) -> None:
        t = theme.current()
        for w in self.plot_widgets().values():
            w.setBackground(t.plot_bg)
            theme.style_plot(w.getPlotItem(), t)
        self._clear_events()
        self._force_redraw()

    # -- slots ---------------------------------------------------------------------------------
    @Slot()
    def _on_replaced(self) -> None:
        self._clear_events()
        self._ema_cache.clear()
        task = self.controller.experiment.dataset.task
        pi = self.metric_plot.getPlotItem()
        if task == "classification":
            pi.setTitle("Accuracy", size="10pt")
            pi.setLabel("left", "accuracy")
            pi.getViewBox().setYRange(0, 1.02, padding=0)
        else:
            pi.setTitle("R² (coefficient of determination)", size="10pt")
            pi.setLabel("left", "R²")
            pi.getViewBox().enableAutoRange(axis="y")
        self._rebuild_grad_curves(self.controller.experiment.trainer.layout.n_layers)
        self._force_redraw()

    @Slot(object)
    def _on_spec_changed(self, _spec) -> None:
        self._force_redraw()

    def _force_redraw(self, *_args) -> None:
        self._drawn_version = -1

    def _rebuild_grad_curves(self, n_layers: int) -> None:
        if n_layers == self._n_layers:
            return
        pi = self.grad_plot.getPlotItem()
        for c in self.grad_curves:
            pi.removeItem(c)
        self.grad_legend.clear()
        self.grad_curves = []
        for l in range(n_layers):
            name = "output" if l == n_layers - 1 else f"layer {l + 1}"
            self.grad_curves.append(_curve(self.grad_plot, LAYER_COLORS[l % len(LAYER_COLORS)], name))
        self._n_layers = n_layers

    # -- drawing ---------------------------------------------------------------------------------
    def _smoothed(self, key: str, ys: np.ndarray) -> np.ndarray:
        """Incremental EMA: only new rows are averaged, the rest comes from the cache."""
        n0, cached = self._ema_cache.get(key, (0, np.empty(0)))
        if n0 > len(ys) or len(cached) < n0:
            n0, cached = 0, np.empty(0)
        if n0 == len(ys):
            return cached[: len(ys)]
        last = cached[n0 - 1] if n0 else np.nan
        if n0 and not np.isfinite(last):
            finite = cached[:n0][np.isfinite(cached[:n0])]
            last = finite[-1] if len(finite) else np.nan
        tail = ema(ys[n0:], start=last)
        buf = cached
        if len(buf) < len(ys):
            buf = np.empty(max(256, 2 * len(ys)))
            buf[:n0] = cached[:n0]
        buf[n0 : len(ys)] = tail
        self._ema_cache[key] = (len(ys), buf)
        return buf[: len(ys)]

    @Slot()
    def redraw(self) -> None:
        live = self.controller.live
        if live.version == self._drawn_version:
            return
        self._drawn_version = live.version
        self.frames += 1
        x = live["epoch"]
        log = self.log_check.isChecked()
        tr, te = live["train_loss"], live["test_loss"]
        if log:
            tr, te = np.maximum(tr, LOG_FLOOR), np.maximum(te, LOG_FLOOR)
        if self.smooth_check.isChecked():
            self.train_raw.setData(x, tr)
            self.test_raw.setData(x, te)
            self.train_loss.setData(x, self._smoothed("train", tr))
            self.test_loss.setData(x, self._smoothed("test", te))
        else:
            self.train_raw.setData([], [])
            self.test_raw.setData([], [])
            self.train_loss.setData(x, tr)
            self.test_loss.setData(x, te)
        g = live["grad_norm_w"]
        if g.ndim == 2 and g.shape[1] != self._n_layers and len(g):
            self._rebuild_grad_curves(g.shape[1])
        for l, c in enumerate(self.grad_curves):
            c.setData(x, np.maximum(g[:, l], LOG_FLOOR) if g.ndim == 2 and len(g) else [])
        self.train_metric.setData(x, live["train_metric"])
        self.test_metric.setData(x, live["test_metric"])
        self._draw_events()

    def _loss_series(self):
        live = self.controller.live
        return [("train", live["epoch"], live["train_loss"]), ("test", live["epoch"], live["test_loss"])]

    def _grad_series(self):
        live = self.controller.live
        g = live["grad_norm_w"]
        n = g.shape[1] if g.ndim == 2 else 0
        names = ["output" if l == n - 1 else f"layer {l + 1}" for l in range(n)]
        return [(names[l], live["epoch"], g[:, l]) for l in range(n)]

    def _metric_series(self):
        live = self.controller.live
        return [("train", live["epoch"], live["train_metric"]), ("test", live["epoch"], live["test_metric"])]

    def _clear_events(self) -> None:
        pi = self.loss_plot.getPlotItem()
        for line in self._event_lines:
            pi.removeItem(line)
        self._event_lines = []
        self._events_drawn = []

    def _draw_events(self) -> None:
        snap = self.controller.last_snapshot
        events = snap.events if snap is not None else []
        if events == self._events_drawn:
            return
        if events[: len(self._events_drawn)] != self._events_drawn:
            self._clear_events()
        live = self.controller.live
        steps, epochs = live["step"], live["epoch"]
        pi = self.loss_plot.getPlotItem()
        color = theme.current().dim_text
        for step, text in events[len(self._events_drawn) :]:
            if len(steps) >= 2:
                x = float(np.interp(step, steps, epochs))
            else:
                x = step / max(1, snap.steps_per_epoch)
            line = pg.InfiniteLine(
                pos=x,
                angle=90,
                movable=False,
                pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={
                    "position": 0.92,
                    "color": color,
                    "rotateAxis": (1, 0),
                    "anchors": [(0, 0), (0, 0)],
                },
            )
            pi.addItem(line, ignoreBounds=True)
            self._event_lines.append(line)
        self._events_drawn = list(events)
