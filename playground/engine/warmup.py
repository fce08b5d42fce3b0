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


def compile_dtype(key: str, say: Say | None = None, only: tuple[str, ...] | None = None) -> None:
    """Compile (or load from numba's cache) every kernel a session of an engine key (a
    precision, or its ``-blocks`` variant) calls; ``say(phase, number, count)`` hears each
    phase before it starts. ``only``: just those phases (the two halves of a compile split
    over two processes, ``compile_and_mark``)."""
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
        work = {
            # the backend this machine uses (gemm where numpy's OpenBLAS is found)
            PHASES[0]: lambda: tr.run(2),
            # Experiment.train records history inside the kernel
            PHASES[1]: lambda: tr.run_recorded(4, 2, es, es, 0.5),
            PHASES[2]: lambda: (tr.metrics(es, 0.5), tr.weight_norms()),
            PHASES[3]: lambda: (tr.predict(X, hidden=True), tr.predict(X)),
            # L-BFGS, landscapes, the step inspector
            PHASES[4]: lambda: (tr.loss_and_grad(), tr.loss_and_grad(train=True)),
            CSV_PHASE: _warm_up_csv_parser,
        }
        for number, name in enumerate(names, 1):
            if only is None or name in only:
                say(name, number, count)
                work[name]()


# A compile split over two processes (``compile_and_mark``): the training kernels here, and
# beside them, in a second process, what is checked or drawn. Ordered so that each half
# finds in numba's cache what the other has compiled by then (train_record calls
# metrics_kernel; loss_and_grad_kernel calls the network's loss_and_grad), not compiled twice.
TRAINING_HALF = PHASES[:2]
BESIDE_HALF = (PHASES[2], PHASES[3], CSV_PHASE, PHASES[4])
BESIDE_ENV = "PLAYGROUND_COMPILE_BESIDE"  # "0": one process (the default on a 1-core machine)


def compiles_beside() -> bool:
    """Whether a precision's compile is split over two processes: with two or more cores
    (numba compiles under a process-wide lock, so threads would not help)."""
    env = os.environ.get(BESIDE_ENV, "").strip()
    if env in ("0", "1"):
        return env == "1"
    return (os.cpu_count() or 1) >= 2


def compile_half(key: str, half: str, say: Say | None = None) -> None:
    """One half of a split compile (``playground warmup --dtype D --half beside``), in the
    order of ``BESIDE_HALF``; no lock and no marker: the process that started it holds both."""
    names = phases(key)
    order = TRAINING_HALF if half == "training" else BESIDE_HALF
    for name in order:
        if name in names:
            compile_dtype(key, say, only=(name,))


def compile_and_mark(dtype: str, say: Say | None = None, beside: bool | None = None) -> float:
    """``compile_dtype`` under this machine's lock for ``dtype``, then the marker that says its
    kernels are cached. Another process compiling it already: wait for it, then (cache filled)
    this only loads. With ``beside`` (default: ``compiles_beside()``) the evaluation, picture
    and gradient kernels compile in a second process while this one compiles the training
    kernels (a failed second process: they compile here after). Returns the seconds spent."""
    t0 = time.perf_counter()
    with _MachineLock(readiness.lock_path(dtype)):
        if not readiness.marker_path(dtype).is_file():
            if beside is None:
                beside = compiles_beside()
            helper = _Beside(dtype, say) if beside else None
            if helper is None or not helper.started:
                compile_dtype(dtype, say)
            else:
                compile_half(dtype, "training", helper.say)
                if not helper.finished():
                    rest = tuple(n for n in BESIDE_HALF if n in phases(dtype))
                    compile_dtype(dtype, helper.say, only=rest)
            readiness.write_marker(dtype, time.perf_counter() - t0)
    return time.perf_counter() - t0


class _Beside:
    """The second process of a split compile: ``playground warmup --dtype D --half beside
    --progress``; its progress lines are passed on, numbered with this process's own."""

    def __init__(self, dtype: str, say: Say | None):
        import subprocess
        import threading

        self._say = say or (lambda *_: None)
        self._count = len(phases(dtype))
        self._number = 0
        self._lock = threading.Lock()
        self.started = False
        try:
            args = [*readiness.compile_command(dtype), "--half", "beside"]
            self.proc = readiness.spawn_compile(args, stderr=subprocess.DEVNULL, **{BESIDE_ENV: "0"})
        except OSError:
            return
        self.started = True
        self._reader = threading.Thread(target=self._read, name="playground-compile-beside", daemon=True)
        self._reader.start()

    def say(self, phase: str, number: int, count: int) -> None:
        with self._lock:
            self._number += 1
            self._say(phase, min(self._number, self._count), self._count)

    def _read(self) -> None:
        p = readiness.Progress("")
        for line in self.proc.stdout:
            if line.startswith(readiness.PROGRESS_PREFIX):
                readiness.parse_progress(line, p)
                self.say(p.phase, p.number, p.count)

    def finished(self) -> bool:
        """Wait for the second process; True if it compiled its half."""
        rc = self.proc.wait()
        self._reader.join(5.0)
        return rc == 0


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
