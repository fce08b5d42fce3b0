"""Editing one weight or bias from the network drawing: exactly that parameter, one undo step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground.app.controller import ExperimentController
from playground.app.weight_editor import edit_bias, edit_weight
from playground.spec import default_spec

TIMEOUT = 300_000


@pytest.fixture
def controller(qtbot):
    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    qtbot.waitUntil(lambda: c.engine_ready and c.last_snapshot is not None, timeout=TIMEOUT)
    yield c
    c.pause()
    c.shutdown()


def params(c):
    return c.call_in_worker(lambda exp: exp.params)


def changed(before, after):
    """(layer, array, index) of every element that differs."""
    out = []
    for li, (a, b) in enumerate(zip(before, after)):
        for k, (x, y) in enumerate(zip(a, b)):
            out += [(li, k, tuple(int(v) for v in idx)) for idx in np.argwhere(x != y)]
    return out


def test_a_weight_edit_changes_exactly_that_weight_and_undoes(controller, qtbot):
    c = controller
    before = params(c)
    opt_before = c.call_in_worker(lambda exp: exp.trainer.opt_state.copy())
    assert edit_weight(c, 1, 2, 3, value=0.625)
    after = params(c)
    assert changed(before, after) == [(1, 0, (2, 3))]
    assert after[1][0][2, 3] == 0.625
    np.testing.assert_array_equal(c.call_in_worker(lambda exp: exp.trainer.opt_state), opt_before)
    assert c.undo_stack.count() == 1 and "Weight" in c.undo_stack.undoText()
    c.undo_stack.undo()
    assert changed(before, params(c)) == []
    c.undo_stack.redo()
    assert changed(before, params(c)) == [(1, 0, (2, 3))]
    # the views hear of it: a fresh snapshot carries the new weight
    qtbot.waitUntil(
        lambda: (
            getattr(c.last_snapshot, "params", None) is not None
            and c.last_snapshot.params[1][0][2, 3] == 0.625
        ),
        timeout=10_000,
    )


def test_a_bias_edit_changes_exactly_that_bias(controller):
    c = controller
    before = params(c)
    assert edit_bias(c, 0, 4, value=-1.5)
    assert changed(before, params(c)) == [(0, 1, (4,))]
    # training continues from the edited network
    c.call_in_worker(lambda exp: exp.train(steps=3))
    assert np.isfinite(params(c)[0][1]).all()


def test_impossible_edits_are_refused_with_a_reason(controller, qtbot):
    c = controller
    messages = []
    c.statusMessage.connect(messages.append)
    before = params(c)
    assert not edit_weight(c, 99, 0, 0, value=1.0)
    assert not edit_weight(c, 0, 0, 10_000, value=1.0)
    assert not edit_bias(c, 0, 0, value=float("nan"))
    assert changed(before, params(c)) == [] and c.undo_stack.count() == 0
    assert any("layer 100" in m for m in messages) and any("shape" in m for m in messages)
    assert any("not a finite number" in m for m in messages)


def test_clicking_the_drawing_edits_that_weight_and_that_bias(qtbot, monkeypatch):
    """Through the network view's mouse handler (docs/CLASSROOM.md: the lead's diff)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QInputDialog

    from playground.app.panels.network import NetworkCanvas, NetworkView

    if "mousePressEvent" not in NetworkCanvas.__dict__:
        pytest.skip("panels/network.py does not call the weight editor yet")
    spec = default_spec()
    c = ExperimentController(replace(spec, data=replace(spec.data, n_samples=80)))
    view = NetworkView(c)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    try:
        canvas = view.canvas
        qtbot.waitUntil(lambda: c.engine_ready and canvas.params is not None, timeout=TIMEOUT)
        monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (0.4375, True)))
        conn = next(x for x in canvas.conns if not x.summary and x.layer == 1)
        x = (conn.p0.x() + conn.p1.x()) / 2
        y = (conn.p0.y() + conn.p1.y()) / 2  # the S-curve passes its middle at t = 0.5
        hit = canvas.connection_at(QPoint(round(x), round(y)).toPointF())
        assert hit is not None and not hit.summary
        before = params(c)
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
        assert changed(before, params(c)) == [(hit.layer, 0, (hit.src, hit.dst))]
        j, rect = next((j, r) for j, r in canvas.columns[1] if j >= 0)
        before = params(c)
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
        assert changed(before, params(c)) == [(0, 1, (j,))]
        assert c.undo_stack.count() == 2
    finally:
        c.pause()
        c.shutdown()
