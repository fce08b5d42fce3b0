"""The layer stack editor: building W4 by clicks, shapes and parameter counts as shapes.py
gives them, invalid stacks refused with their reason, undo; the data panel's image sets."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from playground.app.controller import ExperimentController
from playground.app.panels.data import DataPanel
from playground.app.panels.layers import LayersPanel
from playground.shapes import format_shape, layer_shapes
from playground.spec import default_spec


@pytest.fixture
def panels(qtbot):
    c = ExperimentController(default_spec(), warm_up=False)
    layers, data = LayersPanel(c), DataPanel(c)
    for w in (layers, data):
        qtbot.addWidget(w)
        w.show()
    messages: list[str] = []
    c.statusMessage.connect(messages.append)
    yield c, layers, data, messages
    c.shutdown()


def _add(layers: LayersPanel, kind: str) -> None:
    layers.add_actions[kind].trigger()


def build_w4(layers: LayersPanel) -> None:
    """W4 by clicks, from whatever dense stack is there: remove it, then add and edit."""
    while layers.hidden():
        layers.select_layer(0)
        layers.remove_button.click()
    _add(layers, "conv2d")  # starts as 8@3x3 same relu
    _add(layers, "maxpool2d")
    _add(layers, "conv2d")
    layers.fields["filters"].setValue(16)
    _add(layers, "maxpool2d")
    _add(layers, "flatten")


def test_build_w4_without_json_shows_shapes_py_rows(panels):
    c, layers, data, _ = panels
    assert [layer.kind for layer in c.spec.network.hidden] == ["dense", "dense"]  # the default
    data.image_buttons["digits"].click()
    assert c.spec.data.kind == "image" and c.experiment.dataset.input_shape == (1, 8, 8)
    assert (c.spec.training.loss, c.spec.network.output_activation) == ("cce", "softmax")
    build_w4(layers)
    hidden = c.spec.network.hidden
    assert [(h.kind, h.filters if h.kind == "conv2d" else None) for h in hidden] == [
        ("conv2d", 8),
        ("maxpool2d", None),
        ("conv2d", 16),
        ("maxpool2d", None),
        ("flatten", None),
    ]
    assert all(
        h.kernel_size == 3 and h.padding == "same" and h.activation == "relu"
        for h in hidden
        if h.kind == "conv2d"
    )
    rows = layers.rows_text()
    shown = [(shape, params) for _, shape, params in rows[1:]]  # after the input row
    assert rows[0][1] == "1x8x8"
    assert shown == [
        ("8x8x8", "80"),
        ("8x4x4", "0"),
        ("16x4x4", "1,168"),
        ("16x2x2", "0"),
        ("64", "0"),
        ("10", "650"),
    ]
    expected = layer_shapes((1, 8, 8), hidden, 10)
    assert [(format_shape(r.shape), f"{r.n_params:,}") for r in expected] == shown
    assert "1,898 parameters" in layers.total_label.text()
    assert layers.error_label.isHidden()


def test_invalid_stack_shows_reason_and_play_is_refused(panels, qtbot):
    c, layers, data, messages = panels
    data.image_buttons["digits"].click()
    build_w4(layers)
    applied = c.spec.network.hidden
    layers.select_layer(2)  # the second conv: 8x4x4 in; a 5x5 'valid' kernel does not fit
    layers.fields["padding"].setCurrentText("valid")
    layers.fields["kernel_size"].setValue(5)
    assert c.spec.network.hidden[2].padding == "valid"  # valid: 3x3 on 4x4 still fits
    assert c.spec.network.hidden[2].kernel_size == 3  # 5x5 did not: a draft, not applied
    assert not layers.error_label.isHidden()
    reason = layers.error_label.text()
    assert "hidden[2].kernel_size" in reason and "larger than its 4x4 input" in reason
    assert layers.hidden()[2].kernel_size == 5  # what the editor shows
    assert [r[1] for r in layers.rows_text()][3] == "invalid"
    c.play()
    assert not c.running
    assert any("Cannot train this stack" in m and "larger than its 4x4 input" in m for m in messages)
    layers.fields["kernel_size"].setValue(3)  # fixed: applied, Play works again
    assert layers.error_label.isHidden() and layers.can_train()
    assert c.spec.network.hidden[2].kernel_size == 3
    assert c.spec.network.hidden != applied or c.spec.network.hidden[2].padding == "valid"


def test_conv_after_flatten_and_on_toy_data_say_why(panels):
    c, layers, data, _ = panels
    _add(layers, "conv2d")  # on the toy spiral: flat data
    assert "needs image data" in layers.error_label.text()
    assert [h.kind for h in c.spec.network.hidden] == ["dense", "dense"]
    c.undo_stack.undo() if c.undo_stack.canUndo() else None
    layers.remove_layer(2)  # drop the draft's conv: valid again, nothing to apply
    assert layers.can_train() and layers.error_label.isHidden()
    data.image_buttons["digits"].click()
    build_w4(layers)
    layers.select_layer(4)  # flatten
    _add(layers, "maxpool2d")  # after the flatten
    assert "cannot follow the flatten layer hidden[4]" in layers.error_label.text()
    layers.move_layer(-1)  # before the flatten: 16x2x2 -> 16x1x1, fine
    assert layers.can_train()
    assert [h.kind for h in c.spec.network.hidden][-2:] == ["maxpool2d", "flatten"]
    assert layers.rows_text()[5][1] == "16x1x1"


def test_undo_restores_the_previous_stack_and_the_editor_follows(panels):
    c, layers, data, _ = panels
    data.image_buttons["digits"].click()
    build_w4(layers)
    before = c.spec.network.hidden
    layers.select_layer(0)
    layers.fields["filters"].setValue(12)
    assert c.spec.network.hidden[0].filters == 12
    assert layers.rows_text()[1][1:] == ("12x8x8", "120")
    c.undo_stack.undo()
    assert c.spec.network.hidden == before
    assert layers.rows_text()[1][1:] == ("8x8x8", "80")
    layers.select_layer(4)
    layers.remove_button.click()  # flatten removed: the output flattens implicitly
    assert [h.kind for h in c.spec.network.hidden][-1] == "maxpool2d"
    assert "(flatten before the output)" in layers.rows_text()[-2][0]
    c.undo_stack.undo()
    assert c.spec.network.hidden == before


def test_dense_networks_and_switching_data_back(panels):
    c, layers, data, _ = panels
    rows = layers.rows_text()
    assert rows[0][1] == "2" and rows[1][1:] == ("8", "24") and rows[2][1:] == ("8", "72")
    layers.select_layer(1)
    layers.fields["units"].setValue(5)
    assert c.spec.network.hidden[1].units == 5
    layers.fields["activation"].setCurrentText("relu")
    assert c.spec.network.hidden[1].activation == "relu"
    data.image_buttons["digits"].click()
    assert layers.rows_text()[1][:2] == ("  (flatten before the dense layer)", "64")
    build_w4(layers)
    data.thumb_buttons["circle"].click()  # back to toy data: the image layers go
    assert c.spec.data.kind == "toy"
    assert [h.kind for h in c.spec.network.hidden] == ["dense", "dense"]
    assert layers.can_train()
    c.undo_stack.undo()  # digits + W4 again, in one step
    assert c.spec.data.kind == "image" and c.spec.network.hidden[0].kind == "conv2d"
    for name in ("bars", "shapes"):
        data.image_buttons[name].click()
        assert c.spec.data.name == name and c.experiment.dataset.is_image
        assert layers.can_train()
    assert c.experiment.dataset.input_shape == (1, 12, 12)
