"""The app while it trains: frames per second and training speed against headless.

Three scenes, each for ``--seconds`` of training after a warm-up (kernels compiled first):

1. the demo (``playground --smoke-test``'s scene): plots + decision boundary + network;
2. W4 (shared/BENCHMARKS.md: the 8x8 digits CNN, float32) with the image view showing the
   feature maps of a chosen digit, filters, confusion matrix and galleries;
3. GAN mode (W6's ring, default settings) with every GAN view on.

Frames are the snapshots the window draws (each view follows them: the network, the
boundary, the metrics; the loss plots redraw when history rows arrive, counted apart; the
image views at most 5 times a second by design) or the GAN view's; "headless" is the same
experiment trained by the API alone, right after. Figures only, no pass/fail (issues 11, 12,
14 ask >= 30 frames/s and, for the demo, >= 0.8 of headless).

Run: QT_QPA_PLATFORM=offscreen python benchmarks/bench_app_fps.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PLAYGROUND_ENGINE_START", "compiled")  # measure the kernels, not the twins


def _wait(app, cond, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.001)
    return cond()


def _headless(spec, seconds: float) -> float:
    from playground.experiment import Experiment

    exp = Experiment(spec)
    exp.train(steps=50)
    t0, s0 = time.perf_counter(), exp.step
    while time.perf_counter() - t0 < seconds:
        exp.train(steps=500)
    return (exp.step - s0) / (time.perf_counter() - t0)


def main_scene(app, spec, seconds: float, image_sample: int | None, size=(1600, 1000)) -> dict:
    from playground.app.controller import ExperimentController
    from playground.app.main_window import MainWindow

    c = ExperimentController(spec)
    w = MainWindow(c, check_recovery=False)
    w.resize(*size)
    w.show()
    _wait(app, lambda: c.engine_ready and c.last_snapshot is not None, 300)
    if image_sample is not None:
        _wait(app, lambda: w.result_stack.currentWidget() is w.images_view, 10)
        w.images_view.select_sample(image_sample)
    shown = [0]  # snapshots the window has drawn (every view it shows follows them)
    c.snapshot.connect(lambda _s: shown.__setitem__(0, shown[0] + 1))
    c.play()
    _wait(app, lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, 60)
    _wait(app, lambda: False, 1.0)  # steady state
    f0, n0, s0, t0 = w.plots.frames, shown[0], c.last_snapshot.step, time.perf_counter()
    _wait(app, lambda: False, seconds)
    dt = time.perf_counter() - t0
    out = {
        "frames_per_s": (shown[0] - n0) / dt,
        "plot_redraws_per_s": (w.plots.frames - f0) / dt,  # only when history rows arrive
        "steps_per_s": (c.last_snapshot.step - s0) / dt,
    }
    c.pause()
    _wait(app, lambda: False, 0.3)
    c.mark_saved(c.path)
    w.close()
    c.shutdown()
    out["headless_steps_per_s"] = _headless(spec, min(seconds, 2.0))
    out["app_vs_headless"] = out["steps_per_s"] / out["headless_steps_per_s"]
    return out


def gan_scene(app, seconds: float) -> dict:
    from playground.app.gan.window import GanWindow

    w = GanWindow()
    w.resize(1600, 1000)
    w.show()
    view = w.findChild(type(w.centralWidget())) or w.centralWidget()
    c = w.controller
    frames = [0]
    c.snapshot.connect(lambda _s: frames.__setitem__(0, frames[0] + 1))
    _wait(app, lambda: False, 2.0)
    c.play()
    _wait(app, lambda: frames[0] > 3, 120)
    _wait(app, lambda: False, 1.0)
    f0, t0 = frames[0], time.perf_counter()
    its0 = c.worker_iterations() if hasattr(c, "worker_iterations") else None
    _wait(app, lambda: False, seconds)
    dt = time.perf_counter() - t0
    out = {"frames_per_s": (frames[0] - f0) / dt, "view": type(view).__name__}
    if its0 is not None:
        out["iterations_per_s"] = (c.worker_iterations() - its0) / dt
    c.pause()
    _wait(app, lambda: False, 0.3)
    w.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--only", default="demo,w4,gan")
    args = ap.parse_args(argv)
    sys.setswitchinterval(0.001)  # as the app's main() sets it
    from PySide6.QtWidgets import QApplication

    from playground.bench import W4_HIDDEN
    from playground.spec import ExperimentSpec, default_spec

    w4 = {  # W4 in the app: the shipped digits (its own 75/25 split), the W4 network
        "data": {"kind": "image", "name": "digits", "train_fraction": 0.75},
        "network": {"hidden": W4_HIDDEN, "output_activation": "softmax"},
        "training": {
            "loss": "cce",
            "batch_size": 32,
            "dtype": "float32",
            "optimizer": {"name": "adam", "lr": 1e-3},
        },
    }

    app = QApplication.instance() or QApplication([])
    only = set(args.only.split(","))
    if "demo" in only:
        r = main_scene(app, default_spec(), args.seconds, None)
        print("demo      " + "  ".join(f"{k} {v:,.2f}" for k, v in r.items()))
    if "w4" in only:
        r = main_scene(app, ExperimentSpec.from_dict(w4), args.seconds, 3)
        print("W4 images " + "  ".join(f"{k} {v:,.2f}" for k, v in r.items()))
    if "gan" in only:
        r = gan_scene(app, args.seconds)
        print(
            "GAN       "
            + "  ".join(f"{k} {v:,.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
