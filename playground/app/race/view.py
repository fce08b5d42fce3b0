"""The race view: overlaid loss and gradient-norm curves (one colour per variant), a small
decision boundary per variant and a live summary table with an editable target loss.

Built from a :class:`~playground.app.race.controller.RaceController`; it redraws from the controller's
live histories on a ~30 fps timer, only when something changed, and keeps no state of its own
beyond the plot items.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.variants import TARGET_FACTOR

from .. import plotting, theme
from ..boundary_colors import classification_rgba
from ..figures import install_figure_menu
from ..space_guard import space_guard
from .controller import RaceController

X_AXES = {
    "steps": ("step", "step"),
    "epochs": ("epoch", "epoch"),
    "seconds": ("wall_time", "training time (s)"),
}
EMPTY_X = {"step": 100.0, "epoch": 1.0, "wall_time": 1.0}  # axis end before any data
COLUMNS = (
    "Variant",
    "Steps",
    "Train loss",
    "Test loss",
    "{metric}",
    "Steps to target",
    "Time to target",
    "Status",
    "Loss evals",  # after Status, so the columns before keep their places
    "Gradient evals",
)
STATUS_COL = COLUMNS.index("Status")
# header tooltips: why the evaluation counts are there
COLUMN_TIPS = {
    "Loss evals": "Loss evaluations so far (every gradient evaluation also gives a loss): a gradient-free\n"
    "method is judged by how many losses it needed, not by its steps",
    "Gradient evals": "Gradient evaluations so far: one per step of SGD, Adam and the others (of the step's\n"
    "batch), one per line-search trial of L-BFGS and BFGS, 2P + 1 per Newton step, none for\n"
    "simulated annealing and the genetic algorithm",
}


def _count(metrics: dict, key: str) -> str:
    v = metrics.get(key)
    return "–" if v is None else f"{int(v):,}"


def _fmt(v, spec: str = ".4g") -> str:
    return "–" if v is None else format(v, spec)


def _plot(title: str, y_label: str, log: bool = False) -> pg.PlotWidget:
    """A race plot from the live plots' helper: legend in the title row, curves reduced by
    their own envelope (no clip-to-view: it clipped log curves), ranges set by the view."""
    w = plotting.new_plot(title, y_label, x_label="step", log_y=log)
    w.setMinimumSize(240, 160)
    w.getPlotItem().getViewBox().setRange(xRange=(0.0, EMPTY_X["step"]), padding=0)
    return w


DIVERGED_COLOR = "#d93025"
WARNING_COLOR = "#b06000"  # amber, readable on both themes


def _status_text(row: dict) -> str:
    """The Status cell of a summary row: diverged, the kind of the experiment's warning ("Not
    learning", "Oscillating": the whole text is the cell's tooltip), or ok."""
    if row["status"] == "diverged":
        return f"diverged at step {row['diverged_step']:,}"
    warning = row.get("warning")
    return warning.split(":", 1)[0] if warning else "ok"


