"""The image views: confusion matrix = the trainer's predictions, a clicked sample's feature
maps with every block's shape, filters, the misclassified gallery; flat data shows a message."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from playground.app.controller import ExperimentController
from playground.app.panels.images import ImageFeed, ImagesView, image_state
from playground.spec import ExperimentSpec, default_spec

W4 = {
    "data": {"kind": "image", "name": "digits", "train_fraction": 0.75},
    "network": {
        "hidden": [
            {"kind": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"kind": "maxpool2d", "size": 2},
            {"kind": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"kind": "maxpool2d", "size": 2},
            {"kind": "flatten"},
        ],
        "output_activation": "softmax",
    },
    "training": {"loss": "cce", "optimizer": {"name": "adam", "lr": 0.003}, "batch_size": 32},
}


@pytest.fixture(scope="module", autouse=True)
def _compiled_blocks():
    """Compile the CNN's kernels here, with no timeout: from an empty numba cache on a busy
    machine that takes minutes, longer than a worker call waits."""
    from playground.experiment import Experiment

    exp = Experiment(ExperimentSpec.from_dict(W4))
    exp.train(steps=2)
    exp.trainer.predict(exp.dataset.X_test[:3], hidden=True)
    exp.evaluate()


@pytest.fixture
def view(qtbot):
    c = ExperimentController(ExperimentSpec.from_dict(W4), warm_up=False)
    v = ImagesView(c)
    qtbot.addWidget(v)
    v.resize(1100, 640)
    v.show()
    yield c, v
    c.shutdown()


def _train(c, steps=300):
    c.call_in_worker(lambda exp: exp.train(steps=steps))


def test_confusion_matrix_counts_equal_the_trainers_predictions(view, qtbot):
    c, v = view
    _train(c)
    v.tabs.setCurrentWidget(v.confusion)
    v.request()
    exp = c.experiment
    out = c.call_in_worker(lambda e: e.trainer.predict(e.dataset.X_test))
    pred, true = np.argmax(out, axis=1), exp.dataset.y_test
    expected = np.zeros((10, 10), np.int64)
    np.add.at(expected, (true, pred), 1)
    assert np.array_equal(v.confusion.counts, expected)
    assert expected.sum() == exp.dataset.n_test == 450
    for t, p in [(0, 0), (3, 3), (8, 1)]:
        n = int(expected[t, p])
        assert v.confusion.cell_text(t, p) == (str(n) if n else "")
    acc = np.trace(expected) / expected.sum()
    assert f"{acc:.1%} of 450 test images right" in v.summary.text()
    assert v.confusion.plot.getAxis("bottom")._tickLevels[0][3] == (3, "3")


def test_clicking_a_sample_shows_its_feature_maps_for_every_block(view, qtbot):
    c, v = view
    _train(c, 100)
    v.request()
    assert v.pages.currentIndex() == 1 and v.samples.indices == list(range(48))
    v.tabs.setCurrentWidget(v.filters)
    # a real click on the 6th tile (row 0, column 5)
    y0, x0, h, w = v.samples.boxes[5]
    scene = v.samples.vb.mapViewToScene(QPointF(x0 + w / 2, y0 + h / 2))
    pos = v.samples.mapFromScene(scene)
    qtbot.mouseClick(v.samples.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(pos.x()), int(pos.y())))
    qtbot.waitUntil(lambda: v.state is not None and v.state.sample == 5)
    assert v.tabs.currentWidget() is v.maps
    titles = v.maps.titles
    assert titles[0].startswith("input: test image 5, class ")
    assert [t.split("\u2192 ")[1].split(":")[0] for t in titles[1:]] == [
        "8x8x8",
        "8x4x4",
        "16x4x4",
        "16x2x2",
        "64",
        "10",
    ]
    assert "conv2d" in titles[1] and "maxpool2d" in titles[2] and titles[-1].startswith("output")
    s = v.state
    ref_out, ref_hid = c.call_in_worker(lambda e: e.trainer.predict(e.dataset.X_test[5:6], hidden=True))
    assert np.allclose(s.maps[0][2].ravel(), ref_hid[0, :512])
    assert np.allclose(s.sample_output, ref_out[0])
    # the 8x8x8 conv maps: 8 tiles of 8x8 in one row, 1 pixel apart
    assert v.maps.rows[1][2].image.shape[:2] == (10, 8 * 9 + 1)
    v.samples.click_tile(7)
    assert v.state.sample == 7 and v.maps.titles[0].startswith("input: test image 7")


def test_filters_and_misclassified_gallery(view, qtbot):
    c, v = view
    _train(c, 30)
    v.tabs.setCurrentWidget(v.filters)
    v.request()
    assert v.filters.titles == [
        "1. conv2d: 8 filters 3x3 on 1 channel",
        "3. conv2d: 16 filters 3x3 on 8 channels",
    ]
    assert v.filters.rows[1][2].image.shape[:2] == (8 * 4 + 1, 16 * 4 + 1)  # 8 rows (inputs) x 16 filters
    W0 = c.call_in_worker(lambda e: e.trainer.layout.views(e.trainer.theta)[0][0].copy())
    assert np.allclose(v.state.filters[0][1], W0)
    v.tabs.setCurrentWidget(v.wrong)
    wrong = v.state.wrong
    assert len(wrong) > 0 and v.wrong.indices == [int(i) for i in wrong[:48]]
    i = v.wrong.indices[0]
    label = v.wrong.labels[0].textItem.toPlainText()
    assert label == f"{v.state.predicted[i]} ({v.state.true[i]})"
    v.wrong.click_tile(0)
    assert v.state.sample == i and v.tabs.currentWidget() is v.maps


def test_flat_data_shows_a_message_and_switching_back_and_forth(view, qtbot):
    c, v = view
    assert v.pages.currentIndex() == 1
    spec = default_spec()
    assert c.edit_spec(spec, "toy")
    assert v.pages.currentIndex() == 0 and v.state is None
    assert "image data" in v.message.text()
    c.undo_stack.undo()
    assert v.pages.currentIndex() == 1
    assert v.state is not None and v.state.experiment_id == id(c.experiment)
    bars = replace(c.spec, data=replace(c.spec.data, name="bars", n_samples=200))
    bars = replace(
        bars,
        training=replace(bars.training, loss="bce"),
        network=replace(bars.network, output_activation="sigmoid"),
    )
    assert c.edit_spec(bars, "bars")
    v.tabs.setCurrentWidget(v.confusion)
    v.request()
    assert v.state.confusion.shape == (2, 2) and v.state.confusion.sum() == c.experiment.dataset.n_test


def test_feed_paces_itself_and_skips_flat_data():
    from playground.experiment import Experiment

    feed = ImageFeed()
    exp = Experiment(ExperimentSpec.from_dict(W4))
    first = feed(exp)
    assert first is not None and first.step == 0
    assert feed(exp) is None  # same step, too soon
    assert feed(Experiment(default_spec())) is None
    assert image_state(Experiment(default_spec())) is None


def test_network_and_boundary_views_on_image_data(qtbot):
    from playground.app.panels.boundary import BoundaryView
    from playground.app.panels.network import NetworkView

    c = ExperimentController(default_spec(), warm_up=False)
    try:
        net, boundary = NetworkView(c), BoundaryView(c)
        for w in (net, boundary):
            qtbot.addWidget(w)
            w.show()
        assert net.drawable() and not net.scroll.isHidden() and net.stack_label.isHidden()
        assert c.edit_spec(ExperimentSpec.from_dict(W4), "W4")
        assert not net.drawable() and net.scroll.isHidden() and not net.stack_label.isHidden()
        text = net.stack_label.text()
        for part in (
            "input 1x8x8",
            "conv2d \u2192 <b>8x8x8</b> \u00b7 80 parameters",
            "<b>16x2x2</b>",
            "650 parameters",
        ):
            assert part in text
        assert boundary.plot.isHidden() and not boundary.image_message.isHidden()
        c.play()
        qtbot.waitUntil(lambda: c.experiment.step > 50, timeout=20000)
        c.pause()
        qtbot.wait(100)
        boundary.redraw()
        c.undo_stack.undo()  # back to the spiral: the diagram and the boundary again
        assert net.drawable() and not net.scroll.isHidden() and len(net.canvas.sizes) == 4
        assert not boundary.plot.isHidden() and boundary.image_message.isHidden()
        c.undo_stack.redo()
        dense_on_digits = replace(
            c.spec, network=replace(c.spec.network, hidden=default_spec().network.hidden)
        )
        assert c.edit_spec(dense_on_digits, "dense on digits")
        assert not net.drawable() and "dense \u2192 <b>8</b>" in net.stack_label.text()
    finally:
        c.shutdown()


def test_window_shows_image_views_for_images_and_the_boundary_again_after_undo(qtbot):
    """Digits by the data panel's click, W4 in the layer editor, train: the centre shows the
    image views with the worker's feed (no decision-boundary grid is computed), the tiles'
    classes are the trainer's predictions; undo back to the spiral: the boundary is drawn."""
    from PySide6.QtWidgets import QMessageBox

    from playground.app.main_window import MainWindow

    c = ExperimentController(default_spec(), warm_up=False)
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard  # never block on a modal question
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.result_stack.currentWidget() is w.boundary_view
        w.data_panel.select_images("digits")
        assert c.experiment.dataset.is_image
        assert w.result_stack.currentWidget() is w.images_view
        assert c.edit_spec(ExperimentSpec.from_dict(W4), "W4")
        assert w.layers_panel.rows_text()[1][1] == "8x8x8"
        grids: list = []
        extras: list = []

        def seen(snap):
            grids.append(snap.grid)
            extras.append(snap.extra.get("images"))

        c.snapshot.connect(seen)
        c.play()
        qtbot.waitUntil(lambda: c.experiment.step > 40 and any(e is not None for e in extras), timeout=30000)
        c.pause()
        qtbot.waitUntil(lambda: not c.running, timeout=5000)
        assert all(g is None for g in grids)  # images: no grid over a plane is computed
        v = w.images_view
        v.request()  # paused: the state of the weights now
        n = len(v.samples.indices)
        assert n > 0 and v.state.step == c.experiment.step
        out = c.call_in_worker(lambda e: e.trainer.predict(e.dataset.X_test[:n]))
        assert [int(t.textItem.toPlainText()) for t in v.samples.labels[:n]] == list(np.argmax(out, axis=1))
        c.undo_stack.undo()  # W4 -> dense layers on digits
        c.undo_stack.undo()  # digits -> spiral
        assert not c.experiment.dataset.is_image
        assert w.result_stack.currentWidget() is w.boundary_view
        c.step_once()
        qtbot.waitUntil(lambda: w.boundary_view._grid is not None, timeout=20000)
        w.boundary_view.redraw()
        assert w.boundary_view.image.image is not None
    finally:
        c.pause()
        w.close()
        c.shutdown()
