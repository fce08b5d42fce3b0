"""The loss landscape core: directions, the slice's numbers, the path and its gap, the race."""

from __future__ import annotations

import numpy as np
import pytest

from playground import Experiment
from playground.landscape import (
    LossProbe,
    SliceJob,
    Trajectory,
    compute_slice,
    filter_normalized_direction,
    pca_directions,
    project,
    race_slice,
)

SPEC = {
    "data": {"name": "spiral", "n_classes": 2, "n_samples": 120, "train_fraction": 0.5},
    "network": {"hidden": [{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "tanh"}]},
    "training": {"loss": "bce", "optimizer": {"name": "sgd", "lr": 0.1}, "batch_size": 10},
}


def _trained(spec=SPEC, steps=200, every=20):
    exp = Experiment.from_spec(spec)
    traj = Trajectory(every=every)
    traj.offer(exp.step, exp.trainer.theta)
    for _ in range(steps // every):
        exp.train(steps=every)
        traj.offer(exp.step, exp.trainer.theta)
    return exp, traj


def test_filter_normalised_direction_matches_each_neurons_norm_and_zeroes_biases():
    exp = Experiment.from_spec(SPEC)
    th = exp.trainer.theta.astype(np.float64)
    d = filter_normalized_direction(exp.trainer, th, np.random.default_rng(1))
    for (W, _b), (dW, db) in zip(exp.trainer.layout.views(th), exp.trainer.layout.views(d), strict=True):
        np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0), rtol=1e-12)
        assert not np.allclose(dW, W)
        assert np.all(db == 0)


def test_slice_centre_is_the_training_loss_and_every_cell_is_the_loss_there():
    exp, traj = _trained()
    s = compute_slice(exp, traj, "random", resolution=9, seed=3)
    assert s.loss.shape == (9, 9) and np.isfinite(s.loss).all()
    assert s.a[4] == 0 and s.b[4] == 0
    assert s.loss[4, 4] == pytest.approx(exp.evaluate()["train_loss"], rel=1e-12)
    probe = LossProbe(exp.trainer)
    i, j = 1, 7
    th = (s.center + s.b[i] * s.dirs[1]) + s.a[j] * s.dirs[0]  # the grid's order of sums
    assert s.loss[i, j] == probe(th)
    # the trainer's parameters are untouched by the slice
    np.testing.assert_array_equal(exp.trainer.theta, traj.thetas[-1])


def test_pca_plane_contains_a_planar_path_and_the_gap_shrinks_with_resolution():
    exp = Experiment.from_spec(SPEC)
    th = exp.trainer.theta.astype(np.float64)
    rng = np.random.default_rng(0)
    u = rng.standard_normal((2, th.size)) * 0.3
    ts = np.linspace(1.0, 0.0, 12)
    pts = np.vstack([th + t * u[0] + (t * t) * u[1] for t in ts])
    dirs, share = pca_directions(pts, th)
    _, offset = project(pts, th, dirs)
    assert offset.max() < 1e-9
    assert share.sum() == pytest.approx(1.0)
    steps = np.arange(len(ts))
    gaps = []
    for res in (5, 41):
        s = SliceJob(exp.trainer, th, "pca", {"run": (steps, pts)}, resolution=res).result()
        g = s.paths[0].gap
        assert np.isfinite(g).all()
        gaps.append(np.abs(g).max())
    assert gaps[1] < gaps[0]


def test_projected_path_of_a_real_run_reports_its_true_loss_and_offset():
    exp, traj = _trained()
    s = compute_slice(exp, traj, "pca", resolution=15)
    p = s.paths[0]
    assert len(p.loss) == len(traj) and p.steps[-1] == exp.step
    assert p.loss[-1] == pytest.approx(exp.evaluate()["train_loss"], rel=1e-12)
    np.testing.assert_allclose(p.coords[-1], 0, atol=1e-12)
    np.testing.assert_allclose(p.gap, p.loss - p.surface)
    assert (p.offset >= 0).all() and (p.offset <= 1 + 1e-12).all()
    # the 1-D curve goes from the first recorded point (t = 0) to the current one (t = 1)
    k0, k1 = np.argmin(np.abs(s.line_t)), np.argmin(np.abs(s.line_t - 1))
    probe = LossProbe(exp.trainer)
    assert s.line_loss[k0] == pytest.approx(probe(traj.thetas[0]), rel=1e-12)
    assert s.line_loss[k1] == pytest.approx(p.loss[-1], rel=1e-12)


def test_pca_needs_a_trajectory_and_directions_are_named():
    exp = Experiment.from_spec(SPEC)
    with pytest.raises(ValueError, match="train first"):
        compute_slice(exp, Trajectory(), "pca")
    with pytest.raises(ValueError, match="random, pca"):
        compute_slice(exp, None, "hessian")


def test_trajectory_stays_bounded_thins_evenly_and_truncates_on_a_step_back():
    t = Trajectory(every=1, capacity=8)
    for s in range(100):
        t.offer(s, np.full(3, float(s)))
    assert len(t) <= 8 and t.steps[0] == 0
    assert len(set(np.diff(t.steps))) == 1  # evenly spaced
    assert t.every > 1
    last = t.steps[-1]
    t.offer(last - 1, np.zeros(3))  # going back: the later points are no longer the path
    assert t.steps[-1] < last


def test_race_slice_draws_every_member_and_refuses_different_starts():
    a, ta = _trained()
    spec_b = {**SPEC, "training": {**SPEC["training"], "optimizer": {"name": "adam", "lr": 0.01}}}
    b, tb = _trained(spec_b)
    s = race_slice([("sgd", a, ta), ("adam", b, tb)], "pca", resolution=7)
    assert [p.label for p in s.paths] == ["sgd", "adam"]
    assert s.paths[1].loss[-1] == pytest.approx(LossProbe(a.trainer)(b.trainer.theta), rel=1e-12)
    c, tc = _trained({**SPEC, "seed": 7})
    with pytest.raises(ValueError, match="same parameters"):
        race_slice([("sgd", a, ta), ("other", c, tc)], "pca", resolution=5)
