"""Sequence data: every generator's shapes, dtypes and determinism; each task's target is
what it says; sines is W5 exactly; forecasts split in time order with the normalisation of
the training part; spec errors name the field; a sequence spec trains an LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.build import build_dataset
from playground.data.sequences import (
    SEQUENCE_DATASETS,
    W5_DATA,
    check_sequence_memory,
    rollout,
    sequence_input_shape,
    validate_sequence_spec,
)
from playground.errors import DataError, SpecError
from playground.spec import DataSpec, ExperimentSpec

NAMES = SEQUENCE_DATASETS.names()


def _spec(name, **kw) -> DataSpec:
    kw.setdefault("n_samples", 120)
    kw.setdefault("length", 12)
    return DataSpec(kind="sequence", name=name, **kw)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_views(name):
    d = _spec(name, noise=0.0 if name == "text" else 0.1)
    ds = build_dataset(d, seed=3)
    src = SEQUENCE_DATASETS[name]
    n = ds.n_train + ds.n_test
    assert n == 120
    length, features = sequence_input_shape(d)
    for X, raw in ((ds.X_train, ds.raw_train), (ds.X_test, ds.raw_test)):
        assert X.dtype == np.float64 and X.ndim == 3 and X.shape[1:] == (length, features) == (12, X.shape[2])
        assert raw.shape == (X.shape[0], length * features)
        np.testing.assert_allclose(ds.pipeline.apply(raw), X.reshape(X.shape[0], -1), atol=1e-12)
    assert ds.input_shape == (length, features) and len(ds.input_names) == length * features
    assert ds.task == src.task
    if src.task == "classification":
        assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (ds.n_train,)
        assert set(np.unique(np.concatenate([ds.y_train, ds.y_test]))) <= set(range(ds.n_classes))
    else:
        assert ds.y_train.dtype == np.float64 and ds.y_train.shape == (ds.n_train, 1)
        assert len(ds.target_names) == 1


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_from_the_seed(name):
    noise = 0.0 if name == "text" else 0.2
    a, b = build_dataset(_spec(name, noise=noise), seed=5), build_dataset(_spec(name, noise=noise), seed=5)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = build_dataset(_spec(name, noise=noise, seed=6), seed=5)  # data.seed wins over the experiment's
    if name != "text":  # a text has nothing random
        assert not np.array_equal(a.X_train, c.X_train)
    assert np.array_equal(build_dataset(_spec(name, noise=noise, seed=5), seed=99).X_test, a.X_test)


def test_copy_target_is_the_symbol_shown_lag_blanks_before_the_recall():
    ds = build_dataset(_spec("copy", length=20, lag=15, n_classes=5, n_samples=200), seed=1)
    k = 5
    at = ds.info["symbol_step"]
    assert at == 20 - 2 - 15 and ds.info["lag"] == 15 and ds.class_names == ["A", "B", "C", "D", "E"]
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        assert X.shape[2] == k + 1
        np.testing.assert_array_equal(X[:, at, :k].argmax(axis=1), y)
        assert (X[:, at, :k].sum(axis=1) == 1).all()
        others = np.delete(X[:, :, :k], at, axis=1)
        assert not others.any()  # blanks before and after the symbol, and at the recall step
        assert (X[:, -1, k] == 1).all() and not X[:, :-1, k].any()
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=k)
    assert counts.min() == counts.max() == 40  # balanced classes
    default = build_dataset(_spec("copy", length=10), seed=1)
    assert default.info["symbol_step"] == 0  # default lag: the symbol at the first step


def test_parity_class_is_the_parity_of_the_bits():
    ds = build_dataset(_spec("parity", length=9, n_samples=300), seed=2)
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        assert set(np.unique(X)) <= {0.0, 1.0}
        np.testing.assert_array_equal(y, X[:, :, 0].sum(axis=1).astype(np.int64) % 2)
    assert ds.class_names == ["even", "odd"] and 0 < ds.y_train.mean() < 1


def test_adding_target_is_the_sum_of_the_two_marked_values():
    ds = build_dataset(_spec("adding", length=16, n_samples=200), seed=4)
    X, y = ds.X_train, ds.y_train
    marks = X[:, :, 1]
    assert (marks.sum(axis=1) == 2).all()
    assert (marks[:, :8].sum(axis=1) == 1).all() and (marks[:, 8:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (X[:, :, 0] * marks).sum(axis=1), atol=1e-15)
    assert ((X[:, :, 0] >= 0) & (X[:, :, 0] <= 1)).all()


def _w5_peers():
    """W5's data as shared/bench/peers.py makes it (copied: SEED 0, 4000 points)."""
    rng = np.random.default_rng(0)
    t = np.arange(4000)
    x = np.sin(0.2 * t) + 0.5 * np.sin(0.31 * t) + rng.normal(0, 0.05, len(t))
    return x


