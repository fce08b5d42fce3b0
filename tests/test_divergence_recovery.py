"""Divergence keeps the last finite parameters and optimizer state in every dtype (so the
session saves and loads), Experiment.recover() goes back to them at a lower learning rate
and training goes on; runs that do not learn or oscillate get a warning, sane runs none."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import playground
from playground.engine import codes as C
from playground.engine import kernels as K
from playground.experiment import Experiment

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
# a learning rate at which each optimizer diverges within a few steps on this problem
DIVERGING_LR = {
    ("sgd", "float32"): 1.0,
    ("sgd", "float64"): 1.0,
    ("adam", "float32"): 1e6,
    ("adam", "float64"): 1e200,
    ("adamw", "float32"): 1e3,
    ("adamw", "float64"): 1e3,
    ("rmsprop", "float32"): 1e6,
    ("rmsprop", "float64"): 1e200,
}


def regression_spec(opt: str, dtype: str, lr: float) -> dict:
    return {
        "seed": 1,
        "data": {"name": "plane", "n_samples": 200},
        "network": {"output_activation": "linear", "hidden": [{"units": 8, "activation": "relu"}]},
        "training": {"loss": "mse", "optimizer": {"name": opt, "lr": lr}, "batch_size": 10, "dtype": dtype},
    }


def train_quietly(exp: Experiment, steps: int) -> dict:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return exp.train(steps=steps)


def assert_all_finite(exp: Experiment) -> None:
    tr = exp.trainer
    assert np.isfinite(tr.theta).all(), "parameters"
    assert np.isfinite(tr.opt_state).all(), "optimizer state"
    for W, b in exp.params:
        assert np.isfinite(W).all() and np.isfinite(b).all()


def diverge(exp: Experiment, max_steps: int = 5000) -> None:
    while exp.status != "diverged" and exp.step < max_steps:
        train_quietly(exp, 100)
    assert exp.status == "diverged", "the case must diverge"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.parametrize("backend", ["auto", "loops"])
def test_divergence_keeps_finite_state_saves_loads_and_recovers(opt, dtype, backend, tmp_path):
    exp = Experiment.from_spec(regression_spec(opt, dtype, DIVERGING_LR[opt, dtype]))
    exp.trainer.backend = backend
    diverge(exp)
    assert_all_finite(exp)
    # the session saves and loads (load refuses non-finite parameters)
    path = exp.save(tmp_path / "diverged.playground")
    back = playground.load(path)
    assert back.status == "diverged"
    assert np.array_equal(back.trainer.theta, exp.trainer.theta)
    assert np.array_equal(back.trainer.opt_state, exp.trainer.opt_state)
    # recover, as often as a user would press the button, until training holds (the
    # astronomic rates that make Adam/RMSprop overflow get one big cut first)
    lr = exp.spec.training.optimizer.lr
    for _ in range(8):
        factor = 0.1 if lr <= 1e3 else 1e-2 / lr
        exp.recover(lr_factor=factor)
        assert exp.status == "ready" and exp.diverged_step is None and exp.message == ""
        assert exp.spec.training.optimizer.lr == pytest.approx(lr * factor)
        lr = exp.spec.training.optimizer.lr
        assert "recovered" in exp.events[-1][1]
        assert_all_finite(exp)
        step0 = exp.step
        train_quietly(exp, 300)
        if exp.status == "ready":
            break
        assert_all_finite(exp)
    assert exp.status == "ready"
    assert exp.step == step0 + 300
    assert_all_finite(exp)
    assert np.isfinite(exp.metrics()["train_loss"])
    again = playground.load(exp.save(tmp_path / "recovered.playground"))
    assert again.status == "ready"
    assert again.spec.training.optimizer.lr == exp.spec.training.optimizer.lr


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_float32_step_that_overflows_the_weights_keeps_them_and_the_session_loads(opt, tmp_path):
    """The reported bug: with lr 1e39 the first float32 update is finite in float64 and inf
    once stored; the inf weights were kept and the saved session was refused on load."""
    exp = Experiment.from_spec(regression_spec(opt, "float32", 1e39))
    train_quietly(exp, 100)
    assert exp.status == "diverged" and exp.step == 0
    assert f"Diverged at step {exp.diverged_step}" in exp.message
    assert_all_finite(exp)
    assert np.array_equal(exp.trainer.theta, exp.trainer.initial_theta())
    back = playground.load(exp.save(tmp_path / "overflow.playground"))
    assert np.array_equal(back.trainer.theta, exp.trainer.theta)
    back.recover(lr_factor=1e-41)  # lr 0.01
    train_quietly(back, 300)
    assert back.status == "ready"
    assert_all_finite(back)


@pytest.mark.parametrize(("opt", "dtype"), [("sgd", "float32"), ("adamw", "float64")])
def test_one_recover_at_a_tenth_of_the_rate_goes_on_finite(opt, dtype):
    exp = Experiment.from_spec(regression_spec(opt, dtype, DIVERGING_LR[opt, dtype]))
    diverge(exp)
    lr = exp.spec.training.optimizer.lr
    exp.recover()  # lr_factor=0.1
    assert exp.spec.training.optimizer.lr == pytest.approx(lr / 10)
    assert exp.metrics()["status"] == "ready"
    for _ in range(5):
        train_quietly(exp, 100)
        assert exp.status == "ready"
        assert_all_finite(exp)
    assert np.all(np.diff(exp.history["step"]) > 0)  # the curves go on


def test_recover_goes_back_to_the_last_healthy_history_row():
    """A sane run, then a learning rate far too high: recover() restores the parameters and
    optimizer state of the last row recorded before things went wrong."""
    exp = Experiment.from_spec(regression_spec("adam", "float32", 0.01))
    exp.train(steps=3 * exp.record_every)
    assert exp.history["step"][-1] == exp.step
    good_theta = exp.trainer.theta.copy()
    good_state = exp.trainer.opt_state.copy()
    good_t = exp.trainer.opt_t
    good_step = exp.step
    tr = exp.spec.training
    from dataclasses import replace

    exp.apply_training(replace(tr, optimizer=replace(tr.optimizer, lr=1e36)))
    diverge(exp)
    assert exp.step < good_step + exp.record_every  # within the next record interval
    exp.recover(lr_factor=1e-38)
    assert np.array_equal(exp.trainer.theta, good_theta)
    assert np.array_equal(exp.trainer.opt_state, good_state)
    assert exp.trainer.opt_t == good_t
    assert f"step {good_step}" in exp.events[-1][1]
    assert exp.spec.training.optimizer.lr == pytest.approx(0.01)
    train_quietly(exp, 500)
    assert exp.status == "ready"
    assert_all_finite(exp)


def _hp(opt: str, dtype: str = "float32"):
    return Experiment.from_spec(regression_spec(opt, dtype, 1.0)).trainer.hp_vector()


@pytest.mark.parametrize("opt", ["adam", "adamw", "rmsprop", "sgd"])
def test_update_that_overflows_float32_is_not_committed(opt):
    """A new value finite in float64 but infinite once stored as float32 (the bug: the
    check ran on the float64 value and the inf weight was kept)."""
    code = {"sgd": C.OPT_SGD, "adam": C.OPT_ADAM, "adamw": C.OPT_ADAMW, "rmsprop": C.OPT_RMSPROP}[opt]
    theta = np.array([3.0e38, 1.0], dtype=np.float32)
    state = np.zeros((3, 2), dtype=np.float32)
    before = (theta.copy(), state.copy())
    new = np.zeros_like(theta)
    grad = np.array([-1.0, 1.0], dtype=np.float32)
    ok = K._optimizer_update_into(code, theta, new, grad, state, np.empty_like(state), 0, 1e38, _hp(opt))
    assert not ok
    assert np.array_equal(theta, before[0]) and np.array_equal(state, before[1])


def test_optimizer_state_overflow_is_not_committed():
    """RMSprop's square average of a 1e21 gradient is 1e40: inf in float32. Before, the
    parameters stayed finite, the state became inf and training silently stalled."""
    theta = np.array([1.0, 2.0], dtype=np.float32)
    state = np.zeros((3, 2), dtype=np.float32)
    new = np.zeros_like(theta)
    grad = np.array([1e21, 1.0], dtype=np.float32)
    ok = K._optimizer_update_into(
        C.OPT_RMSPROP, theta, new, grad, state, np.empty_like(state), 0, 0.01, _hp("rmsprop")
    )
    assert not ok
    assert np.array_equal(state, np.zeros((3, 2), dtype=np.float32))
    # the same step in float64 is finite and committed
    theta64, state64 = theta.astype(np.float64), state.astype(np.float64)
    new64 = np.zeros_like(theta64)
    hp = _hp("rmsprop", "float64")
    new_state = np.zeros_like(state64)
    assert K._optimizer_update_into(C.OPT_RMSPROP, theta64, new64, grad.astype(np.float64), state64,
                                    new_state, 0, 0.01, hp)  # fmt: skip
    assert new_state[0, 0] > 1e38  # the candidate state; the caller commits it


def test_recover_refuses_a_bad_factor():
    exp = Experiment.from_spec(regression_spec("sgd", "float64", 0.01))
    with pytest.raises(playground.errors.SpecError):
        exp.recover(lr_factor=0.0)


# ----------------------------------------------------------------------------- warnings


def bce_spec(lr: float, opt: str = "adam", data: str = "circle") -> dict:
    return {
        "seed": 0,
        "data": {"name": data},
        "training": {"loss": "bce", "optimizer": {"name": opt, "lr": lr}},
    }


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_bce_at_lr_10_warns_without_stopping(opt):
    exp = Experiment.from_spec(bce_spec(10.0, opt))
    seen = None
    for _ in range(20):
        exp.train(steps=500)
        assert exp.status == "ready"  # never stops the run
        assert exp.metrics()["warning"] == exp.warning
        if exp.warning:
            seen = exp.warning
            break
    assert seen is not None, "BCE at lr 10 must raise a warning"
    assert seen.startswith(("Not learning:", "Oscillating:"))
    assert "lower learning rate" in seen
    step = exp.step
    for _ in range(4):
        exp.train(steps=500)
        w = exp.warning
        # word for word while the same kind lasts (so a dismissed banner stays dismissed)
        assert w is None or w == seen or w.split(":")[0] != seen.split(":")[0]
    assert exp.step == step + 2000


@pytest.mark.parametrize(("opt", "lr"), [("adam", 0.03), ("sgd", 0.1)])
def test_sane_learning_rate_never_warns(opt, lr):
    exp = Experiment.from_spec(bce_spec(lr, opt))
    for _ in range(20):
        exp.train(steps=500)
        assert exp.warning is None
        assert exp.metrics()["warning"] is None


def test_warning_clears_when_the_loss_improves():
    exp = Experiment.from_spec(bce_spec(10.0, "adam"))
    while exp.warning is None and exp.step < 10_000:
        exp.train(steps=500)
    assert exp.warning and exp.warning.startswith("Not learning")
    exp.recover(lr_factor=0.003)  # lr 0.03, from the last healthy weights
    assert exp.warning is None and exp.metrics()["warning"] is None
    for _ in range(10):
        exp.train(steps=500)
        assert exp.warning is None
    assert exp.history["train_loss"][-1] < exp.history["train_loss"][0]


def test_warning_survives_save_and_load(tmp_path):
    exp = Experiment.from_spec(bce_spec(10.0, "adam"))
    while exp.warning is None and exp.step < 10_000:
        exp.train(steps=500)
    assert exp.warning
    back = playground.load(exp.save(tmp_path / "w.playground"))
    assert back.warning is not None
    assert back.metrics()["warning"] == back.warning


# ----------------------------------------------------------------------------- kernels vs twin

TWIN_OPTS = [
    ("sgd", {}),
    ("momentum", {}),
    ("adagrad", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5}),
    ("adam", {"amsgrad": True}),
    ("adamw", {}),
]


def _twin(exp: Experiment, n: int):
    from playground.engine import reference as R
    from playground.engine.trainer import OPT_CODES

    tr = exp.trainer
    return R.train_steps(
        tr.theta, tr.opt_state, tr.X, tr.Y, list(tr.layout.sizes), list(tr.acts), list(tr.slopes),
        list(tr.drop), tr.loss, tr.spec.training.huber_delta, OPT_CODES[tr.spec.training.optimizer.name],
        tr.hp_vector(), tr.learning_rates(tr.step, n), tr.step, tr.opt_t, tr.batch_size,
        tr.shuffle_key, tr.drop_key,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["loops", "gemm"])
@pytest.mark.parametrize(("opt", "params"), TWIN_OPTS)
def test_state_after_odd_step_counts_matches_the_twin(opt, params, backend):
    """The training kernels swap two optimizer-state buffers step by step: after an odd
    number of steps, and across calls, the state is the twin's."""
    s = regression_spec(opt, "float64", 0.01)
    s["training"]["optimizer"]["params"] = params
    exp = Experiment.from_spec(s)
    tr = exp.trainer
    tr.backend = backend
    for n in (7, 6, 1, 13):
        th, st, _, done, status = _twin(exp, n)
        rep = tr.run(n)
        assert rep.status == status == C.OK and rep.steps_done == done == n
        np.testing.assert_allclose(tr.theta, th, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(tr.opt_state, st, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("backend", ["loops", "gemm"])
@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop"])
def test_float32_divergence_matches_the_twin(opt, backend):
    """Where the kernel stops, it stops with the twin: same step, same status, same last
    finite parameters and optimizer state."""
    exp = Experiment.from_spec(regression_spec(opt, "float32", DIVERGING_LR[opt, "float32"]))
    tr = exp.trainer
    tr.backend = backend
    with np.errstate(all="ignore"):
        th, st, _, done, status = _twin(exp, 50)
        rep = tr.run(50)
    assert status != C.OK and rep.status == status and rep.steps_done == done
    np.testing.assert_allclose(tr.theta, th, rtol=1e-5)
    np.testing.assert_allclose(tr.opt_state, st, rtol=1e-5)
    assert np.isfinite(tr.theta).all() and np.isfinite(tr.opt_state).all()
