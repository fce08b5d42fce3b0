"""Accuracy is what the predictions give: a point is right when the network's output is
nearest to its own class's target code (0.5 between 0 and 1, 0 between -1 and +1, the
largest of several outputs), for every loss x output activation the spec accepts, in the
history rows, evaluate(), metrics() and the sweep summary alike."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import codes as C
from playground.engine import reference as R
from playground.engine.losses import LOSSES, encode_targets, n_outputs
from playground.experiment import Experiment
from playground.spec import LOSS_OUTPUTS, ExperimentSpec
from playground.sweep import build_tasks, run_task

PAIRS = [(loss, out) for loss, outs in LOSS_OUTPUTS.items() for out in outs]


def spec(loss, out, n_classes=2, hidden=(4,), lr=0.02, opt="adam"):
    data = {"name": "gauss", "n_samples": 120} if n_classes == 2 else {"name": "blobs", "n_samples": 150}
    return {
        "seed": 5,
        "data": data,
        "network": {
            "hidden": [{"units": u, "activation": "tanh"} for u in hidden],
            "output_activation": out,
        },
        "training": {"loss": loss, "optimizer": {"name": opt, "lr": lr}, "batch_size": 10},
    }


def nearest_code_classes(exp: Experiment, out: np.ndarray) -> np.ndarray:
    """The rule in plain numpy, from the target codes the loss trains towards."""
    ds = exp.dataset
    k = ds.n_classes
    codes = encode_targets(np.arange(k), exp.spec.training.loss, exp.spec.network.output_activation,
                           "classification", exp.n_out)  # fmt: skip
    dist = ((out[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)  # (n, k)
    return np.argmin(dist, axis=1)


def numpy_accuracy(exp: Experiment, part: str) -> float:
    ds = exp.dataset
    X, y = (ds.X_train, ds.y_train) if part == "train" else (ds.X_test, ds.y_test)
    pred = nearest_code_classes(exp, exp.predict(X))
    return float(np.mean(pred == np.asarray(y)))


def assert_shown_accuracy_is_numpy(exp: Experiment) -> None:
    h = exp.history
    assert h["step"][-1] == exp.step, "a history row at the current step"
    ev, m = exp.evaluate(), exp.metrics()
    ds = exp.dataset
    for part, col in (("train", "train_metric"), ("test", "test_metric")):
        want = numpy_accuracy(exp, part)
        assert h[col][-1] == pytest.approx(want, abs=1e-12), (part, "history")
        assert ev[f"{part}_accuracy"] == pytest.approx(want, abs=1e-12), (part, "evaluate")
        assert m[f"{part}_accuracy"] == pytest.approx(want, abs=1e-12), (part, "metrics")
    pred = exp.predict_classes(ds.X_train)
    assert np.array_equal(pred, nearest_code_classes(exp, exp.predict(ds.X_train)))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(("loss", "out"), PAIRS)
def test_trained_accuracy_equals_nearest_target_code(loss, out, n_classes, monkeypatch):
    exp = Experiment.from_spec(spec(loss, out, n_classes))
    assert exp.trainer.can_record_in_kernel()  # rows recorded inside the training kernel
    exp.train(steps=2 * exp.record_every)
    assert exp.status == "ready"
    assert_shown_accuracy_is_numpy(exp)
    # the same through the Python recording path (one kernel call per row: L-BFGS and the
    # numpy twins of a cold start take it), on the loops backend
    exp.trainer.backend = "loops"
    monkeypatch.setattr(exp.trainer, "can_record_in_kernel", lambda: False)
    exp.train(steps=exp.record_every)
    assert_shown_accuracy_is_numpy(exp)


def _constant_output_params(exp: Experiment, value: float):
    """Zero weights, output bias chosen so that every output (after the activation) is
    ``value``: predictions are then known exactly."""
    params = [(np.zeros_like(W), np.zeros_like(b)) for W, b in exp.params]
    act = exp.spec.network.output_activation
    if act == "sigmoid":
        z = np.log(value / (1 - value))
    else:
        z = np.arctanh(value) if act == "tanh" else value
    params[-1] = (params[-1][0], np.full_like(params[-1][1], z))
    return params


@pytest.mark.parametrize(("loss", "out"), [p for p in PAIRS if p[1] != "softmax"])
def test_single_output_between_the_codes_goes_to_the_nearer_one(loss, out):
    """One output 30 % of the way from class 0's code to class 1's: every point is class 0,
    so accuracy is the share of class 0 (the old rule called linear outputs > 0 class 1)."""
    exp = Experiment.from_spec(spec(loss, out))
    assert exp.n_out == 1
    lo, hi = encode_targets(np.array([0, 1]), loss, out, "classification", 1)[:, 0]
    exp.set_initial_params(_constant_output_params(exp, lo + 0.3 * (hi - lo)))
    ds = exp.dataset
    assert np.all(exp.predict_classes(ds.X_train) == 0)
    share0 = float(np.mean(np.asarray(ds.y_train) == 0))
    assert 0.3 < share0 < 0.7
    assert exp.history["train_metric"][0] == pytest.approx(share0)
    assert exp.evaluate()["train_accuracy"] == pytest.approx(share0)
    assert exp.metrics()["train_accuracy"] == pytest.approx(share0)
    assert_shown_accuracy_is_numpy(exp)
    # and 70 % of the way: every point is class 1
    exp.set_initial_params(_constant_output_params(exp, lo + 0.7 * (hi - lo)))
    assert exp.evaluate()["train_accuracy"] == pytest.approx(1.0 - share0)


@pytest.mark.parametrize("out", ["linear", "sigmoid"])
def test_mse_loss_near_zero_on_0_1_labels_is_100_percent(out):
    """Outputs a hair above the 0/1 labels: loss 0.0000 to four places, accuracy 100 %
    (thresholding at 0 called every point class 1: 50 %)."""
    exp = Experiment.from_spec(spec("mse", out, hidden=(1,)))
    ds = exp.dataset
    # one saturated sigmoid-like hidden unit that is 0 for class 0 and 1 for class 1:
    # x1 + x2 separates the two Gaussians of this data set
    s = ds.X_train.sum(axis=1)
    assert np.all((s > 0) == (np.asarray(ds.y_train) == 1))
    margin = float(np.abs(s).min())
    W1 = np.full((ds.X_train.shape[1], 1), 40.0 / margin)
    h = np.tanh(ds.X_train @ W1)[:, 0]  # +-1 within 1e-30
    assert np.all(np.abs(np.abs(h) - 1) < 1e-12)
    eps = 0.004
    if out == "linear":
        W2, b2 = np.array([[0.5]]), np.array([0.5 + eps])
    else:  # sigmoid(z) = y + eps for y in {0, 1} is impossible at 1: use 0.996 and 0.004
        zlo, zhi = np.log(eps / (1 - eps)), np.log((1 - eps) / eps)
        W2, b2 = np.array([[(zhi - zlo) / 2]]), np.array([(zhi + zlo) / 2])
    exp.set_initial_params([(W1, np.zeros(1)), (W2, b2)])
    m = exp.metrics()
    assert f"{m['train_loss']:.4f}" == "0.0000"
    assert m["train_accuracy"] == 1.0
    assert exp.history["train_metric"][0] == 1.0
    assert exp.evaluate()["train_accuracy"] == 1.0
    assert np.array_equal(exp.predict_classes(ds.X_train), np.asarray(ds.y_train))


TWIN_CASES = [("mse", "linear", 2), ("hinge", "tanh", 2), ("mae", "sigmoid", 3), ("cce", "softmax", 3)]


@pytest.mark.parametrize(("loss", "out", "n_classes"), TWIN_CASES)
def test_metrics_kernel_matches_numpy_twin(loss, out, n_classes):
    exp = Experiment.from_spec(spec(loss, out, n_classes))
    exp.train(steps=150)
    es = exp._eval_sets["train"]
    tr = exp.trainer
    lv, acc = tr.metrics(es, exp._threshold)
    Y = es.Y.reshape(es.X.shape[0], -1)
    sizes = [int(v) for v in tr.layout.sizes]
    huber = exp.spec.training.huber_delta
    rl, racc = R.metrics(tr.theta, es.X, Y, es.labels, True, exp._threshold, sizes, tr.acts, tr.slopes,
                         LOSSES[loss].code, huber)  # fmt: skip
    assert lv == pytest.approx(rl, rel=1e-10)
    assert acc == racc
    assert C.MSE == LOSSES["mse"].code


def test_sweep_summary_accuracy_is_nearest_target_code():
    """The sweep heatmaps and the race table read metrics(): the same rule."""
    s = spec("mse", "linear", lr=0.01)
    task = build_tasks(s, {}, seeds=1, steps=300)[0]
    res = run_task(task)
    exp = Experiment.from_spec(task["spec"])
    exp.train(steps=300)
    assert res["final_test_metric"] == pytest.approx(numpy_accuracy(exp, "test"))
    assert res["final_train_metric"] == pytest.approx(numpy_accuracy(exp, "train"))


def test_n_outputs_covers_every_pair():
    """Every accepted pairing is exercised above with one output (binary) or several."""
    for loss, out in PAIRS:
        assert n_outputs(loss, out, "classification", 3, 1) == 3


def test_metrics_after_a_loss_change_are_of_the_new_loss():
    """A live loss change keeps the weights; the latest metrics are then the new loss on them."""
    from dataclasses import replace

    exp = Experiment.from_spec({"data": {"name": "circle"}, "training": {"loss": "bce"}})
    exp.train(steps=50)
    before = exp.metrics()["train_loss"]
    exp.apply_training(replace(exp.spec.training, loss="mse"))
    after = exp.metrics()
    assert after["train_loss"] == pytest.approx(exp.evaluate()["train_loss"], rel=1e-12)
    assert after["train_loss"] != pytest.approx(before)
    assert exp.session_state()["last_metrics"]["train_loss"] == after["train_loss"]


def test_a_csv_with_too_many_columns_for_memory_is_refused(tmp_path, monkeypatch):
    from playground import spec as spec_module
    from playground.data import csv_reader
    from playground.errors import SpecError

    spec = {"data": {"kind": "csv", "path": str(tmp_path / "wide.csv"), "target": "y"},
            "network": {"hidden": [{"units": 2000}]}}  # fmt: skip
    monkeypatch.setattr(csv_reader, "available_memory", lambda: 10_000_000)  # 10 MB
    monkeypatch.setattr(spec_module, "MEMORY_CHECK_FLOOR", 0)
    path = tmp_path / "wide.csv"
    cols = 400
    lines = [",".join(f"c{j}" for j in range(cols)) + ",y"]
    lines += [",".join(str((i * j) % 7) for j in range(cols)) + f",{i % 2}" for i in range(20)]
    path.write_text("\n".join(lines) + "\n")
    ExperimentSpec.from_dict(spec)  # fits while the data's width is unknown
    with pytest.raises(SpecError, match="memory|GB|MB"):
        Experiment.from_spec(spec)


@pytest.mark.parametrize(
    "loss, act",
    [("mse", "linear"), ("huber", "linear"), ("hinge", "linear"), ("bce", "sigmoid"), ("mse", "tanh")],
)
def test_the_boundary_changes_colour_where_accuracy_changes_class(loss, act):
    """The neutral middle of the boundary's colour scale is the decision threshold, so the
    drawn boundary is where a point's counted class flips (not 0 for a 0/1 linear output)."""
    from playground.app.boundary_colors import classification_rgba, output_levels
    from playground.engine.losses import decision_threshold

    lo, hi = output_levels(loss, act)
    t = decision_threshold(loss, act)
    assert (lo + hi) / 2 == pytest.approx(t)
    eps = 1e-3 * (hi - lo)
    out = np.array([[[t - eps], [t + eps]]])
    rgba = classification_rgba(out, loss, act, discretize=True)
    assert not np.array_equal(rgba[0, 0], rgba[0, 1])  # either side of the threshold differ
    assert np.array_equal(classification_rgba(np.array([[[lo]]]), loss, act, True)[0, 0], rgba[0, 0])
