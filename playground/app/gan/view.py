"""GanView: GAN mode's window content: the plane, both losses, the fit and the controls.

The plane shows, each a layer that can be switched off: the discriminator's output as a
heatmap (blue: "real", orange: "fake"; a Wasserstein critic's score, centred at 0), the
warped noise grid (G's image of a grid of noise values), the real points (grey), the
generated points (orange, with one ring per real mode, green when covered), and the
generator's gradient as arrows on generated points (where its loss pushes them). After a
single G step the arrows show how far each point actually moved instead.

Items are created once and fed with ``setData`` / ``setImage`` from each snapshot (the worker
sends the heavy parts at ~10 Hz, the points at up to 30 Hz). Painting: with "Paint" on,
dragging on the plane adds points and training restarts on them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from playground.gan.metrics import describe
from playground.gan.spec import DISTRIBUTIONS, LOSSES, GanDataSpec

from .. import colors, theme
from ..figures import install_figure_menu
from ..plotting import ema
from .controller import GanController
from .settings_form import GanSettingsForm

LOSS_LABELS = {
    "minimax": "minimax (original)",
    "non_saturating": "non-saturating",
    "least_squares": "least squares",
    "wgan_gp": "Wasserstein + gradient penalty",
    "wgan_clip": "Wasserstein + weight clipping",
}
REAL_COLOR = "#5f6368"
FAKE_COLOR = colors.ORANGE
ARROW_COLOR = "#7b1fa2"
GRID_COLOR = (60, 60, 60, 90)
MAX_LOSS_POINTS = 4000


def _lut() -> np.ndarray:
    """0 (fake) orange -> neutral -> 1 (real) blue, softened so points stay readable."""
    lut = colors.diverging_lut(256).astype(np.float64)
    base = np.array(pg.mkColor(colors.neutral()).getRgb()[:3], dtype=np.float64)
    lut[:, :3] = 0.55 * lut[:, :3] + 0.45 * base
    return lut.astype(np.ubyte)


class GanView(QWidget):
    def __init__(self, controller: GanController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._generation = -1
        self._rows = np.zeros((0, 5))
        self._stride = 1
        self._painting = False
        self._stroke: list[tuple[float, float]] = []
        self.race_dialog = None
        self._build()
        controller.snapshot.connect(self.on_snapshot)
        controller.trainingStateChanged.connect(self._on_running)
        controller.specChanged.connect(self._sync_controls)
        controller.diverged.connect(lambda m: self.status.setText(f"Training stopped: {m}"))
        self._sync_controls(controller.spec)
        install_figure_menu(self.plane, "gan_plane", when=lambda: not self.paint_button.isChecked())
        install_figure_menu(self.losses, "gan_losses")
        install_figure_menu(self, "gan")

    # -- building -------------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.controller.toggle)
        self.d_button = QPushButton("D step")
        self.d_button.setToolTip("One discriminator step: watch the heatmap move")
        self.d_button.clicked.connect(self.controller.d_step)
        self.g_button = QPushButton("G step")
        self.g_button.setToolTip("One generator step: the arrows show how far each point moved")
        self.g_button.clicked.connect(self.controller.g_step)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.controller.reset)
        self.loss_combo = QComboBox()
        for name in LOSSES:
            self.loss_combo.addItem(LOSS_LABELS[name], name)
        self.loss_combo.currentIndexChanged.connect(self._loss_chosen)
        self.data_combo = QComboBox()
        for name in DISTRIBUTIONS:
            self.data_combo.addItem(name.replace("_", " "), name)
        self.data_combo.addItem("painted points", "points")
        self.data_combo.currentIndexChanged.connect(self._data_chosen)
        self.paint_button = QPushButton("Paint")
        self.paint_button.setCheckable(True)
        self.paint_button.setToolTip("Drag on the plane to paint real points")
        self.paint_button.toggled.connect(self._set_painting)
        self.race_button = QPushButton("Race losses…")
        self.race_button.setToolTip("Train several losses from the same start, side by side")
        self.race_button.clicked.connect(self.open_race)
        for w in (self.play_button, self.d_button, self.g_button, self.reset_button):
            top.addWidget(w)
        top.addWidget(QLabel("Loss"))
        top.addWidget(self.loss_combo)
        top.addWidget(QLabel("Data"))
        top.addWidget(self.data_combo)
        top.addWidget(self.paint_button)
        top.addWidget(self.race_button)
        top.addStretch(1)

        layers = QHBoxLayout()
        self.layer_boxes = {}
        for key, text in (
            ("heatmap", "Discriminator"),
            ("grid", "Noise grid"),
            ("real", "Real"),
            ("fake", "Generated"),
            ("arrows", "Gradients"),
            ("modes", "Modes"),
        ):
            box = QCheckBox(text)
            box.setChecked(True)
            box.toggled.connect(self._apply_layers)
            self.layer_boxes[key] = box
            layers.addWidget(box)
        layers.addStretch(1)

        self.plane = pg.PlotWidget()
        self.plane.setAspectLocked(True)
        self.plane.setMenuEnabled(False)
        self.plane.hideButtons()
        pi = self.plane.getPlotItem()
        self.heatmap = pg.ImageItem(axisOrder="row-major")
        self.heatmap.setLookupTable(_lut())
        self.heatmap.setZValue(-10)
        pi.addItem(self.heatmap)
        self.warp = pg.PlotDataItem(pen=pg.mkPen(GRID_COLOR, width=1), connect="finite")
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(REAL_COLOR))
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(FAKE_COLOR))
        self.arrows = pg.PlotDataItem(pen=pg.mkPen(ARROW_COLOR, width=1.2), connect="pairs")
        self.modes = pg.ScatterPlotItem(size=18, brush=None)
        self.stroke_item = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(REAL_COLOR))
        for item in (self.warp, self.real, self.fake, self.arrows, self.modes, self.stroke_item):
            pi.addItem(item)
        self.plane.scene().sigMouseClicked.connect(self._on_click)
        self.plane.scene().sigMouseMoved.connect(self._on_move)

        self.losses = pg.PlotWidget(title="Losses")
        self.losses.setMenuEnabled(False)
        self.losses.addLegend(offset=(-10, 10))
        self.losses.setLabel("bottom", "iteration")
        self.d_raw = self.losses.plot(pen=pg.mkPen(colors.BLUE + "40", width=1))
        self.g_raw = self.losses.plot(pen=pg.mkPen(colors.ORANGE + "40", width=1))
        self.d_curve = self.losses.plot(pen=pg.mkPen(colors.BLUE, width=2), name="discriminator")
        self.g_curve = self.losses.plot(pen=pg.mkPen(colors.ORANGE, width=2), name="generator")
        for plot in (self.plane, self.losses):
            plot.setBackground(theme.current().plot_bg)
            theme.style_plot(plot.getPlotItem())

        self.fit_label = QLabel("Preparing the engine…")
        self.fit_label.setTextFormat(Qt.TextFormat.RichText)
        self.fit_label.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        self.settings = GanSettingsForm(self.controller)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.losses, "Losses")
        self.tabs.addTab(self.settings, "Networks")
        sl.addWidget(self.tabs, 1)
        sl.addWidget(self.fit_label)
        sl.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plane)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(layers)
        lay.addWidget(split, 1)

    # -- controls -------------------------------------------------------------------------
    @Slot(object)
    def _sync_controls(self, spec) -> None:
        for combo, value in ((self.loss_combo, spec.training.loss), (self.data_combo, spec.data.kind)):
            i = combo.findData(value)
            if i >= 0 and combo.currentIndex() != i:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)

    def _loss_chosen(self, _i: int) -> None:
        spec = self.controller.spec
        self.controller.set_spec(spec.with_changes("training.loss", self.loss_combo.currentData()))

    def _data_chosen(self, _i: int) -> None:
        kind = self.data_combo.currentData()
        spec = self.controller.spec
        if kind == "points":
            self.paint_button.setChecked(True)
            return
        modes = 25 if kind == "grid" else 8
        std = {"ring": 0.02, "grid": 0.02}.get(kind, 0.03)
        from dataclasses import replace

        self.controller.set_spec(replace(spec, data=GanDataSpec(kind=kind, modes=modes, std=std, radius=2.0)))

    def _set_painting(self, on: bool) -> None:
        self._painting = on
        self.plane.setMouseEnabled(not on, not on)
        self.status.setText("Paint: click or drag with the button held to add points" if on else "")
        if not on:  # "painted points" chosen but nothing painted: the data trained on again
            self._sync_controls(self.controller.spec)

    def _on_running(self, running: bool) -> None:
        self.play_button.setText("Pause" if running else "Play")

    def _scene_to_view(self, pos):
        vb = self.plane.getPlotItem().vb
        if not self.plane.sceneBoundingRect().contains(pos):
            return None
        p = vb.mapSceneToView(pos)
        return float(p.x()), float(p.y())

    def _on_click(self, ev) -> None:
        if not self._painting:
            return
        p = self._scene_to_view(ev.scenePos())
        if p is not None:
            self.paint_at([p])

    def _on_move(self, pos) -> None:
        from PySide6.QtWidgets import QApplication

        if not self._painting or not (QApplication.mouseButtons() & Qt.MouseButton.LeftButton):
            if self._stroke:
                self.paint_at(self._stroke)
                self._stroke = []
            return
        p = self._scene_to_view(pos)
        if p is not None:
            self._stroke.append(p)
            self.stroke_item.setData(pos=np.array(self._stroke))

    def paint_at(self, points) -> None:
        """Add painted points (what a click or a stroke on the plane does)."""
        self.stroke_item.setData(pos=np.zeros((0, 2)))
        self.controller.paint(points)

    def open_race(self):
        """The race dialog on the current spec (its own trainers: this experiment is untouched).
        It follows the spec while open (a race started after a change of networks races the
        new networks); one dialog at a time: opening it again replaces (and stops) the last."""
        from .race_dialog import GanRaceDialog

        self.close_race()
        self.race_dialog = GanRaceDialog(self.controller.spec, self)
        self.controller.specChanged.connect(self.race_dialog.set_spec)
        self.race_dialog.show()
        return self.race_dialog

    def close_race(self) -> None:
        """Stop and close the race dialog (GAN mode closing: no race thread outlives it)."""
        d = getattr(self, "race_dialog", None)
        if d is None:
            return
        self.race_dialog = None
        try:
            self.controller.specChanged.disconnect(d.set_spec)
        except (RuntimeError, TypeError):
            pass
        d.close()

    def _apply_layers(self) -> None:
        b = {k: box.isChecked() for k, box in self.layer_boxes.items()}
        self.heatmap.setVisible(b["heatmap"])
        self.warp.setVisible(b["grid"])
        self.real.setVisible(b["real"])
        self.fake.setVisible(b["fake"])
        self.arrows.setVisible(b["arrows"])
        self.modes.setVisible(b["modes"])

    # -- snapshots ------------------------------------------------------------------------
    @Slot(object)
    def on_snapshot(self, snap) -> None:
        if snap.generation != self._generation:  # a new trainer: nothing of the last one stays
            self._generation = snap.generation
            self._rows = np.zeros((0, 5))
            self._last_fit = None
            self.losses.getPlotItem().enableAutoRange()
            if snap.iteration == 0:  # no rows yet: not the last trainer's axes
                self.losses.setRange(xRange=(0, 100), yRange=(0, 1), padding=0)
                self.losses.getPlotItem().enableAutoRange()
        if snap.real is not None:
            self.real.setData(pos=snap.real)
        if snap.extent is not None and snap.real is not None:
            x0, x1, y0, y1 = snap.extent
            self.plane.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.fake.setData(pos=snap.generated)
        self._append_rows(snap)
        if snap.grid is not None:
            self._draw_grid(snap)
        if snap.step is not None:
            self._draw_step(snap.step)
        self._write_fit(snap)

    def _append_rows(self, snap) -> None:
        if snap.records_reset:
            self._rows = snap.records.copy()
        elif len(snap.records):
            self._rows = np.concatenate([self._rows, snap.records])
        self._stride = snap.record_stride
        n = len(self._rows)
        curves = ((self.d_raw, self.d_curve, 0), (self.g_raw, self.g_curve, 1))
        if n == 0:
            for raw, smooth, _ in curves:
                raw.setData([], [])
                smooth.setData([], [])
            return
        step = max(1, n // MAX_LOSS_POINTS)
        rows = self._rows[::step]
        x = np.arange(0, n, step) * self._stride + 1
        alpha = min(1.0, 20.0 / len(rows))
        for raw, smooth, col in curves:
            raw.setData(x, rows[:, col])
            smooth.setData(x, ema(rows[:, col], alpha=max(alpha, 0.01)))

    def _draw_grid(self, snap) -> None:
        xs, ys, v = snap.grid
        if snap.loss in ("wgan_gp", "wgan_clip"):
            m = float(np.nanmax(np.abs(v - np.nanmedian(v)))) or 1.0
            levels = (float(np.nanmedian(v)) - m, float(np.nanmedian(v)) + m)
        else:
            levels = (0.0, 1.0)
        self.heatmap.setImage(v, levels=levels, autoLevels=False)
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        self.heatmap.setRect(
            float(xs[0] - dx / 2), float(ys[0] - dy / 2), float(dx * len(xs)), float(dy * len(ys))
        )
        if snap.arrows is not None and snap.step is None:
            pts, d = snap.arrows
            scale = 0.06 * (xs[-1] - xs[0]) / max(float(np.percentile(np.linalg.norm(d, axis=1), 90)), 1e-12)
            seg = np.empty((2 * len(pts), 2))
            seg[0::2] = pts
            seg[1::2] = pts + scale * np.clip(d, -1e6, 1e6)
            self.arrows.setData(seg[:, 0], seg[:, 1])
        if snap.warped is not None:
            w = snap.warped
            n = w.shape[0]
            rows = np.concatenate([np.vstack([w[i], [np.nan, np.nan]]) for i in range(n)])
            cols = np.concatenate([np.vstack([w[:, j], [np.nan, np.nan]]) for j in range(n)])
            lines = np.vstack([rows, cols])
            self.warp.setData(lines[:, 0], lines[:, 1])
        if snap.fit is not None:
            fit = snap.fit
            brushes = [pg.mkPen("#2e7d32" if c else colors.ERROR_RED, width=2) for c in fit["covered"]]
            self.modes.setData(pos=fit["mode_centres"], pen=brushes, brush=None)

    def _draw_step(self, step) -> None:
        if step.net == "generator" and step.points_before is not None:
            n = min(len(step.points_before), 300)
            seg = np.empty((2 * n, 2))
            seg[0::2] = step.points_before[:n]
            seg[1::2] = step.points_after[:n]
            self.arrows.setData(seg[:, 0], seg[:, 1])
            moved = np.linalg.norm(step.points_after - step.points_before, axis=1)
            self.status.setText(
                f"G step: generator loss {step.loss:.4g}; parameters moved {step.param_change:.3g}; "
                f"points moved {moved.mean():.3g} on average (max {moved.max():.3g}), drawn as lines"
            )
        else:
            self.status.setText(
                f"D step: discriminator loss {step.loss:.4g}; parameters moved {step.param_change:.3g}; "
                f"its output changed by up to {step.grid_change:.3g} on the plane"
            )

    def _write_fit(self, snap) -> None:
        rate = f" · {snap.iterations_per_s:,.0f} iterations/s" if snap.running else ""
        head = f"Iteration {snap.iteration:,} (D steps {snap.d_steps:,}, G steps {snap.g_steps:,}){rate}"
        if len(self._rows):
            last = self._rows[-1]
            head += f"<br>losses: D {last[0]:.4g}, G {last[1]:.4g}"
        fit = snap.fit or getattr(self, "_last_fit", None)
        if snap.fit is not None:
            self._last_fit = snap.fit
        if fit is not None:
            text = describe(fit)
            if fit["collapse"]:
                text = text.replace(
                    " — mode collapse", f" — <b style='color:{colors.ERROR_RED}'>mode collapse</b>"
                )
            head += f"<br>{text}; {100 * fit['share_near']:.0f}% of the samples near the data"
        if snap.engine != "kernels":
            head += f"<br><i>Training on the {snap.engine}</i>"
        if snap.status != "ok":
            head += f"<br><b style='color:{colors.ERROR_RED}'>diverged: {snap.message}</b>"
        self.fit_label.setText(head)


def main() -> int:
    """``python -m playground.app.gan.view``: GAN mode alone, for a quick look."""
    import sys

    from PySide6.QtWidgets import QApplication

    sys.setswitchinterval(0.001)  # as the app does: the trainer thread waits less for the GIL
    app = QApplication.instance() or QApplication(sys.argv)
    controller = GanController()
    view = GanView(controller)
    view.resize(1200, 720)
    view.setWindowTitle("Neural Playground — GAN mode")
    view.show()
    controller.play()
    code = app.exec()
    controller.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
