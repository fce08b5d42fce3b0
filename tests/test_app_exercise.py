"""Exercises in the window: a teacher's locks survive save and reopen; back to the start."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import ExperimentController
from playground.app.exercise import CONTROLS, LOCK_TIP, MakeExerciseDialog, control_parts, install_exercise
from playground.app.main_window import MainWindow
from playground.spec import default_spec

TIMEOUT = 300_000


def make_window(qtbot):
    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.engine_ready and c.last_snapshot is not None, timeout=TIMEOUT)
    return w, getattr(w, "exercise", None) or install_exercise(w)


@pytest.fixture
def window(qtbot):
    made = []

    def make():
        made.append(make_window(qtbot))
        return made[-1]

    yield make
    for w, _ in made:
        w.controller.pause()
        w.close()
        w.controller.shutdown()


def test_every_control_id_names_existing_widgets(window):
    w, _ = window()
    for c in CONTROLS:
        assert control_parts(w, c.id), c.id


def test_locked_exercise_saved_and_reopened_has_the_same_locks(window, tmp_path, qtbot):
    w, mode = window()
    dlg = MakeExerciseDialog(mode, w)
    qtbot.addWidget(dlg)
    for c in CONTROLS:
        dlg.set_free(c.id, c.id == "training.optimizer.lr")  # only the learning rate may change
    dlg.set_hidden("training.seed", True)
    dlg.title.setText("Only the learning rate")
    dlg.instructions.setPlainText("Make the spiral converge by changing **only** the learning rate.")
    path = str(tmp_path / "ex.playground")
    assert dlg.save_to(path)
    cp = w.controls_panel
    assert cp.lr.isEnabled() and not cp.optimizer.isEnabled() and cp.optimizer.toolTip() == LOCK_TIP
    assert not w.toolbar.reset_action.isEnabled() and cp.seed.isHidden()

    # the student's copy: a fresh window opens the file through File > Open's code path
    w2, mode2 = window()
    assert w2.controls_panel.optimizer.isEnabled()
    assert w2.open_session(path)
    cp2 = w2.controls_panel
    assert mode2.exercise == mode.exercise and mode2.dock.isVisible()
    assert "only" in mode2.panel.text.toPlainText()
    assert mode2.panel.title.text() == "Only the learning rate"
    for c in CONTROLS:
        for part in control_parts(w2, c.id):
            if c.id == "training.seed":
                assert part.isHidden()
            elif c.id != "training.optimizer.lr":
                assert not part.isEnabled(), c.id
                assert part.toolTip() == LOCK_TIP
    assert cp2.lr.isEnabled()
    assert cp2.seed.isHidden() and cp2.seed.parentWidget().layout().labelForField(cp2.seed).isHidden()
    # the panels' own refresh (a live lr edit) does not unlock anything
    w2.controller.edit_spec(
        replace(
            w2.controller.spec,
            training=replace(
                w2.controller.spec.training,
                optimizer=replace(w2.controller.spec.training.optimizer, lr=0.5),
            ),
        )
    )
    assert not cp2.loss.isEnabled() and not cp2.batch.isEnabled()
    # an ordinary file clears the exercise and its locks
    plain = str(tmp_path / "plain.playground")
    mode2.set_exercise(None)
    assert cp2.optimizer.isEnabled() and cp2.optimizer.toolTip() != LOCK_TIP and not cp2.seed.isHidden()
    assert w2.save_session(plain)
    assert w2.open_session(path) and not cp2.optimizer.isEnabled()
    assert w2.open_session(plain) and mode2.exercise is None and cp2.optimizer.isEnabled()


def test_back_to_start_restores_spec_and_weights_exactly(window, tmp_path, qtbot):
    w, mode = window()
    c = w.controller
    c.call_in_worker(lambda exp: exp.train(steps=7))
    dlg = MakeExerciseDialog(mode, w)
    qtbot.addWidget(dlg)
    assert dlg.save_to(str(tmp_path / "start.playground"))
    start_spec = c.spec
    start = c.call_in_worker(lambda exp: (exp.step, exp.params))
    # the student trains, edits the lr and the data
    c.edit_spec(replace(c.spec, training=replace(c.spec.training, batch_size=3)))
    c.edit_spec(replace(c.spec, data=replace(c.spec.data, noise=0.3)))
    c.step_once()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step >= 1, timeout=TIMEOUT)
    c.pause()
    assert c.spec != start_spec
    assert mode.restart()
    assert c.spec == start_spec
    step, params = c.call_in_worker(lambda exp: (exp.step, exp.params))
    assert step == start[0] == 7
    for a, b in zip(params, start[1]):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert mode.exercise is not None and mode.dock.isVisible()


def test_file_new_leaves_the_exercise_and_reopening_it_locks_again(window, tmp_path, qtbot):
    w, mode = window()
    own = {(c.id, k): p.isEnabled() for c in CONTROLS for k, p in enumerate(control_parts(w, c.id))}
    assert sum(own.values()) > 20  # the panels' own state (e.g. one output for the loss: disabled)
    dlg = MakeExerciseDialog(mode, w)
    qtbot.addWidget(dlg)
    for c in CONTROLS:
        dlg.set_free(c.id, c.id == "training.optimizer.lr")
    dlg.set_hidden("training.seed", True)
    path = str(tmp_path / "ex.playground")
    assert dlg.save_to(path)
    cp = w.controls_panel
    assert not cp.optimizer.isEnabled() and cp.seed.isHidden() and mode.dock.isVisible()
    w.new_action.trigger()  # File > New
    assert mode.exercise is None and not mode.dock.isVisible() and not mode.restart_action.isEnabled()
    for c in CONTROLS:
        for k, part in enumerate(control_parts(w, c.id)):
            assert part.toolTip() != LOCK_TIP, c.id
            assert part.isEnabled() == own[(c.id, k)], c.id
    assert not cp.seed.isHidden() and cp.seed.parentWidget().layout().labelForField(cp.seed).isVisible()
    # a spec edit after New unlocks nothing that was locked, and locks nothing
    w.controller.edit_spec(
        replace(w.controller.spec, training=replace(w.controller.spec.training, batch_size=5))
    )
    assert cp.optimizer.isEnabled() and cp.loss.isEnabled()
    # the exercise opens again as before
    assert w.open_session(path)
    assert mode.exercise is not None and mode.dock.isVisible()
    assert not cp.optimizer.isEnabled() and cp.optimizer.toolTip() == LOCK_TIP and cp.lr.isEnabled()
    assert cp.seed.isHidden()
