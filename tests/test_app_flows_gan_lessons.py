"""Ordinary sequences of a person's actions in GAN mode, lessons, race mode, the classroom
and export, and what the person sees after each: found broken by using the app as a new
user would (each test is one such sequence, pinned after its fix)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from tests.test_app_race import small_spec as experiment_spec  # noqa: E402
from tests.test_gan import small_spec as gan_spec  # noqa: E402

TIMEOUT = 300_000  # ms: a cold compile on a busy machine is slow; this is no speed check


def test_main_window_without_a_controller_opens(qtbot, monkeypatch):
    """``MainWindow()`` (no controller given) builds its own experiment and opens (it read
    the argument ``None`` for whether the engine was ready and raised)."""
    from playground.app import main_window
    from playground.app.controller import ExperimentController

    monkeypatch.setattr(main_window, "default_spec", experiment_spec)
    w = main_window.MainWindow()
    qtbot.addWidget(w)
    assert isinstance(w.controller, ExperimentController)
    assert w.controller.spec.data.n_samples == 80
    qtbot.waitUntil(lambda: w.controller.engine_ready, timeout=TIMEOUT)
    w.close()
    w.controller.shutdown()


def test_closing_gan_mode_stops_the_loss_race_and_its_dialog_races_the_current_networks(qtbot):
    """GAN mode: Race losses…, Run, then change the networks in the form and close GAN mode.
    The dialog's next Run races the changed networks, and closing GAN mode closes the dialog
    and stops its race (it raced on, and quitting then aborted: a QThread destroyed while
    running)."""
    from playground.app.gan.controller import GanController
    from playground.app.gan.window import GanWindow

    c = GanController(gan_spec())
    w = GanWindow(c)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.last_snapshot is not None, timeout=TIMEOUT)
    dialog = w.view.race_button.click() or w.view.race_dialog
    assert dialog is not None and dialog.isVisible()
    form = w.view.settings
    form.boxes["generator"].layers.setText("7, 5")
    form.boxes["generator"].layers.editingFinished.emit()
    assert [h.units for h in c.spec.generator.hidden] == [7, 5]
    for name, box in dialog.boxes.items():
        box.setChecked(name == "minimax")
    dialog.iterations.setValue(1_000_000)
    dialog.run_button.click()
    assert dialog.view.running
    raced = dialog.view.variants[0][2]
    assert [h.units for h in raced.generator.hidden] == [7, 5]  # the networks of now
    qtbot.waitUntil(lambda: dialog.last is not None, timeout=TIMEOUT)
    w.close()
    assert not dialog.view.running and not dialog.isVisible()
    assert w.view.race_dialog is None
    assert not c.thread.isRunning()
