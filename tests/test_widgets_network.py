"""NetworkView: architecture edits through the controller (undoable), live weights, collapse, hover."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from playground.app import colors
from playground.app.panels.network import MAX_VISIBLE, NetworkView, visible_slots
from playground.spec import LayerSpec, default_spec

try:
    from playground.app.controller import ExperimentController
except ImportError:  # pragma: no cover - the app's controller is written in parallel
    from playground.app.preview import PreviewController as ExperimentController


def _spec(*units, activation="tanh"):
    spec = default_spec()
    hidden = tuple(LayerSpec(u, activation) for u in units)
    return replace(spec, network=replace(spec.network, hidden=hidden))


@pytest.fixture
def make_view(qtbot):
    made = []

    def make(spec=None):
        try:
            controller = ExperimentController(spec or default_spec(), warm_up=False)
        except TypeError:
            controller = ExperimentController(spec or default_spec())
        made.append(controller)
        view = NetworkView(controller)
        qtbot.addWidget(view)
        view.resize(900, 560)
        view.show()
        return controller, view

    yield make
    for c in made:
        if hasattr(c, "shutdown"):
            c.shutdown()


def _hue_is(color: QColor, hex_color: str) -> bool:
    ref = QColor(hex_color)
    return (color.red(), color.green(), color.blue()) == (ref.red(), ref.green(), ref.blue())


def test_add_and_remove_neuron_edit_the_spec_and_undo_restores(make_view):
    controller, view = make_view()
    box = view.layer_controls[1]
    box.plus.click()
    assert controller.spec.network.hidden[1].units == 9
    assert box.units.text() == "9 neurons"
    assert view.canvas.sizes[2] == 9
    assert controller.undo_stack.undoText() == "Add neuron to layer 2"
    view.layer_controls[0].minus.click()
    assert [layer.units for layer in controller.spec.network.hidden] == [7, 9]
    controller.undo_stack.undo()
    controller.undo_stack.undo()
    assert [layer.units for layer in controller.spec.network.hidden] == [8, 8]
    assert view.canvas.sizes[1:3] == [8, 8]
    controller.undo_stack.redo()
    assert controller.spec.network.hidden[1].units == 9


def test_minus_is_disabled_at_one_neuron(make_view):
    controller, view = make_view(_spec(1, 3))
    assert not view.layer_controls[0].minus.isEnabled()
    view.remove_neuron(0)
    assert controller.spec.network.hidden[0].units == 1


def test_add_and_remove_layer(make_view):
    controller, view = make_view()
    view.add_layer_button.click()
    assert len(controller.spec.network.hidden) == 3
    assert len(view.layer_controls) == 3
    assert view.layers_label.text() == "3 hidden layers"
    view.remove_layer_button.click()
    view.remove_layer_button.click()
    assert len(controller.spec.network.hidden) == 1
    assert len(view.canvas.sizes) == 3
    controller.undo_stack.undo()
    assert len(controller.spec.network.hidden) == 2
    assert len(view.layer_controls) == 2


def test_activation_and_dropout_controls_edit_the_spec(make_view):
    controller, view = make_view()
    box = view.layer_controls[0]
    box.activation.setCurrentText("relu")
    box.activation.activated.emit(box.activation.currentIndex())
    assert controller.spec.network.hidden[0].activation == "relu"
    assert controller.undo_stack.undoText() == "Layer 1 activation relu"
    view.layer_controls[1].dropout.setValue(0.25)
    assert controller.spec.network.hidden[1].dropout == pytest.approx(0.25)
    controller.undo_stack.undo()
    assert controller.spec.network.hidden[1].dropout == 0.0
    assert view.layer_controls[1].dropout.value() == 0.0


def test_connection_colour_follows_the_weight_sign(make_view):
    controller, view = make_view()
    params = controller.experiment.params
    params[0][0][0, 2] = 0.8
    view.apply_snapshot(SimpleNamespace(params=params, neuron_grids=None))
    conn = view.canvas.connection(0, 0, 2)
    assert _hue_is(conn.color, colors.BLUE)
    flipped = [(W.copy(), b.copy()) for W, b in params]
    flipped[0][0][0, 2] = -0.8
    view.apply_snapshot(SimpleNamespace(params=flipped, neuron_grids=None))
    conn = view.canvas.connection(0, 0, 2)
    assert _hue_is(conn.color, colors.ORANGE)
    assert conn.weight == pytest.approx(-0.8)


def test_thickness_grows_with_magnitude(make_view):
    controller, view = make_view()
    params = controller.experiment.params
    params[0][0][:] = 0.01
    params[0][0][1, 3] = 2.0
    view.apply_snapshot(SimpleNamespace(params=params, neuron_grids=None))
    assert view.canvas.connection(0, 1, 3).width > 3 * view.canvas.connection(0, 0, 0).width


def test_snapshots_through_the_controller_are_throttled(qtbot, monkeypatch):
    from playground.app.preview import PreviewController  # no worker thread sending its own snapshots

    controller = PreviewController()
    view = NetworkView(controller)
    qtbot.addWidget(view)
    calls = []
    monkeypatch.setattr(view, "apply_snapshot", lambda snap: calls.append(snap))
    snaps = [SimpleNamespace(params=controller.experiment.params, neuron_grids=None) for _ in range(20)]
    for s in snaps:
        controller.snapshot.emit(s)
    qtbot.waitUntil(lambda: len(calls) >= 1, timeout=2000)
    qtbot.wait(80)
    assert len(calls) == 1
    assert calls[-1] is snaps[-1]  # the newest snapshot wins


def test_neuron_grids_become_thumbnails(make_view):
    controller, view = make_view()
    total = sum(view.canvas.sizes[1:])
    grids = np.zeros((total, 24, 24))
    grids[0] = 1.0  # first neuron of layer 1 fully positive: blue
    view.apply_snapshot(SimpleNamespace(params=controller.experiment.params, neuron_grids=grids))
    img = view.canvas.images[(1, 0)]
    assert img.width() == 24
    assert _hue_is(img.pixelColor(5, 5), colors.BLUE)
    assert (0, 0) in view.canvas.images  # input features are drawn too (2-D toy data)


def test_wide_layer_is_drawn_collapsed(make_view):
    controller, view = make_view(_spec(200, 200))
    canvas = view.canvas
    shown = len(visible_slots(200))
    assert shown <= MAX_VISIBLE
    assert len(canvas.conns) == 2 * shown + shown * shown + shown * 1
    t0 = time.perf_counter()
    params = controller.experiment.params
    view.apply_snapshot(SimpleNamespace(params=params, neuron_grids=None))
    pm = view.grab()
    assert time.perf_counter() - t0 < 1.0
    assert not pm.isNull()
    summary = canvas.connection(1, -1, -1)
    W = params[1][0]
    assert summary.count == 190 * 190
    assert summary.weight == pytest.approx(W[5:195, 5:195].mean())
    assert "36,100 weights in layer 2" in canvas.connection_tooltip(summary)
    assert view.layer_controls[0].units.text() in ("200 neurons", "200")


def test_hover_tooltips(make_view):
    controller, view = make_view(_spec(3))
    params = controller.experiment.params
    params[0][0][0, 2] = -0.4213
    params[0][1][1] = 0.125
    view.apply_snapshot(SimpleNamespace(params=params, neuron_grids=None))
    canvas = view.canvas
    assert canvas.connection_tooltip(canvas.connection(0, 0, 2)) == "w[layer 1: x1 \u2192 h3] = -0.4213"
    assert "bias = 0.1250" in canvas.neuron_tooltip(1, 1)
    # hit-testing: the middle of the x1 -> h1 curve, and a neuron's centre
    c = canvas.connection(0, 0, 0)
    mid = QPointF((c.p0.x() + c.p1.x()) / 2, (c.p0.y() + c.p1.y()) / 2)
    assert canvas.tooltip_at(mid).startswith("w[layer 1: x1 \u2192 h1] = ")
    rect = dict(canvas.columns[1])[1]
    assert canvas.tooltip_at(rect.center()).startswith("h2 (layer 1, tanh)")
    assert canvas.neuron_tooltip(2, 0).startswith("output (output, sigmoid)")


def test_hovering_a_neuron_shows_the_large_heatmap(make_view, qtbot):
    controller, view = make_view()
    total = sum(view.canvas.sizes[1:])
    view.apply_snapshot(
        SimpleNamespace(params=controller.experiment.params, neuron_grids=np.zeros((total, 24, 24)))
    )
    rect = dict(view.canvas.columns[1])[0]
    qtbot.mouseMove(view.canvas, rect.center().toPoint())
    qtbot.waitUntil(lambda: view.canvas._popup.isVisible(), timeout=2000)
    assert view.canvas._popup.image.pixmap().width() == 200
    assert "h1 (layer 1" in view.canvas._popup.caption.text()
