"""CSV loading benchmark: a 100,000 x 20 numeric CSV must load in under 1 s.

Run: python benchmarks/bench_csv.py [--rows N] [--cols K] [--repeat R]
Generates the file in a temporary directory and prints the median time of R reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground.data.csv_reader import read_csv_table  # noqa: E402
from playground.data.tabular import make_tabular_dataset  # noqa: E402


def write_csv(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(rows, cols)) * rng.uniform(0.1, 100, size=cols)
    header = ",".join(f"f{j}" for j in range(cols - 1)) + ",target"
    np.savetxt(path, data, delimiter=",", fmt="%.6g", header=header, comments="")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        write_csv(path, args.rows, args.cols)
        size = os.path.getsize(path)
        times, ds_times = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            table = read_csv_table(path)
            t1 = time.perf_counter()
            make_tabular_dataset(table, "target", train_fraction=0.8, seed=0)
            t2 = time.perf_counter()
            times.append(t1 - t0)
            ds_times.append(t2 - t1)
        assert table.n_rows == args.rows and len(table.columns) == args.cols
        med = statistics.median(times)
        print(
            f"read_csv_table: {args.rows} rows x {args.cols} cols, {size / 1e6:.1f} MB: "
            f"median {med:.3f} s of {args.repeat} ({', '.join(f'{t:.3f}' for t in times)}); "
            f"make_tabular_dataset: median {statistics.median(ds_times):.3f} s"
        )
        print("PASS" if med < 1.0 else "FAIL", "(limit 1.0 s)")
        return 0 if med < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
