"""The methods beyond gradient descent in the app: the optimizer combo offers them with
their settings and a tooltip of what they do and cost, refuses a method that cannot train
the network (and says why), and the race table counts loss and gradient evaluations."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.app.panels.controls import ControlsPanel
from playground.app.race.view import COLUMNS
from playground.engine import methods
from playground.experiment import Experiment
from playground.spec import OPTIMIZER_DEFAULTS, default_spec

TIMEOUT = 300_000  # ms; a cold compile on a busy machine is slow, and this is no speed check


def small_spec():
    spec = default_spec()
    return replace(spec, data=replace(spec.data, n_samples=80))


@pytest.fixture
def panel(qtbot):
    c = ExperimentController(small_spec())
    p = ControlsPanel(c)
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)
    yield p
    c.shutdown()


def choose(combo, data) -> None:
    i = combo.findData(data)
    assert i >= 0, f"{data!r} not offered"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


@pytest.mark.parametrize("name", ["newton", "bfgs", "simulated_annealing", "genetic", "cmaes"])
def test_each_method_is_offered_with_its_settings_and_cost(panel, name):
    i = panel.optimizer.findData(name)
    tip = panel.optimizer.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert "Cost:" in tip and methods.METHODS[name].cost in tip
    choose(panel.optimizer, name)
    assert panel.controller.spec.training.optimizer.name == name
    assert set(panel.opt_widgets) == set(OPTIMIZER_DEFAULTS[name])
    assert not panel.lr.isEnabled()  # the methods take no learning rate
    key, w = next(iter(panel.opt_widgets.items()))
    default = OPTIMIZER_DEFAULTS[name][key]
    value = default + 3 if isinstance(default, int) else (0.5 if default < 1 else default * 2)
    w.setValue(value)
    assert panel.controller.spec.training.optimizer.params[key] == pytest.approx(value)


def test_levenberg_marquardt_is_refused_on_cross_entropy_and_taken_on_mse(panel, qtbot):
    assert panel.controller.spec.training.loss == "bce"
    with qtbot.waitSignal(panel.controller.errorOccurred) as sig:
        choose(panel.optimizer, "levenberg_marquardt")
    assert "mse" in sig.args[0]
    assert panel.controller.spec.training.optimizer.name == "adam"
    assert panel.optimizer.currentData() == "adam"  # the combo shows what the spec says
    choose(panel.loss, "mse")
    choose(panel.optimizer, "levenberg_marquardt")
    assert panel.controller.spec.training.optimizer.name == "levenberg_marquardt"
    assert set(panel.opt_widgets) == set(OPTIMIZER_DEFAULTS["levenberg_marquardt"])


def test_the_race_table_counts_evaluations(qtbot, monkeypatch):
    """Adam, Newton and simulated annealing from the same start: the table's count columns
    show each member's trainer.counts (one gradient per Adam step, none for annealing)."""
    metrics = Experiment.metrics
    if "loss_evals" not in metrics(Experiment(small_spec())):  # until Experiment.metrics reports them
        monkeypatch.setattr(Experiment, "metrics", lambda self: {**metrics(self), **self.trainer.counts})
    controller = ExperimentController(small_spec())
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(
            lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT
        )
        names = ["adam", "newton", "simulated_annealing"]
        assert w.start_race([{"training.optimizer.name": n} for n in names])
        race, view = w.race, w.race_view
        loss_col, grad_col = COLUMNS.index("Loss evals"), COLUMNS.index("Gradient evals")

        def cells(col):
            return [view.table.item(r, col).text() if view.table.item(r, col) else "" for r in range(3)]

        race.play()
        qtbot.waitUntil(
            lambda: all(int(t.replace(",", "") or 0) > 0 for t in cells(loss_col)), timeout=TIMEOUT
        )
        race.pause()
        qtbot.waitUntil(lambda: not race.running, timeout=TIMEOUT)
        view.redraw()
        loss, grad = cells(loss_col), cells(grad_col)
        steps = [int(t.replace(",", "")) for t in cells(COLUMNS.index("Steps"))]  # as drawn with the counts
        assert loss[0] == grad[0] == f"{steps[0]:,}"  # Adam: one (batch) gradient per step
        assert grad[2] == "0" and int(loss[2].replace(",", "")) == 1 + 10 * steps[2]  # 10 proposals a step
        assert int(grad[1].replace(",", "")) > int(grad[0].replace(",", "")) or steps[1] < steps[0]
        tip = view.table.horizontalHeaderItem(grad_col).toolTip()
        assert "simulated annealing" in tip
    finally:
        if w.race is not None:
            w.race.pause()
        controller.pause()
        w.close()
        controller.shutdown()
        if w.race is not None:
            w.race.shutdown()
