"""The decision boundary draws after every way the data can change, over the right columns.

Each test drives the real window: switch the data (toy, CSV, 1-D, more than two columns, undo
and redo, a session, a lesson or a race and back), train a few steps and look at what the view
shows: a heatmap that is not one colour (or, for 1-D data, a finite prediction curve), and axis
titles that name two distinct, correct columns (for 1-D data: the input and the target).
Also: the status bar says a data change reset the weights, and the toolbar's loss follows a
change of the loss function.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from playground.app.controller import (
    DATA_RESET_MESSAGE,
    DTYPE_RESET_MESSAGE,
    RESET_MESSAGE,
    SEED_RESET_MESSAGE,
    ExperimentController,
    carry_axes,
    valid_axes,
)
from playground.app.main_window import MainWindow
from playground.data.build import build_dataset
from playground.spec import DataSpec, LayerSpec, default_spec

TIMEOUT = 300_000  # ms; generous: a cold compile on a busy machine is slow, and this is no speed check
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def small_spec():
    spec = default_spec()
    return replace(spec, data=replace(spec.data, n_samples=80))


def make_window(qtbot, spec=None):
    controller = ExperimentController(spec or small_spec())
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard  # never block on a modal question
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=TIMEOUT)
    return w


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot)
    yield w
    if w.race is not None:
        w.race.pause()
    w.controller.pause()
    w.close()
    w.controller.shutdown()
    assert not w.controller._thread.isRunning()
    if w.race is not None:
        w.race.shutdown()
        assert not w.race._thread.isRunning()


def write_iris_like(path):
    """A small CSV shaped like iris: four numeric columns, three well separated species."""
    rng = np.random.default_rng(3)
    centres = {
        "setosa": (5.0, 3.4, 1.5, 0.2),
        "versicolor": (5.9, 2.8, 4.3, 1.3),
        "virginica": (6.6, 3.0, 5.6, 2.0),
    }
    lines = [",".join(IRIS_COLUMNS + ["species"])]
    for name, c in centres.items():
        for _ in range(30):
            v = np.asarray(c) + rng.normal(0.0, 0.25, 4)
            lines.append(",".join(f"{x:.2f}" for x in v) + f",{name}")
    path.write_text("\n".join(lines) + "\n")
    return path


def load_csv(window, path):
    """Import the CSV as the data panel does once its dialog is accepted."""
    window.data_panel.import_csv(
        DataSpec(kind="csv", path=str(path), target="species", train_fraction=0.8), ("classification", 3)
    )
    assert window.controller.spec.data.kind == "csv"


def labels(view) -> tuple[str, str]:
    pi = view.plot.getPlotItem()
    return pi.getAxis("bottom").labelText, pi.getAxis("left").labelText


def drawn(view) -> bool:
    """The view shows the current network: a heatmap with more than one colour, or (1-D) a
    finite, non-constant prediction curve over the whole grid."""
    c = view.controller
    snap = c.last_snapshot
    if snap is None or snap.grid is None:
        return False
    if view._is_1d():
        x, y = view.curve.getData()
        return (
            view.curve.isVisible()
            and y is not None
            and len(y) == len(x) == c.worker.grid_resolution
            and bool(np.isfinite(y).all())
            and float(np.ptp(y)) > 0
        )
    img = view.image.image
    if img is None or not view.image.isVisible():
        return False
    img = np.asarray(img)
    flat = img.reshape(-1, img.shape[-1]) if img.ndim == 3 else img.reshape(-1, 1)
    return len(np.unique(flat, axis=0)) > 1


def train_and_check(qtbot, window, min_step=30):
    """Train a few steps, pause, and wait until the view draws the paused network."""
    c, view = window.controller, window.boundary_view
    exp = c.experiment
    c.play()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step >= min_step, timeout=TIMEOUT)
    c.pause()
    frames = view.frames
    c.request_snapshot()
    qtbot.waitUntil(lambda: view.frames > frames and drawn(view), timeout=TIMEOUT)
    assert c.experiment is exp
    assert tuple(c.last_snapshot.grid_axes) == tuple(c.axes) == tuple(view.axes)


def check_2d_labels(window, expected):
    view = window.boundary_view
    assert labels(view) == tuple(expected)
    assert expected[0] != expected[1]


def select_toy(window, name):
    window.data_panel.select_toy(name)
    assert window.controller.spec.data.name == name


# -- the axes' rules, without a window ------------------------------------------------------------------
def test_axes_are_validated_for_the_data():
    sine = build_dataset(DataSpec(name="sine", n_samples=40))
    circle = build_dataset(DataSpec(name="circle", n_samples=40))
    assert valid_axes(sine, (0, 1)) == (0, None)
    assert valid_axes(circle, (0, None)) == (0, 1)
    assert valid_axes(circle, (1, 0)) == (1, 0)
    assert valid_axes(circle, (1, 1)) == (0, 1)  # never the same column twice
    assert valid_axes(circle, (2, 3)) == (0, 1)
    for junk in (None, "x", [1e400, 0], [0], [0, 1, 1], [None, 1]):  # from a hand-edited session
        assert valid_axes(circle, junk) == (0, 1)
    assert carry_axes((1, 0), circle, sine) == (0, None)
    assert carry_axes((0, None), sine, circle) == (0, 1)


def test_axes_follow_column_names_across_csv_files(tmp_path):
    iris = build_dataset(
        DataSpec(kind="csv", path=str(write_iris_like(tmp_path / "a.csv")), target="species")
    )
    fewer = tmp_path / "b.csv"
    rows = (tmp_path / "a.csv").read_text().splitlines()
    fewer.write_text("\n".join(",".join(r.split(",")[1:]) for r in rows) + "\n")  # no sepal_length
    iris2 = build_dataset(DataSpec(kind="csv", path=str(fewer), target="species"))
    circle = build_dataset(DataSpec(name="circle", n_samples=40))
    assert carry_axes((2, 3), iris, iris2) == (1, 2)  # the same petal columns, by name
    assert carry_axes((2, 3), iris, circle) == (0, 1)
    assert carry_axes((0, 2), iris, iris2) == (0, 1)  # sepal_length is gone: the default


# -- every path draws --------------------------------------------------------------------------------------
def test_toy_to_toy_draws_and_says_the_data_changed(window, qtbot):
    c = window.controller
    messages = []
    c.statusMessage.connect(messages.append)
    select_toy(window, "circle")
    assert messages[-1] == DATA_RESET_MESSAGE
    assert window.statusBar().currentMessage() == DATA_RESET_MESSAGE
    train_and_check(qtbot, window)
    select_toy(window, "spiral")
    assert messages[-1] == DATA_RESET_MESSAGE
    train_and_check(qtbot, window)
    assert c.axes == (0, 1)
    check_2d_labels(window, ("x1", "x2"))


def test_other_resets_say_what_changed(window, qtbot):
    c = window.controller
    messages = []
    c.statusMessage.connect(messages.append)
    spec = c.spec
    assert c.edit_spec(replace(spec, network=replace(spec.network, hidden=(LayerSpec(4, "tanh"),))), "Net")
    assert messages[-1] == RESET_MESSAGE
    train_and_check(qtbot, window)
    window.toolbar.seed_action.trigger()  # the data has no seed of its own: its split changes too
    assert messages[-1] == SEED_RESET_MESSAGE
    assert c.edit_spec(replace(c.spec, training=replace(c.spec.training, dtype="float32")), "float32")
    assert messages[-1] == DTYPE_RESET_MESSAGE
    window.undo_action.trigger()
    assert messages[-1] == DTYPE_RESET_MESSAGE
    train_and_check(qtbot, window)


def test_toy_to_csv_draws_the_first_two_columns(window, qtbot, tmp_path):
    select_toy(window, "circle")
    train_and_check(qtbot, window)
    messages = []
    window.controller.statusMessage.connect(messages.append)
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    assert messages[-1] == DATA_RESET_MESSAGE
    view = window.boundary_view
    assert not view.x_combo.isHidden() and not view.y_combo.isHidden()
    assert (view.x_combo.currentText(), view.y_combo.currentText()) == ("sepal_length", "sepal_width")
    train_and_check(qtbot, window)
    assert window.controller.axes == (0, 1)
    check_2d_labels(window, ("sepal_length", "sepal_width"))


def test_csv_to_toy_draws(window, qtbot, tmp_path):
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    train_and_check(qtbot, window)
    select_toy(window, "circle")
    assert window.boundary_view.x_combo.isHidden()
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x1", "x2"))


def test_sine_draws_its_prediction_curve_and_names_the_target(window, qtbot):
    c, view = window.controller, window.boundary_view
    select_toy(window, "sine")
    assert c.axes == (0, None)
    train_and_check(qtbot, window)
    assert not view.image.isVisible()
    assert labels(view) == ("x1", "y")  # the vertical axis is the target, never "x2"
    select_toy(window, "circle")  # 1-D to 2-D
    assert c.axes == (0, 1)
    train_and_check(qtbot, window)
    assert not view.curve.isVisible()
    check_2d_labels(window, ("x1", "x2"))


def test_2d_to_sine_draws(window, qtbot):
    select_toy(window, "circle")
    window.boundary_view.set_axes((1, 0))  # swapped axes on 2-D data
    assert window.controller.axes == (1, 0)
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x2", "x1"))
    select_toy(window, "sine")
    train_and_check(qtbot, window)
    assert labels(window.boundary_view) == ("x1", "y")


def test_iris_with_changed_axes_then_circle_draws(window, qtbot, tmp_path):
    c, view = window.controller, window.boundary_view
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    # the person picks petal length / petal width in the axis pickers
    view.x_combo.setCurrentIndex(2)
    view.x_combo.activated.emit(2)
    view.y_combo.setCurrentIndex(3)
    view.y_combo.activated.emit(3)
    assert c.axes == (2, 3) and c.worker.grid_axes in ((0, 1), (2, 3))
    train_and_check(qtbot, window)
    check_2d_labels(window, ("petal_length", "petal_width"))
    select_toy(window, "circle")
    assert c.axes == (0, 1)
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x1", "x2"))


def test_choosing_the_same_column_twice_swaps_the_axes(window, qtbot, tmp_path):
    c, view = window.controller, window.boundary_view
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    assert c.axes == (0, 1)
    view.y_combo.setCurrentIndex(0)  # y := the column already on x
    view.y_combo.activated.emit(0)
    assert c.axes == (1, 0)
    assert (view.x_combo.currentIndex(), view.y_combo.currentIndex()) == (1, 0)
    train_and_check(qtbot, window)
    check_2d_labels(window, ("sepal_width", "sepal_length"))


def test_sine_then_iris_shows_two_distinct_columns(window, qtbot, tmp_path):
    c = window.controller
    select_toy(window, "sine")
    train_and_check(qtbot, window)
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    assert c.axes == (0, 1)
    train_and_check(qtbot, window)
    check_2d_labels(window, ("sepal_length", "sepal_width"))


def test_undo_and_redo_of_a_data_change_draw(window, qtbot):
    c, view = window.controller, window.boundary_view
    messages = []
    c.statusMessage.connect(messages.append)
    select_toy(window, "sine")
    train_and_check(qtbot, window)
    window.undo_action.trigger()
    assert c.spec.data.name == "spiral"
    assert messages[-1] == DATA_RESET_MESSAGE
    assert c.axes == (0, 1)
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x1", "x2"))
    window.redo_action.trigger()
    assert c.spec.data.name == "sine" and c.axes == (0, None)
    train_and_check(qtbot, window)
    assert labels(view) == ("x1", "y")


def test_session_open_restores_the_axes_and_draws(window, qtbot, tmp_path):
    c, view = window.controller, window.boundary_view
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    view.set_axes((2, 3))
    train_and_check(qtbot, window)
    path = tmp_path / "iris.playground"
    assert window.save_session(str(path))
    window.new_experiment()  # the demo spiral: two columns
    assert c.axes == (0, 1)
    train_and_check(qtbot, window)
    assert window.open_session(str(path))
    assert c.spec.data.kind == "csv"
    assert c.axes == (2, 3)
    assert (view.x_combo.currentText(), view.y_combo.currentText()) == ("petal_length", "petal_width")
    train_and_check(qtbot, window, min_step=c.experiment.step + 10)
    check_2d_labels(window, ("petal_length", "petal_width"))


def test_session_of_1d_data_opens_and_draws(window, qtbot, tmp_path):
    c, view = window.controller, window.boundary_view
    select_toy(window, "sine")
    train_and_check(qtbot, window)
    path = tmp_path / "sine.playground"
    assert window.save_session(str(path))  # its axes are (0, None)
    window.new_experiment()
    assert window.open_session(str(path))
    assert c.axes == (0, None)
    train_and_check(qtbot, window, min_step=c.experiment.step + 10)
    assert labels(view) == ("x1", "y")


def test_lesson_then_back_to_the_experiment_draws(window, qtbot):
    c = window.controller
    select_toy(window, "sine")
    train_and_check(qtbot, window)
    assert window.load_lesson("learning_rate")
    assert window.racing
    window.exit_race()
    assert not window.racing
    select_toy(window, "circle")
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x1", "x2"))
    assert c.axes == (0, 1)


def test_race_exit_draws(window, qtbot, tmp_path):
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    window.boundary_view.set_axes((3, 1))
    train_and_check(qtbot, window)
    assert window.start_race([{"training.optimizer.lr": v} for v in (0.01, 0.1)])
    window.race.play()
    qtbot.waitUntil(lambda: all(f is not None and f.step > 20 for f in window.race.frames), timeout=TIMEOUT)
    window.exit_race()
    train_and_check(qtbot, window, min_step=window.controller.experiment.step + 10)
    check_2d_labels(window, ("petal_width", "sepal_width"))
    select_toy(window, "circle")
    train_and_check(qtbot, window)
    check_2d_labels(window, ("x1", "x2"))


# -- the toolbar's loss follows the loss function -----------------------------------------------------------
def toolbar_text(metrics) -> str:
    return f"train loss {metrics['train_loss']:.4f}   test loss {metrics['test_loss']:.4f}"


def test_toolbar_loss_is_the_new_loss_after_a_loss_change(window, qtbot):
    c, bar = window.controller, window.toolbar
    train_and_check(qtbot, window)  # BCE, trained a little, paused
    exp = c.experiment
    before = c.call_in_worker(lambda e: e.evaluate())
    qtbot.waitUntil(lambda: bar.loss_label.text() == toolbar_text(before), timeout=TIMEOUT)
    combo = window.controls_panel.loss
    i = combo.findData("mse")  # sigmoid output goes with MSE: a training-only change
    combo.setCurrentIndex(i)
    combo.activated.emit(i)
    assert c.spec.training.loss == "mse" and c.experiment is exp  # no reset
    after = c.call_in_worker(lambda e: e.evaluate())
    assert abs(after["train_loss"] - before["train_loss"]) > 1e-3  # MSE of a sigmoid is not its BCE
    qtbot.waitUntil(
        lambda: c.last_snapshot.metrics["train_loss"] == pytest.approx(after["train_loss"]), timeout=TIMEOUT
    )
    m = c.last_snapshot.metrics
    assert m["test_loss"] == pytest.approx(after["test_loss"], rel=1e-9, abs=1e-12)
    qtbot.waitUntil(lambda: bar.loss_label.text() == toolbar_text(after), timeout=TIMEOUT)
    # undoing the loss change shows the BCE again, on the same weights
    window.undo_action.trigger()
    assert c.spec.training.loss == "bce"
    qtbot.waitUntil(lambda: bar.loss_label.text() == toolbar_text(before), timeout=TIMEOUT)


def _varies(img) -> tuple[bool, bool]:
    """(changes left to right, changes top to bottom) of a neuron picture."""
    w, h = img.width(), img.height()
    row = {img.pixelColor(x, h // 2).rgb() for x in range(0, w, max(1, w // 8))}
    col = {img.pixelColor(w // 2, y).rgb() for y in range(0, h, max(1, h // 8))}
    return len(row) > 1, len(col) > 1


def test_csv_input_neurons_show_the_boundarys_plane(window, qtbot, tmp_path):
    """With four inputs the input neurons are not blank: the two plotted columns vary along
    their axis, the others (held at their mean, as in the boundary) are flat; picking other
    axes redraws them."""
    c = window.controller
    canvas = window.network_view.canvas
    load_csv(window, write_iris_like(tmp_path / "iris.csv"))
    qtbot.waitUntil(lambda: all((0, j) in canvas.images for j in range(4)), timeout=TIMEOUT)
    assert _varies(canvas.images[(0, 0)]) == (True, False)  # sepal_length along x
    assert _varies(canvas.images[(0, 1)]) == (False, True)  # sepal_width along y
    assert _varies(canvas.images[(0, 2)]) == (False, False)
    assert _varies(canvas.images[(0, 3)]) == (False, False)
    from PySide6.QtGui import QColor

    from playground.app.colors import neutral

    held = canvas.images[(0, 2)].pixelColor(5, 5)  # at its mean: about zero, the neutral colour
    assert max(abs(a - b) for a, b in zip(held.getRgb()[:3], QColor(neutral()).getRgb()[:3])) < 40
    c.set_axes((2, 3))
    qtbot.waitUntil(lambda: _varies(canvas.images[(0, 2)]) == (True, False), timeout=TIMEOUT)
    assert _varies(canvas.images[(0, 3)]) == (False, True)
    assert _varies(canvas.images[(0, 0)]) == (False, False)
