"""Toy generators, input transforms, split and normalization."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from playground.data import TOY_DATASETS, FeaturePipeline, build_dataset
from playground.data.toy import FEATURE_TRANSFORMS, apply_transforms, split_indices
from playground.errors import SpecError

ALL = [
    "circle",
    "xor",
    "gauss",
    "spiral",
    "plane",
    "multi_gauss",
    "moons",
    "checkerboard",
    "spiral3",
    "blobs",
    "sine",
]


def spec(**kw):
    base = dict(
        kind="toy",
        name="spiral",
        n_samples=500,
        noise=0.0,
        train_fraction=0.5,
        n_classes=3,
        features=(),
        seed=None,
        path=None,
        target=None,
        task=None,
        normalize=None,
        missing="drop",
        delimiter=None,
        header=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def gen(name, n=301, noise=0.0, seed=0, k=3):
    return TOY_DATASETS[name].generate(n, noise, np.random.default_rng(seed), k)


def test_registry_has_all_names_with_metadata():
    assert set(ALL) <= set(TOY_DATASETS.names())
    for name in ALL:
        g = TOY_DATASETS[name]
        assert g.task in ("classification", "regression")
        assert g.input_dim in (1, 2)
        assert g.default_n_samples > 0 and 0 <= g.default_noise <= 1
        assert isinstance(g.description, str) and g.description


@pytest.mark.parametrize("name", ALL)
def test_shape_dtype_determinism_noise(name):
    g = TOY_DATASETS[name]
    X, y = gen(name, n=301)
    assert X.shape == (301, g.input_dim) and X.dtype == np.float64
    assert np.all(np.isfinite(X))
    assert np.abs(X).max() < 9.0  # about [-6, 6]^d
    if g.task == "classification":
        assert y.shape == (301,) and y.dtype == np.int64
        k = g.n_classes(3)
        assert set(np.unique(y)) == set(range(k))
        assert len(g.class_names(3)) == k
    else:
        assert y.shape == (301, 1) and y.dtype == np.float64
        assert g.class_names(3) is None
    X2, y2 = gen(name, n=301)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = gen(name, n=301, seed=1)
    assert not np.array_equal(X, X3) or name in ("spiral", "spiral3")  # spirals are exact at noise 0
    Xn, yn = gen(name, n=301, noise=0.5)
    assert not (np.array_equal(X, Xn) and np.array_equal(y, yn))


def test_tf_class_names():
    for name in ("circle", "xor", "gauss", "spiral"):
        assert TOY_DATASETS[name].class_names() == ["orange", "blue"]
    assert TOY_DATASETS["spiral3"].class_names(7) == ["class 0", "class 1", "class 2"]
    assert TOY_DATASETS["blobs"].class_names(4) == ["class 0", "class 1", "class 2", "class 3"]


def test_circle_geometry():
    X, y = gen("circle", n=1000)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(r[y == 1] <= 2.5 + 1e-9)  # blue inside radius 2.5
    assert np.all((r[y == 0] >= 3.5 - 1e-9) & (r[y == 0] <= 5.0 + 1e-9))
    assert (y == 1).sum() == 500
    # noise flips some labels but points stay where they are drawn
    Xn, yn = gen("circle", n=1000, noise=0.5)
    rn = np.hypot(Xn[:, 0], Xn[:, 1])
    assert ((rn < 2.5) & (yn == 0)).any() or ((rn > 3.5) & (yn == 1)).any()


def test_xor_geometry():
    X, y = gen("xor", n=1000)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(np.int64))
    assert np.abs(X).min() >= 0.3 - 1e-12 and np.abs(X).max() <= 5.3 + 1e-12


def test_gauss_geometry_and_noise_spread():
    X, y = gen("gauss", n=2000)
    np.testing.assert_allclose(X[y == 1].mean(0), [2, 2], atol=0.15)
    np.testing.assert_allclose(X[y == 0].mean(0), [-2, -2], atol=0.15)
    np.testing.assert_allclose(X[y == 1].std(0), np.sqrt(0.5), rtol=0.1)
    Xn, _ = gen("gauss", n=2000, noise=0.5)
    np.testing.assert_allclose(Xn.std(0), np.sqrt(4 + 4), rtol=0.15)  # variance 4 + spread of centres


def test_spiral_geometry():
    X, y = gen("spiral", n=400)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() < 5.0 and (y == 1).sum() == 200
    # second arm is the first rotated by pi
    np.testing.assert_allclose(X[y == 0], -X[y == 1], atol=1e-12)
    X3, y3 = gen("spiral3", n=300)
    assert np.bincount(y3).tolist() == [100, 100, 100]


def test_regression_sets():
    X, y = gen("plane", n=500)
    np.testing.assert_allclose(y[:, 0], (X[:, 0] + X[:, 1]) / 10)
    X, y = gen("multi_gauss", n=2000)
    assert y.min() >= -1 and y.max() <= 1
    near = np.hypot(X[:, 0] + 4, X[:, 1] - 2.5) < 0.5  # a +1 bump at (-4, 2.5)
    assert np.all(y[near, 0] > 0.7)
    X, y = gen("sine", n=300)
    np.testing.assert_allclose(y[:, 0], np.sin(X[:, 0]))


def test_blobs_and_checkerboard():
    X, y = gen("blobs", n=500, k=5)
    assert set(np.unique(y)) == set(range(5))
    for c in range(5):
        assert np.hypot(*X[y == c].mean(0)) == pytest.approx(4.0, abs=0.3)
    X, y = gen("checkerboard", n=1000)
    np.testing.assert_array_equal(y, ((np.floor(X[:, 0] / 3) + np.floor(X[:, 1] / 3)) % 2).astype(int))


def test_transforms():
    R = np.array([[1.0, 2.0], [-3.0, 0.5]])
    F = apply_transforms(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"], R)
    expect = np.column_stack(
        [R[:, 0], R[:, 1], R[:, 0] ** 2, R[:, 1] ** 2, R[:, 0] * R[:, 1], np.sin(R[:, 0]), np.sin(R[:, 1])]
    )
    np.testing.assert_allclose(F, expect)
    assert FEATURE_TRANSFORMS.names() == ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    with pytest.raises(ValueError):
        apply_transforms(["x2"], R[:, :1])


def test_split_fraction_and_min_one():
    rng = np.random.default_rng(0)
    tr, te = split_indices(100, 0.7, rng)
    assert len(tr) == 70 and len(te) == 30
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(100))
    tr, te = split_indices(10, 0.01, rng)
    assert len(tr) == 1 and len(te) == 9
    tr, te = split_indices(10, 0.999, rng)
    assert len(tr) == 9 and len(te) == 1


def test_build_toy_dataset_default():
    ds = build_dataset(spec(name="circle", n_samples=200, train_fraction=0.3), seed=5)
    assert ds.task == "classification" and ds.class_names == ["orange", "blue"]
    assert ds.X_train.shape == (60, 2) and ds.X_test.shape == (140, 2)
    assert ds.feature_names == ["x1", "x2"] and ds.input_names == ["x1", "x2"]
    np.testing.assert_array_equal(ds.X_train, ds.raw_train)  # toy default: no normalization
    assert ds.n_inputs == 2 and ds.n_classes == 2 and ds.n_outputs_hint == 2
    b = ds.raw_bounds()
    allraw = np.vstack([ds.raw_train, ds.raw_test])
    assert b[0] == (allraw[:, 0].min(), allraw[:, 0].max())
    lo, hi = ds.raw_bounds(pad=0.1)[1]
    span = allraw[:, 1].max() - allraw[:, 1].min()
    assert lo == pytest.approx(allraw[:, 1].min() - 0.1 * span)
    assert hi == pytest.approx(allraw[:, 1].max() + 0.1 * span)


def test_build_seed_semantics():
    a = build_dataset(spec(name="gauss", seed=None), seed=3)
    b = build_dataset(spec(name="gauss", seed=None), seed=3)
    c = build_dataset(spec(name="gauss", seed=None), seed=4)
    d = build_dataset(spec(name="gauss", seed=3), seed=99)  # data seed wins
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)
    np.testing.assert_array_equal(a.X_train, d.X_train)


def test_build_with_transforms_and_normalization_on_train_only():
    ds = build_dataset(
        spec(name="xor", features=("x1", "x2", "x1*x2", "sin(x1)"), normalize="standard", n_samples=400),
        seed=0,
    )
    assert ds.feature_names == ["x1", "x2", "x1*x2", "sin(x1)"] and ds.n_inputs == 4
    np.testing.assert_allclose(ds.X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(0), 1, atol=1e-12)
    assert np.all(ds.X_test.mean(0) != 0)
    assert np.all(np.abs(ds.X_test.mean(0)) < 0.5)
    np.testing.assert_allclose(
        ds.X_train[:, 2] * ds.pipeline.scale[2] + ds.pipeline.offset[2],
        ds.raw_train[:, 0] * ds.raw_train[:, 1],
    )
    np.testing.assert_allclose(ds.pipeline.apply(ds.raw_test), ds.X_test)


def test_minmax_normalization():
    ds = build_dataset(spec(name="plane", normalize="minmax"), seed=0)
    np.testing.assert_allclose(ds.X_train.min(0), -1)
    np.testing.assert_allclose(ds.X_train.max(0), 1)
    assert ds.task == "regression" and ds.y_train.shape[1] == 1 and ds.n_outputs_hint == 1
    assert ds.class_names is None and ds.n_classes == 0


def test_one_d_set_defaults_and_bad_feature():
    ds = build_dataset(spec(name="sine", features=()), seed=0)
    assert ds.feature_names == ["x1"] and ds.raw_train.shape[1] == 1
    ds = build_dataset(spec(name="sine", features=("x1", "x1^2", "sin(x1)")), seed=0)
    assert ds.n_inputs == 3
    with pytest.raises(SpecError) as e:
        build_dataset(spec(name="sine", features=("x2",)), seed=0)
    assert e.value.path == "data.features"


@pytest.mark.parametrize(
    "kw,path",
    [
        (dict(name="nope"), "data.name"),
        (dict(features=("x3",)), "data.features"),
        (dict(n_samples=1), "data.n_samples"),
        (dict(noise=1.5), "data.noise"),
        (dict(train_fraction=1.0), "data.train_fraction"),
        (dict(normalize="zscore"), "data.normalize"),
        (dict(kind="sql"), "data.kind"),
    ],
)
def test_bad_toy_specs(kw, path):
    with pytest.raises(SpecError) as e:
        build_dataset(spec(**kw), seed=0)
    assert e.value.path == path


def test_blobs_class_count_from_spec():
    ds = build_dataset(spec(name="blobs", n_classes=4), seed=0)
    assert ds.n_classes == 4 and ds.class_names == ["class 0", "class 1", "class 2", "class 3"]


def test_pipeline_round_trip_json():
    ds = build_dataset(spec(name="circle", features=("x1^2", "x2^2"), normalize="standard"), seed=0)
    d = ds.pipeline.to_dict()
    d2 = json.loads(json.dumps(d))
    p = FeaturePipeline.from_dict(d2)
    assert p.transforms == ("x1^2", "x2^2") and p.normalize == "standard"
    np.testing.assert_allclose(p.apply(ds.raw_test), ds.X_test)
    assert isinstance(d["offset"], list) and isinstance(d["scale"][0], float)


def test_real_dataspec_if_available():
    spec_mod = pytest.importorskip("playground.spec")
    ds = build_dataset(spec_mod.DataSpec(kind="toy", name="spiral", n_samples=100), seed=1)
    assert ds.X_train.shape == (50, 2)