def test_sines_is_w5_of_the_peers_script():
    x = _w5_peers()
    d = DataSpec(
        kind="sequence", name="sines", length=20, n_samples=3980, noise=0.05, train_fraction=0.8, seed=0
    )
    assert ExperimentSpec.from_dict({"data": W5_DATA}).data == d
    ds = build_dataset(d)
    win = np.lib.stride_tricks.sliding_window_view(x, 21)
    X, Y = win[:, :20, None], win[:, 20:]
    ntr = int(0.8 * len(X))
    assert ds.n_train == ntr == 3184 and ds.n_test == 796
    np.testing.assert_array_equal(ds.X_train, X[:ntr])
    np.testing.assert_array_equal(ds.X_test, X[ntr:])
    np.testing.assert_array_equal(ds.y_train, Y[:ntr])
    np.testing.assert_array_equal(ds.y_test, Y[ntr:])
    f32 = np.lib.stride_tricks.sliding_window_view(x.astype(np.float32), 21)  # peers' float32 arrays
    np.testing.assert_array_equal(ds.X_test.astype(np.float32), f32[ntr:, :20, None])
    np.testing.assert_array_equal(ds.info["series"], x)
    assert ds.input_names[0] == "x[t-19]" and ds.input_names[-1] == "x[t]"


@pytest.mark.parametrize("name", ["sine", "sines"])
def test_forecasts_split_in_time_order_and_put_back_on_the_time_axis(name):
    ds = build_dataset(_spec(name, noise=0.1, n_samples=50, length=6, train_fraction=0.6), seed=0)
    tr, te = ds.info["train_time"], ds.info["test_time"]
    assert len(tr) == 30 and len(te) == 20
    np.testing.assert_array_equal(np.concatenate([tr, te]), np.arange(6, 56))  # never shuffled
    s = ds.info["series"]
    np.testing.assert_array_equal(ds.y_train[:, 0], s[tr])
    np.testing.assert_array_equal(ds.y_test[:, 0], s[te])
    np.testing.assert_array_equal(ds.X_test[:, :, 0], np.stack([s[t - 6 : t] for t in te]))


def test_forecast_normalisation_is_fitted_on_the_training_part_only():
    raw = build_dataset(_spec("sines", noise=0.1, n_samples=80, length=5, train_fraction=0.5), seed=1)
    x = raw.info["series"]
    ds = build_dataset(
        _spec("sines", noise=0.1, n_samples=80, length=5, train_fraction=0.5, normalize="standard"), seed=1
    )
    last = int(ds.info["train_time"][-1])
    assert last == 5 + 40 - 1
    mean, sd = x[: last + 1].mean(), x[: last + 1].std()
    assert abs(mean - x.mean()) > 1e-3  # the test part would change the numbers
    assert ds.info["target_offset"] == pytest.approx(mean, abs=1e-14)
    assert ds.info["target_scale"] == pytest.approx(sd, abs=1e-14)
    np.testing.assert_allclose(ds.pipeline.offset, mean, atol=1e-14)
    np.testing.assert_allclose(ds.X_test[:, :, 0], (raw.X_test[:, :, 0] - mean) / sd, atol=1e-12)
    np.testing.assert_allclose(ds.y_test, (raw.y_test - mean) / sd, atol=1e-12)
    np.testing.assert_allclose(ds.raw_test, raw.X_test[:, :, 0], atol=0)  # raw: the data's units


