"""`playground bench`: the standard workloads of shared/BENCHMARKS.md on our engine.

The data, architectures and hyper-parameters are those of shared/bench/peers.py, so the
two tables can be read side by side. Medians of repeated timing blocks.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec

SEED = 1234


def spiral(n: int, classes: int, noise: float, rng: np.random.Generator):
    per = n // classes
    r = np.linspace(0.05, 1.0, per)
    X, y = [], []
    for k in range(classes):
        t = 1.75 * 2 * np.pi * r + 2 * np.pi * k / classes
        X.append(np.c_[r * np.sin(t), r * np.cos(t)] + rng.normal(0, noise, (per, 2)))
        y.append(np.full(per, k))
    return np.concatenate(X), np.concatenate(y).astype(np.int64)


@dataclass
class Workload:
    name: str
    X: np.ndarray
    y: np.ndarray
    hidden: list  # units per dense layer, or layer dicts (network.hidden entries)
    act: str
    opt: str
    lr: float
    batch: int
    dtype: str = "float64"
    extra: dict = field(default_factory=dict)

    def trainer(self) -> Trainer:
        k = int(self.y.max()) + 1
        binary = k == 2
        spec = ExperimentSpec.from_dict(
            {
                "seed": SEED,
                **({"data": {"kind": "image", "name": "digits"}} if self.X.ndim == 4 else {}),
                "network": {
                    "hidden": [
                        u if isinstance(u, dict) else {"units": u, "activation": self.act}
                        for u in self.hidden
                    ],
                    "output_activation": "sigmoid" if binary else "softmax",
                    "init": "torch_default",
                    "bias_init": "torch_default",
                },
                "training": {
                    "loss": "bce" if binary else "cce",
                    "optimizer": {"name": self.opt, "lr": self.lr},
                    "batch_size": self.batch,
                    "dtype": self.dtype,
                },
            }
        )
        Y = self.y[:, None].astype(float) if binary else np.eye(k)[self.y]
        return Trainer(spec, self.X.shape[1:], Y.shape[1], self.X, Y)


def make_workloads():
    rng = np.random.default_rng(SEED)
    X, y = spiral(500, 2, 0.04, rng)
    p = rng.permutation(len(X))
    w1 = Workload("W1 toy", X[p[:250]], y[p[:250]], [8, 8], "tanh", "sgd", 0.03, 10)
    X2, y2 = spiral(3000, 3, 0.04, rng)
    w2 = Workload("W2 deep toy", X2, y2, [64, 64, 64], "relu", "adam", 1e-3, 32)
    centers = rng.normal(0.0, 1.0, (10, 64))
    y3 = rng.integers(0, 10, 20000)
    X3 = centers[y3] + rng.normal(0.0, 3.0, (20000, 64))
    X3 = (X3 - X3.mean(0)) / X3.std(0)
    w3 = [
        Workload(f"W3 tabular {dt}", X3, y3, [256, 256], "relu", "adam", 1e-3, 256, dt)
        for dt in ("float32", "float64")
    ]
    return w1, w2, w3


W4_HIDDEN = [
    {"kind": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kind": "maxpool2d", "size": 2},
    {"kind": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kind": "maxpool2d", "size": 2},
    {"kind": "flatten"},
]


def make_w5():
    """W5: x_t = sin(0.2 t) + 0.5 sin(0.31 t) + N(0, 0.05), 4000 points, windows of 20 -> the
    next value, first 80 % (time order) for training; LSTM(1, 32) -> last step -> Dense 1,
    MSE, Adam 1e-3, batch 32, float32. Returns the trainer and the test set."""
    from playground.engine import codes as C
    from playground.engine.blocks import Layer

    rng = np.random.default_rng(SEED)
    t = np.arange(4000)
    x = np.sin(0.2 * t) + 0.5 * np.sin(0.31 * t) + rng.normal(0, 0.05, len(t))
    win = np.lib.stride_tricks.sliding_window_view(x, 21)
    X, Y = win[:, :20, None].copy(), win[:, 20:].copy()
    cut = int(0.8 * len(X))
    spec = ExperimentSpec.from_dict(
        {
            "seed": SEED,
            "network": {"output_activation": "linear", "init": "torch_default", "bias_init": "torch_default"},
            "training": {"loss": "mse", "batch_size": 32, "dtype": "float32",
                         "optimizer": {"name": "adam", "lr": 1e-3}},
        }
    )  # fmt: skip
    layers = [Layer("lstm", 20, 32, C.LINEAR, in_shape=(20, 1), units=32), Layer("dense", 32, 1, C.LINEAR)]
    return Trainer(spec, (20, 1), 1, X[:cut], Y[:cut], layers=layers), X[cut:], Y[cut:]


def make_w4() -> tuple[Workload, np.ndarray, np.ndarray]:
    """W4: the shipped 8x8 digits / 16 as (n, 1, 8, 8), 75 % / 25 % split (fixed seed); the
    network of shared/BENCHMARKS.md, Adam 1e-3, batch 32, float32. Returns the workload and
    the test set."""
    from playground.data.images import load_digits

    X, y = load_digits()
    p = np.random.default_rng(SEED).permutation(len(X))
    cut = int(0.75 * len(X))
    w4 = Workload(
        "W4 conv digits float32", X[p[:cut]], y[p[:cut]], W4_HIDDEN, "relu", "adam", 1e-3, 32, "float32"
    )
    return w4, X[p[cut:]], y[p[cut:]]


def _median_rate(fn, units: float, target: float, repeats: int) -> tuple[float, float, float]:
    """Median, min and max of units/s over `repeats` blocks of about `target` seconds."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        rates.append(units / (time.perf_counter() - t0))
    return statistics.median(rates), min(rates), max(rates)


