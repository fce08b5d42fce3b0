"""The window's layout survives modes and launches: leaving a race or a lesson gives back the
layout it found (the Training panel keeps its width and never goes below its form's width),
View > Reset layout, a saved layout that does not fit is ignored, file dialogs start in the
last-used folder, and Space types into a focused text field instead of toggling training.
Also what the window tells: the race's state in the status bar, the divergence banner's
"Learning rate ÷ 10" (recovers the last finite weights) and the "not learning" warning."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox

from playground.app import main_window as mw
from playground.app import settings
from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.spec import default_spec

TIMEOUT = 300_000  # ms: a cold compile on a busy machine is slow; this is no speed check
LRS = [{"training.optimizer.lr": v} for v in (0.003, 0.03)]
WIDTH_SLACK_PX = 4


def _spec():
    from dataclasses import replace

    spec = default_spec()
    return replace(spec, data=replace(spec.data, n_samples=80))


def make_window(qtbot, wait_engine: bool = True) -> MainWindow:
    controller = ExperimentController(_spec())
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard  # never block on a modal question
    qtbot.addWidget(w)
    w.show()
    if wait_engine:
        qtbot.waitUntil(
            lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT
        )
    qtbot.waitExposed(w)
    return w


def close(w: MainWindow) -> None:
    if w.race is not None:
        w.race.pause()
    w.controller.pause()
    w.close()
    assert not w.controller._thread.isRunning()
    assert w.race is None or not w.race._thread.isRunning()


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot)
    yield w
    close(w)


def form_width(w: MainWindow) -> int:
    """The narrowest the Training panel's form can be with nothing cut off."""
    return w.controls_panel.widget().minimumSizeHint().width()


def layout_numbers(w: MainWindow) -> dict:
    return {
        "controls": w.controls_dock.width(),
        "data": w.data_dock.width(),
        "plots": w.plots_dock.height(),
        "splitter": w.splitter.sizes(),
        "visible": [d.isVisible() for d in (w.data_dock, w.controls_dock, w.plots_dock, w.lessons_dock)],
    }


def same_layout(a: dict, b: dict) -> bool:
    close_px = all(abs(a[k] - b[k]) <= WIDTH_SLACK_PX for k in ("controls", "data", "plots"))
    splitter = all(abs(x - y) <= WIDTH_SLACK_PX for x, y in zip(a["splitter"], b["splitter"]))
    return close_px and splitter and a["visible"] == b["visible"]


def test_training_panel_starts_wide_enough_for_its_form(window):
    assert window.controls_panel.width() >= form_width(window)
    assert window.controls_panel.minimumWidth() >= form_width(window)


def test_training_panel_stays_wide_enough_for_every_optimizer_form(window, qtbot):
    from dataclasses import replace

    from playground.spec import OptimizerSpec

    for name in ("sgd", "rmsprop", "adamw", "adam"):
        spec = window.controller.spec
        assert window.controller.edit_spec(
            replace(spec, training=replace(spec.training, optimizer=OptimizerSpec(name, lr=0.01)))
        )
        qtbot.waitUntil(lambda: window.controls_panel.width() >= form_width(window), timeout=5000)


def test_leaving_a_race_restores_the_layout_it_found(window, qtbot, tmp_path):
    before = layout_numbers(window)
    assert window.start_race(LRS)
    race = window.race
    qtbot.waitUntil(lambda: all(f is not None for f in race.frames), timeout=TIMEOUT)
    race.play()
    qtbot.waitUntil(lambda: all(f is not None and f.step > 0 for f in race.frames), timeout=TIMEOUT)
    race.pause()
    window.exit_race()
    qtbot.waitUntil(lambda: same_layout(layout_numbers(window), before), timeout=5000)
    assert window.controls_panel.width() >= form_width(window)
    assert not window.racing and window.toolbar.isEnabled()
    assert window.grab().save(str(tmp_path / "after-race.png"))
    # the race view's size no longer holds the central area wide: the panel can be widened
    wider = before["controls"] + 100  # what the default window has to spare beside its centre
    window.resizeDocks([window.controls_dock], [wider], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(window.controls_dock.width() - wider) <= WIDTH_SLACK_PX, timeout=5000)


