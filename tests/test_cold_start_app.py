"""The app's quick start: Play trains at once on the numpy twins while the kernels compile
in the background; the status bar says what compiles, then that the engine is ready."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("PySide6")

from playground.engine import readiness  # noqa: E402

TIMEOUT = 120_000  # ms; nothing compiles on the twins, this is generous for a busy machine


class FakeCompile:
    """A background compile the test drives: phases, then ready."""

    def __init__(self):
        self.lock = threading.Lock()
        self.p = {}
        self.started = []

    def kernels_ready(self, dtype) -> bool:
        name = readiness._name(dtype)
        with self.lock:
            if name not in self.p:
                self.started.append(name)
                self.p[name] = readiness.Progress(name)
            return self.p[name].ready

    def progress(self, dtype):
        with self.lock:
            return readiness.Progress(
                **self.p.get(readiness._name(dtype), readiness.Progress(dtype)).__dict__
            )

    def phase(self, dtype, number, count, phase):
        with self.lock:
            self.p[dtype].number, self.p[dtype].count, self.p[dtype].phase = number, count, phase

    def finish(self, dtype, seconds):
        with self.lock:
            self.p[dtype].ready, self.p[dtype].seconds = True, seconds


@pytest.fixture
def fake(monkeypatch):
    f = FakeCompile()
    readiness._reset_for_tests()
    readiness.set_start_mode("quick")
    monkeypatch.setattr(readiness, "kernels_ready", f.kernels_ready)
    monkeypatch.setattr(readiness, "progress", f.progress)
    yield f
    readiness._reset_for_tests()


@pytest.fixture
def window(qtbot, fake):
    from PySide6.QtWidgets import QMessageBox

    from playground.app.controller import ExperimentController
    from playground.app.main_window import MainWindow
    from playground.spec import default_spec

    c = ExperimentController(default_spec())
    w = MainWindow(c)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard  # never block on a modal question
    qtbot.addWidget(w)
    w.show()
    yield w
    c.pause()
    w.close()
    c.shutdown()
    assert not c._thread.isRunning()


def test_play_trains_at_once_on_the_twins_while_the_engine_compiles(qtbot, window, fake, monkeypatch):
    from playground.engine import kernels as K

    def no_compile(*a, **k):
        raise AssertionError("a kernel was called before the engine was ready")

    for name in ("train_steps", "train_record", "metrics_kernel", "predict_kernel"):
        monkeypatch.setattr(K, name, no_compile)
    c = window.controller
    qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)  # ready to train: no warm-up wait
    c.play()
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, timeout=TIMEOUT)
    assert "float64" in fake.started
    fake.phase("float64", 2, 6, "training with history")
    qtbot.waitUntil(lambda: "2/6: training with history" in window.engine_label.text(), timeout=TIMEOUT)
    text = window.engine_label.text()
    assert text.startswith("Compiling the engine") and "numpy engine" in text
    monkeypatch.undo()  # the kernels exist again (and the fake readiness with them: re-apply)
    monkeypatch.setattr(readiness, "kernels_ready", fake.kernels_ready)
    monkeypatch.setattr(readiness, "progress", fake.progress)
    messages = []
    c.statusMessage.connect(messages.append)
    step = c.last_snapshot.step
    fake.finish("float64", 8.2)
    qtbot.waitUntil(lambda: "Engine ready (compiled in 8.2 s)" in messages, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: c.last_snapshot.step > step + 100, timeout=TIMEOUT)
    assert not c.background_compiles
    assert "Compiling" not in window.engine_label.text()


def test_a_first_float32_use_compiles_in_the_background_too(qtbot, window, fake):
    from dataclasses import replace

    c = window.controller
    qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)
    if "float64" in fake.p:
        fake.finish("float64", 0.0)
    spec = c.spec
    assert c.edit_spec(replace(spec, training=replace(spec.training, dtype="float32")), "float32")
    c.play()
    qtbot.waitUntil(lambda: "float32" in c.background_compiles, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, timeout=TIMEOUT)
    assert c.last_snapshot.theta.dtype.name == "float32"
    assert "float32 engine" in window.engine_label.text()
    fake.finish("float32", 3.0)
    qtbot.waitUntil(lambda: "float32" not in c.background_compiles, timeout=TIMEOUT)


def test_a_first_cnn_trains_at_once_on_the_twins_while_its_kernels_compile(qtbot, fake):
    """Networks with convolution (pooling, recurrent) blocks have kernels of their own (an
    engine key of their own): on a first use they train at once on the blocks' numpy twins
    while those compile in the background, and the status bar names what compiles."""
    from playground.app.controller import ExperimentController
    from playground.app.main_window import compiling_text
    from playground.spec import ExperimentSpec

    spec = ExperimentSpec.from_dict(
        {
            "data": {"kind": "image", "name": "bars", "n_samples": 60},
            "network": {
                "hidden": [{"kind": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"}],
                "output_activation": "softmax",
            },
            "training": {"loss": "cce", "batch_size": 8},
        }
    )
    c = ExperimentController(spec)
    try:
        qtbot.waitUntil(lambda: c.engine_ready, timeout=TIMEOUT)
        assert c.experiment.trainer.engine_key == "float64-blocks"
        assert np.isfinite(c.experiment.metrics()["train_loss"])  # evaluated on the twins
        c.play()
        qtbot.waitUntil(lambda: "float64-blocks" in fake.started, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: c.last_snapshot is not None and c.last_snapshot.step > 20, timeout=TIMEOUT)
        assert c.experiment.trainer.on_twins()
        progress = {"float64-blocks": readiness.Progress("float64-blocks", "training kernels", 1, 5)}
        text = compiling_text(progress, True, 250.0)
        assert text.startswith("Compiling the engine for convolution, pooling and recurrent layers (1/5")
        assert "training meanwhile with the numpy engine — 250 steps/s" in text
    finally:
        c.pause()
        c.shutdown()
