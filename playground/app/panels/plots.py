"""The live plots panel: loss, gradient norm per layer, accuracy / R², with their toggles.

A QTimer (60 Hz) redraws from the controller's LiveHistory only when it changed, and only the
plots that are visible; the plot items, curves and ranges come from :mod:`playground.app.plotting`
(which explains what keeps a frame cheap).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from .. import theme
from ..controller import ExperimentController
from ..figures import install_figure_menu
from ..plotting import (
    CACHED,
    DRAW_CAP,
    EMPTY_X,
    LOG_FLOOR,
    X_HEADROOM,
    GridLines,
    HoverReadout,
    add_curve,
    cache_decorations,
    ema,
    empty_y,
    finite_range,
    fit_legend,
    new_plot,
    nice_end,
    readable_range,
    readable_start,
    set_curve,
    title_legend,
)
from ..view_state import checked, set_checked

TRAIN_COLOR = "#0877bd"
TEST_COLOR = "#f59322"
LAYER_COLORS = ("#0877bd", "#f59322", "#3fa34d", "#c2417b", "#8e6ccf", "#d4b21f", "#17a2b8", "#8c564b")
FRAME_MS = 16  # poll the history at 60 Hz; a frame is drawn only when it changed
RANGE_INTERVAL_S = 0.4  # the y ranges follow the data at 2.5 Hz, not every frame
MIN_X_STEPS = 100  # the x axis spans at least this many steps (or one epoch, if shorter)
R2_FLOOR = -10.0  # R² below this (a diverged run reaches -1e300) is drawn here, off the axis


class PlotsPanel(QWidget):
    """The three live plots side by side, with their toggles."""

    REMEMBERED = {"loss_log": False, "loss_smooth": True}  # view settings kept between launches

    def __init__(self, controller: ExperimentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.frames = 0  # redraws done (the smoke test reports frames/s)
        self._drawn_version = -1
        self._event_lines: list[pg.InfiniteLine] = []
        self._events_drawn: list = []
        self._n_layers = -1
        self._last_range = 0.0
        self._range_due = True
        self._range_stale = False

        self.loss_plot = new_plot("Loss", "loss")
        title_legend(self.loss_plot)
        self.train_raw = add_curve(self.loss_plot, TRAIN_COLOR, None, alpha=70)
        self.test_raw = add_curve(self.loss_plot, TEST_COLOR, None, alpha=70)
        self.train_loss = add_curve(self.loss_plot, TRAIN_COLOR, "train")
        self.test_loss = add_curve(self.loss_plot, TEST_COLOR, "test")
        self._ema_cache: dict[str, tuple[int, np.ndarray]] = {}

        self.grad_plot = new_plot("Gradients", "‖∇W‖ per layer", log_y=True)
        self.grad_legend = title_legend(self.grad_plot)
        self.grad_curves: list[pg.PlotDataItem] = []

        self.metric_plot = new_plot("Accuracy", "accuracy")
        title_legend(self.metric_plot)
        self.train_metric = add_curve(self.metric_plot, TRAIN_COLOR, "train")
        self.test_metric = add_curve(self.metric_plot, TEST_COLOR, "test")

        self.grids = {key: GridLines(w) for key, w in self.plot_widgets().items()}
        for w in self.plot_widgets().values():
            cache_decorations(w)
        self._follow = dict.fromkeys(self.plot_widgets(), True)  # ranges track the data
        for w in self.plot_widgets().values():
            vb = w.getPlotItem().getViewBox()
            vb.sigRangeChanged.connect(self._on_range_changed)
            vb.sigRangeChangedManually.connect(self._on_user_range)
            w.scene().sigMouseClicked.connect(self._on_plot_clicked)

        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Show the loss on a logarithmic axis: slow late progress becomes visible")
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setToolTip("Draw an exponential moving average over the raw (faint) curve")
        self.smooth_check.setChecked(True)
        self.log_check.toggled.connect(self.set_log_scale)
        self.smooth_check.toggled.connect(self._force_redraw)

        self._readouts = [
            HoverReadout(self.loss_plot, self._loss_series),
            HoverReadout(self.grad_plot, self._grad_series),
            HoverReadout(self.metric_plot, self._metric_series),
        ]

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

        for key, w in self.plot_widgets().items():
            install_figure_menu(w, key)  # right-click: Export figure… / Copy figure
        controller.experimentReplaced.connect(self._on_replaced)
        controller.specChanged.connect(self._on_spec_changed)
        self._on_replaced()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- public ------------------------------------------------------------------------------
    def plot_widgets(self) -> dict[str, pg.PlotWidget]:
        return {"loss": self.loss_plot, "gradients": self.grad_plot, "metric": self.metric_plot}

    def view_state(self) -> dict:
        """The loss plot's toggles, as the session file stores them."""
        return checked(self._view_boxes())

    def apply_view_state(self, state: dict) -> None:
        set_checked(self._view_boxes(), state)

    def _view_boxes(self) -> dict[str, QCheckBox]:
        return {"loss_log": self.log_check, "loss_smooth": self.smooth_check}

    def set_plot_visible(self, name: str, visible: bool) -> None:
        w = self.loss_box if name == "loss" else self.plot_widgets()[name]
        w.setVisible(visible)
        self._force_redraw()

    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        self.loss_plot.getPlotItem().setLogMode(y=on)
        self._follow["loss"] = True
        self._force_redraw()

    def event_markers(self) -> list[pg.InfiniteLine]:
        return list(self._event_lines)

    def apply_theme(self) -> None:
        t = theme.current()
        for w in self.plot_widgets().values():
            w.setBackground(t.plot_bg)
            theme.style_plot(w.getPlotItem(), t, grid=False)
        for g in self.grids.values():
            g.set_color()
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
            pi.setTitle("Accuracy", size="10pt", justify="left")
            pi.setLabel("left", "accuracy")
        else:
            pi.setTitle("R²", size="10pt", justify="left")
            pi.setLabel("left", "R² (coefficient of determination)")
        theme.style_plot(pi, grid=False)
        fit_legend(self.metric_plot)
        self._rebuild_grad_curves(self.controller.experiment.trainer.layout.n_layers)
        self._follow = dict.fromkeys(self._follow, True)
        self._force_redraw()

    @Slot(object)
    def _on_spec_changed(self, _spec) -> None:
        self._force_redraw()

    def _force_redraw(self, *_args) -> None:
        self._drawn_version = -1
        self._range_due = True
        for c in self._curves():
            c.envelope.reset()  # what a curve shows may change (smoothing, log): rebuilt once

    def _curves(self) -> list[pg.PlotDataItem]:
        fixed = [self.train_raw, self.test_raw, self.train_loss, self.test_loss]
        return fixed + [self.train_metric, self.test_metric] + list(self.grad_curves)

    @Slot(object, object, object)
    def _on_range_changed(self, vb, _range, _changed) -> None:
        for key, w in self.plot_widgets().items():
            if w.getPlotItem().getViewBox() is vb:
                self.grids[key].rebuild()

    @Slot(object)
    def _on_user_range(self, _mask) -> None:
        vb = self.sender()
        for key, w in self.plot_widgets().items():
            if w.getPlotItem().getViewBox() is vb:
                self._follow[key] = False  # the user panned or zoomed: stop following the data
                self._drawn_version = -1  # and the curves are redrawn at the detail of that range

    @Slot(object)
    def _on_plot_clicked(self, event) -> None:
        if not event.double():
            return
        for key, w in self.plot_widgets().items():
            if w.scene() is self.sender():
                self._follow[key] = True  # double-click: follow the data again
        self._range_due = True
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
            name = "out" if l == n_layers - 1 else f"L{l + 1}"  # short: the legend shares the title row
            self.grad_curves.append(add_curve(self.grad_plot, LAYER_COLORS[l % len(LAYER_COLORS)], name))
        self._n_layers = n_layers
        theme.style_plot(pi, grid=False)
        fit_legend(self.grad_plot)

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
        tail = ema(ys[n0:], start=last, first_row=n0)
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
        if not self.isVisible():
            return
        if live.version == self._drawn_version:
            if self._range_stale and time.perf_counter() - self._last_range >= RANGE_INTERVAL_S:
                self._update_ranges(live["epoch"])  # the last rows came between two range updates
            return
        self._drawn_version = live.version
        self.frames += 1
        x = live["epoch"]
        if self.loss_box.isVisible():
            self._draw_loss(live, x)
        if self.grad_plot.isVisible():
            g = live["grad_norm_w"]
            if g.ndim == 2 and g.shape[1] != self._n_layers and len(g):
                self._rebuild_grad_curves(g.shape[1])
            view = self._zoomed_x("gradients")
            for l, c in enumerate(self.grad_curves):
                set_curve(c, x, g[:, l] if g.ndim == 2 and len(g) else x[:0], LOG_FLOOR, view)
        if self.metric_plot.isVisible():
            view = self._zoomed_x("metric")
            floor = None if self._classification() else R2_FLOOR  # R² of a diverged run: -1e300
            set_curve(self.train_metric, x, live["train_metric"], floor, view)
            set_curve(self.test_metric, x, live["test_metric"], floor, view)
        self._draw_events()
        self._update_ranges(x)

    def _draw_loss(self, live, x: np.ndarray) -> None:
        tr, te = live["train_loss"], live["test_loss"]
        if self.log_check.isChecked():
            floor, ceiling = LOG_FLOOR, None  # decades: 1e153 is a y of 153, harmless to draw
        else:  # a diverged loss is drawn far off the top, never at 1e153 pixels
            start = readable_start([tr, te])
            floor, ceiling = None, (DRAW_CAP * start if start else None)
        view = self._zoomed_x("loss")
        if self.smooth_check.isChecked():
            set_curve(self.train_raw, x, tr, floor, view, ceiling)
            set_curve(self.test_raw, x, te, floor, view, ceiling)
            set_curve(self.train_loss, x, self._smoothed("train", tr), floor, view, ceiling)
            set_curve(self.test_loss, x, self._smoothed("test", te), floor, view, ceiling)
        else:
            set_curve(self.train_raw, x[:0], x[:0])
            set_curve(self.test_raw, x[:0], x[:0])
            set_curve(self.train_loss, x, tr, floor, view, ceiling)
            set_curve(self.test_loss, x, te, floor, view, ceiling)

    def _zoomed_x(self, key: str) -> tuple[float, float] | None:
        """The x range the user zoomed or panned to (curves then show it at full detail), or None."""
        if self._follow[key]:
            return None
        (x0, x1), _y = self.plot_widgets()[key].getPlotItem().getViewBox().viewRange()
        return (x0, x1)

    def _update_ranges(self, x: np.ndarray) -> None:
        """Follow the data: the epoch axis when the curves reach its end, y at a few Hz."""
        now = time.perf_counter()
        x_end = float(x[-1]) if len(x) and math.isfinite(x[-1]) else 0.0
        steps = self.controller.live["step"]
        per_step = x_end / float(steps[-1]) if len(steps) and steps[-1] > 0 else 0.0
        x_min = min(EMPTY_X[1], MIN_X_STEPS * per_step) if per_step > 0 else EMPTY_X[1]
        due = self._range_due or now - self._last_range >= RANGE_INTERVAL_S
        for key, w in self.plot_widgets().items():
            if not self._follow[key] or not w.isVisible():
                continue
            vb = w.getPlotItem().getViewBox()
            (_x0, x1), (y0, y1) = vb.viewRange()
            new_x = None
            end = nice_end(max(x_end * X_HEADROOM, x_min))
            if x_end > x1 or end < x1 or self._range_due:
                new_x = (0.0, end)
            new_y = self._y_range(key) if due else None
            if new_y is not None:
                span = max(y1 - y0, 1e-12)
                if abs(new_y[0] - y0) < 0.02 * span and abs(new_y[1] - y1) < 0.02 * span:
                    new_y = None  # moving the axis by a hair repaints it for nothing
            if new_x is not None or new_y is not None:
                vb.setRange(xRange=new_x, yRange=new_y, padding=0)
        if due:
            self._last_range = now
            self._range_due = False
        self._range_stale = not due

    def _classification(self) -> bool:
        return self.controller.experiment.dataset.task == "classification"

    def _y_range(self, key: str) -> tuple[float, float]:
        """What the y axis shows: the readable part of the data, or an empty plot's range."""
        live = self.controller.live
        if key == "loss":
            log = self.log_check.isChecked()
            r = readable_range([live["train_loss"], live["test_loss"]], log)
            return empty_y(log) if r is None else r
        if key == "gradients":
            g = live["grad_norm_w"]
            r = readable_range([g[:, l] for l in range(g.shape[1])] if g.ndim == 2 else [], True)
            return empty_y(True) if r is None else r
        if self._classification():
            return (0.0, 1.02)
        r = finite_range([live["train_metric"], live["test_metric"]], False, R2_FLOOR, 1.0)
        return (0.0, 1.02) if r is None else (max(r[0], -1.0), max(r[1], -0.9))

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
            line.setCacheMode(CACHED)
            pi.addItem(line, ignoreBounds=True)
            self._event_lines.append(line)
        self._events_drawn = list(events)
