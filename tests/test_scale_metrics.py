"""Live metrics of large splits come from a fixed strided sample; history rows stay exact.

The sample size is lowered (``eval_sample_rows``) so that a few thousand rows count as
large and the tests stay fast; the rules are the same at a million rows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.experiment import LARGE_RECORD_FACTOR, MIN_RECORD_STEPS, Experiment, eval_sample
from playground.spec import ExperimentSpec

N = 300  # the lowered sample size


def _spec(name: str = "xor", n: int = 3000, **training) -> ExperimentSpec:
    tr = {"batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}, **training}
    if name == "regression":
        data = {"name": "sine", "n_samples": n, "noise": 0.1}
        tr.setdefault("loss", "mse")
        net = {"hidden": [{"units": 8}], "output_activation": "linear"}
    else:
        data = {"name": name, "n_samples": n, "noise": 0.1}
        net = {"hidden": [{"units": 8}, {"units": 8}]}
    return ExperimentSpec.from_dict({"data": data, "network": net, "training": tr, "seed": 3})


def _direct(exp: Experiment, X: np.ndarray, y: np.ndarray, Y: np.ndarray) -> dict:
    """Loss and score of the current weights on (X, y), computed without the metrics sets."""
    loss, _ = exp.trainer.loss_and_grad(None, X, Y)
    if exp.dataset.task == "classification":
        return {"loss": loss, "score": float(np.mean(exp.predict_classes(X) == np.asarray(y)))}
    out = exp.predict(X).reshape(len(y), -1)
    yt = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    sse = float(((out - yt) ** 2).sum())
    return {"loss": loss, "score": 1.0 - sse / float(((yt - yt.mean(axis=0)) ** 2).sum())}


def test_eval_sample_is_strided_and_seed_free():
    rows = eval_sample(1000, 300)
    assert rows[0] == 0 and len(rows) == 300 and len(np.unique(rows)) == 300
    assert rows.max() < 1000 and np.all(np.diff(rows) >= 3)
    np.testing.assert_array_equal(eval_sample(10, 300), np.arange(10))


@pytest.mark.parametrize("name", ["xor", "regression"])
def test_live_metrics_use_the_sample(name):
    exp = Experiment(_spec(name), eval_sample_rows=N)
    assert exp.is_sampled
    m = exp.train(steps=37)  # no history row at step 37
    assert m["step"] == 37 and exp.history["step"][-1] == 0
    assert m["sample_size"] == N
    ds = exp.dataset
    score = "train_accuracy" if ds.task == "classification" else "train_r2"
    for part, X, y, Y in (
        ("train", ds.X_train, ds.y_train, exp.Y_train),
        ("test", ds.X_test, ds.y_test, exp.Y_test),
    ):
        rows = eval_sample(len(X), N)
        d = _direct(exp, X[rows], np.asarray(y)[rows], Y[rows])
        assert m[f"{part}_loss"] == pytest.approx(d["loss"], rel=1e-12, abs=1e-15)
        assert m[score.replace("train", part)] == pytest.approx(d["score"], rel=1e-12, abs=1e-15)
    full = exp.evaluate()  # exact on demand, and not what the sample says
    assert "sample_size" not in full
    assert full["train_loss"] != m["train_loss"]


@pytest.mark.parametrize("backend", ["gemm", "loops"])
def test_history_rows_are_exact(backend):
    exp = Experiment(_spec(), eval_sample_rows=N)
    exp.trainer.backend = backend
    every = exp.record_every
    exp.train(steps=every)
    assert exp.history["step"][-1] == every
    m = exp.metrics()
    assert "sample_size" not in m  # the call ended on a history row: exact metrics
    full = exp.evaluate()
    ds = exp.dataset
    d = _direct(exp, ds.X_train, ds.y_train, exp.Y_train)
    assert exp.history["train_loss"][-1] == pytest.approx(full["train_loss"], rel=1e-12)
    assert exp.history["train_loss"][-1] == pytest.approx(d["loss"], rel=1e-12)
    assert exp.history["train_metric"][-1] == pytest.approx(d["score"], rel=1e-12)
    assert exp.history["test_loss"][-1] == pytest.approx(full["test_loss"], rel=1e-12)


def test_large_data_records_less_often():
    exp = Experiment(_spec(), eval_sample_rows=N)
    ds = exp.dataset
    spe = exp.trainer.steps_per_epoch
    n_eval = len(ds.X_train) + len(ds.X_test)
    epochs = max(-(-MIN_RECORD_STEPS // spe), math.ceil(LARGE_RECORD_FACTOR * n_eval / len(ds.X_train)))
    assert exp.record_every == spe * epochs
    small = Experiment(_spec())  # the default sample: these splits are small
    assert not small.is_sampled
    assert small.record_every == spe * -(-MIN_RECORD_STEPS // spe)
    pinned = Experiment(_spec(record_every=50), eval_sample_rows=N)
    assert pinned.record_every == 50


def test_small_data_is_exact_and_unchanged():
    exp = Experiment(_spec(n=400))
    assert not exp.is_sampled
    m = exp.train(steps=37)
    full = exp.evaluate()
    assert "sample_size" not in m
    for k, v in full.items():
        assert m[k] == v  # bitwise: the live sets are the whole splits


def test_sampling_leaves_training_bitwise_unchanged():
    """Weights, optimizer state and the history rows both runs record are the same bits."""
    a = Experiment(_spec(), eval_sample_rows=N)
    b = Experiment(_spec(), eval_sample_rows=10**9)
    assert a.is_sampled and not b.is_sampled
    total = 2 * a.record_every
    for _ in range(7):
        a.train(steps=total // 7)
    a.train(steps=total - a.step)
    b.train(steps=total)
    np.testing.assert_array_equal(a.trainer.theta, b.trainer.theta)
    np.testing.assert_array_equal(a.trainer.opt_state, b.trainer.opt_state)
    common = np.intersect1d(a.history["step"], b.history["step"])
    assert len(common) >= 3
    ia, ib = np.isin(a.history["step"], common), np.isin(b.history["step"], common)
    for col in ("train_loss", "test_loss", "train_metric", "test_metric", "weight_norm"):
        np.testing.assert_array_equal(a.history[col][ia], b.history[col][ib])


def test_sampled_session_round_trip(tmp_path):
    exp = Experiment(_spec(), eval_sample_rows=N)
    m = exp.train(steps=37)
    path = exp.save(tmp_path / "big.playground")
    from playground.session import load

    back = load(path)
    assert back.metrics()["train_loss"] == m["train_loss"]
    assert back.metrics()["sample_size"] == N