def test_iid_split_is_random_from_the_seed():
    a = build_dataset(_spec("parity", n_samples=200), seed=1)
    b = build_dataset(_spec("parity", n_samples=200, seed=1, train_fraction=0.5), seed=0)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    c = build_dataset(_spec("adding", n_samples=200, normalize="standard"), seed=1)
    both = np.concatenate([c.raw_train, c.raw_test])
    assert not np.allclose(c.pipeline.offset[0], both[:, 0].mean(), atol=1e-9)  # fitted on train only
    np.testing.assert_allclose(c.pipeline.offset[0], c.raw_train[:, 0::2].mean(), atol=1e-12)


def test_rollout_feeds_predictions_back():
    ds = build_dataset(_spec("sine", n_samples=40, length=4), seed=0)
    last = ds.info["series"][-4:]
    out = rollout(lambda X: X[:, -1, :] * 0.5, ds, 3)  # a "model" that halves the last value
    np.testing.assert_allclose(out, last[-1] * np.array([0.5, 0.25, 0.125]))
    with pytest.raises(ValueError):
        rollout(lambda X: X[:, -1], build_dataset(_spec("parity"), seed=0), 2)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"name": "spiral"}, "data.name"),
        ({"name": "copy", "length": 10, "lag": 9}, "data.lag"),
        ({"name": "sine", "lag": 3}, "data.lag"),
        ({"name": "adding", "length": 1}, "data.length"),
        ({"name": "parity", "length": 0}, "data.length"),
        ({"name": "sine", "n_samples": 1}, "data.n_samples"),
        ({"name": "sine", "noise": 2.0}, "data.noise"),
        ({"name": "copy", "n_classes": 1}, "data.n_classes"),
        ({"name": "sine", "features": ("x1",)}, "data.features"),
        ({"name": "sine", "target": "y"}, "data.target"),
        ({"name": "parity", "task": "regression"}, "data.task"),
        ({"name": "sine", "path": "a.txt"}, "data.path"),
        ({"name": "text", "normalize": "standard"}, "data.normalize"),
    ],
)
def test_spec_errors_name_the_field(kw, field):
    d = DataSpec(kind="sequence", **kw)
    with pytest.raises(SpecError) as e:
        validate_sequence_spec(d)
    assert e.value.path == field
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict(
            {
                "data": {
                    "kind": "sequence",
                    **{k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()},
                }
            }
        )
    assert e.value.path == field


def test_memory_check_refuses_what_cannot_fit():
    with pytest.raises(DataError, match="sequence:copy"):
        check_sequence_memory(10_000_000, 1000, 51, "sequence:copy", available=1 << 30)
    check_sequence_memory(100, 20, 4, "sequence:copy", available=1 << 30)


def test_spec_round_trip_builds_and_trains_an_lstm_on_the_copy_task(monkeypatch):
    from playground.engine import readiness
    from playground.experiment import Experiment

    # the recurrent kernels' compile is not this test's business: run the blocks on their twins
    monkeypatch.setattr(readiness, "kernels_ready", lambda key: not readiness.split_key(key)[1])
    d = {
        "data": {
            "kind": "sequence",
            "name": "copy",
            "length": 20,
            "lag": 15,
            "n_samples": 64,
            "n_classes": 3,
        },
        "network": {"hidden": [{"kind": "lstm", "units": 16}], "output_activation": "softmax"},
        "training": {"loss": "cce", "batch_size": 16},
    }
    spec = ExperimentSpec.from_dict(d)
    assert ExperimentSpec.from_dict(spec.to_dict()) == spec
    assert spec.data.length == 20 and spec.data.lag == 15
    exp = Experiment.from_spec(spec)
    assert exp.dataset.input_shape == (20, 4)
    before = exp.evaluate()
    exp.train(steps=5)
    assert exp.step == 5
    after = exp.evaluate()
    assert np.isfinite(after["train_loss"]) and after["train_loss"] != before["train_loss"]
