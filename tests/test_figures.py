"""Figures (playground/app/figures.py): PNG of the size asked, SVG whose labels are <text>
elements, the clipboard, the right-click menu, atomic writes; on the real views."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QLabel

from playground.app import figures, plotting
from playground.app.panels.boundary import BoundaryView
from playground.app.panels.images import ConfusionView
from playground.app.panels.network import NetworkView
from playground.app.preview import PreviewController, make_snapshot

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()  # raises if the SVG is not well-formed XML
    return [("".join(t.itertext())).strip() for t in root.iter(f"{SVG}text")]


@pytest.fixture
def loss_plot(qtbot):
    """A live plot as the Live plots panel makes it (decorations cached as pixmaps)."""
    w = plotting.new_plot("Loss", "loss")
    plotting.cache_decorations(w)
    w.plot(np.arange(50.0), np.exp(-np.arange(50.0) / 10), pen="b")
    w.getPlotItem().getViewBox().setRange(xRange=(0, 50), yRange=(0, 1), padding=0)
    qtbot.addWidget(w)
    w.resize(320, 220)
    w.show()
    qtbot.waitExposed(w)
    return w


def _small_spec():
    from dataclasses import replace

    from playground.spec import default_spec

    spec = default_spec()
    return replace(spec, data=replace(spec.data, n_samples=80))


@pytest.fixture
def preview(qtbot):
    c = PreviewController(_small_spec())
    c.train_some(20)
    return c


@pytest.fixture
def controller(qtbot):
    """The app's controller on a small experiment (its worker thread stopped at the end)."""
    from playground.app.controller import ExperimentController

    c = ExperimentController(_small_spec(), warm_up=False)
    yield c
    c.shutdown()


def test_svg_keeps_axis_labels_title_and_ticks_as_text(loss_plot, tmp_path):
    out = figures.export_widget(loss_plot, tmp_path / "loss.svg")
    texts = svg_texts(out)
    for label in ("Loss", "loss", "epoch"):
        assert label in texts
    # the tick labels (drawn from cached pixmaps on screen): the y axis spans 0..1
    assert {"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"} <= set(texts)


def test_png_has_the_size_asked_and_twice_the_widget_by_default(loss_plot, tmp_path):
    path = figures.export_widget(loss_plot, tmp_path / "loss.png", size=(640, 440))
    assert QImage(str(path)).size() == QSize(640, 440)
    default = figures.export_widget(loss_plot, tmp_path / "default.png")
    assert QImage(str(default)).size() == loss_plot.size() * 2


def test_png_of_another_ratio_is_laid_out_at_that_ratio(loss_plot, tmp_path):
    size_before = loss_plot.size()
    path = figures.export_widget(loss_plot, tmp_path / "wide.png", size=(1200, 300))
    img = QImage(str(path))
    assert img.size() == QSize(1200, 300)
    # the x axis (its line, ticks and label) is drawn in the bottom quarter: the plot was laid
    # out wide and low, not a tall picture cropped
    px = np.frombuffer(img.constBits(), np.uint8).reshape(300, img.bytesPerLine())[:, : 1200 * 4]
    gray = px.reshape(300, 1200, 4)[..., :3].mean(axis=2)
    background = np.median(gray)
    assert (np.abs(gray[225:] - background) > 60).sum() > 200
    assert loss_plot.size() == size_before  # the view is back at its own size


def test_network_view_svg_is_vectors_with_its_labels_as_text(preview, qtbot, tmp_path):
    view = NetworkView(preview)
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    view.apply_snapshot(make_snapshot(preview.experiment))
    out = figures.export_widget(view, tmp_path / "network.svg")
    texts = svg_texts(out)
    for label in ("x1", "x2", "output", "INPUTS", "OUTPUT"):
        assert label in texts
    root = ET.parse(out).getroot()
    n_paths = sum(1 for _ in root.iter(f"{SVG}path"))
    assert n_paths >= len(view.canvas.conns)  # every connection a path, not one bitmap
    png = figures.export_widget(view, tmp_path / "network.png")
    assert QImage(str(png)).size() == view.canvas.size() * 2


def test_boundary_and_confusion_views_keep_their_axis_labels(controller, qtbot, tmp_path):
    boundary = BoundaryView(controller)
    confusion = ConfusionView()
    for w in (boundary, confusion):
        qtbot.addWidget(w)
        w.resize(400, 360)
        w.show()
    confusion.show_counts(np.array([[5, 1], [2, 7]]), ["cat", "dog"])
    texts = svg_texts(figures.export_widget(boundary.plot, tmp_path / "boundary.svg"))
    assert {"x1", "x2"} <= set(texts)
    texts = svg_texts(figures.export_widget(confusion, tmp_path / "confusion.svg"))
    assert {"true class", "predicted class", "cat", "dog", "7"} <= set(texts)


def test_copy_puts_the_image_on_the_clipboard(loss_plot):
    image = figures.copy_widget(loss_plot)
    assert image.size() == loss_plot.size() * 2
    assert QGuiApplication.clipboard().image().size() == image.size()


