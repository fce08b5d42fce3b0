"""The conv_vs_dense and local_minima lessons: each effect asserted on the outcome (numbers
measured in docs/LESSONS.md), the local minima with the loss landscape module itself."""

from __future__ import annotations

import functools
import itertools
import json
import warnings

import numpy as np
import pytest

from playground.errors import PlaygroundError
from playground.experiment import Experiment
from playground.landscape import LossProbe, compute_slice, line_losses
from playground.lessons import load_lesson, parse_lesson, run_lesson


def test_views_are_parsed_and_checked():
    lesson = load_lesson("local_minima")
    assert lesson.views == ("landscape",)
    assert load_lesson("conv_vs_dense").views == ()
    doc = json.loads(lesson.path.read_text())
    doc["views"] = ["landscape", "nope"]
    with pytest.raises(PlaygroundError, match="views must be a list of landscape"):
        parse_lesson(doc)
    doc["views"] = "landscape"
    with pytest.raises(PlaygroundError, match="views"):
        parse_lesson(doc)


# --------------------------------------------------------------------------- conv vs dense


def test_a_small_cnn_beats_larger_dense_networks_on_shifted_shapes():
    lesson = load_lesson("conv_vs_dense")
    n = {v.name: Experiment(v.spec).trainer.layout.n_params for v in lesson.variants}
    assert n["cnn_a"] == n["cnn_b"] < n["dense_a"] == n["dense_b"] < n["dense_wide"]
    assert n["dense_a"] > 2 * n["cnn_a"] and n["dense_wide"] > 9 * n["cnn_a"]
    for v in lesson.variants:  # the titles quote the counts
        assert f"{n[v.name]:,} parameters" in v.title
    r = run_lesson("conv_vs_dense")
    # every network fits its training images ...
    assert all(x["final_train_loss"] < 0.01 for x in r.values())
    # ... but only the CNN recognises the shapes where it has not seen them
    cnn = [r[k]["final_test_metric"] for k in ("cnn_a", "cnn_b")]
    dense = [r[k]["final_test_metric"] for k in ("dense_a", "dense_b", "dense_wide")]
    assert min(cnn) >= 0.95 and max(dense) <= 0.92
    assert min(cnn) > max(dense) + 0.04
    assert all(
        r[k]["history"]["test_loss"][-1] < 0.5 * r["dense_wide"]["history"]["test_loss"][-1]
        for k in ("cnn_a", "cnn_b")
    )


# --------------------------------------------------------------------------- local minima


@functools.cache
def trained() -> dict[str, Experiment]:
    out = {}
    for v in load_lesson("local_minima").variants:
        exp = Experiment(v.spec)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            exp.train(steps=v.steps)
        out[v.name] = exp
    return out


def theta(exp: Experiment) -> np.ndarray:
    return exp.trainer.theta.astype(np.float64).copy()


def loss(exp: Experiment) -> float:
    return float(exp.evaluate()["train_loss"])


def symmetric_copies(exp: Experiment, th: np.ndarray) -> list[np.ndarray]:
    """Every relabelling and sign flip of the tanh hidden neurons: the same function, the
    same loss, other points in parameter space (2 neurons: 2! * 2^2 = 8 copies)."""
    out = []
    k = exp.trainer.layout.views(th)[0][0].shape[1]
    for perm in itertools.permutations(range(k)):
        for signs in itertools.product((1.0, -1.0), repeat=k):
            t = th.copy()
            (W1, b1), (W2, _b2) = exp.trainer.layout.views(t)
            s, p = np.array(signs), list(perm)
            W1[...], b1[...], W2[...] = W1[:, p] * s, b1[p] * s, W2[p, :] * s[:, None]
            out.append(t)
    return out


def barrier(exp: Experiment, start: np.ndarray, end: np.ndarray) -> float:
    """The highest loss on the straight line from start to end, above the higher end."""
    probe = LossProbe(exp.trainer)
    L = line_losses(probe, start, end, np.linspace(0.0, 1.0, 41))
    return float(L.max() - max(L[0], L[-1]))


def test_local_minima_different_starts_end_in_different_minima():
    ex = trained()
    final = {k: loss(e) for k, e in ex.items()}
    assert final["good_a"] < 0.2 and final["good_b"] < 0.2
    assert 0.3 < final["middle"] < 0.38
    assert final["stuck_a"] > 0.4 and final["stuck_b"] > 0.4
    assert final["stuck_a"] > 2.5 * final["good_a"]
    # the two poor ends are one minimum reached twice, as are the two good ones
    assert abs(final["stuck_a"] - final["stuck_b"]) < 0.005
    assert abs(final["good_a"] - final["good_b"]) < 0.005