def _calibrate(fn_k, target: float, start: int = 16) -> int:
    k = start
    while True:
        t0 = time.perf_counter()
        fn_k(k)
        dt = time.perf_counter() - t0
        if dt > target / 4 or k > 1e8:
            return max(1, int(k * target / dt))
        k *= 4


def _time_steps(name: str, tr: Trainer, target: float, repeats: int, results: dict, log) -> None:
    """Median steps/s of ``tr`` over timing blocks (Adam's moments reset per block)."""
    tr.run(2)
    k = min(_calibrate(tr.run, target), 4000)

    def block(tr=tr, k=k):
        tr.reset_optimizer()
        tr.run(k)

    med, lo, hi = _median_rate(block, k, target, repeats)
    results[name] = {"steps_per_s": med, "min": lo, "max": hi, "steps_per_block": k}
    log(f"{name:<22} {med:>12,.0f} steps/s   (min {lo:,.0f}, max {hi:,.0f}; {k} steps per block)")


def run(quick: bool = False, log=print) -> dict:
    target = 0.3 if quick else 1.0
    repeats = 3 if quick else 7
    w1, w2, w3 = make_workloads()
    results: dict = {}

    # compile (cached after the first run) before timing anything
    t0 = time.perf_counter()
    trainers = {w.name: w.trainer() for w in (w1, w2, *w3)}
    for tr in trainers.values():
        tr.run(2)
        tr.predict(np.zeros((4, tr.layout.sizes[0])))
    results["warmup_s"] = time.perf_counter() - t0

    for w, cap in ((w1, None), (w2, 4000)):
        tr = trainers[w.name]
        k = _calibrate(tr.run, target)
        if cap:
            k = min(k, cap)

        def block(tr=tr, k=k, w=w):
            # Adam's moments are reset per block, as peers.py does, so runs stay comparable
            tr.reset_optimizer()
            tr.run(k)

        med, lo, hi = _median_rate(block, k, target, repeats)
        results[w.name] = {"steps_per_s": med, "min": lo, "max": hi, "steps_per_block": k}
        log(f"{w.name:<22} {med:>12,.0f} steps/s   (min {lo:,.0f}, max {hi:,.0f}; {k} steps per block)")

    tr = trainers[w1.name]
    for m in (100, 200):
        u = np.linspace(-1.2, 1.2, m)
        gx, gy = np.meshgrid(u, u)
        G = np.ascontiguousarray(np.c_[gx.ravel(), gy.ravel()])
        n = _calibrate(lambda k, G=G: [tr.predict(G) for _ in range(k)], target / 2, 1)
        med, lo, hi = _median_rate(lambda n=n, G=G: [tr.predict(G) for _ in range(n)], n, target, repeats)
        results[f"W1 grid {m}"] = {"ms": 1e3 / med, "min_ms": 1e3 / hi, "max_ms": 1e3 / lo}
        log(f"W1 grid {m}x{m:<14} {1e3 / med:>12.3f} ms      (min {1e3 / hi:.3f}, max {1e3 / lo:.3f})")

    w4, X4_test, y4_test = make_w4()
    _time_steps(w4.name, w4.trainer(), target, repeats, results, log)
    quality = w4.trainer()  # untimed: test accuracy after 2000 steps, as peers.py reports it
    quality.run(2000)
    acc = float(np.mean(quality.predict(X4_test).argmax(axis=1) == y4_test))
    results[w4.name]["test_accuracy_2000"] = acc
    log(f"{'':<22} test accuracy after 2000 steps {acc:.3f}")

    tr, X5_test, Y5_test = make_w5()
    name = "W5 LSTM sine float32"
    _time_steps(name, tr, target, repeats, results, log)
    quality, _, _ = make_w5()  # untimed: test MSE after 2000 steps, as peers.py reports it
    quality.run(2000)
    mse = float(np.mean((quality.predict(X5_test) - Y5_test) ** 2))
    results[name]["test_mse_2000"] = mse
    log(f"{'':<22} test MSE after 2000 steps {mse:.4f}")

    for w in w3:
        tr = trainers[w.name]
        spe = math.ceil(len(w.X) / w.batch)
        epochs = 1 if quick else 2

        def block(tr=tr, spe=spe, epochs=epochs):
            tr.reset_optimizer()
            tr.run(spe * epochs)

        med, lo, hi = _median_rate(block, epochs, target, max(3, repeats // 2))
        results[w.name] = {"s_per_epoch": 1 / med, "min": 1 / hi, "max": 1 / lo}
        log(f"{w.name:<22} {1 / med:>12.4f} s/epoch (min {1 / hi:.4f}, max {1 / lo:.4f})")

    from playground.gan.bench import bench_w6

    results["W6 GAN ring float32"] = bench_w6(quick, log=log)
    return results


def main(quick: bool = False, as_json: bool = False) -> int:
    if as_json:
        print(json.dumps(run(quick, log=lambda *_: None), indent=2))
    else:
        print("Neural Playground engine, standard workloads (shared/BENCHMARKS.md)")
        run(quick)
    return 0
