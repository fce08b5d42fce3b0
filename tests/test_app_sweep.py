"""Tools > Sweep…: a tiny 2x2 sweep runs in the background and shows its table and plot."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from test_app_race import TIMEOUT, close, make_window, small_spec

from playground.app.dialogs.sweep import SweepDialog


@pytest.fixture
def dialog(qtbot):
    dlg = SweepDialog(small_spec())
    qtbot.addWidget(dlg)
    yield dlg
    dlg.stop()
    assert not dlg.running()


def fill_2x2(dlg, steps=30):
    dlg.path_combos[0].setCurrentText("training.optimizer.lr")
    dlg.value_edits[0].setText("0.01, 0.1")
    dlg.second_check.setChecked(True)
    dlg.path_combos[1].setCurrentText("training.batch_size")
    dlg.value_edits[1].setText("10, 40")
    dlg.seeds_spin.setValue(1)
    dlg.steps_spin.setValue(steps)
    dlg.workers_spin.setValue(1)


def test_tiny_2x2_sweep_shows_four_rows_and_a_plot(dialog, qtbot, tmp_path):
    fill_2x2(dialog)
    assert dialog.grid() == {"training.optimizer.lr": [0.01, 0.1], "training.batch_size": [10, 40]}
    assert dialog.start()
    assert not dialog.run_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=TIMEOUT)
    assert dialog.model.rowCount() == 4
    headers = [
        dialog.model.headerData(c, Qt.Orientation.Horizontal) for c in range(dialog.model.columnCount())
    ]
    assert headers[:2] == ["learning rate", "batch size"] and "test accuracy" in headers
    cells = {(dialog.model.item(r, 0).text(), dialog.model.item(r, 1).text()) for r in range(4)}
    assert cells == {("0.01", "10"), ("0.01", "40"), ("0.1", "10"), ("0.1", "40")}
    assert dialog.svg.renderer().isValid()
    assert dialog.progress.value() == 4 and dialog.run_button.isEnabled()
    assert dialog.save_button.isEnabled() and dialog.best_button.isEnabled()
    out = tmp_path / "sweep.csv"
    assert dialog.save_results(str(out))
    with open(out, newline="") as f:
        assert len(list(csv.DictReader(f))) == 4
    assert dialog.save_results(str(tmp_path / "sweep.json"))
    opened = []
    dialog.openSpec.connect(opened.append)
    dialog.open_best()
    (spec,) = opened
    best = dialog.best_params()
    assert spec.training.optimizer.lr == best["training.optimizer.lr"]
    assert spec.training.batch_size == best["training.batch_size"]


def test_cancel_stops_a_sweep_early(dialog, qtbot):
    dialog.path_combos[0].setCurrentText("training.optimizer.lr")
    dialog.value_edits[0].setText("0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08")
    dialog.steps_spin.setValue(3000)
    dialog.workers_spin.setValue(1)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=TIMEOUT)
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=TIMEOUT)
    assert 1 <= len(dialog.result.rows) < 8
    assert "cancelled" in dialog.status.text()


def test_bad_grid_is_reported_not_run(dialog):
    dialog.value_edits[0].setText(" , ")
    assert not dialog.start()
    assert "value" in dialog.status.text()


def test_tools_menu_opens_the_dialog_and_best_goes_to_the_main_window(qtbot):
    w = make_window(qtbot, small_spec())
    try:
        dlg = w.show_sweep_dialog()
        assert dlg.isVisible() and dlg.base == w.controller.spec
        dlg.openSpec.emit(w.controller.spec.with_changes("training.optimizer.lr", 0.2))
        assert w.controller.spec.training.optimizer.lr == 0.2
    finally:
        close(w)
