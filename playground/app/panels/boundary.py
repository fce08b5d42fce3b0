"""The decision boundary: the network's output over the input plane, with the data on top.

Binary classification: TF Playground's orange ↔ neutral ↔ blue scale with fixed levels;
multi-class: one colour per class, intensity by confidence, with a legend; regression over a
plane: a heatmap of the prediction with a colour bar; 1-D inputs: the predicted curve over the
points. The grid is computed by the worker (snapshots); this view only converts and shows it.

Paint mode edits the data on the plot: a click adds a point of the chosen class (or value);
a drag with the Erase tool, the right button or Shift held is an eraser stroke: every point
under the brush (a circle of ``BRUSH_PX`` screen pixels, drawn while erasing) along the path
goes, the plot hides the points erased as the mouse moves, and the release makes the stroke one
data edit (one undo step). The brush is in screen pixels, not data units, so it is round on
the screen whatever the axes' scales. In presenter mode the points and the brush are larger.

The plotted axes belong to the controller (``controller.axes``, validated whenever the data
changes and handed to the worker with the experiment): this view reads them and asks the
controller to change them (``set_axes``), so the grids it receives are always over its axes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import presenter, theme
from ..boundary_colors import _binary_lut, classification_rgba, output_levels
from ..colors import CLASS_COLORS, class_colors_rgba, neutral
from ..controller import ExperimentController, axis_names
from ..figures import install_figure_menu
from ..view_state import checked, set_checked

REGRESSION_CMAP = "viridis"
BRUSH_PX = 14.0  # the eraser's radius in screen pixels
POINT_PX = 7.0  # the data points' size


class BoundaryView(QWidget):
    """Heatmap + points; options row with test-data and discretize toggles and axis pickers."""

    REMEMBERED = {"show_test": False, "discretize": False}  # view settings kept between launches

    def __init__(self, controller: ExperimentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._grid = None
        self._dirty = False
        self.frames = 0

        self.plot = pg.PlotWidget()
        self.plot.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)  # bilinear heatmap
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.getViewBox().setMouseEnabled(False, False)
        theme.style_plot(pi)
        pi.showGrid(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        pi.addItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=POINT_PX, pen=pg.mkPen("w", width=1), symbol="o")
        self.test_points = pg.ScatterPlotItem(size=POINT_PX, pen=pg.mkPen("#1f2328", width=1.2), symbol="s")
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#1f2328", width=2))
        # the eraser's circle: one spot in screen pixels, shown while the eraser is in the plot
        self.brush_item = pg.ScatterPlotItem(
            size=2 * BRUSH_PX, symbol="o", brush=pg.mkBrush(0, 0, 0, 0), pen=pg.mkPen("#d93025", width=1.5)
        )
        self.brush_item.setZValue(20)
        self.brush_item.hide()
        for it in (self.train_points, self.test_points, self.curve, self.brush_item):
            pi.addItem(it)
        for it in (self.train_points, self.test_points):
            # the points change only with the data or the axes: each heatmap update (~16/s)
            # repaints the region under them, which is then a pixmap blit, not ~500 symbols
            it.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.colorbar: pg.ColorBarItem | None = None
        self.legend: pg.LegendItem | None = None
        self._regression_lut = pg.colormap.get(REGRESSION_CMAP).getLookupTable(nPts=256)

        self.test_check = QCheckBox("Test data")
        self.test_check.setToolTip(
            "Show the test points (squares with a dark outline): they are never trained on"
        )
        self.discrete_check = QCheckBox("Discretize")
        self.discrete_check.setToolTip(
            "Discretize the output: show only the predicted class, not the network's confidence"
        )
        self.test_check.toggled.connect(self._on_toggle)
        self.discrete_check.toggled.connect(self._on_toggle)
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        self.x_combo.setToolTip("Input shown on the horizontal axis")
        self.y_combo.setToolTip("Input shown on the vertical axis")
        self.x_combo.activated.connect(self._on_axes_chosen)
        self.y_combo.activated.connect(self._on_axes_chosen)
        self.held_label = QLabel("other features held at their mean")
        self.held_label.setObjectName("dim")
        self.title = QLabel("Decision boundary")
        self.title.setObjectName("metric")

        # paint the data: click adds a point of the chosen class (or value); a drag with the
        # Erase tool, the right button or Shift erases under the brush; a stroke is one undo step
        self.paint_button = QToolButton()
        self.paint_button.setText("Paint")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip(
            "Paint the data: click to add a point of the chosen class; drag with the right button "
            "(or Shift, or the Erase tool) to erase the points under the brush. Starts from the "
            "points shown."
        )
        self.paint_button.toggled.connect(self._on_paint_toggled)
        self.erase_button = QToolButton()
        self.erase_button.setText("Erase")
        self.erase_button.setCheckable(True)
        self.erase_button.setToolTip(
            "Eraser: drag over the points to remove them (one undo step per stroke); "
            "the right button or Shift erases without it"
        )
        self.erase_button.toggled.connect(lambda _on: self._show_brush(None))
        self.paint_class = QComboBox()
        self.paint_class.setToolTip("The class of the points you paint")
        self.paint_value = QDoubleSpinBox()
        self.paint_value.setRange(-1e6, 1e6)
        self.paint_value.setDecimals(3)
        self.paint_value.setToolTip("The value of the points you paint (regression)")
        self.paint_clear = QToolButton()
        self.paint_clear.setText("Clear")
        self.paint_clear.setToolTip("Remove every painted point (paint at least 4, of 2 classes, to train)")
        self.paint_clear.clicked.connect(self.clear_points)
        self.paint_save = QToolButton()
        self.paint_save.setText("Save CSV\u2026")
        self.paint_save.setToolTip("Save the painted points as a CSV file (x1, x2, label)")
        self.paint_save.clicked.connect(lambda: self.save_points_dialog())
        self.paint_note = QLabel()
        self.paint_note.setObjectName("dim")
        self.paint_note.setWordWrap(True)
        self._draft_points: list[tuple[float, float, float]] | None = None  # fewer than trainable
        self._stroke: dict | None = None  # an eraser stroke under way: its points, what is kept
        top = QHBoxLayout()
        top.setContentsMargins(6, 2, 6, 0)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.test_check)
        top.addWidget(self.discrete_check)
        axes_row = QHBoxLayout()
        axes_row.setContentsMargins(6, 0, 6, 0)
        self.x_label, self.y_label = QLabel("x:"), QLabel("y:")
        for w in (self.x_label, self.x_combo, self.y_label, self.y_combo, self.held_label):
            axes_row.addWidget(w)
        axes_row.addStretch(1)
        for w in (
            self.paint_note,
            self.paint_button,
            self.paint_class,
            self.paint_value,
            self.erase_button,
            self.paint_clear,
        ):
            axes_row.addWidget(w)
        axes_row.addWidget(self.paint_save)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addLayout(axes_row)
        lay.addWidget(self.plot, 1)
        self.image_message = QLabel(
            "Image and sequence data have no 2-D input plane to draw a decision boundary over: "
            "the image views show the network's predictions, feature maps and filters, the "
            "sequence views its hidden states, gates and gradients through time."
        )
        self.image_message.setWordWrap(True)
        self.image_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_message.setObjectName("dim")
        self.image_message.hide()
        lay.addWidget(self.image_message, 1)

        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.plot.viewport().installEventFilter(self)  # the eraser's strokes
        self.plot.viewport().setMouseTracking(True)  # the brush follows the mouse
        controller.experimentReplaced.connect(self._on_replaced)
        controller.axesChanged.connect(self._on_axes_changed)
        controller.snapshot.connect(self._on_snapshot)
        self._on_replaced()
        # right-click: Export figure… / Copy figure, except in Paint mode (it erases there)
        install_figure_menu(self.plot, "boundary", when=lambda: not self.paint_button.isChecked())
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # -- state ------------------------------------------------------------------------------
    @property
    def dataset(self):
        return self.controller.experiment.dataset

    def _n_raw(self) -> int:
        return int(self.dataset.raw_train.shape[1])

    @property
    def axes(self) -> tuple:
        """The raw columns shown: (x, y), or (0, None) for 1-D data (the controller's)."""
        return self.controller.axes

    def axis_labels(self) -> tuple[str, str]:
        """(horizontal, vertical) axis titles: the two plotted columns, or for 1-D data the
        input and the target."""
        names = axis_names(self.dataset)
        x, y = self.axes
        if y is None:
            targets = list(self.dataset.target_names or [])
            return names[x], (targets[0] if targets else "prediction")
        return names[x], names[y]

    def is_image(self) -> bool:
        """Image or sequence data: no plane to draw over (pixels or steps are not two axes)."""
        ds = self.dataset
        return ds is not None and (bool(getattr(ds, "is_image", False)) or ds.X_train.ndim == 3)

    # -- painting ------------------------------------------------------------------------------
    def can_paint(self) -> bool:
        """Painting needs the plane of two raw inputs, shown as they are (toy or painted data)."""
        d = self.controller.spec.data
        return d.kind in ("toy", "points") and self._n_raw() == 2 and tuple(self.axes) == (0, 1)

    def painted_points(self) -> list[tuple[float, float, float]]:
        """The points as painted: the draft while there are too few to train on, else the data's."""
        if self._draft_points is not None:
            return list(self._draft_points)
        d = self.controller.spec.data
        if d.kind == "points":
            return [tuple(float(v) for v in p) for p in d.points]
        ds = self.dataset  # toy data: its points are where painting starts
        raw = np.vstack([ds.raw_train, ds.raw_test])
        y = np.concatenate([np.ravel(ds.y_train), np.ravel(ds.y_test)]).astype(np.float64)
        return [(float(a), float(b), float(c)) for (a, b), c in zip(raw[:, :2], y, strict=True)]

    def _paint_task(self) -> str:
        return self.dataset.task

    def _on_paint_toggled(self, on: bool) -> None:
        self._sync_paint_controls()

    def _sync_paint_controls(self) -> None:
        ok = self.can_paint() and not self.is_image()
        self.paint_button.setVisible(ok)
        if not ok and self.paint_button.isChecked():
            self.paint_button.setChecked(False)
        on = ok and self.paint_button.isChecked()
        regression = self.dataset.task == "regression"
        self.paint_class.setVisible(on and not regression)
        self.paint_value.setVisible(on and regression)
        for w in (self.paint_clear, self.paint_save, self.erase_button):
            w.setVisible(on)
        if not on:
            self._stroke = None
            self._show_brush(None)
        k = max(2, self.dataset.n_classes or 2)
        if self.paint_class.count() != k:
            current = self.paint_class.currentIndex()
            self.paint_class.clear()
            self.paint_class.addItems([f"class {c}" for c in range(k)])
            self.paint_class.setCurrentIndex(max(0, min(current, k - 1)))
        self.paint_note.setVisible(on and self._draft_points is not None)

    def _on_plot_clicked(self, event) -> None:
        """A left click in Paint mode adds a point (erasing is a stroke: ``eventFilter``)."""
        if not (self.paint_button.isChecked() and self.can_paint()):
            return
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        if self._erasing(event.button(), event.modifiers()):
            return
        p = vb.mapSceneToView(event.scenePos())
        event.accept()
        self.add_point(p.x(), p.y())

    # -- the eraser ------------------------------------------------------------------------------
    def brush_px(self) -> float:
        """The eraser's radius in screen pixels (larger in presenter mode)."""
        return BRUSH_PX * presenter.pen_width(1.0) ** 0.5

    def _erasing(self, button, modifiers) -> bool:
        """Whether a press with this button and these keys starts an eraser stroke."""
        return (
            self.erase_button.isChecked()
            or button == Qt.MouseButton.RightButton
            or bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        )

    def _view_pos(self, event) -> QPointF | None:
        """The data coordinates under a viewport mouse event, or None outside the axes."""
        vb = self.plot.getPlotItem().getViewBox()
        scene = self.plot.mapToScene(event.position().toPoint())
        if not vb.sceneBoundingRect().contains(scene):
            return None
        return vb.mapSceneToView(scene)

    def eventFilter(self, obj, event) -> bool:
        """Eraser strokes on the plot: press starts one, each move erases along the path, the
        release commits it; hovering with the Erase tool shows the brush."""
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            if kind == QEvent.Type.Leave and self._stroke is None:
                self._show_brush(None)
            return super().eventFilter(obj, event)
        if not (self.paint_button.isChecked() and self.can_paint()):
            return super().eventFilter(obj, event)
        if kind == QEvent.Type.MouseButtonPress:
            if not self._erasing(event.button(), event.modifiers()):
                return super().eventFilter(obj, event)
            p = self._view_pos(event)
            if p is None:
                return super().eventFilter(obj, event)
            self.begin_erase(p.x(), p.y())
            return True
        if kind == QEvent.Type.MouseMove:
            p = self._view_pos(event)
            if self._stroke is not None:
                if p is not None:
                    self.erase_to(p.x(), p.y())
                return True
            hover = self.erase_button.isChecked() or bool(
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            )
            self._show_brush(p if hover else None)
            return super().eventFilter(obj, event)
        if self._stroke is not None:  # the release
            self.end_erase()
            return True
        return super().eventFilter(obj, event)

    def _show_brush(self, p: QPointF | None) -> None:
        if p is None:
            self.brush_item.hide()
            return
        self.brush_item.setSize(2 * self.brush_px())
        self.brush_item.setData([p.x()], [p.y()])
        self.brush_item.show()

    def begin_erase(self, x: float, y: float) -> None:
        """Start an eraser stroke at (x, y) (data coordinates): the points under the brush go."""
        pts = np.asarray(self.painted_points(), dtype=np.float64).reshape(-1, 3)
        shown = []  # the points drawn (train, test): hidden as the brush passes
        for item in (self.train_points, self.test_points):
            xy = np.column_stack([item.data["x"], item.data["y"]]).astype(np.float64)
            shown.append((item, xy, np.ones(len(xy), dtype=bool)))
        self._stroke = {"points": pts, "keep": np.ones(len(pts), dtype=bool), "last": (x, y), "shown": shown}
        self.erase_to(x, y)

    def _under_brush(self, xy: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
        """Which of the points ``xy`` (data coordinates) lie within the brush of the segment
        a -> b, measured in screen pixels."""
        if not len(xy):
            return np.zeros(0, dtype=bool)
        px, py = self.plot.getPlotItem().getViewBox().viewPixelSize()  # data units per pixel
        px, py = px or 1.0, py or 1.0
        dx, dy = (b[0] - a[0]) / px, (b[1] - a[1]) / py
        qx, qy = (xy[:, 0] - a[0]) / px, (xy[:, 1] - a[1]) / py
        length2 = dx * dx + dy * dy
        t = np.clip((qx * dx + qy * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros(len(xy))
        return (qx - t * dx) ** 2 + (qy - t * dy) ** 2 <= self.brush_px() ** 2

    def erase_to(self, x: float, y: float) -> None:
        """Move the stroke's brush to (x, y): every point within the brush of the path from its
        last position goes; the plot hides them."""
        st = self._stroke
        if st is None:
            return
        a, st["last"] = st["last"], (x, y)
        self._show_brush(QPointF(x, y))
        st["keep"] &= ~self._under_brush(st["points"][:, :2], a, (x, y))
        for item, xy, keep in st["shown"]:
            under = self._under_brush(xy, a, (x, y)) & keep
            if under.any():
                keep &= ~under
                item.setPointsVisible(keep)

    def end_erase(self) -> int:
        """Finish the stroke: the points it went over are removed in one data edit (one undo
        step); returns how many."""
        st, self._stroke = self._stroke, None
        if not self.erase_button.isChecked():
            self._show_brush(None)
        if st is None:
            return 0
        gone = int((~st["keep"]).sum())
        for item, _xy, keep in st["shown"]:
            if not keep.all() and len(item.data) == len(keep):
                item.setPointsVisible(np.ones(len(keep), dtype=bool))  # the edit redraws them
        if gone:
            keep = [tuple(float(v) for v in p) for p in st["points"][st["keep"]]]
            self.set_points(keep, f"Erase {gone} point{'s' if gone != 1 else ''}")
        return gone

    def _draw_points(self, pts: np.ndarray) -> None:
        """Draw painted points (x, y, label or value) as the plot's points, without the split."""
        self.test_points.setData([], [])
        if not len(pts):
            self.train_points.setData([], [])
            return
        labels = pts[:, 2].astype(np.int64) if self._paint_task() == "classification" else pts[:, 2]
        self.train_points.setData(x=pts[:, 0], y=pts[:, 1], brush=self._point_brushes(labels))

    def add_point(self, x: float, y: float) -> None:
        """Paint one point at (x, y) of the chosen class (or value)."""
        label = (
            float(self.paint_value.value())
            if self._paint_task() == "regression"
            else float(self.paint_class.currentIndex())
        )
        self.set_points([*self.painted_points(), (float(x), float(y), label)], "Paint a point")

    def erase_points(self, x: float, y: float, radius: float) -> int:
        """Remove the points within ``radius`` of (x, y); how many went."""
        pts = self.painted_points()
        keep = [p for p in pts if (p[0] - x) ** 2 + (p[1] - y) ** 2 > radius * radius]
        if len(keep) != len(pts):
            self.set_points(keep, f"Erase {len(pts) - len(keep)} point(s)")
        return len(pts) - len(keep)

    def clear_points(self) -> None:
        self.set_points([], "Clear the painted points")

    def set_points(self, points, text: str) -> bool:
        """Make ``points`` the data (one undo step); too few to train on are kept as a draft,
        drawn, with what is missing said beside the brush (the network trains on as it was)."""
        from dataclasses import replace

        from playground.errors import SpecError
        from playground.spec import DataSpec, validate_points

        c = self.controller
        old = c.spec.data
        task = self._paint_task()
        data = DataSpec(
            kind="points",
            points=tuple(tuple(p) for p in points),
            task=task,
            train_fraction=old.train_fraction,
            features=old.features,
            normalize=old.normalize,
            seed=old.seed,
        )
        try:
            validate_points(data)
        except SpecError as e:
            self._draft_points = [tuple(p) for p in points]
            self.paint_note.setText(e.message)
            self._sync_paint_controls()
            self._draw_draft()
            return False
        self._draft_points = None
        ok = c.edit_spec(replace(c.spec, data=data), text) is not False
        self._sync_paint_controls()
        return ok

    def _draw_draft(self) -> None:
        self._draw_points(np.asarray(self._draft_points or [], dtype=np.float64).reshape(-1, 3))

    def save_points(self, path: str) -> None:
        """The painted points as CSV (x1, x2, label or y), written atomically."""
        from playground.session import atomic_write

        name = "y" if self._paint_task() == "regression" else "label"
        lines = [f"x1,x2,{name}"] + [
            f"{x!r},{y!r},{int(v) if name == 'label' else repr(v)}" for x, y, v in self.painted_points()
        ]
        text = ("\n".join(lines) + "\n").encode("utf-8")
        atomic_write(path, lambda f: f.write(text))

    def save_points_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        path, _ = QFileDialog.getSaveFileName(
            self, "Save the painted points", "points.csv", "CSV files (*.csv)"
        )
        if path:
            try:
                self.save_points(path)
            except OSError as e:
                QMessageBox.warning(self, "Save points", f"Could not write {path}: {e.strerror or e}")

    @Slot()
    def _on_replaced(self) -> None:
        self._draft_points = None
        image = self.is_image()
        self._sync_paint_controls()
        self.plot.setVisible(not image)
        self.image_message.setVisible(image)
        for w in (self.test_check, self.discrete_check):
            w.setVisible(not image)
        if image:
            for w in (self.x_label, self.x_combo, self.y_label, self.y_combo, self.held_label):
                w.hide()
            self._grid = None
            self.image.clear()
            self.title.setText("Decision boundary")
            return
        names = axis_names(self.dataset)
        many = len(names) > 2
        for combo in (self.x_combo, self.y_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            combo.blockSignals(False)
        for w in (self.x_label, self.x_combo, self.y_label, self.y_combo, self.held_label):
            w.setVisible(many)
        self._grid = None
        self.image.clear()
        self.curve.setData([], [])
        self._setup_decorations()
        self._show_axes()

    @Slot(object)
    def _on_axes_changed(self, _axes) -> None:
        if self.is_image():
            return
        self._grid = None
        self.image.clear()  # the old heatmap is over other columns: blank until the new grid
        self._show_axes()

    def _show_axes(self) -> None:
        """Combos, points, range and axis titles for the controller's current axes."""
        x, y = self.axes
        for combo, index in ((self.x_combo, x), (self.y_combo, y)):
            if index is not None and index < combo.count():
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)
        self._update_points()
        self._set_range()
        pi = self.plot.getPlotItem()
        bottom, left = self.axis_labels()
        pi.setLabel("bottom", bottom)
        pi.setLabel("left", left)

    @Slot(int)
    def _on_axes_chosen(self, _index: int) -> None:
        x, y = self.x_combo.currentIndex(), self.y_combo.currentIndex()
        if x == y:  # the same column on both axes shows nothing: swap the two instead
            old_x, old_y = self.axes
            x, y = old_y, old_x
        self.set_axes((x, y))

    def set_axes(self, axes) -> tuple:
        """Ask the controller to show ``axes`` (it validates them); returns the axes shown."""
        return self.controller.set_axes(axes)

    def view_state(self) -> dict:
        """The axes shown and the toggles, as the session file stores them."""
        return {"boundary_axes": list(self.axes), **checked(self._view_boxes())}

    def apply_view_state(self, state: dict) -> None:
        if "boundary_axes" in state:  # validated for the data: anything unusable gives its default
            self.set_axes(state["boundary_axes"])
        set_checked(self._view_boxes(), state)

    def _view_boxes(self) -> dict[str, QCheckBox]:
        return {"show_test": self.test_check, "discretize": self.discrete_check}

    @Slot(bool)
    def _on_toggle(self, _on: bool) -> None:
        self.test_points.setVisible(self.test_check.isChecked())  # points exist once; only visibility flips
        self._dirty = self._dirty or self.sender() is self.discrete_check

    @Slot(object)
    def _on_snapshot(self, snap) -> None:
        # a grid over other axes is one the worker computed before it heard of the new ones
        if self.is_image():
            return
        if snap.grid is not None and tuple(snap.grid_axes) == tuple(self.axes):
            self._grid = snap.grid
            self._dirty = True

    # -- drawing ------------------------------------------------------------------------------
    def _is_1d(self) -> bool:
        return self._n_raw() == 1

    def _setup_decorations(self) -> None:
        pi = self.plot.getPlotItem()
        if self.legend is not None:
            self.legend.scene() and self.legend.scene().removeItem(self.legend)
            self.legend = None
        if self.colorbar is not None:
            self.plot.getPlotItem().layout.removeItem(self.colorbar)
            self.colorbar.scene() and self.colorbar.scene().removeItem(self.colorbar)
            self.colorbar = None
        ds = self.dataset
        t = theme.current()
        if ds.task == "classification":
            names = ds.class_names or []
            self.title.setText("Decision boundary")
            if len(names) > 2:
                self.legend = pg.LegendItem(
                    offset=(-8, 8), labelTextSize="8pt", brush=pg.mkBrush(t.plot_bg), labelTextColor=t.plot_fg
                )
                self.legend.setParentItem(pi.getViewBox())
                for k, name in enumerate(names):
                    sample = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(CLASS_COLORS[k % len(CLASS_COLORS)]))
                    self.legend.addItem(sample, str(name))
        else:
            self.title.setText("Prediction")
            if not self._is_1d():
                lo, hi = self._target_range()
                self.colorbar = pg.ColorBarItem(
                    values=(lo, hi), colorMap=pg.colormap.get(REGRESSION_CMAP), interactive=False, width=12
                )
                self.colorbar.setImageItem(self.image, insert_in=pi)
        self.curve.setVisible(self._is_1d())
        self.image.setVisible(not self._is_1d())
        self.curve.setPen(pg.mkPen(t.plot_fg, width=presenter.pen_width(2)))
        self.test_points.setPen(pg.mkPen(t.text, width=1.2 * presenter.point_scale()))

    def _target_range(self) -> tuple[float, float]:
        ds = self.dataset
        y = np.concatenate([np.ravel(ds.y_train), np.ravel(ds.y_test)]).astype(np.float64)
        y = y[np.isfinite(y)]
        if y.size == 0:
            return (0.0, 1.0)
        lo, hi = float(y.min()), float(y.max())
        return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)

    def _point_brushes(self, y: np.ndarray):
        ds = self.dataset
        if ds.task == "classification":
            rgba = class_colors_rgba(np.asarray(y, dtype=np.int64))
        else:
            lo, hi = self._target_range()
            cmap = pg.colormap.get(REGRESSION_CMAP)
            rgba = cmap.map((np.ravel(y)[: len(y)] - lo) / (hi - lo), mode="byte")
        return [pg.mkBrush(*c) for c in rgba]

    def _point_xy(self, raw: np.ndarray, y: np.ndarray):
        if self._is_1d():
            yy = np.ravel(y).astype(np.float64) if self.dataset.task == "regression" else np.asarray(y, float)
            return raw[:, 0], yy[: len(raw)]
        return raw[:, self.axes[0]], raw[:, self.axes[1]]

    def _update_points(self) -> None:
        ds = self.dataset
        for item, raw, y in (
            (self.train_points, ds.raw_train, ds.y_train),
            (self.test_points, ds.raw_test, ds.y_test),
        ):
            if len(raw) == 0:
                item.setData([], [])
                continue
            x, yy = self._point_xy(raw, y)
            if ds.task == "regression" and np.ndim(y) == 2 and y.shape[1] > 1:
                y = y[:, 0]
            item.setData(x=x, y=yy, brush=self._point_brushes(np.ravel(y) if ds.task == "regression" else y))
        self.test_points.setVisible(self.test_check.isChecked())

    def _set_range(self) -> None:
        b = self.dataset.raw_bounds(pad=0.05)
        vb = self.plot.getPlotItem().getViewBox()
        if self._is_1d():
            x, y = self._point_xy(np.vstack([self.dataset.raw_train, self.dataset.raw_test]), self._all_y())
            lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
            pad = 0.1 * (hi - lo or 1.0)
            vb.setAspectLocked(False)
            vb.setRange(xRange=b[0], yRange=(lo - pad, hi + pad), padding=0)
            return
        (x0, x1), (y0, y1) = b[self.axes[0]], b[self.axes[1]]
        # the heatmap fills the axes: a locked aspect left bands of empty view around the image
        vb.setAspectLocked(False)
        vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def _all_y(self) -> np.ndarray:
        ds = self.dataset
        return np.concatenate(
            [
                np.ravel(ds.y_train) if ds.task == "classification" else ds.y_train[:, 0],
                np.ravel(ds.y_test) if ds.task == "classification" else ds.y_test[:, 0],
            ]
        )

    @Slot()
    def redraw(self) -> None:
        if not self._dirty or self._grid is None:
            return
        self._dirty = False
        self.frames += 1
        xs, ys, out, _hidden = self._grid
        ds = self.dataset
        if self._is_1d():
            self.curve.setData(xs, out[0, :, 0])
            return
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)
        if ds.task == "classification" and out.shape[-1] > 2:
            spec = self.controller.spec
            rgba = classification_rgba(
                out, spec.training.loss, spec.network.output_activation, self.discrete_check.isChecked()
            )
            self.image.setImage(rgba, autoLevels=False, levels=None, lut=None, rect=rect)
        elif ds.task == "classification":
            # one scalar per pixel, a fixed lookup table and fixed levels: no RGBA built in Python
            act = self.controller.spec.network.output_activation if out.shape[-1] == 1 else "softmax"
            lo, hi = output_levels(self.controller.spec.training.loss, act)
            values = np.clip(np.nan_to_num(out[..., -1], nan=(lo + hi) / 2), lo, hi)
            self.image.setImage(
                np.ascontiguousarray(values, dtype=np.float32),
                autoLevels=False,
                levels=(lo, hi),
                lut=_binary_lut(self.discrete_check.isChecked(), neutral()),  # per theme
                rect=rect,
            )
        else:
            lo, hi = self._target_range()
            values = np.clip(np.nan_to_num(out[..., 0], nan=lo, posinf=hi, neginf=lo), lo, hi)
            self.image.setImage(
                np.ascontiguousarray(values, dtype=np.float32),
                autoLevels=False,
                levels=(lo, hi),
                lut=self._regression_lut,
                rect=rect,
            )

    def apply_theme(self) -> None:
        t = theme.current()
        self.plot.setBackground(t.plot_bg)
        theme.style_plot(self.plot.getPlotItem(), t)
        self.plot.getPlotItem().showGrid(x=False, y=False)
        self._setup_decorations()
        self._dirty = True


if __name__ == "__main__":  # quick look: python -m playground.app.panels.boundary
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    ctl = ExperimentController()
    view = BoundaryView(ctl)
    view.resize(520, 520)
    view.show()
    ctl.play()
    app.exec()
    ctl.shutdown()