def test_leaving_a_lesson_restores_the_layout_it_found(window, qtbot):
    before = layout_numbers(window)
    assert window.load_lesson("learning_rate")
    assert window.racing and window.lessons_dock.isVisible()
    qtbot.waitUntil(lambda: all(f is not None for f in window.race.frames), timeout=TIMEOUT)
    window.exit_race()
    qtbot.waitUntil(lambda: same_layout(layout_numbers(window), before), timeout=5000)
    assert not window.lessons_dock.isVisible()  # it was hidden when the lesson started
    assert window.controls_panel.width() >= form_width(window)
    # and again: a second race does not squeeze the panel a little more each time
    assert window.start_race(LRS)
    window.exit_race()
    qtbot.waitUntil(lambda: same_layout(layout_numbers(window), before), timeout=5000)


def test_reset_layout_brings_every_panel_back(window, qtbot):
    before = layout_numbers(window)
    window.plots_dock.hide()
    window.controls_dock.setFloating(True)
    window.removeDockWidget(window.data_dock)
    window.reset_layout_action.trigger()
    qtbot.waitUntil(lambda: same_layout(layout_numbers(window), before), timeout=5000)
    assert not window.controls_dock.isFloating()
    assert window.controls_panel.width() >= form_width(window)


def test_reset_layout_in_a_race_gives_the_default_layout_on_leaving(window, qtbot):
    before = layout_numbers(window)
    window.controls_dock.setFloating(True)
    assert window.start_race(LRS)
    window.reset_layout_action.trigger()
    assert not window.controls_dock.isVisible()  # the race still hides the single experiment's panels
    window.exit_race()
    qtbot.waitUntil(lambda: same_layout(layout_numbers(window), before), timeout=5000)
    assert not window.controls_dock.isFloating()


@pytest.fixture
def desktop_screen(monkeypatch):
    """A 1920x1200 desktop (the offscreen platform's one screen is 800x800, smaller than the window)."""
    monkeypatch.setattr(mw, "_screen_areas", lambda: [QRect(0, 0, 1920, 1200)])


def test_a_saved_layout_that_does_not_fit_the_screen_is_ignored(qtbot, desktop_screen):
    w = make_window(qtbot, wait_engine=False)
    try:
        w.plots_dock.hide()
        w.setGeometry(QRect(3000, 2500, 4000, 3000))  # a big monitor that is not there any more
        settings.save_window(w.saveGeometry(), w.saveState())
    finally:
        close(w)
    w2 = make_window(qtbot, wait_engine=False)
    try:
        assert not w2._restored_saved_layout
        assert w2.plots_dock.isVisible()  # the saved dock state went with the geometry
        assert w2.width() < 4000 and w2.controls_panel.width() >= form_width(w2)
        assert w2.x() < 3000
    finally:
        close(w2)


def test_a_saved_layout_that_fits_is_restored(qtbot, desktop_screen):
    w = make_window(qtbot, wait_engine=False)
    try:
        w.plots_dock.hide()
        w.setGeometry(QRect(100, 80, 1500, 1000))
        settings.save_window(w.saveGeometry(), w.saveState())
    finally:
        close(w)
    w2 = make_window(qtbot, wait_engine=False)
    try:
        assert w2._restored_saved_layout
        assert not w2.plots_dock.isVisible()
    finally:
        close(w2)


def test_a_saved_layout_that_squeezes_a_panel_is_ignored(qtbot, desktop_screen):
    """A layout saved by an older version (Training panel ~70 px) never comes back squeezed."""
    w = make_window(qtbot, wait_engine=False)
    try:
        w.controls_panel.widget().removeEventFilter(w)
        w.controls_panel.setMinimumWidth(0)  # what the old version allowed
        w.resizeDocks([w.controls_dock], [70], Qt.Orientation.Horizontal)
        qtbot.waitUntil(lambda: w.controls_dock.width() < 120, timeout=5000)
        geometry, state = w.saveGeometry(), w.saveState()
    finally:
        close(w)
    settings.save_window(geometry, state)
    w2 = make_window(qtbot, wait_engine=False)
    try:
        qtbot.wait(50)
        assert w2.controls_panel.width() >= form_width(w2)
        assert w2.layout_fits()
        w2.save_settings()  # and what is saved now fits
    finally:
        close(w2)
    assert settings.window_state() is None or isinstance(settings.window_state(), QByteArray)


