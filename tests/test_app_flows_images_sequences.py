"""Ordinary sequences of actions on image and sequence data in the real window, and what the
person sees after each: every view drawn with the numbers the predictions give.

Each test is one user's path (pick data, edit layers, train, open a dock, switch back) found
to leave a view wrong, blank or frozen; the assertions are what the screen shows. The app runs
on the numpy twins (as in its first seconds from an empty numba cache): nothing compiles.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.engine.losses import decision_threshold, decode_predictions
from playground.spec import default_spec

LIVE = 60_000  # ms: generous waits for the worker on a busy machine


@pytest.fixture(autouse=True)
def _numpy_engine(monkeypatch):
    """The app as in its first seconds from an empty numba cache: quick start, the kernels
    never ready, so everything trains and predicts on the numpy twins (the same numbers to
    ~1e-12) and this file compiles nothing."""
    from playground.engine import readiness

    readiness._reset_for_tests()
    readiness.set_start_mode("quick")
    monkeypatch.setattr(readiness, "kernels_ready", lambda *_a, **_k: False)
    monkeypatch.setattr(readiness, "progress", lambda dtype, *_a, **_k: readiness.Progress(str(dtype)))
    yield
    readiness._reset_for_tests()


@pytest.fixture
def window(qtbot):
    c = ExperimentController(default_spec(), warm_up=False)
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    c.pause()
    w.close()
    c.shutdown()


def _predicted(c, X):
    """The classes the trainer predicts for ``X`` (as every view should count them)."""
    out = c.call_in_worker(lambda e: e.trainer.predict(X), timeout=LIVE / 1000)
    spec = c.spec
    return decode_predictions(out, decision_threshold(spec.training.loss, spec.network.output_activation))


def test_text_data_with_the_metrics_dock_open_stays_live_and_counts_right(window, qtbot):
    """Text data (70 characters, a 70 x 70 confusion matrix) with View > Metrics open: each
    refresh re-measured every column once per changed cell and froze the window for minutes;
    the notes (one per class never predicted) pushed the tables out of the dock."""
    c, mv = window.controller, window.metrics_view
    window.metrics_dock.show()
    window.data_panel.select_sequences("text")
    assert c.spec.data.name == "text" and [h.kind for h in c.spec.network.hidden] == ["lstm"]
    window.layers_panel.remove_layer(0)  # a dense layer on the flattened window
    assert c.spec.network.hidden == () and c.experiment.dataset.n_classes == 70
    c.play()
    qtbot.waitUntil(lambda: mv.report is not None and mv.report["step"] > 0, timeout=LIVE)
    first = mv.report["step"]
    # a second live refresh arrives while training: the window keeps answering
    qtbot.waitUntil(lambda: mv.report["step"] > first, timeout=LIVE)
    c.pause()
    qtbot.waitUntil(lambda: not c.running, timeout=LIVE)
    mv.request()
    exp = c.experiment
    assert mv.report["step"] == exp.step
    assert mv.title.text().startswith(f"Metrics at step {exp.step:,} \u00b7 {exp.dataset.n_test:,} rows")
    classes = mv.report["splits"]["test"]["classes"]
    k = len(classes)
    assert mv.confusion.rowCount() == k and mv.confusion.columnCount() == k + 1
    pred, true = _predicted(c, exp.dataset.X_test), exp.dataset.y_test
    expected = np.zeros((exp.dataset.n_classes, exp.dataset.n_classes), np.int64)
    np.add.at(expected, (true, pred), 1)
    index = {name: i for i, name in enumerate(exp.dataset.class_names)}
    shown = np.array(
        [[int(mv.confusion.item(r, j + 1).text().replace(",", "")) for j in range(k)] for r in range(k)]
    )
    rows = [index[name] for name in classes]
    assert np.array_equal(shown, expected[np.ix_(rows, rows)])
    accuracy = float(np.mean(pred == true))
    assert f"accuracy {accuracy:.4f}" in mv.title.text()
    # the notes stay a few lines; all of them in the tooltip
    notes = mv.report["splits"]["test"]["notes"] + mv.report["notes"]
    assert len(notes) > 4  # many characters never predicted this early
    assert len(mv.notes.text().splitlines()) <= 4 and "more notes" in mv.notes.text()
    assert mv.notes.toolTip().splitlines() == notes
    assert mv.table.height() > mv.notes.height()


def test_bars_tiles_name_the_predicted_class_inside_the_tile(window, qtbot):
    """Digits, then bars: each tile's label ('horizontal', 'vertical') ran over the next tiles,
    a row of labels read as one smear. Short names now, with the key in the title."""
    c, iv = window.controller, window.images_view
    window.data_panel.select_images("digits")
    window.data_panel.select_images("bars")
    assert window.result_stack.currentWidget() is iv
    c.step_once()
    qtbot.waitUntil(lambda: c.experiment.step >= 1, timeout=LIVE)
    iv.request()
    s = iv.state
    assert s is not None and s.class_names == ["horizontal", "vertical"]
    exp = c.experiment
    pred = _predicted(c, exp.dataset.X_test)
    assert np.array_equal(s.predicted, pred)
    right = int(np.sum(pred == exp.dataset.y_test))
    assert (
        f"{right / len(pred):.1%} of {len(pred)} test images right, {len(pred) - right} wrong"
        in iv.summary.text()
    )
    assert "h = horizontal, v = vertical" in iv.samples.title.text
    labels = [t for t in iv.samples.labels if t.isVisible()]
    assert len(labels) == len(iv.samples.indices) == 48
    assert [t.textItem.toPlainText() for t in labels] == ["hv"[int(p)] for p in pred[:48]]
    vb = iv.samples.vb
    for t, (y0, x0, h, w) in zip(labels, iv.samples.boxes, strict=True):
        tile = vb.mapViewToScene(pg_rect(x0, y0, w, h)).boundingRect()
        assert t.textItem.boundingRect().width() <= tile.width() + 2  # the label fits its tile
    iv.tabs.setCurrentWidget(iv.wrong)
    if iv.wrong.indices:
        i = iv.wrong.indices[0]
        assert iv.wrong.labels[0].textItem.toPlainText() == f"{'hv'[s.predicted[i]]} ({'hv'[s.true[i]]})"
    # back to digits: digits label themselves, no key
    window.data_panel.select_images("digits")
    iv.request()
    assert iv.state.class_names[3] == "3" and "=" not in iv.samples.title.text


def pg_rect(x, y, w, h):
    from PySide6.QtCore import QRectF

    return QRectF(x, y, w, h)


def test_truncated_bptt_then_text_data_the_sequence_views_show_every_step(window, qtbot):
    """Sine with an LSTM, Backprop through time 5 in the Layers panel, then text data: the
    gradient-per-step plot zoomed onto the last 5 steps (the 15 or 35 steps the truncation
    leaves without gradient were cropped away, the curve looked like a healthy LSTM's), and
    a space predicted by the text model read 'predicted  (wrong)'."""
    c, sv = window.controller, window.sequences_view
    window.data_panel.select_sequences("sine")
    window.layers_panel.set_field(0, "bptt", 5)
    assert c.spec.network.hidden[0].bptt == 5 and window.result_stack.currentWidget() is sv
    c.step_once()
    qtbot.waitUntil(lambda: c.experiment.step >= 1, timeout=LIVE)
    sv.request()
    ((label, g),) = sv.state.grad_norm
    assert label == "1. lstm" and len(g) == 20
    assert np.all(g[:15] == 0) and np.all(g[15:] > 0)  # truncated: only the last 5 steps
    x, _y = sv.grad_curves[0].getData()
    assert list(x) == [16, 17, 18, 19, 20]
    (x0, x1), _ = sv.grad_plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 1 and x1 >= 20  # the whole sequence on the axis: the gap is visible
    assert "the first step gets 0.0e+00 of the last step's gradient" in sv.summary.text()
    # text data keeps the layer (and its truncation); its characters are quoted
    window.data_panel.select_sequences("text")
    assert c.spec.network.hidden[0].kind == "lstm" and c.spec.network.hidden[0].bptt == 5
    c.step_once()
    qtbot.waitUntil(lambda: c.experiment.step >= 1, timeout=LIVE)
    sv.request()
    s = sv.state
    assert len(s.grad_norm[0][1]) == c.experiment.dataset.X_test.shape[1] == 40
    (x0, x1), _ = sv.grad_plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 1 and x1 >= 40
    right = "right" if s.predicted == s.target else "wrong"
    assert sv.answer.text() == f"target {s.target!r} \u00b7 predicted {s.predicted!r} ({right})"
    # an untrained model writes line breaks among its 160 characters (seeded: the same each run)
    assert sv.series_stack.currentIndex() == 2 and "\n" in s.seed_text + s.generated
    assert sv.text_view.toPlainText() == s.seed_text + s.generated  # line breaks kept


def test_dark_theme_after_the_sequence_views_were_made_recolours_them(window, qtbot):
    """View > Theme > Dark with sine data showing: the live plots went dark, the sequence
    views kept their white plots (and the truth curve stayed near-black ink)."""
    from playground.app import theme

    c, sv = window.controller, window.sequences_view
    window.data_panel.select_sequences("sine")
    try:
        window.set_theme("dark", persist=False)
        dark = theme.current()
        assert dark.name == "dark"
        for w in sv.plot_widgets():
            assert w.backgroundBrush().color().name() == dark.plot_bg
            assert pg.mkColor(w.getPlotItem().getViewBox().state["background"]).name() == dark.plot_bg
        assert sv.truth_curve.opts["pen"].color().name() == dark.plot_fg
        img = sv.series_plot.grab().toImage()
        corner = img.pixelColor(2, 2).name()
        assert corner == dark.plot_bg  # what the person sees: the plot is dark
    finally:
        window.set_theme("light", persist=False)
    light = theme.current()
    assert sv.grad_plot.backgroundBrush().color().name() == light.plot_bg
    assert sv.truth_curve.opts["pen"].color().name() == "#1f2328"  # dark ink again
    assert c.spec.data.name == "sine"


def test_text_after_a_layer_edit_and_pause_is_the_final_weights_and_survives_save_and_open(
    window, qtbot, tmp_path, monkeypatch
):
    """Text data, a layer edit, temperature 0, Play, Pause: the text shown was the one written
    by the network before the edit at temperature 0.7 (it rode along until the next write),
    and the pause kept the last snapshot's. Now the edit and the pause write it afresh: the
    text of the final weights at 0, the same after saving and opening the session. (Text is
    written at most TEXT_HZ times a second while training; set so it never is by timing.)"""
    from playground.app.panels import sequences as seq

    monkeypatch.setattr(seq, "TEXT_HZ", 1e-6)
    c, sv = window.controller, window.sequences_view
    window.data_panel.select_sequences("text")
    old_text = sv.text_view.toPlainText()
    assert len(old_text) > 160  # the seed and the text written at 0.7
    window.layers_panel.set_field(0, "units", 8)  # a new network: the old text must not ride along
    sv.temperature_spin.setValue(0.0)
    exp = c.experiment
    c.play()
    qtbot.waitUntil(lambda: exp.step >= 3 and sv.state is not None and sv.state.step >= 1, timeout=LIVE)
    c.pause()
    qtbot.waitUntil(lambda: sv.state is not None and sv.state.step == exp.step, timeout=LIVE)
    assert c.experiment is exp and not c.running
    ref = c.call_in_worker(lambda e: sequence_state_of(e))
    s = sv.state
    assert s.temperature == 0.0 and s.generated == ref.generated and len(ref.generated) == 160
    assert sv.text_view.toPlainText() == ref.seed_text + ref.generated != old_text
    shown, summary = sv.text_view.toPlainText(), sv.summary.text()
    assert summary.startswith(f"Step {exp.step:,}: test sequence 0")
    path = tmp_path / "text.playground"
    assert window.files.save_session(str(path))
    window.files.new_experiment()
    assert window.result_stack.currentWidget() is window.boundary_view
    assert window.files.open_session(str(path))
    qtbot.waitUntil(lambda: sv.state is not None and sv.state.step == exp.step, timeout=LIVE)
    assert window.result_stack.currentWidget() is sv and sv.temperature_spin.value() == 0.0
    assert sv.text_view.toPlainText() == shown and sv.summary.text() == summary


def sequence_state_of(exp):
    """The sequence views' state of ``exp``'s weights now, sample 0, temperature 0."""
    from playground.app.panels.sequences import sequence_state

    return sequence_state(exp, sample=0, temperature=0.0)
