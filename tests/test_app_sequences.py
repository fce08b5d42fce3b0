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