def test_closing_during_a_race_saves_the_layout_of_the_single_experiment(window, qtbot, desktop_screen):
    before = layout_numbers(window)
    assert window.start_race(LRS)
    close(window)
    w2 = make_window(qtbot, wait_engine=False)
    try:
        assert w2._restored_saved_layout
        # the docks come back as they were before the race (Qt fits the window itself onto the
        # small offscreen screen, so the central splitter's sizes differ)
        qtbot.waitUntil(lambda: layout_numbers(w2)["visible"] == before["visible"], timeout=5000)
        assert abs(w2.controls_dock.width() - before["controls"]) <= WIDTH_SLACK_PX
    finally:
        close(w2)


# -- status bar in a race ---------------------------------------------------------------------


def test_status_bar_tells_the_race_state(window, qtbot):
    assert window.start_race(LRS)
    race = window.race
    assert window.engine_label.text().startswith("Race")
    assert "Paused" != window.engine_label.text()
    race.play()
    qtbot.waitUntil(lambda: window.engine_label.text().startswith("Race: training"), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: all(f is not None and f.step > 0 for f in race.frames), timeout=TIMEOUT)
    race.pause()
    qtbot.waitUntil(lambda: window.engine_label.text() == "Race paused", timeout=TIMEOUT)
    window.exit_race()
    assert window.engine_label.text() == "Paused"


# -- Space ------------------------------------------------------------------------------------


def test_space_toggles_play_where_no_text_field_has_focus(window, qtbot):
    c = window.controller
    window.activateWindow()
    window.boundary_view.setFocus()
    qtbot.waitUntil(lambda: window.boundary_view.hasFocus() or window.focusWidget() is not None, timeout=5000)
    qtbot.keyClick(window.boundary_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: c.running, timeout=5000)
    qtbot.keyClick(window.boundary_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not c.running, timeout=5000)


@pytest.mark.parametrize("name", ["batch", "lr"])
def test_space_in_a_spin_box_neither_plays_nor_empties_it(window, qtbot, name):
    c = window.controller
    box = getattr(window.controls_panel, name)
    window.activateWindow()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    before = box.text()
    for select_all in (False, True):
        if select_all:
            box.lineEdit().selectAll()
        qtbot.keyClick(box, Qt.Key.Key_Space)
        qtbot.wait(50)
        assert not c.running
        assert box.text() == before  # the selected number is not replaced by a blank
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "32")
    qtbot.keyClick(box, Qt.Key.Key_Space)
    qtbot.wait(50)
    assert not c.running and box.text() == "32"  # typing digits still works


def test_space_in_a_line_edit_types_a_space(window, qtbot):
    c = window.controller
    edit = QLineEdit()
    window.statusBar().addWidget(edit)  # any text field of the window
    edit.show()
    window.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    qtbot.keyClicks(edit, "two")
    qtbot.keyClick(edit, Qt.Key.Key_Space)
    qtbot.keyClicks(edit, "words")
    qtbot.wait(50)
    assert edit.text() == "two words"
    assert not c.running
    window.boundary_view.setFocus()  # focus elsewhere: Space plays again
    qtbot.waitUntil(lambda: not edit.hasFocus(), timeout=5000)
    qtbot.keyClick(window.boundary_view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: c.running, timeout=5000)
    c.pause()


# -- file dialogs start in the last-used folder -------------------------------------------------


