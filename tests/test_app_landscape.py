"""The Loss landscape view: what it draws is the core's slice of the controller's run."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from playground.app.controller import ExperimentController
from playground.app.panels.landscape import LandscapeView, slice_summary
from playground.landscape import LossProbe
from playground.spec import ExperimentSpec

SPEC = {
    "data": {"name": "spiral", "n_classes": 2, "n_samples": 120, "train_fraction": 0.5},
    "network": {"hidden": [{"units": 6, "activation": "tanh"}, {"units": 4, "activation": "tanh"}]},
    "training": {"loss": "bce", "optimizer": {"name": "adam", "lr": 0.02}, "batch_size": 10},
}


@pytest.fixture
def view(qtbot):
    c = ExperimentController(ExperimentSpec.from_dict(SPEC), warm_up=False)
    v = LandscapeView(c)
    qtbot.addWidget(v)
    v.resize(700, 700)
    v.show()
    yield c, v
    c.shutdown()


def _train_with_path(c, v, chunks=12, steps=25):
    for _ in range(chunks):
        c.call_in_worker(lambda exp: (exp.train(steps=steps), v.trajectory.feed(exp, exp.trainer.theta)))


def test_pca_slice_draws_the_runs_path_and_says_how_far_it_is_from_the_surface(view, qtbot):
    c, v = view
    _train_with_path(c, v)
    v.direction.setCurrentIndex(1)
    v.resolution.setValue(11)
    v.compute_button.click()
    assert v.progress.text().startswith("Computing: ")  # in chunks from a timer, not at once
    assert not v.compute_button.isEnabled()
    qtbot.waitUntil(lambda: v.slice is not None, timeout=10_000)
    s = v.slice
    assert v.compute_button.isEnabled()
    exp = c.experiment
    # the path drawn is the recorded run: 13 points from step 0 to the current step
    x, y = v.path_item.getData()
    np.testing.assert_array_equal(x, s.paths[0].coords[:, 0])
    assert len(x) == 13 and s.paths[0].steps[0] == 0 and s.paths[0].steps[-1] == exp.step
    ex, ey = v.end_item.getData()
    assert abs(ex[0]) < 1e-12 and abs(ey[0]) < 1e-12  # the current weights are the centre
    # the heatmap is log10 of the slice's losses, and each is the loss at its point
    img = v.image.image
    assert img.shape == (11, 11)
    np.testing.assert_allclose(img, np.log10(s.loss.T))
    probe = c.call_in_worker(lambda e: LossProbe(e.trainer))
    th = (s.center + s.b[8] * s.dirs[1]) + s.a[2] * s.dirs[0]  # the grid's order of sums
    assert s.loss[8, 2] == c.call_in_worker(lambda e: probe(th))
    # the text a person reads has the core's gap numbers
    g = s.paths[0].gap_summary()
    assert v.summary.text() == slice_summary(s)
    assert "median" in v.summary.text() and "PC1 explains" in v.summary.text()
    assert g["points"] == 13
    assert v.progress.text().startswith("Done: 121 points")
    # the 1-D curve ends at the current loss
    t, L = v.line_curve.getData()
    k = int(np.argmin(np.abs(t - 1)))
    assert L[k] == pytest.approx(c.call_in_worker(lambda e: e.evaluate()["train_loss"]), rel=1e-12)


def test_random_slice_needs_no_path_and_pca_without_one_says_so(view, qtbot):
    c, v = view
    v.direction.setCurrentIndex(1)
    v.compute_button.click()
    assert "train first" in v.progress.text() and v.slice is None
    v.direction.setCurrentIndex(0)
    v.resolution.setValue(7)
    v.compute_button.click()
    qtbot.waitUntil(lambda: v.slice is not None, timeout=10_000)
    s = v.slice
    assert s.kind == "random" and s.loss.shape == (7, 7)
    assert s.loss[3, 3] == pytest.approx(c.call_in_worker(lambda e: e.evaluate()["train_loss"]), rel=1e-12)
    assert v.plot.getPlotItem().getAxis("bottom").labelText == "random direction 1"


def test_race_view_draws_every_members_path_on_one_slice_in_its_colour(qtbot):
    from playground.app.panels.landscape import RaceLandscapeView
    from playground.app.race.controller import RaceController

    race = RaceController()
    try:
        race.start(
            ExperimentSpec.from_dict(SPEC), [{"training.optimizer.lr": 0.01}, {"training.optimizer.lr": 0.05}]
        )
        v = RaceLandscapeView(race)
        qtbot.addWidget(v)
        v.show()
        for _ in range(8):
            race.call_in_worker(lambda exps: ([e.train(steps=25) for e in exps], v._record(exps)))
        v.resolution.setValue(9)
        v.compute_button.click()
        qtbot.waitUntil(lambda: v.slice is not None, timeout=10_000)
        s = v.slice
        assert [p.label for p in s.paths] == [m.label for m in race.members]
        thetas = race.call_in_worker(lambda exps: [e.trainer.theta.copy() for e in exps])
        np.testing.assert_array_equal(s.center, thetas[0])
        x, _ = v.extra_paths[0].getData()
        np.testing.assert_array_equal(x, s.paths[1].coords[:, 0])
        assert len(x) == 9  # the shared start and 8 recorded points
        np.testing.assert_array_equal(s.paths[0].coords[0], s.paths[1].coords[0])  # one start
        assert v.extra_paths[0].opts["pen"].color().name() == race.members[1].color
        assert v.summary.text().count("path (9 points)") == 2
        for m in race.members:
            assert f"{m.label}: path (9 points)" in v.summary.text()
    finally:
        race.shutdown()


def test_a_slice_computes_in_chunks_while_the_run_trains(view, qtbot):
    c, v = view
    _train_with_path(c, v, chunks=3)
    step0 = c.call_in_worker(lambda e: e.step)
    texts = []
    c.play()
    v.resolution.setValue(81)  # ~6,500 points: several chunks of CHUNK_S
    v.compute_button.click()
    while v.slice is None:
        texts.append(v.progress.text())
        qtbot.wait(5)
    c.pause()
    s = v.slice
    assert len({t for t in texts if t.startswith("Computing")}) >= 2  # progress between chunks
    assert c.call_in_worker(lambda e: e.step) > step0  # training went on meanwhile
    probe = c.call_in_worker(lambda e: LossProbe(e.trainer))
    assert s.loss[40, 40] == c.call_in_worker(lambda e: probe(s.center))  # around where it started
