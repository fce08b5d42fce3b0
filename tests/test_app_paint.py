"""Painting the data on the boundary plot: real clicks add points of the chosen class, a
right-click erases, too few points stay a draft with the reason, undo, the painted set is
part of the session, and it exports as CSV."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from playground.app.controller import ExperimentController
from playground.app.panels.boundary import BoundaryView
from playground.errors import SpecError
from playground.session.document import load
from playground.spec import ExperimentSpec, default_spec


@pytest.fixture
def view(qtbot):
    spec = default_spec()
    spec = replace(spec, data=replace(spec.data, n_samples=40))
    c = ExperimentController(spec, warm_up=False)
    v = BoundaryView(c)
    qtbot.addWidget(v)
    v.resize(600, 500)
    v.show()
    qtbot.waitExposed(v)
    yield c, v
    c.shutdown()


def click(qtbot, v, x, y, button=Qt.MouseButton.LeftButton):
    vb = v.plot.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(x, y))
    pos = v.plot.mapFromScene(scene)
    qtbot.mouseClick(v.plot.viewport(), button, pos=QPoint(int(pos.x()), int(pos.y())))


def test_paint_erase_undo_save(view, qtbot, tmp_path):
    c, v = view
    assert v.paint_button.isVisible()
    v.paint_button.setChecked(True)
    assert v.paint_class.isVisible() and v.paint_class.count() == 2
    v.paint_class.setCurrentIndex(1)
    click(qtbot, v, 0.5, 0.5)  # a real click: the spiral's 40 points become painted data, +1
    d = c.spec.data
    assert d.kind == "points" and len(d.points) == 41
    x, y, label = d.points[-1]
    assert label == 1.0 and abs(x - 0.5) < 0.2 and abs(y - 0.5) < 0.2
    assert c.experiment.dataset.n_train + c.experiment.dataset.n_test == 41
    # a right-click erases what is near it
    erased_at = d.points[-1]
    click(qtbot, v, erased_at[0], erased_at[1], Qt.MouseButton.RightButton)
    assert len(c.spec.data.points) < 41 and erased_at not in c.spec.data.points
    c.undo_stack.undo()
    assert erased_at in c.spec.data.points
    # clear: nothing to train on is a draft with the reason; painting on from there
    v.clear_points()
    assert c.spec.data.kind == "points" and len(c.spec.data.points) == 41  # the data stays
    assert "at least 4 points" in v.paint_note.text() and v.painted_points() == []
    for (x, y), k in zip([(-1, -1), (-1.5, -1), (1, 1), (1.5, 1.2)], [0, 0, 1, 1], strict=True):
        v.paint_class.setCurrentIndex(k)
        v.add_point(x, y)
    assert len(c.spec.data.points) == 4 and v._draft_points is None
    assert sorted(int(p[2]) for p in c.spec.data.points) == [0, 0, 1, 1]
    # the painted set is part of the session and exports as CSV
    path = c.experiment.save(tmp_path / "painted.playground")
    again = load(path)
    assert again.spec.data.points == c.spec.data.points
    assert np.array_equal(again.dataset.raw_train, c.experiment.dataset.raw_train)
    v.save_points(str(tmp_path / "points.csv"))
    lines = (tmp_path / "points.csv").read_text().splitlines()
    assert lines[0] == "x1,x2,label" and len(lines) == 5 and lines[1].endswith(",0")


def test_painted_data_errors_name_the_field():
    base = {"data": {"kind": "points", "points": [[0, 0, 0], [1, 1, 0], [2, 2, 0], [3, 3, 0]]}}
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict(base)
    assert e.value.path == "data.points" and "two classes" in e.value.message
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict(
            {"data": {"kind": "points", "points": [[0, 0, 0], [1, 1, 1], [2, "a", 0], [3, 3, 1]]}}
        )
    assert e.value.path == "data.points[2][1]"
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict({"data": {"kind": "toy", "points": [[0, 0, 0]]}})
    assert e.value.path == "data.points"


def viewport_pos(v, x, y) -> QPoint:
    vb = v.plot.getPlotItem().getViewBox()
    pos = v.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    return QPoint(int(round(pos.x())), int(round(pos.y())))


def drag(qtbot, v, path, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    """A real mouse stroke along ``path`` (data coordinates): press, moves, release."""
    vp = v.plot.viewport()
    qtbot.mousePress(vp, button, modifier, viewport_pos(v, *path[0]))
    for x, y in path[1:]:
        qtbot.mouseMove(vp, viewport_pos(v, x, y))
    qtbot.mouseRelease(vp, button, modifier, viewport_pos(v, *path[-1]))


# a row of points on y = 0 and two rows far from it; the stroke goes along y = 0 from -2 to 2
ROW = [(x, 0.0, float(k % 2)) for k, x in enumerate(np.linspace(-3.5, 3.5, 15))]
FAR = [(x, y, float(k % 2)) for k, x in enumerate(np.linspace(-3, 3, 7)) for y in (-2.5, 2.5)]


@pytest.mark.parametrize("how", ["tool", "right", "shift"])
def test_a_drag_erases_exactly_the_points_along_its_path_and_undo_brings_them_back(view, qtbot, how):
    c, v = view
    v.paint_button.setChecked(True)
    assert v.set_points(ROW + FAR, "points")
    qtbot.waitUntil(lambda: c.experiment.dataset.n_train + c.experiment.dataset.n_test == 29)
    vb = v.plot.getPlotItem().getViewBox()
    vb.setRange(xRange=(-4, 4), yRange=(-3, 3), padding=0)  # ~70 px per unit: the brush is 14 px
    before = list(c.spec.data.points)
    undo_count = c.undo_stack.count()
    kwargs = {}
    if how == "tool":
        v.erase_button.setChecked(True)
        assert v.erase_button.isVisible()
    elif how == "right":
        kwargs["button"] = Qt.MouseButton.RightButton
    else:
        kwargs["modifier"] = Qt.KeyboardModifier.ShiftModifier
    path = [(-2.0, 0.0), (-1.2, 0.02), (-0.3, -0.02), (0.6, 0.0), (1.4, 0.01), (2.0, 0.0)]
    drag(qtbot, v, path, **kwargs)
    expected_gone = {p for p in ROW if abs(p[0]) <= 2.0}
    assert len(expected_gone) == 9
    after = set(c.spec.data.points)
    assert after == set(before) - expected_gone  # exactly the points under the stroke
    assert c.undo_stack.count() == undo_count + 1  # one undo step for the whole stroke
    assert c.experiment.dataset.n_train + c.experiment.dataset.n_test == 29 - 9
    c.undo_stack.undo()
    assert list(c.spec.data.points) == before
    # a stroke over nothing changes nothing (no undo step)
    drag(qtbot, v, [(-3.9, 1.2), (3.9, 1.2)], **kwargs)
    assert list(c.spec.data.points) == before and c.undo_stack.count() == undo_count + 1


def test_the_brush_circle_follows_the_eraser_and_a_left_click_still_paints(view, qtbot):
    c, v = view
    v.paint_button.setChecked(True)
    assert v.set_points(ROW + FAR, "points")
    v.erase_button.setChecked(True)
    qtbot.mouseMove(v.plot.viewport(), viewport_pos(v, 1.0, 1.0))
    assert v.brush_item.isVisible()
    spot = v.brush_item.data[0]
    assert abs(spot["x"] - 1.0) < 0.1 and abs(spot["y"] - 1.0) < 0.1
    assert v.brush_item.opts["size"] == pytest.approx(2 * v.brush_px())
    # while the stroke is under way the points under it are hidden; the release removes them
    qtbot.waitUntil(lambda: len(v.train_points.data) + len(v.test_points.data) == 29)
    vp = v.plot.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(v, 0.0, 0.0))
    qtbot.mouseMove(vp, viewport_pos(v, 1.0, 0.0))
    spots = np.concatenate([v.train_points.data, v.test_points.data])
    hidden = {(float(p["x"]), float(p["y"])) for p in spots if not p["visible"]}
    assert hidden == {(0.0, 0.0), (0.5, 0.0), (1.0, 0.0)}
    assert len(c.spec.data.points) == 29  # nothing is edited before the release
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=viewport_pos(v, 1.0, 0.0))
    assert {(p[0], p[1]) for p in c.spec.data.points} & hidden == set()
    assert len(c.spec.data.points) == 26
    v.erase_button.setChecked(False)
    assert not v.brush_item.isVisible()
    n = len(c.spec.data.points)
    click(qtbot, v, 1.0, 1.5)  # without the eraser a click adds a point
    assert len(c.spec.data.points) == n + 1