def test_unknown_suffix_and_failed_write_leave_nothing(loss_plot, tmp_path):
    with pytest.raises(ValueError, match=".png or .svg"):
        figures.export_widget(loss_plot, tmp_path / "loss.jpg")
    with pytest.raises(ValueError, match="pixels a side"):
        figures.export_widget(loss_plot, tmp_path / "huge.png", size=(100_000, 10))
    with pytest.raises(OSError):
        figures.export_widget(loss_plot, tmp_path / "missing" / "loss.png")
    assert list(tmp_path.iterdir()) == []


def _context_menu(widget, _qtbot):
    pos = widget.rect().center()
    QApplication.sendEvent(
        widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    )


def test_figure_menu_on_a_plain_widget_and_a_plot_without_menu(qtbot, controller):
    label = QLabel("a view")
    qtbot.addWidget(label)
    label.show()
    fm = figures.install_figure_menu(label, "label")
    assert figures.install_figure_menu(label, "label") is fm  # once per widget
    _context_menu(label, qtbot)
    assert fm.menu is not None and fm.menu.isVisible()
    assert [a.text() for a in fm.menu.actions()] == ["Export figure…", "Copy figure"]
    fm.menu.close()

    boundary = BoundaryView(controller)  # its ViewBox menu is off: ours comes on the viewport
    qtbot.addWidget(boundary)
    boundary.show()
    qtbot.waitExposed(boundary)
    fm = figures.install_figure_menu(boundary, "boundary")
    _context_menu(boundary.plot.viewport(), qtbot)
    assert fm.menu is not None and fm.menu.isVisible()
    fm.menu.close()


def test_plots_with_their_own_menu_get_our_actions_in_it(loss_plot):
    fm = figures.install_figure_menu(loss_plot, "loss")
    assert loss_plot.scene().contextMenu == [fm.export_action, fm.copy_action]
    center = loss_plot.viewport().rect().center()
    assert figures._pyqtgraph_menu_under(loss_plot.viewport(), center)  # pyqtgraph's menu shows
    fm.copy_action.trigger()
    assert QGuiApplication.clipboard().mimeData().hasImage()


def test_png_size_dialog_keeps_proportions(qtbot):
    d = figures.FigureSizeDialog(QSize(800, 400))
    qtbot.addWidget(d)
    d.width_spin.setValue(1000)
    assert d.chosen() == QSize(1000, 500)
    d.keep.setChecked(False)
    d.height_spin.setValue(300)
    assert d.chosen() == QSize(1000, 300)


def test_the_export_dialog_writes_the_chosen_file(controller, qtbot, tmp_path):
    """File > the figure menu's Export figure…: the chosen SVG is written (dialog answered)."""
    boundary = BoundaryView(controller)
    qtbot.addWidget(boundary)
    boundary.resize(300, 300)
    boundary.show()
    target = tmp_path / "b.svg"
    from unittest import mock

    with mock.patch.object(figures.QFileDialog, "getSaveFileName", return_value=(str(target), "")):
        assert figures.export_figure_dialog(boundary.plot, "boundary") == target
    assert "x1" in svg_texts(target)


def test_thin_lines_are_written_in_view_coordinates(loss_plot, tmp_path):
    """pyqtgraph's one-pixel curves come out as plain paths (no non-scaling-stroke under a
    huge transform, which librsvg / Inkscape drew as wide bands)."""
    text = figures.export_widget(loss_plot, tmp_path / "loss.svg").read_text(encoding="utf-8")
    assert not re.search(r"<path[^>]*non-scaling-stroke", text)
    g = '<g fill="none" transform="matrix(2,0,0,-3,10,20)" >'
    g += '<path vector-effect="non-scaling-stroke" d="M1,1 L2,2 Z"/></g>'
    assert figures.flatten_cosmetic_strokes(g) == (
        '<g fill="none" transform="matrix(1,0,0,1,0,0)" ><path d="M12.000,17.000 L14.000,14.000 Z"/></g>'
    )
    mixed = g.replace("</g>", "<text>keep</text></g>")
    assert figures.flatten_cosmetic_strokes(mixed) == mixed  # a group with more than paths stays


def test_nested_figure_menus_show_one_menu(qtbot):
    """A plot inside a view that has a menu of its own: the innermost one answers."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    outer = QWidget()
    inner = QLabel("plot")
    QVBoxLayout(outer).addWidget(inner)
    qtbot.addWidget(outer)
    outer.show()
    fm_outer = figures.install_figure_menu(outer, "outer")
    fm_inner = figures.install_figure_menu(inner, "inner")
    _context_menu(inner, qtbot)
    assert fm_inner.menu is not None and fm_inner.menu.isVisible()
    assert fm_outer.menu is None
    fm_inner.menu.close()


def test_a_figure_menu_can_be_off_while_the_right_button_means_something_else(qtbot):
    label = QLabel("painting")
    qtbot.addWidget(label)
    label.show()
    painting = [True]
    fm = figures.install_figure_menu(label, "label", when=lambda: not painting[0])
    _context_menu(label, qtbot)
    assert fm.menu is None
    painting[0] = False
    _context_menu(label, qtbot)
    assert fm.menu is not None and fm.menu.isVisible()
    fm.menu.close()
