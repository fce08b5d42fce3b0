"""GAN mode's worker: a QThread that owns the GanTrainer, trains it in chunks and sends
GanSnapshots.

Chunks are sized so one takes ~30 ms (the kernels release the GIL, so the GUI paints
meanwhile). A snapshot carries plain copies: the new loss rows, the generated points, and,
at the pacer's slower grid rate, the discriminator's heatmap, the generator's arrows, the
warped noise grid and the fit (``GanTrainer`` computes all of them on the current state).
Commands (``post``) run between chunks: play / pause, one D step, one G step, a new
trainer. Cold start: in the app's quick mode a separate process compiles the kernels into
numba's cache (``playground.gan.warmup``) while this worker trains on the numpy twin, and
it switches to the kernels at a chunk boundary when that process is done (the state is
the same arrays; twin and kernels agree to ~1e-15). In compiled mode (tests, the CLI) it
compiles in this thread before the first snapshot.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal, Slot

from playground.engine import readiness
from playground.gan.model import StepResult
from playground.gan.warmup import compile_kernels

from ..pacing import RateMeter, SnapshotPacer
from ..worker import CommandWorker

SHOWN_SAMPLES = 1000
ARROWS = 150
HEATMAP = 64
WARP = 17
FIT_EVERY_S = 0.3


@dataclass
class GanSnapshot:
    generation: int  # a new trainer (reset, new data, a loaded session) starts a new generation
    iteration: int
    d_steps: int
    g_steps: int
    running: bool
    iterations_per_s: float
    status: str  # "ok" | "diverged"
    message: str
    loss: str
    records_reset: bool  # rows replace what the view holds (first snapshot, decimation)
    records: np.ndarray  # (n, 5) new per-iteration rows (kernels.REC_*)
    record_stride: int
    records_start: int  # index of records[0] among the kept rows
    generated: np.ndarray  # (SHOWN_SAMPLES, 2)
    real: np.ndarray | None = None  # sent with each new generation
    extent: tuple | None = None
    grid: tuple | None = None  # (xs, ys, values (n, n))
    arrows: tuple | None = None  # (points, directions)
    warped: np.ndarray | None = None  # (WARP, WARP, 2)
    fit: dict | None = None
    step: StepResult | None = None  # the single step this snapshot follows
    engine: str = "kernels"  # or the numpy twin while the kernels compile


class GanWorker(CommandWorker):
    snapshotReady = Signal(object)
    diverged = Signal(str)
    busy_text = "the GAN trainer did not answer in time"

    def __init__(self, trainer):
        super().__init__(SnapshotPacer(hz=36.0, grid_hz=12.0, max_unacked=2, slack=0.999))
        self._tr = trainer
        self._generation = 0
        self._running = False
        self._its_per_s = 2000.0  # estimate, sizes the chunks
        self._rate = RateMeter()
        self._sent = 0  # kept record rows already sent
        self._stride = trainer.record_stride
        self._new_generation = True
        self._step: StepResult | None = None
        self._status, self._message = "ok", ""
        self.target_chunk_s = 0.03
        self._fit_at = 0.0
        self._ready: set[str] = set()  # precisions whose kernels this process can call
        self._compile_proc: subprocess.Popen | None = None
        self._compiling: str | None = None

    # -- loop ------------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        self._prepare(self._tr.dtype.name)
        self.pacer.force()
        while not self._stop.is_set():
            self._poll_compile()
            self._drain(block=not self._running and not self.pacer.forced)
            if self._stop.is_set():
                break
            if self._running:
                self._train_chunk()
            self._maybe_snapshot()
        if self._compile_proc is not None and self._compile_proc.poll() is None:
            self._compile_proc.kill()

    # -- cold start: the numpy twin until the kernels are compiled ------------------------------
    def _prepare(self, dtype: str) -> None:
        """Make the kernels of ``dtype`` usable: in compiled mode (CLI, tests) compile them
        here; in quick mode (the app) start a process that compiles them into numba's cache
        and train on the numpy twin meanwhile (a frozen app, or a failed start: here)."""
        if dtype in self._ready:
            self._tr.backend = "numba"
            return
        if (
            readiness.start_mode() == "quick"
            and not getattr(sys, "frozen", False)
            and self._compile_proc is None
        ):
            try:
                self._compile_proc = subprocess.Popen(
                    [sys.executable, "-m", "playground.gan.warmup", dtype],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                self._compiling = dtype
                self._tr.backend = "numpy"
                return
            except OSError:
                self._compile_proc = None
        if self._compile_proc is not None:  # another precision is compiling: wait on the twin
            self._tr.backend = "numpy"
            return
        compile_kernels(dtype)
        self._ready.add(dtype)
        self._tr.backend = "numba"

    def _poll_compile(self) -> None:
        proc = self._compile_proc
        if proc is None or proc.poll() is None:
            return
        dtype, self._compile_proc, self._compiling = self._compiling, None, None
        if proc.returncode != 0:
            compile_kernels(dtype)  # the process failed: compile here instead
        self._ready.add(dtype)
        if self._tr.dtype.name == dtype:
            self._tr.backend = "numba"  # at a chunk boundary: the same state, now on the kernels
        else:
            self._prepare(self._tr.dtype.name)
        self.pacer.force()

    @property
    def engine(self) -> str:
        return "kernels" if self._tr.backend == "numba" else "numpy twin (compiling the kernels…)"

    def _train_chunk(self) -> None:
        """Train until about when the next snapshot is due (at most ``target_chunk_s``), so
        snapshots leave at the pacer's rate however long building one takes."""
        t0 = time.perf_counter()
        target = min(self.target_chunk_s, max(0.002, self.pacer.next_due() - t0))
        n = int(max(1, min(100_000, self._its_per_s * target)))
        with np.errstate(all="ignore"):
            rep = self._tr.run(n)
        dt = time.perf_counter() - t0
        if dt > 0 and rep.iterations:
            self._its_per_s = 0.7 * self._its_per_s + 0.3 * rep.iterations / dt
        self._rate.add(self._tr.iteration)
        if not rep.ok:
            self._running = False
            self._status, self._message = "diverged", rep.message
            self.pacer.force()
            self.diverged.emit(rep.message)

    def _maybe_snapshot(self) -> None:
        with_grid = self.pacer.take(self._running)
        if with_grid is None:
            return
        self.snapshotReady.emit(self.build_snapshot(with_grid or self._new_generation))

    def build_snapshot(self, with_grid: bool = True) -> GanSnapshot:
        tr = self._tr
        reset = self._new_generation or tr.record_stride != self._stride
        if reset:
            self._sent, self._stride = 0, tr.record_stride
        rows = tr.records[self._sent :].copy()
        start = self._sent
        self._sent = len(tr.records)
        snap = GanSnapshot(
            generation=self._generation,
            iteration=tr.iteration,
            d_steps=tr.d_steps,
            g_steps=tr.g_steps,
            running=self._running,
            iterations_per_s=self._rate.rate() if self._running else 0.0,
            status=self._status,
            message=self._message,
            loss=tr.spec.training.loss,
            records_reset=reset,
            records=rows,
            record_stride=tr.record_stride,
            records_start=start,
            generated=tr.samples(SHOWN_SAMPLES),
            step=self._step,
            engine=self.engine,
        )
        self._step = None
        if self._new_generation:
            snap.real = tr.real_samples(SHOWN_SAMPLES)
            snap.extent = tr.view_extent()
            self._new_generation = False
        if with_grid:
            snap.extent = snap.extent or tr.view_extent()
            snap.grid = tr.discriminator_grid(HEATMAP, snap.extent)
            snap.arrows = tr.generator_arrows(snap.generated[:ARROWS])
            snap.warped = tr.noise_grid(WARP)[1]
            now = time.perf_counter()
            if now - self._fit_at >= FIT_EVERY_S or not self._running:
                snap.fit = tr.fit()  # the costliest part (~4 ms): a few times a second
                self._fit_at = now
        return snap

    # -- commands (worker thread) -------------------------------------------------------------
    def _call_target(self):
        return self._tr

    def _cmd_play(self, running: bool) -> None:
        self._running = bool(running) and self._status == "ok"
        self._rate.clear()
        self.pacer.force()

    def _cmd_d_step(self) -> None:
        self._single(self._tr.d_step)

    def _cmd_g_step(self) -> None:
        self._single(self._tr.g_step)

    def _cmd_iteration(self) -> None:
        """One iteration: d_steps D steps, then a G step (the step shown is the G step's)."""
        for _ in range(self._tr.spec.training.d_steps):
            self._tr.d_step()
        self._single(self._tr.g_step)

    def _single(self, fn) -> None:
        self._running = False
        with np.errstate(all="ignore"):
            self._step = fn()
        if self._step.status != 0:
            self._status, self._message = "diverged", "a step made the weights infinite or NaN"
        self.pacer.force()

    def _cmd_set_trainer(self, trainer, generation: int) -> None:
        self._tr = trainer
        self._prepare(trainer.dtype.name)
        self._generation = generation
        self._new_generation = True
        self._status, self._message = "ok", ""
        self._running = False
        self._rate.clear()
        self.pacer.force()

    def _cmd_update_spec(self, spec) -> None:
        """Training settings live (loss, learning rates, batch sizes, d_steps)."""
        self._tr.update_spec(spec)
        self.pacer.force()

    def _cmd_snapshot(self) -> None:
        self.pacer.force()
