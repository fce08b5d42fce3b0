"""Presenter mode (bigger fonts, thicker plot lines, high contrast, and back) and keyboard
reachability (Tab walks through every key control of the main window)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QMessageBox

from playground.app import presenter
from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.app.presenter import FONT_SCALE, PEN_SCALE, install_presenter, set_presenter
from playground.spec import default_spec

TIMEOUT = 300_000


@pytest.fixture
def window(qtbot):
    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: c.engine_ready and c.last_snapshot is not None, timeout=TIMEOUT)
    yield w
    set_presenter(w, False)
    c.pause()
    w.close()
    c.shutdown()


def curve_widths(w):
    return [
        it.opts["pen"].widthF()
        for it in w.plots.loss_plot.scene().items()
        if isinstance(it, pg.PlotCurveItem)
    ]


def test_presenter_mode_scales_fonts_and_pens_and_goes_back(window, qtbot):
    app = QApplication.instance()
    action = getattr(window, "presenter_action", None) or install_presenter(window)
    size = app.font().pointSizeF()
    lr_size = window.controls_panel.lr.font().pointSizeF()
    widths = curve_widths(window)
    axis = window.plots.loss_plot.getPlotItem().getAxis("left")
    axis_width = axis.pen().widthF()
    text = app.palette().color(QPalette.ColorRole.WindowText).name()
    assert widths
    action.setChecked(True)
    assert presenter.presenter_on()
    assert app.font().pointSizeF() == pytest.approx(size * FONT_SCALE)
    assert window.controls_panel.lr.font().pointSizeF() == pytest.approx(lr_size * FONT_SCALE)
    assert curve_widths(window) == pytest.approx([max(1.0, x) * PEN_SCALE for x in widths])
    assert axis.pen().widthF() == pytest.approx(max(1.0, axis_width) * PEN_SCALE)
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(size * FONT_SCALE)
    title = window.plots.loss_plot.getPlotItem().titleLabel
    assert title.opts["size"] == "15pt"
    assert app.palette().color(QPalette.ColorRole.WindowText).name() in ("#000000", "#ffffff")
    assert presenter.pen_width(1) == PEN_SCALE
    action.setChecked(False)
    assert not presenter.presenter_on()
    assert app.font().pointSizeF() == pytest.approx(size)
    assert window.controls_panel.lr.font().pointSizeF() == pytest.approx(lr_size)
    assert curve_widths(window) == pytest.approx(widths)
    assert axis.pen().widthF() == pytest.approx(axis_width)
    assert axis.style["tickFont"] is None and title.opts["size"] == "10pt"
    assert app.palette().color(QPalette.ColorRole.WindowText).name() == text
    assert presenter.pen_width(1) == 1


def tab_walk(window, qtbot, steps=600) -> set[int]:
    window.activateWindow()
    window.controls_panel.loss.setFocus()
    seen = set()
    for _ in range(steps):
        f = QApplication.focusWidget()
        if f is not None:
            seen.add(id(f))
        window.focusNextChild()
    return seen


def test_tab_reaches_every_key_control(window, qtbot):
    getattr(window, "presenter_action", None) or install_presenter(window)
    seen = tab_walk(window, qtbot)
    cp, dp, tb = window.controls_panel, window.data_panel, window.toolbar
    keys = {
        "loss": cp.loss, "optimizer": cp.optimizer, "lr": cp.lr, "batch": cp.batch,
        "schedule": cp.schedule, "regularization": cp.reg_kind, "seed": cp.seed,
        "noise": dp.noise_slider, "ratio": dp.ratio_slider, "points": dp.points_spin,
        "layers table": window.layers_panel.table, "add layer": window.layers_panel.add_button,
        "play": tb.widgetForAction(tb.play_action), "step": tb.widgetForAction(tb.step_action),
        "reset": tb.widgetForAction(tb.reset_action),
    }  # fmt: skip
    thumbs = list(dp.thumb_buttons.values())
    entry = next((b for b in thumbs if id(b) in seen), None)  # Tab enters an exclusive group once
    assert entry is not None, "no data set button is reachable with Tab"
    missed = [name for name, w in keys.items() if id(w) not in seen]
    assert missed == []
    # ... and an arrow key moves to the next one (Qt's exclusive groups: it is chosen too)
    entry.setFocus()
    qtbot.keyClick(entry, Qt.Key.Key_Right)
    moved = QApplication.focusWidget()
    assert moved is not entry and moved in thumbs


def test_toolbar_buttons_have_no_focus_until_made_reachable(window):
    """The reason for ensure_keyboard_reachable: Qt gives toolbar buttons no focus."""
    from PySide6.QtWidgets import QMainWindow

    from playground.app.panels.controls import TrainingToolBar
    from playground.app.presenter import ensure_keyboard_reachable

    host = QMainWindow()
    tb = TrainingToolBar(window.controller, host)
    host.addToolBar(tb)
    play = tb.widgetForAction(tb.play_action)
    assert play.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert play in ensure_keyboard_reachable(host)
    assert play.focusPolicy() == Qt.FocusPolicy.TabFocus
    host.deleteLater()


def test_presenter_mode_thickens_the_network_drawing_and_enlarges_the_boundary_points(window, qtbot):
    from playground.app.panels.network import connection_width
    from playground.app.presenter import POINT_SCALE

    assert connection_width(0.0) == pytest.approx(0.6)

    canvas, boundary = window.network_view.canvas, window.boundary_view
    before = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert canvas.palette().color(QPalette.ColorRole.Window) == before
    conns = [k for k in canvas.conns if not k.summary]
    assert conns
    widths = [k.width for k in conns]
    outline = canvas.outline_width()
    sizes = (boundary.train_points.opts["size"], boundary.test_points.opts["size"])
    pen = boundary.train_points.opts["pen"].widthF()
    brush = boundary.brush_px()
    layer_text = window.network_view.remove_layer_button.text()
    assert layer_text == "\u2212 layer"
    canvas.grab()  # a frame composed before
    frames = canvas.compositions
    window.presenter_action.setChecked(True)
    thick = [k.width for k in conns]
    assert all(t > w for t, w in zip(thick, widths, strict=True))  # every connection thicker,
    assert connection_width(0.0) == pytest.approx(0.6 * PEN_SCALE)  # the thinnest by PEN_SCALE,
    assert np.argsort(thick, kind="stable").tolist() == np.argsort(widths, kind="stable").tolist()
    assert canvas.outline_width() == pytest.approx(outline * PEN_SCALE)
    canvas.grab()
    assert canvas.compositions > frames  # the picture is drawn again with the thick lines
    assert boundary.train_points.opts["size"] == pytest.approx(sizes[0] * POINT_SCALE)
    assert boundary.test_points.opts["size"] == pytest.approx(sizes[1] * POINT_SCALE)
    assert boundary.train_points.opts["pen"].widthF() == pytest.approx(max(1.0, pen) * POINT_SCALE)
    assert boundary.brush_px() > brush
    # the diagram's header grows with the fonts: nothing in it overlaps, the neurons sit below
    nv = window.network_view
    header = nv.header_height()
    qtbot.waitUntil(lambda: canvas.columns[0][0][1].top() > header)
    assert header > 96 and nv._input_caption.geometry().top() > nv._layers_box.geometry().bottom()
    assert all(box.geometry().bottom() < header for box in nv.layer_controls)
    app = QApplication.instance()
    window_color = QPalette.ColorRole.Window
    assert canvas.palette().color(window_color) == app.palette().color(window_color)  # high contrast
    window.presenter_action.setChecked(False)
    qtbot.waitUntil(lambda: nv.header_height() == 96 and nv.remove_layer_button.text() == layer_text)
    # the widgets' palette is the theme's again (the style sheet's re-polish kept the old one)
    assert canvas.palette().color(window_color) == app.palette().color(window_color)
    assert window.controls_panel.lr.palette().color(QPalette.ColorRole.Base) == app.palette().color(
        QPalette.ColorRole.Base
    )
    assert [k.width for k in conns] == pytest.approx(widths)
    assert canvas.outline_width() == pytest.approx(outline)
    assert (boundary.train_points.opts["size"], boundary.test_points.opts["size"]) == sizes
    assert boundary.train_points.opts["pen"].widthF() == pytest.approx(pen)
    # new data in presenter mode keeps the large points, and off gives the small ones back
    window.presenter_action.setChecked(True)
    c = window.controller
    c.edit_spec(replace(c.spec, data=replace(c.spec.data, noise=0.2)))
    qtbot.waitUntil(lambda: c.experiment.spec.data.noise == 0.2, timeout=TIMEOUT)
    assert boundary.train_points.opts["size"] == pytest.approx(sizes[0] * POINT_SCALE)
    window.presenter_action.setChecked(False)
    assert (boundary.train_points.opts["size"], boundary.test_points.opts["size"]) == sizes


def test_presenter_mode_widens_the_side_docks_to_their_controls_and_back(window, qtbot):
    """At 1.5x the Training dock's fields and the Data dock's labels were cut off at the
    window's edge: the side docks grow to what their content asks, then shrink back."""
    window.resize(1920, 1080)
    qtbot.wait(50)
    docks = presenter._side_docks(window)
    assert {d.objectName() for d in docks} >= {"controls_dock", "data_dock"}
    before = {d.objectName(): d.width() for d in docks}
    window.presenter_action.setChecked(True)
    for d in docks:
        need = presenter._content_width(d.widget())
        qtbot.waitUntil(lambda d=d, need=need: d.width() >= need - 2, timeout=5000)
    assert window.controls_dock.width() > before["controls_dock"]  # its fields need more room
    window.presenter_action.setChecked(False)
    for d in docks:
        qtbot.waitUntil(lambda d=d: abs(d.width() - before[d.objectName()]) <= 2, timeout=5000)
