"""The stand-in controller for running one panel alone, and ``run_preview`` that shows it.

:class:`PreviewController` has the ExperimentController's signals and ``edit_spec`` but no
worker thread: it trains on the GUI thread in small chunks. ``run_preview`` shows one widget
alone for a quick look (``python -m playground.app.panels.network``); tests also build panels
on it when they want no worker sending snapshots of its own.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


class PreviewController(QObject):
    """A minimal stand-in for ExperimentController, for running a widget alone.

    Same signals and ``edit_spec`` as the real controller; it trains on the GUI thread in
    small chunks (fine for a quick look, never for the app).
    """

    specChanged = Signal(object)
    experimentReplaced = Signal()
    snapshot = Signal(object)
    statusMessage = Signal(str)
    trainingStateChanged = Signal(bool)
    diverged = Signal(str)

    def __init__(self, spec=None, parent: QObject | None = None):
        super().__init__(parent)
        from playground.experiment import Experiment
        from playground.spec import default_spec

        self.undo_stack = QUndoStack(self)
        self.experiments = [Experiment(spec or default_spec())]
        self.current = 0

    @property
    def experiment(self):
        return self.experiments[self.current]

    @property
    def spec(self):
        return self.experiment.spec

    def edit_spec(self, new_spec, text: str) -> None:
        if new_spec != self.spec:
            self.undo_stack.push(_SpecCommand(self, self.spec, new_spec, text))

    def _set_spec(self, spec) -> None:
        from playground.experiment import Experiment

        old = self.spec
        if old.data == spec.data and old.network == spec.network and old.seed == spec.seed:
            self.experiment.apply_training(spec.training)
        else:
            self.experiments[self.current] = Experiment(spec)
            self.experimentReplaced.emit()
        self.specChanged.emit(spec)

    def train_some(self, steps: int = 50) -> None:
        exp = self.experiment
        exp.train(steps=steps)
        self.snapshot.emit(make_snapshot(exp))


class _SpecCommand(QUndoCommand):
    def __init__(self, controller: PreviewController, old, new, text: str):
        super().__init__(text)
        self.controller, self.old, self.new = controller, old, new

    def redo(self) -> None:
        self.controller._set_spec(self.new)

    def undo(self) -> None:
        self.controller._set_spec(self.old)


def make_snapshot(exp, resolution: int = 24) -> SimpleNamespace:
    """A snapshot like the worker's: parameters and, for 1-2 raw inputs, every neuron's grid."""
    theta = exp.trainer.theta.copy()
    snap = SimpleNamespace(params=exp.params, step=exp.step, neuron_grids=None)
    if exp.dataset.raw_train.shape[1] <= 2:
        _, _, _, hid = exp.grid(resolution=resolution, hidden=True, theta=theta)
        snap.neuron_grids = np.moveaxis(hid, -1, 0)
    return snap


def run_preview(make_widget, size=(900, 560), train: bool = True) -> None:
    """Show ``make_widget(controller)`` alone; ``--dark`` for the dark theme, ``--grab x.png`` to save."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from playground.app.theme import apply_theme

    apply_theme("dark" if "--dark" in sys.argv else "light", app)
    controller = PreviewController()
    w = make_widget(controller)
    w.resize(*size)
    w.show()
    if train:
        timer = QTimer(w)
        timer.timeout.connect(lambda: controller.train_some(20))
        timer.start(60)
    if "--grab" in sys.argv:
        out = sys.argv[sys.argv.index("--grab") + 1]
        if train:
            for _ in range(40):
                controller.train_some(25)
        QTimer.singleShot(800, lambda: (w.grab().save(out), app.quit()))
    app.exec()


__all__ = ["PreviewController", "make_snapshot", "run_preview"]
