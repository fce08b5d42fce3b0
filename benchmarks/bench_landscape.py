"""Time a 51x51 loss-landscape slice of the W1 network (shared/BENCHMARKS.md: 2-class spiral,
250 training rows, 2-8-8-1 tanh/sigmoid, BCE, SGD 0.03, batch 10), compiled engine.

    PLAYGROUND_ENGINE_START=compiled .venv/bin/python benchmarks/bench_landscape.py
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("PLAYGROUND_ENGINE_START", "compiled")

from playground import Experiment  # noqa: E402
from playground.landscape import SliceJob, Trajectory  # noqa: E402

W1 = {
    "data": {"name": "spiral", "n_classes": 2, "n_samples": 500, "noise": 0.04, "train_fraction": 0.5},
    "network": {"hidden": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}]},
    "training": {"loss": "bce", "optimizer": {"name": "sgd", "lr": 0.03}, "batch_size": 10},
}


def main() -> None:
    exp = Experiment.from_spec(W1)
    traj = Trajectory(every=25)
    for _ in range(40):
        exp.train(steps=25)
        traj.offer(exp.step, exp.trainer.theta)
    th = exp.trainer.theta.copy()
    paths = {"run": traj.points(th, exp.step)}
    SliceJob(exp.trainer, th, "random", paths, resolution=5).result()  # compile
    for kind in ("random", "pca"):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            s = SliceJob(exp.trainer, th, kind, paths).result()
            times.append(time.perf_counter() - t0)
        grid_s = s.seconds
        gap = s.paths[0].gap_summary()
        print(
            f"{kind:6s} 51x51 slice + path ({len(paths['run'][0])} pts) + 1-D curve: median "
            f"{statistics.median(times):.3f} s (min {min(times):.3f}); "
            f"path |true - surface| median {gap['median']:.3g}, max {gap['max']:.3g}; "
            f"offset from plane median {float(statistics.median(s.paths[0].offset)):.3g}; "
            f"loss range {s.loss.min():.3f}..{s.loss.max():.3f}; grid {grid_s:.3f}s"
        )


if __name__ == "__main__":
    main()
