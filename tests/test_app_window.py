"""The main window end to end: play/pause/step/reset, undo, live edits, divergence, files, theme."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from playground.app import settings, theme
from playground.app.controller import RESET_MESSAGE, ExperimentController
from playground.app.main_window import MainWindow
from playground.spec import DataSpec, LayerSpec, NetworkSpec, OptimizerSpec, default_spec

TIMEOUT = 300_000  # ms; generous: a cold compile on a busy machine is slow, and this is no speed check


def small_spec(**training):
    spec = default_spec()
    spec = replace(spec, data=replace(spec.data, n_samples=80))
    if training:
        spec = replace(spec, training=replace(spec.training, **training))
    return spec


def make_window(qtbot, spec=None):
    controller = ExperimentController(spec or small_spec())
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard  # never block on a modal question
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT)
    return w


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot)
    yield w
    w.controller.pause()
    w.close()
    w.controller.shutdown()
    assert not w.controller._thread.isRunning()


def curve_points(item) -> int:
    x, _y = item.getData()
    return 0 if x is None else len(x)


def wait_step(qtbot, c, predicate, timeout=TIMEOUT):
    qtbot.waitUntil(lambda: c.last_snapshot is not None and predicate(c.last_snapshot), timeout=timeout)


def test_window_opens_on_the_demo_with_all_parts(window):
    c = window.controller
    assert c.spec.data.name == "spiral"
    assert window.engine_label.text() == "Paused" or window.engine_label.text().startswith(
        "Preparing the engine"
    )
    assert window.boundary_view.isVisible() and window.plots.isVisible()
    assert window.data_dock.widget().widget() is window.data_panel  # in its scroll area
    assert np.isfinite(c.live["train_loss"]).all()  # the first row was evaluated once the engine was ready


def test_play_advances_snapshots_fill_curves_and_pause_stops(window, qtbot):
    c = window.controller
    c.play()
    assert window.toolbar.play_action.text() == "Pause"
    wait_step(qtbot, c, lambda s: s.step > 200 and s.grid is not None)
    qtbot.waitUntil(lambda: curve_points(window.plots.train_loss) >= 3, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.boundary_view.image.image is not None, timeout=TIMEOUT)
    assert window.engine_label.text().startswith("Training")
    c.pause()
    qtbot.wait(150)
    frozen = c.experiment.step
    qtbot.wait(250)
    assert c.experiment.step == frozen
    assert window.engine_label.text() == "Paused"
    assert window.toolbar.play_action.text() == "Play"


def test_space_toggles_play(window, qtbot):
    c = window.controller
    window.activateWindow()
    window.toolbar.play_action.trigger()
    assert c.running
    window.toolbar.play_action.trigger()
    assert not c.running


def test_step_once_advances_exactly_one_step(window, qtbot):
    c = window.controller
    window.toolbar.step_action.trigger()
    wait_step(qtbot, c, lambda s: s.step >= 1)
    qtbot.wait(100)
    assert c.experiment.step == 1
    assert c.last_snapshot.step == 1


def test_step_epoch_advances_one_epoch(window, qtbot):
    c = window.controller
    window.toolbar.epoch_action.trigger()
    per_epoch = c.experiment.trainer.steps_per_epoch
    wait_step(qtbot, c, lambda s: s.step >= per_epoch)
    assert c.experiment.step == per_epoch


def test_reset_restores_initial_weights(window, qtbot):
    c = window.controller
    initial = c.experiment.trainer.theta.copy()
    c.play()
    wait_step(qtbot, c, lambda s: s.step > 100)
    c.pause()
    assert not np.allclose(c.last_snapshot.theta, initial)
    window.toolbar.reset_action.trigger()
    assert c.experiment.step == 0
    np.testing.assert_array_equal(c.experiment.trainer.theta, initial)
    wait_step(qtbot, c, lambda s: s.step == 0)
    np.testing.assert_array_equal(c.last_snapshot.theta, initial)


def test_new_seed_changes_weights_and_is_undoable(window, qtbot):
    c = window.controller
    before = c.experiment.trainer.theta.copy()
    seed = c.spec.seed
    window.toolbar.seed_action.trigger()
    assert c.spec.seed != seed
    assert not np.array_equal(c.experiment.trainer.theta, before)
    c.undo_stack.undo()
    assert c.spec.seed == seed
    np.testing.assert_array_equal(c.experiment.trainer.theta, before)


def test_undo_redo_of_an_architecture_edit(window, qtbot):
    c = window.controller
    messages = []
    c.statusMessage.connect(messages.append)
    old = c.spec
    wider = replace(old, network=replace(old.network, hidden=(LayerSpec(5, "relu"),)))
    assert c.edit_spec(wider, "One relu layer")
    assert c.experiment.trainer.layout.sizes.tolist() == [2, 5, 1]
    assert RESET_MESSAGE in messages
    window.undo_action.trigger()
    assert c.spec == old
    assert c.experiment.trainer.layout.sizes.tolist() == [2, 8, 8, 1]
    window.redo_action.trigger()
    assert c.spec == wider
    assert c.experiment.trainer.layout.sizes.tolist() == [2, 5, 1]


def test_live_lr_change_keeps_weights_and_adds_an_event_marker(window, qtbot):
    c = window.controller
    c.play()
    wait_step(qtbot, c, lambda s: s.step > 50)
    exp = c.experiment
    window.controls_panel.lr.setValue(0.003)
    assert c.spec.training.optimizer.lr == 0.003
    assert c.experiment is exp  # no rebuild
    wait_step(qtbot, c, lambda s: len(s.events) == 1)
    qtbot.waitUntil(lambda: len(window.plots.event_markers()) == 1, timeout=TIMEOUT)
    assert "lr" in c.last_snapshot.events[0][1]
    assert exp.step > 50
    c.pause()


def test_divergence_shows_banner_and_pauses(qtbot):
    spec = default_spec()
    spec = replace(
        spec,
        data=DataSpec(kind="toy", name="plane", n_samples=60, noise=0.0),
        network=NetworkSpec(hidden=(LayerSpec(4, "relu"),), output_activation="linear"),
        training=replace(spec.training, loss="mse", optimizer=OptimizerSpec("sgd", lr=1e6)),
    )
    w = make_window(qtbot, spec)
    c = w.controller
    try:
        c.play()
        qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=TIMEOUT)
        assert not c.running
        assert "Diverged at step" in w.banner.label.text()
        assert w.engine_label.text().startswith("Diverged at step")
        theta = c.last_snapshot.theta
        assert np.isfinite(theta).all()  # the last finite parameters are kept
        step = c.experiment.step
        c.play()  # refused while diverged
        qtbot.wait(100)
        assert not c.running and c.experiment.step == step
        w.banner.lower_button.click()
        assert c.spec.training.optimizer.lr == pytest.approx(1e5)
        assert not w.banner.isVisible()
    finally:
        c.pause()
        w.close()
        c.shutdown()


def test_theme_switch_changes_palette_and_plots(window, qtbot):
    window.set_theme("dark")
    assert theme.current().name == "dark"
    assert window.palette().color(window.backgroundRole()).lightnessF() < 0.3
    assert settings.theme() == "dark"
    assert window.theme_actions["dark"].isChecked()
    window.set_theme("light")
    assert window.palette().color(window.backgroundRole()).lightnessF() > 0.8


def test_export_history_csv_has_the_right_header(window, qtbot, tmp_path):
    c = window.controller
    c.step_epoch()
    wait_step(qtbot, c, lambda s: s.step > 0)
    path = tmp_path / "history.csv"
    assert window.export_history_csv(str(path))
    with path.open() as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:3] == ["step", "epoch", "wall_time"]
    assert "train_loss" in header and "test_loss" in header and "grad_norm_w_1" in header
    assert len(rows) >= 3 and float(rows[-1][0]) == c.experiment.step
    assert all(r[0].isdigit() for r in rows[1:])  # integer steps: 2500, not 2.5e+03
    assert path.read_text() == c.call_in_worker(lambda exp: exp.history.csv_text())  # = the CLI's


@pytest.mark.parametrize("key", ["loss", "gradients", "metric", "boundary"])
@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_export_plot(window, qtbot, tmp_path, key, suffix):
    path = tmp_path / f"{key}.{suffix}"
    assert window.export_plot(key, str(path))
    assert path.stat().st_size > 200


def test_save_open_round_trip(window, qtbot, tmp_path):
    c = window.controller
    c.edit_spec(replace(c.spec, name="round trip"), "Rename")
    c.play()
    wait_step(qtbot, c, lambda s: s.step > 100)
    c.pause()
    qtbot.wait(100)
    path = tmp_path / "run.playground"
    assert window.save_session(str(path))
    assert not c.is_dirty()
    saved_step, saved_theta = c.experiment.step, c.experiment.trainer.theta.copy()
    window.new_experiment()
    assert c.experiment.step == 0 and c.spec.name == ""
    assert window.open_session(str(path))
    assert c.spec.name == "round trip"
    assert c.experiment.step == saved_step
    np.testing.assert_array_equal(c.experiment.trainer.theta, saved_theta)
    assert settings.recent_files()[0] == str(path)
    assert "run" in window.windowTitle()


def test_open_broken_file_shows_a_clear_message(window, tmp_path):
    bad = tmp_path / "broken.playground"
    bad.write_bytes(b"not a zip file")
    assert not window.open_session(str(bad))
    box = window._message_boxes[-1]
    assert "Traceback" not in box.text() and box.text()
    box.close()


def test_dropping_a_session_file_opens_it(window, qtbot, tmp_path):
    path = tmp_path / "dropped.playground"
    assert window.save_session(str(path))
    window.new_experiment()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.controller.path == str(path), timeout=5000)


def test_unsaved_changes_cancel_keeps_the_window_open(window, qtbot):
    c = window.controller
    c.new_seed()
    assert c.is_dirty()
    window.ask = lambda *a, **k: QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert window.isVisible()
    window.ask = lambda *a, **k: QMessageBox.StandardButton.Discard


def test_window_state_persists(window, qtbot):
    window.plot_actions["gradients"].setChecked(False)
    window.plots.log_check.setChecked(True)
    window.save_settings()
    assert settings.window_geometry() is not None
    assert settings.bool_value("view/plot_gradients", True) is False
    assert settings.bool_value("view/loss_log", False) is True


def test_recovery_is_offered_after_a_crash(qtbot, tmp_path):
    from playground import session

    w = make_window(qtbot)
    c = w.controller
    try:
        c.step_epoch()
        wait_step(qtbot, c, lambda s: s.step > 0)
        c.call_in_worker(session.write_recovery)
        step = c.experiment.step
        c.reset()
        asked = []

        def ask(title, *_a):
            asked.append(title)
            return QMessageBox.StandardButton.Yes

        w.ask = ask
        w.offer_recovery()
        assert asked == ["Restore your work?"]
        assert c.experiment.step == step > 0
    finally:
        w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
        w.close()
        c.shutdown()


def test_help_topics_open(window):
    from playground.app import help_texts

    for key in help_texts.TOPICS:
        dlg = window.show_help(key)
        assert help_texts.TOPICS[key][0] in dlg.windowTitle()
        dlg.close()


def test_rapid_clicking_never_crashes_or_deadlocks(window, qtbot):
    c = window.controller
    t = window.toolbar
    actions = [t.play_action, t.step_action, t.epoch_action, t.reset_action, t.play_action]
    rng = np.random.default_rng(0)
    for i in range(200):
        actions[int(rng.integers(len(actions)))].trigger()
        if i % 20 == 0:
            qtbot.wait(1)
    c.pause()
    # the worker still answers and the GUI still gets snapshots
    assert c.call_in_worker(lambda exp: exp.step, timeout=10) >= 0
    c.request_snapshot()
    n = c.live.version
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.live.version >= n, timeout=TIMEOUT)


def test_the_epoch_counter_reads_epoch_0_until_training_moves_it(window, qtbot):
    """The first snapshot (step 0) and a reset show "Epoch 0", as at start-up; not "Epoch 0.00"."""
    c = window.controller
    label = window.toolbar.epoch_label
    assert label.text() == "Epoch 0"
    c.step_epoch()
    wait_step(qtbot, c, lambda s: s.step > 0)
    qtbot.waitUntil(lambda: label.text() == "Epoch 1.00", timeout=TIMEOUT)
    c.reset()
    wait_step(qtbot, c, lambda s: s.step == 0)
    qtbot.waitUntil(lambda: label.text() == "Epoch 0", timeout=TIMEOUT)


def test_the_status_bar_names_what_the_engine_compiles_and_play_waits_for_it(qtbot):
    """While the engine warms up the status bar says which phase and for how long; Play
    pressed meanwhile says it will start, and training starts once the engine is ready."""
    from playground.app.main_window import preparing_text
    from playground.app.worker import WARM_UP_PHASES

    c = ExperimentController(small_spec())
    phases, messages = [], []
    c.engineProgress.connect(lambda *p: phases.append(p))
    c.statusMessage.connect(messages.append)
    try:
        assert not c.engine_ready
        c.play()  # before the warm-up has even started
        assert "Training starts as soon as the engine is ready" in messages
        qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)
        assert phases == [(name, i + 1, len(WARM_UP_PHASES)) for i, name in enumerate(WARM_UP_PHASES)]
        qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, timeout=TIMEOUT)
        assert c.running
        c.pause()
    finally:
        c.shutdown()
    assert preparing_text(("training step", 2, 3), 14.4) == "Preparing the engine: training step (2/3) · 14 s"
    assert preparing_text(None, 0.0) == "Preparing the engine…"


def test_first_float32_use_says_the_engine_compiles_then_trains(window, qtbot):
    """Switching the precision compiles that precision's kernels before training (the status
    bar says so), once per process; training then goes on as usual."""
    c = window.controller
    seen = []
    c.dtypeCompiling.connect(seen.append)
    f32 = replace(c.spec, training=replace(c.spec.training, dtype="float32"))
    c.edit_spec(f32, "Precision float32")
    qtbot.waitUntil(lambda: seen == ["float32", ""], timeout=TIMEOUT)
    assert not c.compiling_dtype and window.engine_label.text() == "Paused"
    c.step_epoch()
    wait_step(qtbot, c, lambda s: s.step > 0)
    assert c.experiment.trainer.theta.dtype == np.float32
    c.edit_spec(replace(f32, training=replace(f32.training, dtype="float64")), "Precision float64")
    c.edit_spec(f32, "Precision float32")
    c.step_epoch()
    wait_step(qtbot, c, lambda s: s.step > 0)
    assert seen == ["float32", ""]  # both precisions were ready: nothing compiled again
