"""The Step inspector view: the numbers a person reads are the step's, and Back goes back."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from playground.app.controller import ExperimentController
from playground.app.panels.controls import TrainingToolBar
from playground.app.panels.inspector import InspectorView, num
from playground.spec import ExperimentSpec

SPEC = {
    "data": {"name": "spiral", "n_classes": 2, "n_samples": 80, "train_fraction": 0.5},
    "network": {"hidden": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "tanh"}]},
    "training": {"loss": "bce", "optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 8},
}


@pytest.fixture
def view(qtbot):
    c = ExperimentController(ExperimentSpec.from_dict(SPEC), warm_up=False)
    bar = TrainingToolBar(c)
    v = InspectorView(c)
    for w in (bar, v):
        qtbot.addWidget(w)
    v.resize(900, 600)
    v.show()
    c.call_in_worker(lambda exp: exp.train(steps=13))
    v.refresh()
    yield c, v, bar
    c.shutdown()


def _fd(tr, theta, X, Y, i, h=1e-6):
    e = np.zeros(theta.size)
    e[i] = h
    return (tr.loss_and_grad(theta + e, X, Y)[0] - tr.loss_and_grad(theta - e, X, Y)[0]) / (2 * h)


@pytest.mark.parametrize("sample", [0, 3])
def test_gradient_cells_equal_finite_differences(view, sample):
    c, v, _ = view
    v.sample.setValue(sample)  # 0: the batch mean
    v.set_phase("Gradients")
    bd = v.breakdown
    assert bd.step == 13 and (bd.sample is None) == (sample == 0)
    tr = c.experiment.trainer
    X, Y = tr.X[bd.rows], tr.Y[bd.rows]
    if sample:
        X, Y = X[sample - 1 : sample], Y[sample - 1 : sample]
    assert v.param_table.rowCount() == tr.layout.n_params == 31
    assert not v.param_table.isColumnHidden(3) and v.param_table.isColumnHidden(4)
    for r in range(tr.layout.n_params):
        text = v.cell_text(r, "Gradient")
        fd = _fd(tr, bd.theta_before, X, Y, r)
        assert float(text) == pytest.approx(fd, rel=2e-5, abs=1e-9), (r, text, fd)
        assert text == num(bd.grad[r])
    assert v.cell_text(0, "Parameter") == "W[1→1]" and v.cell_text(8, "Parameter") == "b[1]"


def test_update_phase_shows_adams_terms_and_the_engines_update(view):
    c, v, _ = view
    before = c.experiment.trainer.theta.copy()
    v.step_button.click()
    v.set_phase("Update")
    after = c.experiment.trainer.theta
    cols = v.param_columns(v.breakdown)
    assert cols[4] == "Update" and "first moment m" in cols and "effective step" in cols
    for r in (0, 7, 30):
        assert v.cell_text(r, "Update") == num(after[r] - before[r])
        assert v.cell_text(r, "Value") == num(before[r])
    assert "bias correction 1 " + num(1 - 0.9**14) in v.terms_text.text()


def test_step_then_back_shows_the_earlier_step_count_and_loss(view, qtbot):
    c, v, bar = view
    c.request_snapshot()
    qtbot.waitUntil(lambda: bar.epoch_label.text() == "Epoch 2.60", timeout=5000)
    epoch0, loss0 = bar.epoch_label.text(), bar.loss_label.text()
    assert "train loss" in loss0
    panel_loss0 = v.loss_text.text()
    first = v.breakdown
    for _ in range(3):
        v.step_button.click()
    qtbot.waitUntil(lambda: bar.epoch_label.text() == "Epoch 3.20", timeout=5000)
    assert bar.loss_label.text() != loss0
    for _ in range(3):
        v.back_button.click()
    qtbot.waitUntil(lambda: bar.epoch_label.text() == epoch0, timeout=5000)
    assert bar.loss_label.text() == loss0
    assert v.loss_text.text() == panel_loss0
    assert "Step 14 (next)" in v.status.text()
    assert not v.back_button.isEnabled()
    # and stepping again gives the same numbers
    v.step_button.click()
    np.testing.assert_array_equal(v.breakdown.theta_before, first.theta_before)
    assert v.breakdown.batch_loss == first.batch_loss


def test_steps_taken_elsewhere_and_new_settings_show_the_next_step(view, qtbot):
    c, v, bar = view
    assert "Step 14 (next)" in v.status.text()
    bar.step_action.trigger()  # the toolbar's Step, not the inspector's
    qtbot.waitUntil(lambda: "Step 15 (next)" in v.status.text(), timeout=5000)
    assert v.breakdown.step == c.experiment.step == 14
    from dataclasses import replace

    spec = c.spec
    c.edit_spec(
        replace(spec, training=replace(spec.training, optimizer=replace(spec.training.optimizer, lr=0.5))),
        "lr",
    )
    qtbot.waitUntil(lambda: v.breakdown.lr == 0.5, timeout=5000)
    assert "lr 0.5" in v.status.text()


@pytest.fixture
def window(qtbot):
    from dataclasses import replace

    from PySide6.QtWidgets import QMessageBox

    from playground.app.main_window import MainWindow

    spec = ExperimentSpec.from_dict(SPEC)
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: c.engine_ready and c.last_snapshot is not None, timeout=300_000)
    yield w
    c.pause()
    w.close()
    c.shutdown()


def _drawn(canvas):
    """(layer, src, dst) -> (value, width, colour) of every connection drawn (no summaries)."""
    return {(k.layer, k.src, k.dst): (k.weight, k.width, k.color) for k in canvas.conns if not k.summary}


def test_network_drawing_shows_the_inspected_phase_and_play_gives_the_weights_back(window, qtbot):
    from playground.app import colors

    c, canvas = window.controller, window.network_view.canvas
    c.call_in_worker(lambda exp: exp.train(steps=5))
    c.request_snapshot()
    qtbot.waitUntil(lambda: c.last_snapshot.step == 5, timeout=30_000)
    assert canvas.phase is None
    window.inspector_dock.show()
    v = window.inspector_view
    qtbot.waitUntil(lambda: v.breakdown is not None and canvas.phase is not None, timeout=30_000)
    assert canvas.phase.phase == "forward"
    # forward: every neuron's number is the table's (the activations of the batch mean)
    values = canvas.neuron_values()
    bd = v.breakdown
    np.testing.assert_array_equal(values[1][0], bd.post[0])
    np.testing.assert_array_equal(values[0][0], np.ravel(bd.inputs))
    assert f"a = {bd.post[1][2]:.6g}" in canvas.neuron_tooltip(2, 2)

    v.sample.setValue(3)
    v.set_phase("Gradients")
    bd = v.breakdown
    assert canvas.phase.phase == "gradient" and bd.sample == 2
    grads = v.inspector.unflat(bd.grad)
    drawn = _drawn(canvas)
    assert len(drawn) == 2 * 4 + 4 * 3 + 3 * 1
    for (layer, i, j), (g, _width, color) in drawn.items():
        assert g == grads[layer][0][i, j]  # the number the table shows for W[i+1→j+1]
        assert color.name() == colors.signed_color(g).name()  # the sign picks the colour
    # width grows with |g|; the largest |g| is the widest line
    order = sorted(drawn.values(), key=lambda t: abs(t[0]))
    widths = [t[1] for t in order]
    assert widths == sorted(widths) and widths[-1] > 3 * widths[0]
    assert max(drawn.values(), key=lambda t: t[1])[0] == max((t[0] for t in order), key=abs)
    assert sum(1 for t in order if t[0] < 0) and sum(1 for t in order if t[0] > 0)  # both signs drawn
    # the bias gradient is on the neuron, with the table's number
    b_values = canvas.neuron_values()[1][0]
    np.testing.assert_array_equal(b_values, grads[0][1])
    row = next(r for r, (layer, label) in enumerate(v._labels) if layer == 0 and label == "b[2]")
    assert num(grads[0][1][1]) == v.cell_text(row, "Gradient")
    assert "gradient" in canvas.legend_lines()[0] and "\u2202L/\u2202w" in canvas.legend_lines()[1]
    assert canvas.legend_height() > 0

    # the update phase draws the step (predicted before it is taken, the engine's after)
    v.set_phase("Update")
    assert canvas.phase.phase == "update"
    assert _drawn(canvas)[(1, 2, 1)][0] == v.inspector.unflat(v.breakdown.predicted)[1][0][2, 1]
    v.step_button.click()
    update = v.inspector.unflat(v.breakdown.update)
    assert _drawn(canvas)[(0, 1, 3)][0] == update[0][0][1, 3]

    # Play: the drawing follows the training's weights again
    c.play()
    qtbot.waitUntil(lambda: canvas.phase is None, timeout=30_000)
    assert canvas.legend_height() == 0
    for (layer, i, j), (w_, _, color) in _drawn(canvas).items():
        assert w_ == canvas.params[layer][0][i, j] and color.name() == colors.signed_color(w_).name()
    c.pause()  # paused again: the inspector shows the next step, and so does the drawing
    qtbot.waitUntil(lambda: canvas.phase is not None and canvas.phase.phase == "update", timeout=30_000)
    window.inspector_dock.hide()  # closing the inspector gives the weights back too
    assert canvas.phase is None and canvas.legend_height() == 0
    for (layer, i, j), (w_, _, color) in _drawn(canvas).items():
        assert w_ == canvas.params[layer][0][i, j]
        assert color.name() == colors.signed_color(w_).name()
