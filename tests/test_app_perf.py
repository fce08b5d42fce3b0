"""The real window draws while it trains, and every network-view snapshot is painted.

No test asserts wall-clock speed (a busy machine would fail it): frames/s, the app's share of
headless steps/s and the cost of one network-view frame are printed here and measured by
``playground --smoke-test`` and the benchmarks, which report them.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox, QWidget

from playground.app.controller import ExperimentController
from playground.app.main_window import MainWindow
from playground.app.panels.network import NetworkView
from playground.app.preview import PreviewController
from playground.experiment import Experiment
from playground.spec import default_spec


def headless_steps_per_s(seconds: float = 1.5) -> float:
    exp = Experiment(default_spec())
    exp.train(steps=100)
    t0, s0 = time.perf_counter(), exp.step
    while time.perf_counter() - t0 < seconds:
        exp.train(steps=2000)
    return (exp.step - s0) / (time.perf_counter() - t0)


@pytest.mark.slow
def test_window_draws_while_training(qtbot):
    controller = ExperimentController()
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    try:
        qtbot.waitUntil(
            lambda: controller.engine_ready and controller.last_snapshot is not None, timeout=300_000
        )
        controller.play()
        qtbot.waitUntil(lambda: controller.last_snapshot.step > 0, timeout=60_000)
        qtbot.wait(1000)  # past the first, still-compiling frames
        frames0, step0, t0 = w.plots.frames, controller.last_snapshot.step, time.perf_counter()
        qtbot.wait(3000)
        dt = time.perf_counter() - t0
        fps = (w.plots.frames - frames0) / dt
        steps_per_s = (controller.last_snapshot.step - step0) / dt
        controller.pause()
        qtbot.wait(200)
        ratio = steps_per_s / headless_steps_per_s()
        print(f"\nframes/s {fps:.1f}, steps/s {steps_per_s:,.0f}, vs headless {ratio:.2f}")
        # what a person sees: the plots kept redrawing and training kept advancing
        assert w.plots.frames > frames0
        assert controller.last_snapshot.step > step0  # training advanced (its speed is printed)
    finally:
        controller.pause()
        w.close()
        controller.shutdown()


def test_network_view_paints_every_snapshot(qtbot):
    """Each new snapshot (weights + every neuron's picture) is applied and painted (time printed)."""
    controller = PreviewController(default_spec())
    view = NetworkView(controller)
    qtbot.addWidget(view)
    view.resize(560, 520)
    view.show()
    qtbot.wait(50)
    exp = controller.experiment
    total = int(exp.trainer.layout.sizes[1:].sum())
    rng = np.random.default_rng(0)
    target = QImage(view.canvas.size(), QImage.Format.Format_ARGB32_Premultiplied)
    times = []
    for _ in range(20):
        params = [(W + 0.3 * rng.standard_normal(W.shape), b.copy()) for W, b in exp.params]
        snap = SimpleNamespace(params=params, neuron_grids=rng.uniform(-1, 1, (total, 80, 80)))
        t0 = time.perf_counter()
        view.apply_snapshot(snap)
        QWidget.render(view.canvas, target)
        times.append(time.perf_counter() - t0)
    median_ms = 1000 * float(np.median(times))
    print(f"\nnetwork view frame: median {median_ms:.2f} ms, max {1000 * max(times):.2f} ms")
    assert view.canvas.compositions >= 20  # every snapshot was really drawn


def test_network_view_fits_the_default_window(qtbot):
    """The demo network needs no horizontal scroll bar at 1440x900."""
    controller = ExperimentController(warm_up=False)
    w = MainWindow(controller)
    w.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    try:
        qtbot.wait(100)
        scroll = w.network_view.scroll
        assert not scroll.horizontalScrollBar().isVisible()
        assert w.network_view.canvas.width() <= scroll.viewport().width()
    finally:
        w.close()
        controller.shutdown()


def test_peak_envelope_is_small_incremental_and_keeps_the_raw_envelope():
    """Curves draw a bounded min/max reduction, appended to as rows arrive, rebuilt on decimation."""
    from playground.app.plotting import PeakEnvelope

    rng = np.random.default_rng(0)
    n = 20_000
    x = np.arange(n) * 0.01
    y = rng.standard_normal(n)
    y[5000:5100] = np.nan  # a gap stays a gap
    y[777], y[12345] = 50.0, -40.0  # single spikes survive
    env = PeakEnvelope(256)
    m = 0
    while m < n:
        m = min(n, m + int(rng.integers(1, 300)))
        px, py = env.update(x[:m], y[:m])
        assert len(px) <= 2 * 256 + env.width
        assert np.all(np.diff(px) >= 0)
        idx = np.searchsorted(x[:m], px)
        assert np.array_equal(x[idx], px)  # every point drawn is a real row
        ok = np.isfinite(py)
        assert np.array_equal(py[ok], y[idx][ok])
        assert np.nanmax(py) == np.nanmax(y[:m]) and np.nanmin(py) == np.nanmin(y[:m])
    # the core decimated its history (every other row): detected, rebuilt once
    px, py = env.update(x[::2], y[::2])
    assert np.nanmax(py) == np.nanmax(y[::2]) and px[-1] == x[::2][-1]