class MiniBoundary(QWidget):
    """A light decision boundary of one race member: heatmap + training points + title."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.hideAxis("left")
        pi.hideAxis("bottom")
        pi.getViewBox().setMouseEnabled(False, False)
        pi.getViewBox().setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.points = pg.ScatterPlotItem(size=4, pen=pg.mkPen(255, 255, 255, 160, width=0.6))
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#1f2328", width=2))
        for it in (self.image, self.points, self.curve):
            pi.addItem(it)
        self.plot.setMinimumSize(120, 120)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        install_figure_menu(self, "race_boundary")
        self._grid_id = None

    def set_member(self, label: str, color: str, dataset) -> None:
        self.label, self.color = label, color
        self._detail = ""
        self.set_status(None)
        self.is_image = dataset.X_train.ndim == 4  # images: no plane, a confusion matrix
        self.is_sequence = dataset.X_train.ndim == 3  # sequences: the gradient through time
        self.image.clear()
        self._grid_id = None
        pi = self.plot.getPlotItem()
        pi.setLogMode(y=self.is_sequence)
        for name in ("left", "bottom"):  # a curve needs its scale; a picture does not
            pi.showAxis(name, self.is_sequence)
        self.curve.setPen(pg.mkPen(color if self.is_sequence else "#1f2328", width=2))
        if self.is_sequence:
            self.one_d = False
            self.image.setVisible(False)
            self.points.setData([], [])
            self.curve.setVisible(True)
            self.curve.setData([], [])
            vb = pi.getViewBox()
            vb.setAspectLocked(False)
            vb.invertY(False)
            vb.enableAutoRange()
            self._detail = "|∂L/∂hₜ| per step (log)"
            self._render_title()
            return
        # confusion cells crisp, a boundary heatmap smooth
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self.is_image)
        if self.is_image:  # no plane: the member's test confusion matrix (rows: true class)
            self.one_d = False
            self.image.setVisible(True)
            self.curve.setVisible(False)
            self.points.setData([], [])
            vb = self.plot.getPlotItem().getViewBox()
            vb.setAspectLocked(True)
            vb.invertY(True)
            k = max(1, dataset.n_classes)
            vb.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
            return
        self.plot.getPlotItem().getViewBox().invertY(False)
        raw, y = dataset.raw_train, dataset.y_train
        self.one_d = raw.shape[1] == 1
        self.image.setVisible(not self.one_d)
        self.curve.setVisible(self.one_d)
        self.image.clear()
        self._grid_id = None
        if dataset.task == "classification":
            from ..colors import class_colors_rgba

            brushes = [pg.mkBrush(*c) for c in class_colors_rgba(np.asarray(y, dtype=np.int64))]
        else:
            yy = np.ravel(np.asarray(y, dtype=np.float64)[:, 0] if np.ndim(y) == 2 else y)
            lo, hi = float(np.nanmin(yy)), float(np.nanmax(yy))
            rgba = pg.colormap.get("viridis").map((yy - lo) / ((hi - lo) or 1.0), mode="byte")
            brushes = [pg.mkBrush(*c) for c in rgba]
        if self.one_d:
            ty = np.asarray(y, dtype=np.float64).reshape(len(raw), -1)[:, 0]
            self.points.setData(raw[:, 0], ty, brush=brushes)
            self.plot.getPlotItem().getViewBox().setAspectLocked(False)
        else:
            self.points.setData(raw[:, 0], raw[:, 1], brush=brushes)
            b = dataset.raw_bounds(pad=0.05)
            self.plot.getPlotItem().getViewBox().setRange(xRange=b[0], yRange=b[1], padding=0)

    def set_status(self, text: str | None) -> None:
        self._status = text
        self._render_title()

    def _render_title(self) -> None:
        detail = getattr(self, "_detail", "")
        extra = f"<br><span style='color:gray'>{detail}</span>" if detail else ""
        status = getattr(self, "_status", None)
        if status:
            extra += f"<br><span style='color:#d93025'>{status}</span>"
        self.title.setText(f"<b style='color:{self.color}'>■</b> {self.label}{extra}")

    def show_grid(self, grid, task: str, loss: str, output_activation: str, levels) -> None:
        if grid is None or id(grid) == self._grid_id:
            return
        self._grid_id = id(grid)
        if self.is_image:
            self.show_confusion(np.asarray(grid))
            return
        if self.is_sequence:
            self.show_gradient_through_time(np.asarray(grid, dtype=np.float64))
            return
        xs, ys, out = grid[:3]
        if self.one_d:
            self.curve.setData(xs, out[0, :, 0])
            return
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)
        if task == "classification":
            rgba = classification_rgba(np.nan_to_num(out), loss, output_activation, False)
            self.image.setImage(rgba, autoLevels=False, levels=None, rect=rect)
        else:
            self.image.setImage(np.ascontiguousarray(out[..., 0]), autoLevels=False, levels=levels, rect=rect)
            self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))

    def show_gradient_through_time(self, g: np.ndarray) -> None:
        """|dL/dh_t| per step on a log axis; the title says how much of the last step's
        gradient reaches the first step (an RNN's vanishes, an LSTM's does not)."""
        steps = np.arange(1, len(g) + 1, dtype=np.float64)
        keep = g > 0
        self.curve.setData(steps[keep], g[keep])
        if len(g) and g[-1] > 0 and g[0] > 0:
            self._detail = f"first step gets {g[0] / g[-1]:.1e} of the last's gradient"
        self._render_title()

    def show_confusion(self, counts: np.ndarray) -> None:
        """Confusion counts [true, predicted] as a heatmap, each row as a share of its class
        (the diagonal dark green when every class is right); the accuracy in the title."""
        total = counts.sum(axis=1, keepdims=True)
        share = np.divide(counts, total, out=np.zeros(counts.shape), where=total > 0)
        k = len(counts)
        rgba = np.empty((k, k, 4), np.uint8)
        diag = np.eye(k, dtype=bool)
        good, bad, paper = np.array([26, 140, 60]), np.array([214, 39, 40]), np.array([255, 255, 255])
        t = share[..., None]
        rgba[..., :3] = np.where(diag[..., None], paper * (1 - t) + good * t, paper * (1 - t) + bad * t)
        rgba[..., 3] = 255
        self.image.setImage(rgba, autoLevels=False, rect=QRectF(0, 0, k, k))
        n = int(counts.sum())
        acc = np.trace(counts) / n if n else float("nan")
        self.accuracy = acc
        self._detail = f"{acc:.1%} of {n} test images right"
        self._render_title()


class RaceView(QWidget):
    """Everything of race mode in one widget (the main window shows it instead of the usual
    centre while racing). ``exitRequested`` / ``editRequested`` are for the window."""

    exitRequested = Signal()
    editRequested = Signal()

    def __init__(self, race: RaceController, parent: QWidget | None = None):
        super().__init__(parent)
        self.race = race
        self.frames = 0
        self._drawn = None
        self._table_drawn = None
        self.loss_curves: list[pg.PlotDataItem] = []
        self.test_curves: list[pg.PlotDataItem] = []
        self.grad_curves: list[pg.PlotDataItem] = []
        self.thumbs: list[MiniBoundary] = []

        # controls
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Train every variant together (Space in this view)")
        self.step_button = QPushButton("Step ×10")
        self.step_button.setToolTip("Ten more steps for every variant")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Start every variant again from the shared initial weights")
        self.edit_button = QPushButton("Variants…")
        self.edit_button.setToolTip("Change the variants of this race")
        self.exit_button = QPushButton("Exit race")
        self.exit_button.setToolTip("Back to the single experiment")
        self.x_combo = QComboBox()
        self.x_combo.addItems(list(X_AXES))
        self.x_combo.setToolTip("Horizontal axis of the curves")
        self.log_check = QCheckBox("Log loss")
        self.log_check.setChecked(True)
        self.test_check = QCheckBox("Test loss")
        self.test_check.setToolTip("Also draw each variant's test loss (dashed)")
        self.status_label = QLabel()
        self.status_label.setObjectName("metric")
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 2)
        for w in (self.play_button, self.step_button, self.reset_button, self.edit_button):
            top.addWidget(w)
        top.addSpacing(12)
        top.addWidget(QLabel("x:"))
        for w in (self.x_combo, self.log_check, self.test_check):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.status_label)
        top.addSpacing(12)
        top.addWidget(self.exit_button)

        # plots
        self.loss_plot = _plot("Training loss", "loss", log=True)
        self.legend = plotting.title_legend(self.loss_plot)
        self.grad_plot = _plot("Gradient norm", "gradient norm", log=True)
        self.grids = [plotting.GridLines(w) for w in (self.loss_plot, self.grad_plot)]
        self._follow = [True, True]  # the ranges track the data until the user zooms or pans
        for k, w in enumerate((self.loss_plot, self.grad_plot)):
            vb = w.getPlotItem().getViewBox()
            vb.sigRangeChanged.connect(lambda *_a, g=self.grids[k]: g.rebuild())
            vb.sigRangeChangedManually.connect(lambda *_a, k=k: self._set_follow(k, False))
            w.scene().sigMouseClicked.connect(lambda ev, k=k: ev.double() and self._set_follow(k, True))
        plot_row = QSplitter(Qt.Orientation.Horizontal)
        plot_row.addWidget(self.loss_plot)
        plot_row.addWidget(self.grad_plot)
        plot_row.setSizes([600, 400])

        # decision boundaries
        self.thumb_box = QWidget()
        self.thumb_grid = QGridLayout(self.thumb_box)
        self.thumb_grid.setContentsMargins(2, 2, 2, 2)
        self.thumb_grid.setSpacing(6)

        # summary
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("auto")
        self.target_edit.setMaximumWidth(110)
        self.target_edit.setToolTip(
            f"Train loss a variant must reach; empty = {TARGET_FACTOR:g} × the best final train loss"
        )
        self.target_label = QLabel()
        self.target_label.setObjectName("dim")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # no stretched column: the count columns at the end stay beside their numbers
        self.table.horizontalHeader().setStretchLastSection(False)
        summary = QWidget()
        sl = QVBoxLayout(summary)
        sl.setContentsMargins(4, 0, 4, 0)
        trow = QHBoxLayout()
        trow.addWidget(QLabel("Target train loss:"))
        trow.addWidget(self.target_edit)
        trow.addWidget(self.target_label)
        trow.addStretch(1)
        sl.addLayout(trow)
        sl.addWidget(self.table, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(plot_row)
        self.splitter.addWidget(self.thumb_box)
        self.splitter.addWidget(summary)
        self.splitter.setSizes([330, 230, 200])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.splitter, 1)

        self.play_button.clicked.connect(race.toggle_play)
        # Space plays the race while it is shown (the single experiment's Play is off meanwhile);
        # in a text field, such as the target loss, Space types (space_guard)
        self.play_action = QAction("Play / pause the race", self)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # only while shown
        self.play_action.triggered.connect(race.toggle_play)
        self.addAction(self.play_action)
        space_guard().add(self.play_action)
        install_figure_menu(self.loss_plot, "race_loss")
        install_figure_menu(self.grad_plot, "race_gradients")
        install_figure_menu(self, "race")
        self.step_button.clicked.connect(lambda: race.step(10))
        self.reset_button.clicked.connect(race.reset)
        self.edit_button.clicked.connect(self.editRequested)
        self.exit_button.clicked.connect(self.exitRequested)
        self.x_combo.currentIndexChanged.connect(self._force_redraw)
        self.log_check.toggled.connect(self._on_log)
        self.test_check.toggled.connect(self._force_redraw)
        self.target_edit.editingFinished.connect(self._on_target_edited)
        race.membersChanged.connect(self._on_members)
        race.runningChanged.connect(self._on_running)
        race.memberDiverged.connect(self._on_diverged)
        race.targetChanged.connect(self._force_redraw)
        self._on_members()
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- members ---------------------------------------------------------------------------------
    @Slot()
    def _on_members(self) -> None:
        r = self.race
        for c in self.loss_curves + self.test_curves:
            self.loss_plot.getPlotItem().removeItem(c)
        for c in self.grad_curves:
            self.grad_plot.getPlotItem().removeItem(c)
        self.legend.clear()
        for t in self.thumbs:
            self.thumb_grid.removeWidget(t)
            t.deleteLater()
        self.loss_curves, self.test_curves, self.grad_curves, self.thumbs = [], [], [], []
        n = len(r.members)
        cols = n if n <= 4 else (n + 1) // 2
        for i, m in enumerate(r.members):
            c = plotting.add_curve(self.loss_plot, m.color, m.label)
            t = plotting.add_curve(self.loss_plot, m.color, None, dashed=True)
            g = plotting.add_curve(self.grad_plot, m.color)
            self.loss_curves.append(c)
            self.test_curves.append(t)
            self.grad_curves.append(g)
            thumb = MiniBoundary()
            thumb.set_member(m.label, m.color, r.experiments[i].dataset)
            self.thumb_grid.addWidget(thumb, i // cols, i % cols)
            self.thumbs.append(thumb)
        metric = "Test accuracy" if r.task == "classification" else "Test R²"
        self.table.setRowCount(n)
        self.table.setHorizontalHeaderLabels([c.format(metric=metric) for c in COLUMNS])
        for col, name in enumerate(COLUMNS):
            if name in COLUMN_TIPS:
                self.table.horizontalHeaderItem(col).setToolTip(COLUMN_TIPS[name])
        self.target_edit.setText("" if r.target_override is None else f"{r.target_override:g}")
        self._force_redraw()
        self._on_running(r.running)

    @Slot(bool)
    def _on_running(self, running: bool) -> None:
        self.play_button.setText("Pause" if running else "Play")

    @Slot(int, str)
    def _on_diverged(self, index: int, _message: str) -> None:
        self._force_redraw()

    def _on_log(self, on: bool) -> None:
        self.loss_plot.getPlotItem().setLogMode(y=on)
        self._force_redraw()

    def _on_target_edited(self) -> None:
        text = self.target_edit.text().strip()
        try:
            value = float(text) if text else None
        except ValueError:
            self.target_edit.setText(
                "" if self.race.target_override is None else f"{self.race.target_override:g}"
            )
            return
        if value is not None and not value > 0:
            value = None
        if value != self.race.target_override:
            self.race.set_target(value)

    def _force_redraw(self, *_args) -> None:
        self._drawn = None
        self._table_drawn = None
        for c in self.loss_curves + self.test_curves + self.grad_curves:
            c.envelope.reset()  # the x column or the log mode changed: rebuilt once

    def _set_follow(self, k: int, on: bool) -> None:
        self._follow[k] = on
        if on:
            self._force_redraw()

    # -- drawing -----------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        r = self.race
        key = (r.generation, tuple(lv.version for lv in r.live))
        if key == self._drawn:
            # no new history row, but the frames move on between rows (steps, status, counts):
            # the table and the step count follow them, not only the recorded rows
            frames = (r.generation, tuple(None if f is None else (f.step, f.status) for f in r.frames))
            if frames != self._table_drawn:
                self._table_drawn = frames
                self._draw_table()
            return
        self._drawn = key
        self.frames += 1
        xcol, xlabel = X_AXES[self.x_combo.currentText()]
        for w in (self.loss_plot, self.grad_plot):
            if w.getPlotItem().getAxis("bottom").labelText != xlabel:
                w.getPlotItem().setLabel("bottom", xlabel)
        log = self.log_check.isChecked()
        show_test = self.test_check.isChecked()
        levels = None
        if r.task == "regression" and r.experiments:
            ds = r.experiments[0].dataset
            y = np.ravel(ds.y_train).astype(np.float64)
            levels = (float(np.nanmin(y)), float(np.nanmax(y)))
        floor = plotting.LOG_FLOOR if log else None
        for i, lv in enumerate(r.live):
            x = lv[xcol]
            tr, te, g = lv["train_loss"], lv["test_loss"], lv["grad_norm"]
            start = None if log else plotting.readable_start([tr])
            ceiling = plotting.DRAW_CAP * start if start else None  # a diverged loss: far off the top
            plotting.set_curve(self.loss_curves[i], x, tr, floor, None, ceiling)
            plotting.set_curve(self.test_curves[i], x, te if show_test else x[:0], floor, None, ceiling)
            plotting.set_curve(self.grad_curves[i], x, g, plotting.LOG_FLOOR)
            f = r.frames[i]
            if f is not None:
                net, training = r.members[i].spec.network, r.members[i].spec.training
                self.thumbs[i].show_grid(r.grids[i], r.task, training.loss, net.output_activation, levels)
                self.thumbs[i].set_status(
                    f"diverged at step {f.diverged_step:,}" if f.status == "diverged" else None
                )
        self._update_ranges(xcol, log, show_test)
        self._draw_table()

    def _update_ranges(self, xcol: str, log: bool, show_test: bool) -> None:
        """Both plots follow the data: x to a round number past the longest run, y to what is
        readable (a diverged variant leaves the top of the plot, the axes stay legible)."""
        lives = self.race.live
        ends = [float(lv[xcol][-1]) for lv in lives if len(lv[xcol]) and math.isfinite(lv[xcol][-1])]
        x_end = plotting.nice_end(max([EMPTY_X[xcol] / plotting.X_HEADROOM, *ends]) * plotting.X_HEADROOM)
        losses = [lv["train_loss"] for lv in lives] + ([lv["test_loss"] for lv in lives] if show_test else [])
        start = plotting.readable_start([lv["train_loss"] for lv in lives], log)
        y_loss = plotting.readable_range(losses, log, start) or plotting.empty_y(log)
        y_grad = plotting.readable_range([lv["grad_norm"] for lv in lives], True) or plotting.empty_y(True)
        for k, (w, y) in enumerate(((self.loss_plot, y_loss), (self.grad_plot, y_grad))):
            if not self._follow[k]:
                continue
            vb = w.getPlotItem().getViewBox()
            (x0, x1), (y0, y1) = vb.viewRange()
            span = max(y1 - y0, 1e-12)
            same_y = abs(y[0] - y0) < 0.02 * span and abs(y[1] - y1) < 0.02 * span
            if x0 != 0.0 or x1 != x_end or not same_y:
                vb.setRange(xRange=(0.0, x_end), yRange=None if same_y else y, padding=0)

    def _draw_table(self) -> None:
        r = self.race
        target = r.target()
        auto = r.auto_target()
        self.target_label.setText(
            f"now {_fmt(target)}" + ("" if r.target_override is None else f"  (auto would be {_fmt(auto)})")
        )
        pct = r.task == "classification"
        for row, d in enumerate(r.summary_rows()):
            frame = r.frames[row] if row < len(r.frames) else None
            counts = frame.metrics if frame is not None else {}
            metric = d["test_metric"]
            cells = [
                d["label"],
                f"{d['step']:,}",
                _fmt(d["train_loss"]),
                _fmt(d["test_loss"]),
                ("–" if metric is None else f"{metric:.1%}") if pct else _fmt(metric, ".3f"),
                "–" if d["steps_to_target"] is None else f"{d['steps_to_target']:,}",
                "–" if d["time_to_target"] is None else f"{d['time_to_target']:.2f} s",
                _status_text(d),
                _count(counts, "loss_evals"),
                _count(counts, "grad_evals"),
            ]
            for col, text in enumerate(cells):
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    if col not in (0, STATUS_COL):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(row, col, item)
                if item.text() != text:
                    item.setText(text)
            self.table.item(row, 0).setForeground(QColor(d["color"]))
            status = self.table.item(row, STATUS_COL)
            if d["status"] == "diverged":
                status.setForeground(QColor(DIVERGED_COLOR))
            elif d.get("warning"):
                status.setForeground(QColor(WARNING_COLOR))
            else:
                status.setForeground(self.palette().text().color())
            tip = d.get("warning") or ""
            if status.toolTip() != tip:
                status.setToolTip(tip)
        steps = max((f.step for f in r.frames if f is not None), default=0)
        rate = f"  —  {r.steps_per_s:,.0f} steps/s each" if r.running and r.steps_per_s else ""
        self.status_label.setText(f"{len(r.members)} variants, step {steps:,}{rate}")

    def apply_theme(self) -> None:
        t = theme.current()
        for w in (self.loss_plot, self.grad_plot):
            w.setBackground(t.plot_bg)
            theme.style_plot(w.getPlotItem(), t, grid=False)
        for g in self.grids:
            g.set_color()
        for th in self.thumbs:
            th.plot.setBackground(t.plot_bg)
        self._force_redraw()


if __name__ == "__main__":  # quick look: python -m playground.app.race.view
    from PySide6.QtWidgets import QApplication

    from playground.spec import default_spec

    app = QApplication([])
    race = RaceController()
    race.start(default_spec(), [{"training.optimizer.lr": v} for v in (0.001, 0.01, 0.1, 1.0)])
    view = RaceView(race)
    view.resize(1200, 800)
    view.show()
    race.play()
    app.exec()
    race.shutdown()
