"""The step inspector: every number of a step checked, and going back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Experiment
from playground.inspector import Inspector

NET = {"hidden": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "tanh"}]}
DATA = {"name": "spiral", "n_classes": 2, "n_samples": 80, "train_fraction": 0.5}


def _exp(optimizer: dict, **training):
    tr = {"loss": "bce", "optimizer": optimizer, "batch_size": 8, **training}
    exp = Experiment.from_spec({"data": DATA, "network": NET, "training": tr})
    exp.train(steps=7)  # mid-epoch, with optimizer state
    return exp


def _central_fd(tr, theta, X, Y, h=1e-6):
    g = np.zeros(theta.size)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        g[i] = (tr.loss_and_grad(theta + e, X, Y)[0] - tr.loss_and_grad(theta - e, X, Y)[0]) / (2 * h)
    return g


@pytest.mark.parametrize("sample", [None, 3])
def test_every_gradient_shown_equals_a_central_finite_difference(sample):
    exp = _exp({"name": "sgd", "lr": 0.1})
    ins = Inspector(exp)
    bd = ins.preview(sample)
    tr = exp.trainer
    X, Y = tr.X[bd.rows], tr.Y[bd.rows]
    if sample is not None:
        X, Y = X[sample : sample + 1], Y[sample : sample + 1]
    fd = _central_fd(tr, bd.theta_before, X, Y)
    np.testing.assert_allclose(bd.grad, fd, rtol=1e-6, atol=1e-8)
    assert np.abs(bd.grad).max() > 1e-4  # a real gradient, not zeros
    # the forward values are the network's: the last activation is its output
    out = tr.predict(X)
    np.testing.assert_allclose(bd.post[-1], out.mean(axis=0), rtol=1e-12)
    assert len(bd.pre) == len(bd.post) == 3


OPTIMIZERS = [
    ({"name": "sgd", "lr": 0.1}, {}),
    ({"name": "momentum", "lr": 0.05, "params": {"momentum": 0.9}}, {}),
    ({"name": "nesterov", "lr": 0.05, "params": {"momentum": 0.9, "nesterov": True}}, {}),
    ({"name": "adagrad", "lr": 0.05}, {}),
    ({"name": "rmsprop", "lr": 0.01, "params": {"momentum": 0.5, "centered": True}}, {}),
    ({"name": "adam", "lr": 0.01}, {"regularization": {"kind": "l2", "rate": 0.01}}),
    ({"name": "adamw", "lr": 0.01, "params": {"weight_decay": 0.1}}, {"clip_norm": 0.05}),
]


@pytest.mark.parametrize(("optimizer", "training"), OPTIMIZERS, ids=[o["name"] for o, _ in OPTIMIZERS])
def test_update_is_the_engines_bitwise_and_the_formulas_predict_it(optimizer, training):
    exp = _exp(optimizer, **training)
    ins = Inspector(exp)
    before = exp.trainer.theta.copy()
    bd = ins.step()
    after = exp.trainer.theta
    assert bd.step == 7 and exp.step == 8
    np.testing.assert_array_equal(bd.update, after - before)  # bitwise
    assert np.abs(bd.update).max() > 0
    np.testing.assert_allclose(bd.predicted, bd.update, rtol=1e-9, atol=1e-15)
    assert "effective step" in bd.terms
    if optimizer["name"].startswith("adam"):
        assert bd.scalars["bias correction 1"] == pytest.approx(1 - 0.9**8)
        np.testing.assert_allclose(bd.terms["first moment m"], bd.state_after[0], rtol=1e-12)
    if "clip_norm" in training:
        assert bd.clip_coef < 1


def test_back_then_step_reproduces_the_step_bitwise():
    exp = _exp({"name": "adam", "lr": 0.01})
    ins = Inspector(exp)
    first = [ins.step() for _ in range(12)]  # crosses an epoch boundary (5 steps an epoch)
    state = exp.trainer.state_arrays()
    m0 = exp.metrics()
    assert ins.back(12) == 7
    np.testing.assert_array_equal(exp.trainer.theta, first[0].theta_before)
    again = [ins.step() for _ in range(12)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.update, b.update)
        np.testing.assert_array_equal(a.rows, b.rows)
        assert a.batch_loss == b.batch_loss
    for k, v in exp.trainer.state_arrays().items():
        np.testing.assert_array_equal(v, state[k], err_msg=k)
    assert exp.metrics()["step"] == m0["step"] == 19


def test_back_restores_counters_metrics_and_history():
    exp = _exp({"name": "momentum", "lr": 0.05, "params": {"momentum": 0.9}})
    ins = Inspector(exp)
    rows0 = len(exp.history)
    m0 = exp.metrics()
    for _ in range(exp.record_every + 1):
        ins.step()
    assert len(exp.history) > rows0
    ins.back(exp.record_every + 1)
    assert exp.step == 7 and exp.trainer.opt_t == 7
    assert len(exp.history) == rows0
    m1 = exp.metrics()
    assert m1["step"] == m0["step"] and m1["train_loss"] == m0["train_loss"]
    with pytest.raises(ValueError, match="step forward first"):
        ins.back()


def test_the_batch_is_the_one_the_engine_trains_on():
    exp = _exp({"name": "sgd", "lr": 0.1})
    bd = Inspector(exp).preview()
    tr = exp.trainer
    g = tr.loss_and_grad(tr.theta, tr.X[bd.rows], tr.Y[bd.rows], train=True)[1]
    theta0 = tr.theta.copy()
    exp.train(steps=1)
    np.testing.assert_allclose(tr.theta, theta0 - 0.1 * g, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="batch's rows"):
        Inspector(exp).preview(sample=99)