def test_open_and_save_dialogs_start_in_the_last_used_folder(window, qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "my sessions"
    folder.mkdir()
    path = folder / "a.playground"
    assert window.save_session(str(path))
    seen = {}

    def fake_open(_parent, _title, start, _filter):
        seen["open"] = start
        return "", ""

    def fake_save(_parent, _title, start, _filter):
        seen.setdefault("save", []).append(start)
        return "", ""

    monkeypatch.setattr(mw.QFileDialog, "getOpenFileName", fake_open)
    monkeypatch.setattr(mw.QFileDialog, "getSaveFileName", fake_save)
    window.open_dialog()
    assert seen["open"] == str(folder)
    exports = tmp_path / "exports"
    exports.mkdir()
    assert window.export_plot("loss", str(exports / "loss.png"))
    window.export_plot_dialog("gradients", "svg")
    window.export_history_dialog()
    assert seen["save"] == [str(exports / "gradients.svg"), str(exports / "history.csv")]
    # the next launch remembers them too
    assert settings.last_folder("sessions") == folder and settings.last_folder("exports") == exports


def test_a_last_folder_that_is_gone_falls_back_to_home(tmp_path):
    from pathlib import Path

    gone = tmp_path / "gone"
    gone.mkdir()
    settings.set_last_folder("sessions", gone / "x.playground")
    gone.rmdir()
    assert settings.last_folder("sessions") == Path.home()


# -- banners ------------------------------------------------------------------------------------


def diverging_window(qtbot, lr: float):
    """SGD on MSE with a linear output on a noiseless plane: lr 0.5 diverges within a few steps,
    lr 0.05 trains."""
    from dataclasses import replace

    from playground.spec import DataSpec, LayerSpec, NetworkSpec, OptimizerSpec

    spec = default_spec()
    spec = replace(
        spec,
        data=DataSpec(kind="toy", name="plane", n_samples=60, noise=0.0),
        network=NetworkSpec(hidden=(LayerSpec(4, "relu"),), output_activation="linear"),
        training=replace(spec.training, loss="mse", optimizer=OptimizerSpec("sgd", lr=lr)),
    )
    controller = ExperimentController(spec)
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT)
    return w


def test_lower_learning_rate_recovers_the_last_finite_weights_and_trains_on(qtbot):
    import numpy as np

    w = diverging_window(qtbot, 0.5)
    c = w.controller
    try:
        c.play()
        qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=TIMEOUT)
        assert not c.running and c.experiment.status == "diverged"
        diverged_at = c.experiment.diverged_step
        w.banner.lower_button.click()
        assert not w.banner.isVisible()
        assert c.spec.training.optimizer.lr == pytest.approx(0.05)
        assert c.call_in_worker(lambda exp: exp.spec.training.optimizer.lr) == pytest.approx(0.05)
        qtbot.waitUntil(
            lambda: c.last_snapshot is not None and c.last_snapshot.status == "ready", timeout=TIMEOUT
        )
        assert np.isfinite(c.last_snapshot.theta).all()
        assert not w.engine_label.text().startswith("Diverged")
        c.play()  # it trains on, and does not diverge again at once
        assert c.running
        qtbot.waitUntil(lambda: c.last_snapshot.step > diverged_at + 500, timeout=TIMEOUT)
        c.pause()
        assert c.last_snapshot.status == "ready" and not w.banner.isVisible()
        loss = c.last_snapshot.metrics["train_loss"]
        assert np.isfinite(loss) and loss < 0.1
        c.undo_stack.undo()  # the lower rate was one undoable edit
        assert c.spec.training.optimizer.lr == pytest.approx(0.5)
    finally:
        close(w)


def test_not_learning_shows_a_warning_and_training_goes_on(qtbot):
    from dataclasses import replace

    from playground.spec import OptimizerSpec

    w = make_window(qtbot)
    c = w.controller
    try:
        spec = c.spec
        assert c.edit_spec(
            replace(spec, training=replace(spec.training, optimizer=OptimizerSpec("sgd", lr=10.0)))
        )
        c.play()
        qtbot.waitUntil(lambda: w.warning_banner.isVisible(), timeout=TIMEOUT)
        assert w.warning_banner.label.text().startswith("Not learning")
        assert c.running  # a warning never stops the run
        step = c.last_snapshot.step
        qtbot.waitUntil(lambda: c.last_snapshot.step > step + 100, timeout=TIMEOUT)
        w.warning_banner.dismiss_button.click()
        assert not w.warning_banner.isVisible()
        qtbot.waitUntil(lambda: c.last_snapshot.step > step + 400, timeout=TIMEOUT)
        assert not w.warning_banner.isVisible()  # dismissed: the same warning does not come back
        c.pause()
        c.reset()  # a new start: no warning
        qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step == 0, timeout=TIMEOUT)
        assert not w.warning_banner.isVisible()
    finally:
        close(w)
