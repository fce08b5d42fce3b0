"""GAN races on screen: variants of a GAN spec trained from the same start, side by side.

:class:`GanRaceView` races any (label, title, spec) variants (``playground.gan.race``) in a
background :class:`~playground.app.tasks.Task`; after each round it draws each variant's
generated points over the real ones with its modes covered, distance, the discriminator's
verdict on them (D(G(z)) from the mean logit; a critic's raw score) and a mode-collapse
mark, and a plot of every variant's modes covered over the iterations (a collapse shows as a
falling line). A GAN lesson shows its variants in one (``window.py``); the GAN view's "Race
losses…" opens :class:`GanRaceDialog`, the same view over the current spec's losses. Either
way the GAN view's own experiment is left as it was.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.gan.race import race
from playground.gan.spec import LOSSES, WASSERSTEIN, GanSpec

from .. import colors, theme
from ..figures import install_figure_menu
from ..tasks import Cancelled, Task
from .view import FAKE_COLOR, LOSS_LABELS, REAL_COLOR

SHOWN = 600
ROWS_PER_RACE = 20  # fit rows (and redraws) per race
CURVE_COLORS = (colors.BLUE, colors.ORANGE, "#2e7d32", "#7b1fa2", "#c62828", "#00838f", "#6d4c41", "#455a64")


class GanRaceView(QWidget):
    """The race of ``set_variants``' variants: Run / Stop, one plot per variant, the modes."""

    raceFinished = Signal(object)  # the RaceEntry list

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.task: Task | None = None
        self.last: list | None = None  # the last frames drawn: (label, samples, row, status)
        self.entries = None  # the finished race's RaceEntry list
        self.variants: list[tuple[str, str, GanSpec]] = []
        self.every: int | None = None
        self._top = 8
        self.iterations = QSpinBox()
        self.iterations.setRange(100, 10_000_000)
        self.iterations.setSingleStep(1000)
        self.iterations.setValue(5000)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.toggle)
        self.controls = QHBoxLayout()  # a dialog puts its choices in front
        self.controls.addStretch(1)
        self.controls.addWidget(QLabel("Iterations"))
        self.controls.addWidget(self.iterations)
        self.controls.addWidget(self.run_button)
        self.grid = QGridLayout()
        self.cells: dict[str, tuple] = {}
        self.modes_plot = pg.PlotWidget(title="Modes covered")
        self.modes_plot.setBackground(theme.current().plot_bg)
        theme.style_plot(self.modes_plot.getPlotItem())
        self.modes_plot.setMenuEnabled(False)
        self.modes_plot.setLabel("bottom", "iteration")
        self.modes_plot.setMaximumHeight(210)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.status = QLabel("Every variant starts from the same weights and sees the same random draws.")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(self.controls)
        lay.addLayout(self.grid, 1)
        lay.addWidget(self.modes_plot)
        lay.addWidget(self.status)
        install_figure_menu(self.modes_plot, "gan_race_modes")  # right-click: Export figure…
        install_figure_menu(self, "gan_race")

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.isRunning()

    def set_variants(
        self,
        variants: list[tuple[str, str, GanSpec]],
        iterations: int | None = None,
        every: int | None = None,
    ) -> None:
        """Show these (label, title, spec) variants, untrained, ready to Run."""
        self.stop()
        self.variants = list(variants)
        self.every = every
        if iterations is not None:
            self.iterations.setValue(iterations)
        self.entries = self.last = None
        self._build_cells()

    def _build_cells(self) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        self.modes_plot.clear()
        if self.modes_plot.getPlotItem().legend is not None:
            self.modes_plot.getPlotItem().legend.scene().removeItem(self.modes_plot.getPlotItem().legend)
            self.modes_plot.getPlotItem().legend = None
        self.curves.clear()
        if not self.variants:
            return
        from playground.gan.model import GanTrainer

        self.modes_plot.addLegend(offset=(10, 2), colCount=len(self.variants))
        real = GanTrainer(self.variants[0][2]).real_samples(SHOWN)
        columns = 4 if len(self.variants) > 4 else len(self.variants)
        for i, (label, title, spec) in enumerate(self.variants):
            if spec.data != self.variants[0][2].data:
                real = GanTrainer(spec).real_samples(SHOWN)
            plot = pg.PlotWidget()
            plot.setBackground(theme.current().plot_bg)
            theme.style_plot(plot.getPlotItem())
            plot.setAspectLocked(True)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.addItem(pg.ScatterPlotItem(pos=real, size=3, pen=None, brush=pg.mkBrush(REAL_COLOR)))
            fake = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(FAKE_COLOR))
            plot.addItem(fake)
            caption = QLabel(f"<b>{title}</b>: not trained yet")
            caption.setTextFormat(Qt.TextFormat.RichText)
            caption.setWordWrap(True)
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(plot, 1)
            bl.addWidget(caption)
            self.grid.addWidget(box, i // columns, i % columns)
            self.cells[label] = (plot, fake, caption)
            color = CURVE_COLORS[i % len(CURVE_COLORS)]
            self.curves[label] = self.modes_plot.plot(
                pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, symbolBrush=color, name=title
            )
        self._set_top(self.variants[0][2].data.modes if self._all_mixtures() else 8)

    def _set_top(self, top: int) -> None:
        """The plot's scale and title: modes covered of ``top`` (the fit's count once known)."""
        self._top = top
        self.modes_plot.setYRange(0, top * 1.4, padding=0)  # room above for the legend
        self.modes_plot.setTitle(f"Modes covered (of {top})")

    def _all_mixtures(self) -> bool:
        return all(s.data.kind in ("ring", "grid") for _, _, s in self.variants)

    @Slot()
    def toggle(self) -> None:
        if self.running:
            self.task.cancel()
            return
        self.run()

    def run(self) -> bool:
        """Train every variant for the chosen iterations (from the start); False if nothing to run."""
        if self.running or not self.variants:
            return False
        self._build_cells()
        pairs = [(label, spec) for label, _, spec in self.variants]
        n = self.iterations.value()
        every = self.every if self.every is not None else max(100, n // ROWS_PER_RACE)
        every = min(every, n)

        def job(state):
            def report(entries):
                if state.is_cancelled():
                    raise Cancelled
                frames = []
                for e in entries:
                    rows = [dict(r) for r in e.rows]
                    frames.append((e.label, e.trainer.samples(SHOWN), rows[-1], e.status, rows))
                state.report(frames)

            return race(pairs, n, every, on_rows=report)

        self.task = Task(job, self, name="gan-race")
        self.task.progressed.connect(self._draw)
        self.task.succeeded.connect(self._done)
        self.task.failed.connect(lambda e: self.status.setText(f"The race stopped: {e}"))
        self.task.finished.connect(self._finished)
        self.run_button.setText("Stop")
        self.status.setText("Racing…")
        self.task.start()
        return True

    def stop(self) -> None:
        if self.running:
            self.task.cancel()
            self.task.wait()

    def spec_of(self, label: str) -> GanSpec | None:
        for lab, _, spec in self.variants:
            if lab == label:
                return spec
        return None

    def title(self, label: str) -> str:
        for lab, title, _ in self.variants:
            if lab == label:
                return title
        return label

    @Slot(object)
    def _draw(self, frames) -> None:
        self.last = [f[:4] for f in frames]
        for label, samples, row, status, rows in frames:
            if label not in self.cells:
                continue
            plot, fake, caption = self.cells[label]
            fake.setData(pos=np.asarray(samples))
            text = (
                f"<b>{self.title(label)}</b>: {row['modes_covered']}/{row['modes']} modes, "
                f"distance {row['sliced_wasserstein']:.3g} at {row['iteration']:,}"
            )
            text += _verdict(self.spec_of(label), row.get("d_fake"))
            if row["collapse"]:
                text += f" — <b style='color:{colors.ERROR_RED}'>mode collapse</b>"
            if status != "ok":
                text += " (diverged)"
            caption.setText(text)
            self.curves[label].setData([r["iteration"] for r in rows], [r["modes_covered"] for r in rows])
        modes = {f[2]["modes"] for f in frames}
        if len(modes) == 1 and modes != {self._top}:  # painted points: their own count, not 8
            self._set_top(modes.pop())

    @Slot()
    def _finished(self) -> None:
        """The thread ended: done, failed or stopped (Stop, a new race, GAN mode closing)."""
        self.run_button.setText("Run")
        if self.status.text() == "Racing…":  # neither done nor failed: it was stopped
            at = max((f[2]["iteration"] for f in self.last), default=0) if self.last else 0
            self.status.setText(f"Stopped at iteration {at:,}. Run races again from the start.")

    @Slot(object)
    def _done(self, entries) -> None:
        self.entries = entries
        best = max(entries, key=lambda e: (e.rows[-1]["modes_covered"], -e.rows[-1]["sliced_wasserstein"]))
        self.status.setText(
            f"Done: {self.title(best.label)} fits best after {best.rows[-1]['iteration']:,} iterations."
        )
        self.raceFinished.emit(entries)


def _verdict(spec: GanSpec | None, d_fake: float | None) -> str:
    """The discriminator's verdict on the generated points: D(G(z)) (the sigmoid of its mean
    logit; least squares' output as it is; a critic's raw score)."""
    if spec is None or d_fake is None or not np.isfinite(d_fake):
        return ""
    if spec.training.loss in WASSERSTEIN:
        return f", critic on fakes {d_fake:+.2g}"
    if spec.training.loss == "least_squares":  # D's output is regressed to 1 (real) / 0 (fake)
        return f", D(G(z)) ≈ {d_fake:.2g}"
    return f", D(G(z)) ≈ {1.0 / (1.0 + np.exp(-np.clip(d_fake, -500, 500))):.2g}"


class GanRaceDialog(QDialog):
    """The GAN view's "Race losses…": the chosen losses of the current spec in a race view."""

    def __init__(self, spec: GanSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Race the losses")
        self.spec = spec
        self.view = GanRaceView(self)
        self.view.run_button.clicked.disconnect()
        self.view.run_button.clicked.connect(self.toggle)
        self.boxes = {}
        for i, name in enumerate(LOSSES):
            box = QCheckBox(LOSS_LABELS[name])
            box.setChecked(name in ("minimax", "non_saturating", "wgan_gp"))
            self.boxes[name] = box
            self.view.controls.insertWidget(i, box)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        self.resize(1100, 640)

    # the race view's parts, as the dialog's own
    iterations = property(lambda self: self.view.iterations)
    run_button = property(lambda self: self.view.run_button)
    status = property(lambda self: self.view.status)
    cells = property(lambda self: self.view.cells)
    last = property(lambda self: self.view.last)

    @Slot(object)
    def set_spec(self, spec: GanSpec) -> None:
        """The spec the next Run races (the GAN view's, as it changes; a running race goes on)."""
        self.spec = spec

    def chosen(self) -> list[str]:
        return [n for n, b in self.boxes.items() if b.isChecked()]

    @Slot()
    def toggle(self) -> None:
        if self.view.running:
            self.view.task.cancel()
            return
        losses = self.chosen()
        if not losses:
            self.status.setText("Choose at least one loss.")
            return
        self.view.set_variants(
            [(f"loss={n}", LOSS_LABELS[n], self.spec.with_changes("training.loss", n)) for n in losses]
        )
        self.view.run()

    def closeEvent(self, event) -> None:
        self.view.stop()
        super().closeEvent(event)
