"""File > Export > PyTorch script…: the dialog function writes the three files, remembers the
folder, says so in the status bar, and shows a failure in a message box with nothing
written. A stand-in controller runs ``call_in_worker`` at once (no worker thread); the
experiment trains on the numpy twins (no kernel compiles)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QMainWindow, QMessageBox  # noqa: E402

from playground import Experiment  # noqa: E402
from playground.app import settings  # noqa: E402
from playground.app.controller import ExperimentController  # noqa: E402
from playground.app.dialogs import export_pytorch as dialog  # noqa: E402
from playground.engine.trainer import Trainer  # noqa: E402


@pytest.fixture
def setup(qtbot, monkeypatch):
    monkeypatch.setattr(Trainer, "on_twins", lambda self: True)
    exp = Experiment.from_spec({"data": {"name": "xor", "n_samples": 60}})
    exp.train(steps=4)
    calls = []

    def call_in_worker(fn, timeout=10.0):
        calls.append(timeout)
        return fn(exp)

    window = QMainWindow()
    qtbot.addWidget(window)
    return window, SimpleNamespace(experiment=exp, call_in_worker=call_in_worker), calls


def _answer(monkeypatch, path):
    monkeypatch.setattr(dialog.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), dialog.FILTER))


def test_the_dialog_writes_the_script_and_its_archives(setup, tmp_path, monkeypatch):
    window, controller, calls = setup
    _answer(monkeypatch, tmp_path / "xor_net")  # no suffix typed: .py is added
    written = dialog.export_pytorch_dialog(window, controller)
    assert [p.name for p in written] == ["xor_net.py", "xor_net.npz", "xor_net_data.npz"]
    assert all(p.is_file() for p in written)
    assert calls == [dialog.BUILD_TIMEOUT]  # built where the experiment may be read
    with np.load(written[1], allow_pickle=False) as w:
        assert w["counters"].tolist() == [4, 4]
    assert "xor_net.py" in window.statusBar().currentMessage()
    assert settings.last_folder("exports") == tmp_path
    assert not window.findChildren(QMessageBox)


def test_cancelling_writes_nothing(setup, tmp_path, monkeypatch):
    window, controller, calls = setup
    _answer(monkeypatch, "")
    assert dialog.export_pytorch_dialog(window, controller) is None
    assert calls == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "where,error,message",
    [
        ("missing/net.py", None, "no such folder"),
        ("my-net.py", None, "Python module name"),
        ("net.py", TimeoutError(), "did not answer in time"),
    ],
)
def test_a_failure_shows_its_message_and_leaves_no_file(setup, tmp_path, monkeypatch, where, error, message):
    window, controller, _ = setup
    if error is not None:

        def busy(fn, timeout=10.0):
            raise error

        controller.call_in_worker = busy
    _answer(monkeypatch, tmp_path / where)
    assert dialog.export_pytorch_dialog(window, controller) is None
    boxes = window.findChildren(QMessageBox)
    assert len(boxes) == 1 and boxes[0].isVisible() and message in boxes[0].text()
    assert "Traceback" not in boxes[0].text()
    assert list(tmp_path.iterdir()) == []


def test_the_real_controller_takes_a_timeout():
    params = list(inspect.signature(ExperimentController.call_in_worker).parameters)
    assert params[:3] == ["self", "fn", "timeout"]
