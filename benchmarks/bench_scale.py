"""Scale benchmark: a CSV of a million rows (issue 11, "Scale").

Generates a 1,000,000 x 20 numeric CSV (``--rows``) in a temporary directory and reports:

1. load: ``read_csv_table`` with the all-numeric fast path and with the robust reader
   alone, and ``build_dataset`` (read + columns to train/test arrays), median of R runs;
2. peak memory of ``build_dataset`` (tracemalloc: numpy's buffers are traced) as a
   multiple of the float64 table;
3. the cost of ``Experiment.train(steps)`` at 100,000 and at 1,000,000 rows (20-64-64-1,
   batch 32): the same steps should cost about the same, whatever the rows; beside it what
   one full evaluation costs (what every call paid before live metrics were sampled);
4. the share of training time the exact history rows take (one record interval);
5. one CLI epoch (``playground train SPEC --epochs 1``) end to end, in a fresh process.

Figures only, no pass/fail. Run: python benchmarks/bench_scale.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import playground.data.csv_reader as csv_reader  # noqa: E402
from playground import Experiment  # noqa: E402
from playground.data.build import build_dataset  # noqa: E402
from playground.spec import ExperimentSpec  # noqa: E402

COLS = 20
NETWORK = {"hidden": [{"units": 64}, {"units": 64}], "output_activation": "linear"}
TRAINING = {"batch_size": 32, "loss": "mse", "optimizer": {"name": "adam", "lr": 0.001}}


def write_csv(path: Path, rows: int, seed: int = 0, chunk: int = 100_000) -> None:
    """rows x COLS normal numbers at 7 significant digits (about 185 MB a million rows)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 100, size=COLS)
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(COLS - 1)) + ",target\n")
        for start in range(0, rows, chunk):
            block = rng.normal(size=(min(chunk, rows - start), COLS)) * scale
            np.savetxt(f, block, delimiter=",", fmt="%.7g")


def spec_for(path: Path) -> ExperimentSpec:
    data = {"kind": "csv", "path": str(path), "target": "target"}
    return ExperimentSpec.from_dict({"data": data, "network": NETWORK, "training": TRAINING})


def median_time(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def bench_load(path: Path, rows: int, repeat: int) -> None:
    size = path.stat().st_size
    print(f"\n1. load: {rows:,} x {COLS} numeric CSV, {size / 1e6:.0f} MB")
    csv_reader.read_csv_table(path)  # compile / warm the page cache
    fast, ft = median_time(lambda: csv_reader.read_csv_table(path), repeat)
    floor = csv_reader.NUMERIC_MIN_BYTES
    csv_reader.NUMERIC_MIN_BYTES = 1 << 62
    try:
        robust, _ = median_time(lambda: csv_reader.read_csv_table(path), max(1, repeat // 2))
    finally:
        csv_reader.NUMERIC_MIN_BYTES = floor
    spec = spec_for(path)
    build, bt = median_time(lambda: build_dataset(spec.data, spec.seed), repeat)
    each = ", ".join(f"{t:.2f}" for t in ft)
    print(f"   read_csv_table, numeric fast path: {fast:.2f} s  ({each})")
    print(f"   read_csv_table, robust reader only: {robust:.2f} s")
    each = ", ".join(f"{t:.2f}" for t in bt)
    print(f"   build_dataset (read + train/test arrays): {build:.2f} s  ({each})")

    table = rows * COLS * 8
    tracemalloc.start()
    csv_reader.read_csv_table(path)
    _, peak_read = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    ds = build_dataset(spec.data, spec.seed)
    _, peak_build = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    Experiment(spec, ds)
    _, peak_exp = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"2. peak memory (tracemalloc), as multiples of the float64 table ({table / 1e6:.0f} MB):")
    print(f"   read_csv_table {peak_read / 1e6:.0f} MB = {peak_read / table:.2f}x")
    print(f"   build_dataset {peak_build / 1e6:.0f} MB = {peak_build / table:.2f}x")
    print(f"   with the Experiment built on it {peak_exp / 1e6:.0f} MB = {peak_exp / table:.2f}x")


def bench_train(paths: dict[int, Path], steps: int, calls: int) -> None:
    print(f"\n3. Experiment.train({steps}) cost by rows (median of {calls} calls)")
    for rows, path in paths.items():
        spec = spec_for(path)
        exp = Experiment(spec, build_dataset(spec.data, spec.seed))
        exp.train(steps=10)  # compiled, buffers made
        n_rows = len(exp.history)
        med, _ = median_time(lambda e=exp: e.train(steps=steps), calls)
        crossed = len(exp.history) - n_rows
        full, _ = median_time(exp.evaluate, 3)
        sampled = exp.metrics().get("sample_size", "no")
        print(
            f"   {rows:>9,} rows: train({steps}) {med * 1e3:6.1f} ms (live sample: {sampled}, "
            f"history rows inside: {crossed}); one full evaluation {full * 1e3:6.1f} ms; "
            f"history row every {exp.record_every:,} steps"
        )


def bench_share(path: Path) -> None:
    spec = spec_for(path)
    exp = Experiment(spec, build_dataset(spec.data, spec.seed))
    exp.train(steps=10)
    every = exp.record_every
    exp.train(steps=every - exp.step)  # to the first history row
    t0 = time.perf_counter()
    exp.train(steps=every)  # one interval, ending on a history row
    interval = time.perf_counter() - t0
    row, _ = median_time(exp.evaluate, 3)  # what the row's exact evaluation costs
    print(
        f"\n4. history rows: every {every:,} steps ({every / exp.trainer.steps_per_epoch:g} epochs); "
        f"interval {interval:.2f} s, its exact row about {row:.2f} s = {100 * row / interval:.1f} % of it"
    )


def bench_cli(path: Path, tmp: Path) -> None:
    spec_path = tmp / "scale.json"
    spec_path.write_text(json.dumps(spec_for(path).to_dict()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "playground", "train", str(spec_path), "--epochs", "1", "--json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    total = time.perf_counter() - t0
    if out.returncode != 0:
        print(f"\n5. CLI epoch failed: {out.stderr.strip()[-300:]}")
        return
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"\n5. CLI: one epoch ({res['steps']:,} steps) end to end {total:.2f} s, of which training "
        f"{res['wall_time_s']:.2f} s (train loss {res['train_loss']:.4g})"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="rows of the smaller train() comparison")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--no-cli", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = {}
        for rows in (args.small, args.rows):
            paths[rows] = tmp / f"scale_{rows}.csv"
            t0 = time.perf_counter()
            write_csv(paths[rows], rows)
            mb = paths[rows].stat().st_size / 1e6
            print(f"wrote {rows:,} rows ({mb:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        bench_load(paths[args.rows], args.rows, args.repeat)
        bench_train(paths, args.steps, 5)
        bench_share(paths[args.rows])
        if not args.no_cli:
            bench_cli(paths[args.rows], tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
