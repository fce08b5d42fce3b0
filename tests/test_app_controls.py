"""Every control of the training panel edits the spec it shows, live or with a reset,
and the panel follows the spec (undo) back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground.app.controller import ExperimentController
from playground.app.panels.controls import ControlsPanel
from playground.errors import SpecError
from playground.spec import OPTIMIZER_DEFAULTS, default_spec

TIMEOUT = 300_000  # ms; generous: a cold compile on a busy machine is slow, and this is no speed check


@pytest.fixture
def panel(qtbot):
    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    p = ControlsPanel(c)
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)
    yield p
    c.shutdown()


def choose(combo, data) -> None:
    """Pick an item as a user does: set it and emit `activated`."""
    i = combo.findData(data)
    assert i >= 0, f"{data!r} not offered"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def test_loss_choice_sets_loss_and_a_matching_output(panel):
    choose(panel.loss, "mse")
    spec = panel.controller.spec
    assert spec.training.loss == "mse"
    assert spec.network.output_activation in ("sigmoid", "tanh", "linear")
    choose(panel.loss, "bce")
    assert panel.controller.spec.network.output_activation == "sigmoid"


def test_output_activation_choice(panel):
    choose(panel.loss, "mse")
    choose(panel.output, "tanh")
    assert panel.controller.spec.network.output_activation == "tanh"


@pytest.mark.parametrize(
    "name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs"]
)
def test_every_optimizer_and_every_one_of_its_hyper_parameters(panel, name):
    choose(panel.optimizer, name)
    assert panel.controller.spec.training.optimizer.name == name
    assert set(panel.opt_widgets) == set(OPTIMIZER_DEFAULTS[name]) - {"lr"}
    for key, w in panel.opt_widgets.items():
        default = OPTIMIZER_DEFAULTS[name][key]
        before = panel.controller.spec
        if isinstance(default, bool):
            w.setChecked(not default)
            expected = not default
        elif isinstance(default, tuple):
            w[0].setValue(0.8)
            expected = [0.8, default[1]]
        elif isinstance(default, int):
            w.setValue(default + 3)
            expected = default + 3
        else:
            value = 0.5 if key in ("momentum", "alpha", "dampening") else (default * 10 if default else 0.01)
            w.setValue(value)
            expected = value
        params = {**before.training.optimizer.params, key: expected}
        try:
            before.with_changes("training.optimizer.params", params)
        except SpecError:
            # an impossible combination (nesterov without momentum...) is refused, and the
            # panel shows the spec's value again
            assert panel.controller.spec == before
            assert (w.isChecked() if isinstance(default, bool) else True) == bool(
                before.training.optimizer.resolved()[key]
            ) or not isinstance(default, bool)
            continue
        got = panel.controller.spec.training.optimizer.params.get(key)
        if isinstance(expected, list):
            assert list(got) == pytest.approx(expected)
        else:
            assert got == pytest.approx(expected), key


def test_learning_rate_applies_live_without_reset(panel, qtbot):
    c = panel.controller
    theta = c.experiment.trainer.theta.copy()
    panel.lr.setValue(0.05)
    assert c.spec.training.optimizer.lr == pytest.approx(0.05)
    assert np.array_equal(c.experiment.trainer.theta, theta)


def test_batch_size(panel):
    panel.batch.setValue(25)
    assert panel.controller.spec.training.batch_size == 25


@pytest.mark.parametrize("kind", ["step", "exponential", "cosine", "constant"])
def test_schedule_controls(panel, kind):
    choose(panel.schedule, kind)
    panel.warmup.setValue(3)
    s = panel.controller.spec.training.schedule
    assert s.kind == kind and s.warmup == 3
    if kind == "step":
        panel.step_size.setValue(7)
        panel.gamma.setValue(0.5)
        s = panel.controller.spec.training.schedule
        assert s.step_size == 7 and s.gamma == pytest.approx(0.5)
    if kind == "cosine":
        panel.t_max.setValue(40)
        assert panel.controller.spec.training.schedule.t_max == 40
    choose(panel.unit, "step")
    assert panel.controller.spec.training.schedule.unit == "step"


def test_regularization_and_clipping(panel):
    choose(panel.reg_kind, "l2")
    panel.reg_rate.setValue(0.01)
    r = panel.controller.spec.training.regularization
    assert r.kind == "l2" and r.rate == pytest.approx(0.01)
    panel.clip_on.setChecked(True)
    panel.clip.setValue(2.0)
    assert panel.controller.spec.training.clip_norm == pytest.approx(2.0)
    panel.clip_on.setChecked(False)
    assert panel.controller.spec.training.clip_norm is None


def test_initializer_seed_and_precision_reset_the_weights(panel, qtbot):
    c = panel.controller
    before = c.experiment.trainer.theta.copy()
    choose(panel.init, "he_normal")
    assert c.spec.network.init == "he_normal"
    after_init = c.experiment.trainer.theta.copy()
    assert not np.array_equal(before, after_init)
    panel.seed.setValue(7)
    assert c.spec.seed == 7
    assert not np.array_equal(after_init, c.experiment.trainer.theta)
    choose(panel.dtype, "float32")
    assert c.spec.training.dtype == "float32"
    assert c.experiment.trainer.theta.dtype == np.float32


def test_panel_follows_undo(panel):
    c = panel.controller
    panel.lr.setValue(0.2)
    choose(panel.optimizer, "rmsprop")
    c.undo_stack.undo()
    assert panel.optimizer.currentData() == "adam"
    c.undo_stack.undo()
    assert panel.lr.value() == pytest.approx(0.01)
    assert c.spec.training.optimizer.lr == pytest.approx(0.01)
