"""Compile every kernel a session on this machine can need, on tiny data, so that later
calls (in the app's worker, or after an install) load them from numba's cache.

``compile_dtype`` compiles what a session of one precision uses, phase by phase;
``compile_and_mark`` does it once per machine at a time (a lock file) and writes the marker
``readiness.py`` trusts; ``warm_up`` (``playground warmup``, the installers) does every
precision and the CSV reader.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np

from playground.engine import readiness
from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec

Say = Callable[[str, int, int], None]

PHASES = ("training kernels", "training with history", "evaluation", "pictures", "gradients")
CSV_PHASE = "CSV reader"
LOCK_STALE_S = 15 * 60  # a lock older than this whose owner cannot be checked is abandoned


def phases(key: str) -> tuple[str, ...]:
    """What ``compile_dtype`` compiles for an engine key, in order (the status bar names them)."""
    dtype, blocks = readiness.split_key(key)
    return PHASES + ((CSV_PHASE,) if np.dtype(dtype) == np.float64 and not blocks else ())


def _blocks_trainer(dtype: str) -> tuple[Trainer, np.ndarray, np.ndarray, np.ndarray]:
    """A tiny network with a convolution, pooling and flatten (the kernels of every
    non-dense block compile together: their branches share one specialisation)."""
    from playground.engine import codes as C
    from playground.engine.blocks import Layer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1, 4, 4))
    Y = np.eye(2)[rng.integers(0, 2, 12)]
    labels = Y.argmax(axis=1).astype(np.int64)
    spec = ExperimentSpec.from_dict(
        {
            "network": {"output_activation": "softmax"},
            "training": {"dtype": dtype, "batch_size": 4, "loss": "cce"},
        }
    )
    layers = [
        Layer(
            "conv2d", 16, 32, C.RELU, in_shape=(1, 4, 4), out_shape=(2, 4, 4), kernel=3, pad=1, dropout=0.1
        ),
        Layer("maxpool2d", 32, 8, C.LINEAR, in_shape=(2, 4, 4), out_shape=(2, 2, 2), kernel=2, stride=2),
        Layer("flatten", 8, 8, C.LINEAR),
        Layer("dense", 8, 2, C.SOFTMAX),
    ]
    return Trainer(spec, (1, 4, 4), 2, X, Y, layers=layers), X, Y, labels


def compile_dtype(key: str, say: Say | None = None) -> None:
    """Compile (or load from numba's cache) every kernel a session of an engine key (a
    precision, or its ``-blocks`` variant) calls; ``say(phase, number, count)`` hears each
    phase before it starts."""
    say = say or (lambda *_: None)
    names = phases(key)
    count = len(names)
    dtype, blocks = readiness.split_key(key)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    Y = (X[:, :1] > 0).astype(float)
    labels = Y[:, 0].astype(np.int64)
    spec = ExperimentSpec.from_dict(
        {
            "network": {"hidden": [{"units": 3, "activation": "tanh", "dropout": 0.1}]},
            "training": {"dtype": dtype, "batch_size": 4},
        }
    )
    with readiness.forced():
        if blocks:
            tr, X, Y, labels = _blocks_trainer(dtype)
        else:
            tr = Trainer(spec, 2, 1, X, Y)
        es = tr.eval_buffers(X, Y, labels)
        say(names[0], 1, count)
        tr.run(2)  # the backend this machine uses (gemm where numpy's OpenBLAS is found)
        say(names[1], 2, count)
        tr.run_recorded(4, 2, es, es, 0.5)  # Experiment.train records history inside the kernel
        say(names[2], 3, count)
        tr.metrics(es, 0.5)
        tr.weight_norms()
        say(names[3], 4, count)
        tr.predict(X, hidden=True)
        tr.predict(X)
        say(names[4], 5, count)
        tr.loss_and_grad()  # L-BFGS, landscapes
        tr.loss_and_grad(train=True)
    if CSV_PHASE in names:
        say(CSV_PHASE, 6, count)
        _warm_up_csv_parser()


def compile_and_mark(dtype: str, say: Say | None = None) -> float:
    """``compile_dtype`` under this machine's lock for ``dtype``, then the marker that says its
    kernels are cached. Another process compiling it already: wait for it, then (cache filled)
    this only loads. Returns the seconds spent."""
    t0 = time.perf_counter()
    with _MachineLock(readiness.lock_path(dtype)):
        if not readiness.marker_path(dtype).is_file():
            compile_dtype(dtype, say)
            readiness.write_marker(dtype, time.perf_counter() - t0)
    return time.perf_counter() - t0


ALL_KEYS = ("float64", "float32", "float64-blocks", "float32-blocks")


def warm_up(dtypes: tuple[str, ...] = ALL_KEYS, say: Say | None = None) -> None:
    """Everything (``playground warmup``, the installers): every precision and its variant
    for networks with convolution, pooling or recurrent blocks, markers written."""
    for dtype in dtypes:
        t0 = time.perf_counter()
        with _MachineLock(readiness.lock_path(dtype)):
            compile_dtype(dtype, say)
            readiness.write_marker(dtype, time.perf_counter() - t0)
    if "float64" not in dtypes:
        _warm_up_csv_parser()


class _MachineLock:
    """A lock file holding its owner's pid: one compile per precision per machine at once.
    A lock whose owner has died is taken over."""

    def __init__(self, path):
        self.path = path
        self.held = False

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                if _stale(self.path):
                    try:
                        os.unlink(self.path)
                    except OSError:
                        pass
                    continue
                time.sleep(0.2)
                continue
            except OSError:  # a read-only cache folder: compile unlocked
                return self
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self.held = True
            return self

    def __exit__(self, *exc):
        if self.held:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _stale(path) -> bool:
    try:
        pid = int(path.read_text().strip() or "0")
        age = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return True  # vanished or half-written: try again
    if os.name != "posix":  # no cheap liveness check (os.kill would terminate it)
        return age > LOCK_STALE_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return pid == os.getpid()


def progress_printer(dtype: str) -> Say:
    """Progress lines for the parent (``readiness.parse_progress``); a parent that has gone
    away (its pipe closed) is no reason to stop compiling."""
    state = {"ok": True}

    def say(phase: str, number: int, count: int) -> None:
        if not state["ok"]:
            return
        try:
            print(f"{readiness.PROGRESS_PREFIX} {number}/{count} {phase}", flush=True)
        except OSError:
            state["ok"] = False
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives until exit)
            except OSError:
                pass

    return say


def _warm_up_csv_parser() -> None:
    """The numeric CSV parser (large all-number files) is numba code too: compile it here."""
    import tempfile
    from pathlib import Path

    from playground.data.csv_numeric import read_numeric

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.csv"
        path.write_text("a,b\n1.5,2\n-3e2,4\n", encoding="utf-8")
        read_numeric(path, 1, ",", 2)
