"""The app on sequence data: the data panel's sequence sets (an LSTM when the network has no
recurrent layer), the sequence views' numbers equal the probe's, race thumbnails show the
gradient through time, and switching back to flat data brings the boundary back."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.engine.twin import probe_recurrent
from playground.spec import default_spec


@pytest.fixture(scope="module", autouse=True)
def _compiled_blocks():
    """Compile the recurrent networks' kernels here, with no timeout: from an empty numba cache
    on a busy machine that takes minutes, longer than the views' waits (a fresh-clone CI run
    timed out on the first step)."""
    from playground.engine.warmup import compile_dtype
    from playground.experiment import Experiment

    compile_dtype("float64-blocks")
    exp = Experiment.from_spec(
        {
            "data": {"kind": "sequence", "name": "copy", "n_samples": 64},
            "network": {"hidden": [{"kind": "lstm", "units": 4}], "output_activation": "softmax"},
            "training": {"loss": "cce", "batch_size": 16},
        }
    )
    exp.train(steps=2)
    exp.trainer.predict(exp.dataset.X_test[:3], hidden=True)
    exp.evaluate()


@pytest.fixture
def window(qtbot):
    c = ExperimentController(default_spec(), warm_up=False)
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    yield w
    c.pause()
    w.close()
    c.shutdown()


def test_copy_task_from_the_data_panel_trains_an_lstm_and_shows_its_gradients(window, qtbot):
    c = window.controller
    window.data_panel.select_sequences("copy")
    spec = c.spec
    assert spec.data.kind == "sequence" and spec.data.lag == 20
    assert [h.kind for h in spec.network.hidden] == ["lstm"] and spec.network.hidden[0].forget_bias == 1.0
    assert spec.training.loss == "cce" and spec.network.output_activation == "softmax"
    assert window.result_stack.currentWidget() is window.sequences_view
    assert not window.network_view.drawable()
    assert window.layers_panel.rows_text()[1][:2] == ("1. lstm 32", "32")
    c.step_once()
    v = window.sequences_view
    qtbot.waitUntil(lambda: c.experiment.step >= 1, timeout=20000)
    v.request()
    s = v.state
    assert s is not None and s.step == c.experiment.step
    exp = c.experiment
    ref = c.call_in_worker(lambda e: probe_recurrent(e.trainer, e.dataset.X_test[:64], e.Y_test[:64]))
    ((label, g),) = s.grad_norm
    assert label == "1. lstm" and len(g) == exp.dataset.X_train.shape[1] == 22
    assert np.allclose(g, ref[0]["grad_norm"], rtol=1e-12, atol=0)
    assert s.layers[0]["hidden"].shape == (22, 32)
    assert set(s.layers[0]["gates"]) == {"input", "forget", "cell", "output"}
    pts = v.grad_curves[0].getData()
    assert len(pts[0]) == int((g > 0).sum())
    # back to the spiral: the recurrent layer goes, the boundary comes back
    c.undo_stack.undo()
    assert c.spec.data.kind == "toy" and window.result_stack.currentWidget() is window.boundary_view
    assert all(h.kind == "dense" for h in c.spec.network.hidden)


def test_race_rnn_vs_lstm_thumbnails_show_the_gradient_through_time(window, qtbot):
    window.data_panel.select_sequences("copy")
    layers = [
        {"kind": "rnn", "units": 32},
        {"kind": "lstm", "units": 32, "forget_bias": 1.0},
        {"kind": "gru", "units": 32},
    ]
    assert window.start_race([{"network.hidden.0": layer} for layer in layers])
    race, view = window.race, window.race_view
    race.play()
    qtbot.waitUntil(lambda: all(g is not None for g in race.grids), timeout=30000)
    race.pause()
    for g, thumb in zip(race.grids, view.thumbs, strict=True):
        assert g.shape == (22,) and thumb.is_sequence
        x, y = thumb.curve.getData()
        assert len(x) == int((g > 0).sum())
        assert "of the last's gradient" in thumb.title.text()


def test_forecast_beyond_the_data_and_text_written_as_it_trains(qtbot):
    from playground.app.panels.sequences import FORECAST_STEPS, SequencesView, sequence_state
    from playground.data.sequences import rollout
    from playground.data.text import sample_text
    from playground.experiment import Experiment
    from playground.spec import ExperimentSpec

    sines = Experiment(
        ExperimentSpec.from_dict(
            {
                "data": {"kind": "sequence", "name": "sines", "length": 20, "n_samples": 300},
                "network": {"hidden": [{"kind": "gru", "units": 8}], "output_activation": "linear"},
                "training": {"loss": "mse"},
            }
        )
    )
    sines.train(steps=20)
    s = sequence_state(sines)
    assert s.forecast.shape == (FORECAST_STEPS,) and s.forecast_time[0] == len(sines.dataset.info["series"])
    assert np.allclose(
        s.forecast, rollout(sines.trainer.predict, sines.dataset, FORECAST_STEPS), rtol=0, atol=0
    )
    assert len(s.truth) == len(s.prediction) == len(s.time) == sines.dataset.n_test

    c = ExperimentController(default_spec(), warm_up=False)
    try:
        v = SequencesView(c)
        qtbot.addWidget(v)
        v.show()
        text = ExperimentSpec.from_dict(
            {
                "data": {"kind": "sequence", "name": "text", "length": 12, "n_samples": 300},
                "network": {
                    "hidden": [{"kind": "lstm", "units": 8, "forget_bias": 1.0}],
                    "output_activation": "softmax",
                },
                "training": {"loss": "cce"},
            }
        )
        assert c.edit_spec(text, "text")
        v.temperature_spin.setValue(0.0)  # the most likely character each time: no randomness
        exp = c.experiment
        info = exp.dataset.info
        expected = c.call_in_worker(
            lambda e: sample_text(e.trainer.predict, info["alphabet"], info["seed_text"], 160, 0.0)
        )
        assert v.state.generated == expected and len(expected) == 160
        assert v.series_stack.currentIndex() == 2 and expected[:20] in v.text_view.toPlainText()
    finally:
        c.shutdown()


def test_a_csv_time_series_from_the_import_dialog_trains_an_lstm(window, qtbot):
    from playground.app.dialogs.csv import CsvImportDialog
    from playground.data.build import datasets_dir

    dlg = CsvImportDialog(str(datasets_dir() / "co2_weekly.csv"))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.table is not None and not dlg.is_busy(), timeout=10000)
    dlg.set_target("co2_ppm")
    for col in range(len(dlg.table.names)):
        if dlg.table.names[col] != "co2_ppm":
            dlg.set_role(col, "ignore")
    dlg.series_check.setChecked(True)
    dlg.window_spin.setValue(26)
    dlg.validate()
    qtbot.waitUntil(dlg.is_valid, timeout=10000)
    assert "26" not in dlg.error_label.text() and "train" in dlg.info.text()
    data = dlg.data_spec()
    assert data.window == 26 and data.horizon == 1 and data.target == "co2_ppm" and data.columns == ()
    dlg.shutdown()
    window.data_panel.import_csv(data, dlg.task_summary())
    c = window.controller
    assert c.spec.data.window == 26 and [h.kind for h in c.spec.network.hidden] == ["lstm"]
    assert c.spec.training.loss in ("mse", "mae", "huber") and c.experiment.dataset.X_train.shape[1:] == (
        26,
        1,
    )
    assert window.result_stack.currentWidget() is window.sequences_view
    window.sequences_view.request()
    s = window.sequences_view.state
    assert s.truth is not None and s.forecast is not None  # the series over time, and beyond it
