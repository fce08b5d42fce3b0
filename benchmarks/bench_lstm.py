"""W5 (shared/BENCHMARKS.md) and its GRU / RNN variants on our engine: steps/s, test MSE
after 2000 steps, and the cold compile time (a subprocess with an empty numba cache).

    .venv/bin/python benchmarks/bench_lstm.py [--kinds lstm,gru,rnn] [--repeats 5]
        [--target 0.5] [--cold] [--mse] [--profile]

``--profile`` times the recurrent block's forward and backward kernels alone on W5's
batch (the rest of a step is the dense head, the loss and Adam). Compare with
``~/torch-venv/bin/python /work/shared/bench/peers.py --quick --only W5`` in the same
session; machines are shared, so only ratios measured together mean anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# time the compiled kernels, never the numpy twins of a quick start (readiness.py)
os.environ.setdefault("PLAYGROUND_ENGINE_START", "compiled")


def make(kind: str = "lstm"):
    """W5's trainer with the recurrent layer of ``kind`` (bench.make_w5 for lstm)."""
    from playground import bench
    from playground.engine import codes as C
    from playground.engine.blocks import Layer
    from playground.engine.trainer import Trainer

    tr, Xt, Yt = bench.make_w5()
    if kind == "lstm":
        return tr, Xt, Yt
    layers = [Layer(kind, 20, 32, C.LINEAR, in_shape=(20, 1), units=32), Layer("dense", 32, 1, C.LINEAR)]
    return Trainer(tr.spec, (20, 1), 1, tr.X, tr.Y, layers=layers), Xt, Yt


def steps_per_s(tr, target: float, repeats: int, clock=time.perf_counter) -> tuple[float, float, float]:
    """Median, min and max steps/s over ``repeats`` blocks (Adam reset per block, as
    peers.py); ``clock=time.process_time`` counts this process's CPU time instead (steadier
    on a shared machine, meaningful with one BLAS thread)."""
    tr.run(2)
    k = 16
    while True:
        t0 = time.perf_counter()
        tr.run(k)
        dt = time.perf_counter() - t0
        if dt > target / 4:
            break
        k *= 4
    k = max(1, min(int(k * target / dt), 4000))
    rates = []
    for _ in range(repeats):
        tr.reset_optimizer()
        t0 = clock()
        tr.run(k)
        rates.append(k / (clock() - t0))
    return statistics.median(rates), min(rates), max(rates)


def test_mse(kind: str) -> float:
    tr, Xt, Yt = make(kind)
    tr.run(2000)
    return float(np.mean((tr.predict(Xt) - Yt) ** 2))


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cold_compile(kind: str) -> tuple[float, float]:
    """Seconds (wall, CPU) to build and run 2 steps (and one prediction) with an empty numba
    cache; CPU time is what to compare on a shared machine."""
    code = (
        "import time, sys; sys.path.insert(0, 'benchmarks'); t0 = time.perf_counter();"
        "import numpy as np; from bench_lstm import make;"
        f"tr, Xt, _ = make({kind!r}); tr.run(2); tr.predict(Xt[:4]);"
        "print(time.perf_counter() - t0)"
    )
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d, "PLAYGROUND_NUMBA_CACHE_DIR": d}
        env["PLAYGROUND_ENGINE_START"] = "compiled"  # compile now (not the twins meanwhile)
        cpu = _child_cpu()
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
    return float(out.stdout.strip().splitlines()[-1]), _child_cpu() - cpu


def cold_warmup(dtype: str = "float32") -> tuple[float, float]:
    """Seconds of ``playground warmup --dtype D`` (what a session compiles) from an empty cache."""
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d, "PLAYGROUND_NUMBA_CACHE_DIR": d, "PLAYGROUND_READY_DIR": d}
        t0, cpu = time.perf_counter(), _child_cpu()
        subprocess.run([sys.executable, "-m", "playground", "warmup", "--dtype", dtype], env=env, check=True,
                       capture_output=True)  # fmt: skip
        return time.perf_counter() - t0, _child_cpu() - cpu


def profile(kind: str, n: int = 2000) -> None:
    """The recurrent block's forward and backward kernels alone on one W5 batch (CPU time)."""
    from numba import njit

    from playground.engine.blocks import recurrent
    from playground.engine.blocks.registry import P_SW

    tr, _, _ = make(kind)
    tr.run(2)
    plan = tr.plan.ints
    rows = 32
    dt = tr.theta.dtype
    row = plan[0]
    theta = tr.theta.copy()
    grad = np.zeros_like(theta)
    T, F, H = 20, 1, 32
    a = np.random.default_rng(0).normal(size=rows * T * F).astype(dt)
    z = np.zeros(rows * H, dt)
    delta = np.random.default_rng(1).normal(size=rows * H).astype(dt)
    da = np.zeros(rows * T * F, dt)
    rec = np.zeros(rows * row[P_SW], dt)
    gemm = tr._gemm()

    @njit(nogil=True)
    def fwd(gemm, theta, row, a, z, rows, rec, n):
        for _ in range(n):
            recurrent.forward(gemm, theta, row, a, 0, z, 0, rows, rec, 0, False)

    @njit(nogil=True)
    def bwd(gemm, theta, grad, row, a, delta, da, rows, rec, n):
        for _ in range(n):
            recurrent.backward(gemm, theta, grad, row, a, 0, delta, 0, da, rows, False, rec, 0)

    fwd(gemm, theta, row, a, z, rows, rec, 1)
    bwd(gemm, theta, grad, row, a, delta, da, rows, rec, 1)
    t0 = time.process_time()
    fwd(gemm, theta, row, a, z, rows, rec, n)
    tf = (time.process_time() - t0) / n
    t0 = time.process_time()
    bwd(gemm, theta, grad, row, a, delta, da, rows, rec, n)
    tb = (time.process_time() - t0) / n
    t0 = time.process_time()
    tr.run(n)
    ts = (time.process_time() - t0) / n
    print(
        f"{kind}: forward {tf * 1e6:.0f} us, backward {tb * 1e6:.0f} us, whole step {ts * 1e6:.0f} us "
        f"(rest {(ts - tf - tb) * 1e6:.0f} us)"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kinds", default="lstm")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--target", type=float, default=0.5)
    p.add_argument("--cold", action="store_true", help="also time a cold compile")
    p.add_argument("--mse", action="store_true", help="also the test MSE after 2000 steps")
    p.add_argument("--profile", action="store_true", help="time the block's kernels alone")
    p.add_argument("--cpu", action="store_true", help="steps per CPU second (use OPENBLAS_NUM_THREADS=1)")
    args = p.parse_args()
    if args.cold:
        wall, cpu = cold_warmup()
        print(f"playground warmup --dtype float32 from an empty cache: {wall:.1f} s (CPU {cpu:.1f} s)")
    for kind in args.kinds.split(","):
        if args.cold:
            wall, cpu = cold_compile(kind)
            print(f"{kind}: cold compile {wall:.1f} s (CPU {cpu:.1f} s)")
        if args.profile:
            profile(kind)
        tr, _, _ = make(kind)
        clock = time.process_time if args.cpu else time.perf_counter
        med, lo, hi = steps_per_s(tr, args.target, args.repeats, clock)
        print(f"{kind}: {med:,.0f} steps/s (min {lo:,.0f}, max {hi:,.0f})")
        if args.mse:
            print(f"{kind}: test MSE after 2000 steps {test_mse(kind):.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