def test_local_minima_the_stuck_run_sits_at_the_bottom_of_a_basin():
    exp = trained()["stuck_a"]
    center = loss(exp)
    for span, seed in ((1.0, 0), (1.0, 1), (0.25, 0), (0.25, 2)):
        s = compute_slice(exp, kind="random", resolution=21, span=span, seed=seed)
        c = len(s.a) // 2
        assert s.loss[c, c] == pytest.approx(center, rel=1e-9)
        assert np.nanmin(s.loss) >= center - 1e-9  # the centre is the slice's minimum
        # the loss rises in every direction: each of 16 rays from the centre ends higher
        for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
            i, j = c + round(c * np.sin(angle)), c + round(c * np.cos(angle))
            assert s.loss[i, j] > center + 0.01, (span, seed, angle)
    # a basin, not slow progress: twice the steps gain less than 0.005 (the good seed is at 0.15)
    longer = Experiment(exp.spec)
    with np.errstate(all="ignore"):
        longer.train(steps=2 * exp.step)
    assert center - 0.005 < loss(longer) <= center


def test_local_minima_a_barrier_separates_the_poor_minimum_from_the_good_one():
    ex = trained()
    stuck, good, other = ex["stuck_a"], ex["good_a"], ex["stuck_b"]
    a = theta(stuck)
    copies = symmetric_copies(good, theta(good))
    assert len(copies) == 8
    probe = LossProbe(good.trainer)
    assert all(abs(probe(t) - loss(good)) < 1e-9 for t in copies)  # the same function
    # the straight line to every copy of the good minimum climbs well above both ends
    heights = [barrier(stuck, a, t) for t in copies]
    assert min(heights) > 0.2
    # the second poor run ended in the same minimum: one of its copies is joined without a barrier
    same = [barrier(stuck, a, t) for t in symmetric_copies(other, theta(other))]
    assert min(same) < 0.01
    # and it is a minimum: the Hessian at the end is positive definite (finite differences)
    probe = LossProbe(stuck.trainer)
    E = np.eye(a.size) * 1e-3

    def second(i: int, j: int) -> float:
        pp, pm = probe(a + E[i] + E[j]), probe(a + E[i] - E[j])
        mp, mm = probe(a - E[i] + E[j]), probe(a - E[i] - E[j])
        return (pp - pm - mp + mm) / 4e-6

    H = np.array([[second(i, j) for j in range(a.size)] for i in range(a.size)])
    assert np.linalg.eigvalsh((H + H.T) / 2)[0] > 1e-3


# --------------------------------------------------------------------------- in the app


@pytest.mark.slow  # a window and its engine warm-up; the lesson tests above stay in the 40 s budget
def test_opening_local_minima_shows_the_landscape_of_its_first_variant(qtbot, tmp_path):
    from test_app_race import TIMEOUT, close, make_window, small_spec, thetas

    w = make_window(qtbot, small_spec())
    try:
        lesson = load_lesson("local_minima")
        assert w.load_lesson("local_minima")
        dock = w.lesson_landscape_dock
        assert dock.isVisible() and not w.landscape_dock.isVisible()
        panel = dock.widget()
        labels = [panel.variant.itemText(i) for i in range(panel.variant.count())]
        assert labels == [v.title for v in lesson.variants] and panel.variant.currentIndex() == 0
        race, view = w.race, panel.view
        race.call_in_worker(lambda exps: [e.train(steps=200) for e in exps])
        view.resolution.setValue(7)

        def compute() -> object:
            view.slice = None
            view.compute_button.click()
            qtbot.waitUntil(lambda: view.slice is not None, timeout=TIMEOUT)
            return view.slice

        s = compute()  # around the first variant's weights, its loss at the centre
        np.testing.assert_array_equal(s.center, thetas(race)[0])
        losses = race.call_in_worker(lambda exps: [e.evaluate()["train_loss"] for e in exps])
        assert s.loss[3, 3] == pytest.approx(losses[0], rel=1e-9)
        panel.variant.setCurrentIndex(3)  # another variant: its own weights
        s = compute()
        np.testing.assert_array_equal(s.center, thetas(race)[3])
        assert s.loss[3, 3] == pytest.approx(losses[3], rel=1e-9)
        # a lesson without views hides it, as does leaving the lessons
        assert w.load_lesson("learning_rate") and not dock.isVisible()
        assert w.load_lesson("local_minima") and dock.isVisible() and panel.variant.currentIndex() == 0
        w.race_mode.exit()
        assert not dock.isVisible() and not w.racing
        # a saved lesson race opens with its views again
        assert w.load_lesson("local_minima")
        path = tmp_path / "lesson.playground"
        assert w.save_session(str(path))
        w.race_mode.exit()
        assert w.open_session(str(path)) and w.racing and w.race.lesson_id == "local_minima"
        assert dock.isVisible()
    finally:
        close(w)
