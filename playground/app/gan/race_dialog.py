"""GanRaceDialog: the current GAN spec's losses raced from the same start, side by side.

Every chosen loss trains from the same initial weights and random draws (``playground.gan
.race``) in a background :class:`~playground.app.tasks.Task`; after each round the dialog
draws each variant's generated points over the real ones, with its modes covered, distance
and a mode-collapse mark. The GAN view's own experiment is left as it was.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
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

from playground.gan.race import race, variants
from playground.gan.spec import LOSSES, GanSpec

from .. import colors, theme
from ..tasks import Cancelled, Task
from .view import FAKE_COLOR, LOSS_LABELS, REAL_COLOR

SHOWN = 600


class GanRaceDialog(QDialog):
    def __init__(self, spec: GanSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Race the losses")
        self.spec = spec
        self.task: Task | None = None
        self.last: list | None = None
        top = QHBoxLayout()
        self.boxes = {}
        for name in LOSSES:
            box = QCheckBox(LOSS_LABELS[name])
            box.setChecked(name in ("minimax", "non_saturating", "wgan_gp"))
            self.boxes[name] = box
            top.addWidget(box)
        self.iterations = QSpinBox()
        self.iterations.setRange(100, 10_000_000)
        self.iterations.setSingleStep(1000)
        self.iterations.setValue(5000)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.toggle)
        top.addStretch(1)
        top.addWidget(QLabel("Iterations"))
        top.addWidget(self.iterations)
        top.addWidget(self.run_button)
        self.grid = QGridLayout()
        self.cells: dict[str, tuple] = {}
        self.status = QLabel("Every loss starts from the same weights and sees the same random draws.")
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(self.grid, 1)
        lay.addWidget(self.status)
        self.resize(1100, 460)

    def chosen(self) -> list[str]:
        return [n for n, b in self.boxes.items() if b.isChecked()]

    def _build_cells(self, labels: list[str]) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        from playground.gan.model import GanTrainer

        real = GanTrainer(self.spec).real_samples(SHOWN)
        for i, label in enumerate(labels):
            plot = pg.PlotWidget()
            plot.setBackground(theme.current().plot_bg)
            theme.style_plot(plot.getPlotItem())
            plot.setAspectLocked(True)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.addItem(pg.ScatterPlotItem(pos=real, size=3, pen=None, brush=pg.mkBrush(REAL_COLOR)))
            fake = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(FAKE_COLOR))
            plot.addItem(fake)
            caption = QLabel(label)
            caption.setWordWrap(True)
            box = QWidget()
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.addWidget(plot, 1)
            bl.addWidget(caption)
            self.grid.addWidget(box, 0, i)
            self.cells[label] = (plot, fake, caption)

    @Slot()
    def toggle(self) -> None:
        if self.task is not None and self.task.isRunning():
            self.task.cancel()
            return
        losses = self.chosen()
        if len(losses) < 1:
            self.status.setText("Choose at least one loss.")
            return
        pairs = (
            variants(self.spec, "training.loss", losses)
            if len(losses) > 1
            else [(f"loss={losses[0]}", self.spec.with_changes("training.loss", losses[0]))]
        )
        self._build_cells([label for label, _ in pairs])
        n = self.iterations.value()
        every = max(100, n // 20)

        def job(state):
            def report(entries):
                if state.is_cancelled():
                    raise Cancelled
                state.report(
                    [(e.label, e.trainer.samples(SHOWN), dict(e.rows[-1]), e.status) for e in entries]
                )

            return race(pairs, n, every, on_rows=report)

        self.task = Task(job, self, name="gan-race")
        self.task.progressed.connect(self._draw)
        self.task.succeeded.connect(self._done)
        self.task.failed.connect(lambda e: self.status.setText(f"The race stopped: {e}"))
        self.task.finished.connect(lambda: self.run_button.setText("Run"))
        self.run_button.setText("Stop")
        self.status.setText("Racing…")
        self.task.start()

    @Slot(object)
    def _draw(self, frames) -> None:
        self.last = frames
        for label, samples, row, status in frames:
            plot, fake, caption = self.cells[label]
            fake.setData(pos=np.asarray(samples))
            name = LOSS_LABELS.get(label.split("=", 1)[1], label)
            text = (
                f"<b>{name}</b>: {row['modes_covered']}/{row['modes']} modes, "
                f"distance {row['sliced_wasserstein']:.3g} at {row['iteration']:,}"
            )
            if row["collapse"]:
                text += f" — <b style='color:{colors.ERROR_RED}'>mode collapse</b>"
            if status != "ok":
                text += " (diverged)"
            caption.setText(text)

    @Slot(object)
    def _done(self, entries) -> None:
        best = max(entries, key=lambda e: (e.rows[-1]["modes_covered"], -e.rows[-1]["sliced_wasserstein"]))
        self.status.setText(f"Done: {best.label} fits best after {best.rows[-1]['iteration']:,} iterations.")

    def closeEvent(self, event) -> None:
        if self.task is not None and self.task.isRunning():
            self.task.cancel()
            self.task.wait()
        super().closeEvent(event)
