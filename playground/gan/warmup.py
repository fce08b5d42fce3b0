"""Compile (or load from numba's cache) every GAN kernel of one precision.

``python -m playground.gan.warmup float32`` is what GAN mode's worker starts in a separate
process on a cold start (the compile holds no lock of the app's process, so the GUI stays
fluid); meanwhile the worker trains on the numpy twin (``reference.py``: the same draws and
updates to ~1e-15) and switches to the kernels when this process has filled the cache.
"""

from __future__ import annotations

import sys

import numpy as np


def compile_kernels(dtype: str = "float32") -> None:
    """Run every kernel once at ``dtype``: training, prediction and the input gradient."""
    from playground.gan.model import GanTrainer
    from playground.gan.spec import GanSpec

    spec = GanSpec().with_changes("training.dtype", dtype)
    tr = GanTrainer(spec)
    tr.run(1)
    tr.d_step()
    tr.g_step()
    tr.generator_arrows(np.zeros((2, 2)))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dtype = args[0] if args else "float32"
    if dtype not in ("float32", "float64"):
        print(f"unknown precision {dtype!r}: float32 or float64", file=sys.stderr)
        return 2
    compile_kernels(dtype)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
