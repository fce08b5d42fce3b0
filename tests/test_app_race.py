"""Race mode in the main window: variants train together from the same start, live views,
summary table with target loss, divergence of one variant, save/load of a race session."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.spec import default_spec
from playground.variants import describe_overrides, flat_diff, variant_spec

TIMEOUT = 300_000  # ms; generous: a cold compile on a busy machine is slow, and this is no speed check
LRS = [{"training.optimizer.lr": v} for v in (0.001, 0.01, 0.1)]


def small_spec():
    spec = default_spec()
    return replace(spec, data=replace(spec.data, n_samples=80))


def diverging_spec():
    """SGD on MSE with a linear output: lr 50 blows up within ~60 steps, lr <= 0.1 does not."""
    return variant_spec(
        small_spec(),
        {"training.optimizer.name": "sgd", "training.loss": "mse", "network.output_activation": "linear"},
    )


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot, small_spec())
    yield w
    close(w)


def make_window(qtbot, spec):
    controller = ExperimentController(spec)
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT)
    return w


def close(w):
    if w.race is not None:
        w.race.pause()
    w.controller.pause()
    w.close()
    w.controller.shutdown()
    assert not w.controller._thread.isRunning()
    if w.race is not None:
        w.race.shutdown()
        assert not w.race._thread.isRunning()


def thetas(race):
    return race.call_in_worker(lambda exps: [e.trainer.theta.copy() for e in exps])


def steps(race):
    return [f.step if f is not None else 0 for f in race.frames]


def points(curve) -> int:
    x, _y = curve.getData()
    return 0 if x is None else len(x)


def table_column(view, col):
    return [view.table.item(r, col).text() for r in range(view.table.rowCount())]


def test_labels_name_the_difference():
    assert describe_overrides({"training.optimizer.lr": 0.1}) == "lr 0.1"
    assert describe_overrides({"training.optimizer.name": "sgd"}) == "optimizer sgd"
    assert describe_overrides({"training.batch_size": 1}) == "batch 1"
    assert describe_overrides({"network.hidden.0.units": 12}) == "layer 1: 12 neurons"
    assert describe_overrides({"network.hidden.1.units": 1}) == "layer 2: 1 neuron"
    both = {"network.hidden.0.activation": "relu", "network.hidden.1.activation": "relu"}
    assert describe_overrides(both) == "activation relu"
    base = small_spec()
    assert flat_diff(base.to_dict(), variant_spec(base, LRS[2]).to_dict()) == LRS[2]


def test_race_of_three_learning_rates_trains_all_from_the_same_weights(window, qtbot):
    assert window.start_race(LRS)
    race, view = window.race, window.race_view
    assert window.racing and window.central_stack.currentWidget() is view
    assert [m.label for m in race.members] == ["lr 0.001", "lr 0.01", "lr 0.1"]
    assert all(m.shared_init for m in race.members)
    t0 = thetas(race)
    assert all(np.array_equal(t0[0], t) for t in t0[1:])  # same start, bitwise
    assert [e.spec.training.optimizer.lr for e in race.experiments] == [0.001, 0.01, 0.1]
    race.play()
    qtbot.waitUntil(lambda: min(steps(race)) > 300, timeout=TIMEOUT)
    race.pause()
    qtbot.waitUntil(lambda: not race.running, timeout=TIMEOUT)
    s = steps(race)
    assert len(set(s)) == 1  # equal step counts: round robin in equal chunks
    t1 = thetas(race)
    assert not np.array_equal(t1[0], t1[2])  # different learning rates went different ways
    # live views: one curve and legend entry per variant, thumbnails, table rows
    qtbot.waitUntil(lambda: all(points(c) >= 2 for c in view.loss_curves), timeout=TIMEOUT)
    legend = [label.text for _sample, label in view.legend.items]
    assert legend == ["lr 0.001", "lr 0.01", "lr 0.1"]
    assert len(view.grad_curves) == 3 and len(view.thumbs) == 3
    qtbot.waitUntil(lambda: all(t.image.image is not None for t in view.thumbs), timeout=TIMEOUT)
    assert table_column(view, 0) == ["lr 0.001", "lr 0.01", "lr 0.1"]
    # target loss: default 1.1 x best final train loss (below every starting loss); the best
    # variant reaches it
    target = race.target()
    finals = [r["train_loss"] for r in race.summary_rows()]
    starts = [float(lv["train_loss"][0]) for lv in race.live]
    assert target == pytest.approx(min(1.1 * min(finals), 0.9 * min(starts)))
    qtbot.waitUntil(lambda: any(t != "–" for t in table_column(view, 5)), timeout=TIMEOUT)
    best = int(np.argmin(finals))
    assert table_column(view, 5)[best] != "–" and table_column(view, 6)[best].endswith(" s")
    # an edited target is used instead (a huge one is reached at step 0 by everyone)
    view.target_edit.setText("1000")
    view.target_edit.editingFinished.emit()
    assert race.target() == 1000.0
    qtbot.waitUntil(lambda: table_column(view, 5) == ["0", "0", "0"], timeout=TIMEOUT)


def test_weights_are_shared_only_where_the_network_matches(window, qtbot):
    assert window.start_race([{}, {"network.hidden.0.units": 5}, {"seed": 7}, {"training.optimizer.lr": 0.1}])
    race = window.race
    assert [m.shared_init for m in race.members] == [True, False, False, True]
    t = thetas(race)
    assert np.array_equal(t[0], t[3])
    assert t[1].shape != t[0].shape  # other architecture: its own initial weights
    assert t[2].shape == t[0].shape and not np.array_equal(t[0], t[2])  # another seed on purpose
    ds = [e.dataset for e in race.experiments]
    assert all(d is ds[0] for d in ds)  # the same data, even for the other seed
    assert race.members[2].spec.data.seed == window.controller.spec.seed


def test_one_variant_diverges_and_the_others_go_on(qtbot):
    w = make_window(qtbot, diverging_spec())
    try:
        assert w.start_race([{"training.optimizer.lr": v} for v in (0.01, 0.1, 50.0)])
        race, view = w.race, w.race_view
        diverged = []
        race.memberDiverged.connect(lambda i, _m: diverged.append(i))  # GUI-thread signal
        race.play()
        qtbot.waitUntil(
            lambda: race.frames[2] is not None and race.frames[2].status == "diverged", timeout=TIMEOUT
        )
        at = race.frames[2].diverged_step
        qtbot.waitUntil(lambda: min(steps(race)[:2]) > at + 500, timeout=TIMEOUT)
        assert race.running
        assert [f.status for f in race.frames] == ["ready", "ready", "diverged"]
        assert steps(race)[2] < at + 1
        assert diverged == [2]
        qtbot.waitUntil(lambda: table_column(view, 7)[2] == f"diverged at step {at:,}", timeout=TIMEOUT)
        assert table_column(view, 7)[:2] == ["ok", "ok"]
        assert "diverged" in view.thumbs[2].title.text() and "diverged" not in view.thumbs[0].title.text()
        race.pause()
    finally:
        close(w)


def test_race_save_and_open_round_trip_reenters_race_mode(window, qtbot, tmp_path):
    from playground.session import is_race_file

    assert window.start_race(LRS)
    race = window.race
    race.step(37)
    qtbot.waitUntil(lambda: steps(race) == [37, 37, 37], timeout=TIMEOUT)
    saved = thetas(race)
    path = tmp_path / "race.playground"
    assert window.save_session(str(path))
    assert is_race_file(path)
    window.exit_race()
    assert not window.racing
    assert window.open_session(str(path))
    assert window.racing
    race = window.race
    assert [m.label for m in race.members] == ["lr 0.001", "lr 0.01", "lr 0.1"]
    loaded = thetas(race)
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(saved, loaded))
    qtbot.waitUntil(lambda: steps(race) == [37, 37, 37], timeout=TIMEOUT)
    # File > Save while racing writes the race again, to the same file
    assert window.controller.path == str(path)
    race.step(3)
    qtbot.waitUntil(lambda: steps(race) == [40, 40, 40], timeout=TIMEOUT)
    assert window.save()
    from playground.session import load_race

    assert [e.step for e in load_race(path)] == [40, 40, 40]


def test_before_any_training_no_variant_has_reached_the_target(window, qtbot):
    """The automatic target is below every starting loss: "–", never "0 / 0.00 s", at the start."""
    assert window.start_race(LRS)
    race, view = window.race, window.race_view
    qtbot.waitUntil(
        lambda: all(f is not None for f in race.frames) and race.target() is not None, timeout=TIMEOUT
    )
    starts = [float(lv["train_loss"][0]) for lv in race.live]
    assert race.target() < min(starts)
    qtbot.waitUntil(lambda: view.table.rowCount() == len(LRS), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: table_column(view, 5) == ["–"] * len(LRS), timeout=TIMEOUT)
    assert table_column(view, 6) == ["–"] * len(LRS)
    assert all(r["steps_to_target"] is None for r in race.summary_rows())


def test_closing_during_a_race_keeps_the_normal_layout(window, qtbot, monkeypatch):
    # race mode hides the single-experiment docks; the saved layout must not
    from PySide6.QtCore import QRect

    from playground.app import main_window as mw

    # a desktop-sized screen (the offscreen one is smaller than the window: nothing would be restored)
    monkeypatch.setattr(mw, "_screen_areas", lambda: [QRect(0, 0, 1920, 1200)])
    assert window.start_race(LRS)
    assert window.racing and not window.plots_dock.isVisible()
    window.save_settings()
    window.exit_race()
    window.plots_dock.hide()
    window._restore_settings()
    assert window.plots_dock.isVisible() and window.controls_dock.isVisible()


def test_space_plays_the_race_in_race_mode_and_the_experiment_after_it(window, qtbot):
    """While racing, Space and the Train menu never start the hidden single experiment."""
    from PySide6.QtCore import Qt

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    assert window.start_race(LRS)
    race = window.race
    t = window.toolbar
    assert not any(a.isEnabled() for a in (t.play_action, t.step_action, t.epoch_action, t.reset_action))
    window.race_view.setFocus()
    qtbot.keyClick(window.race_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: race.running, timeout=TIMEOUT)
    assert not window.controller.running
    qtbot.keyClick(window.race_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not race.running, timeout=TIMEOUT)
    window.exit_race()
    assert t.play_action.isEnabled() and t.reset_action.isEnabled()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.controller.running, timeout=TIMEOUT)
    assert not race.running
    window.controller.pause()


def test_a_variant_that_does_not_learn_says_so_in_the_table(qtbot):
    """BCE at lr 10 never learns (Experiment.warning): its Status cell names the warning, with
    the whole advice as tooltip; the sane variant stays "ok"."""
    spec = variant_spec(
        default_spec(), {"training.loss": "bce", "network.output_activation": "sigmoid", "seed": 0}
    )
    w = make_window(qtbot, spec)
    try:
        assert w.start_race([{"training.optimizer.lr": v} for v in (0.03, 10.0)])
        race, view = w.race, w.race_view
        qtbot.waitUntil(
            lambda: view.table.rowCount() == 2 and view.table.item(1, 7) is not None, timeout=TIMEOUT
        )
        race.play()
        qtbot.waitUntil(lambda: table_column(view, 7)[1] in ("Not learning", "Oscillating"), timeout=TIMEOUT)
        race.pause()
        row = race.summary_rows()[1]
        assert row["warning"].startswith(table_column(view, 7)[1] + ":")
        assert view.table.item(1, 7).toolTip() == row["warning"]
        assert table_column(view, 7)[0] == "ok" and race.summary_rows()[0]["warning"] is None
    finally:
        close(w)
