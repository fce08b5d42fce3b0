"""The training worker: a QObject moved to a QThread that owns the experiment while it trains.

Its loop (``run``) trains in chunks of ``experiment.train(..., should_stop=...)`` that end
exactly when the next snapshot is due (the engine checks between its nogil kernel calls, one per
history row), or at once when a command is queued, and between chunks
it runs the commands the GUI queued (:meth:`post`): play/pause, step, replace the experiment,
apply training settings live... When its :class:`~playground.app.pacing.SnapshotPacer`
allows (36 a second while training) it builds a :class:`Snapshot` (plain copies, including the
decision-boundary grid computed here, never in the GUI thread) and emits it. Signals are only
ever connected to slots of QObjects living in the GUI thread (see shared/PITFALLS.md). The GUI
acknowledges each snapshot and at most one is ever pending: a busy GUI is never flooded, it just
gets the next snapshot later, carrying every history row since the last one.

No Qt object is touched from the commands: they only change the worker's plain state.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from playground.engine import readiness
from playground.experiment import Experiment
from playground.spec import DataSpec, LayerSpec, NetworkSpec, default_spec

from .pacing import HistoryCursor, RateMeter, SnapshotPacer, plan_steps

# the losses shown between history rows are re-evaluated at most this share of the time
# (Experiment.live_eval_budget): a CNN's evaluation after every short chunk cost 95% of it
LIVE_EVAL_BUDGET = 0.1
LIVE_EVAL_INTERVAL_S = 1.0 / 36.0  # the live losses at most once per snapshot (SnapshotPacer hz)
ACK_POLL_S = 0.002  # a due snapshot waiting for the GUI's acknowledgement is retried this often
MAX_HIDDEN_NEURONS_IN_GRID = 512  # beyond this, thumbnails of every neuron cost too much per frame


@dataclass
class Snapshot:
    """What the GUI needs to draw one frame; plain data, owned by whoever receives it."""

    experiment_id: int
    step: int
    epoch: float
    theta: np.ndarray
    params: list[tuple[np.ndarray, np.ndarray]]
    metrics: dict
    status: str  # "ready" | "diverged"
    message: str
    running: bool
    steps_per_s: float
    steps_per_epoch: int
    history_reset: bool  # True: history_rows is the whole history; else rows appended at history_start
    history_start: int
    history_rows: dict[str, np.ndarray]
    events: list[tuple[int, str]]
    grid: tuple | None = None  # (xs, ys, out (r, r, n_out), hidden (r, r, n) or None)
    grid_axes: tuple = (0, 1)  # the raw columns the grid spans: (x, y), or (0, None) for 1-D data
    extra: dict = field(default_factory=dict)

    @property
    def neuron_grids(self) -> np.ndarray | None:
        """(n_neurons, r, r): every hidden and output neuron over the plane, or None."""
        if self.grid is None or self.grid[3] is None:
            return None
        return np.moveaxis(self.grid[3], -1, 0)

    @property
    def history_len(self) -> int:
        n = len(next(iter(self.history_rows.values()))) if self.history_rows else 0
        return self.history_start + n


# what the warm-up compiles (or loads from numba's cache), in order: the status bar names it
WARM_UP_PHASES = ("evaluation", "training step", "pictures")


def warm_up_spec():
    """A throwaway tiny experiment that makes numba compile (or load) every kernel we use."""
    spec = default_spec()
    return replace(
        spec,
        data=DataSpec(kind="toy", name="xor", n_samples=16, train_fraction=0.5),
        network=NetworkSpec(hidden=(LayerSpec(3, "tanh"),), output_activation="sigmoid"),
    )


def compile_kernels(dtype: str, progress: Callable[[str, int, int], None] | None = None) -> None:
    """Compile (or load from numba's cache) every kernel an app session of ``dtype`` (an
    engine key: ``readiness.engine_key``) uses, on the tiny ``warm_up_spec``;
    ``progress(phase, number, count)`` hears each phase first."""
    if readiness.split_key(dtype)[1]:  # convolution, pooling, recurrent blocks: their own kernels
        from playground.engine.warmup import compile_dtype

        with readiness.forced():
            compile_dtype(dtype, progress)
        return
    spec = warm_up_spec()
    spec = replace(spec, training=replace(spec.training, dtype=dtype))
    say = progress or (lambda *_: None)
    count = len(WARM_UP_PHASES)
    say(WARM_UP_PHASES[0], 1, count)
    exp = Experiment(spec)  # evaluates the initial weights
    say(WARM_UP_PHASES[1], 2, count)
    exp.train(steps=3)
    say(WARM_UP_PHASES[2], 3, count)
    exp.grid(resolution=4, hidden=True, theta=exp.trainer.theta.copy())


# (thread, worker) pairs whose thread did not stop within a shutdown's time limit: kept referenced,
# so Python never collects a QThread whose thread still runs (Qt aborts the process then)
UNFINISHED_THREADS: list[tuple[QThread, QObject]] = []


def stop_worker_thread(thread: QThread, worker: CommandWorker, timeout_ms: int | None, what: str) -> bool:
    """Stop a worker's thread and wait until it has finished: a kernel compile in it cannot be
    interrupted, so by default this waits for it. With ``timeout_ms`` and a thread still
    running after it, the thread and worker stay referenced until the process ends, never
    collected while they run. True when the thread has finished."""
    if not thread.isRunning():
        return True
    worker.request_stop()
    thread.quit()
    done = thread.wait() if timeout_ms is None else thread.wait(int(timeout_ms))
    if not done:
        print(f"warning: the {what} thread did not stop in time", file=sys.stderr)
        UNFINISHED_THREADS.append((thread, worker))
    return bool(done)


class CommandWorker(QObject):
    """A worker-thread QObject driven by a queue of commands: ``post("name", *args)`` runs
    ``_cmd_name(*args)`` in the worker between units of work; ``call(fn)`` runs ``fn`` there
    on ``_call_target()`` and hands back its result. Subclasses write the loop (``run``) and
    send snapshots when their ``pacer`` allows; the GUI acknowledges each with :meth:`ack`."""

    commandFailed = Signal(str)
    busy_text = "the worker did not answer in time"

    def __init__(self, pacer: SnapshotPacer):
        super().__init__()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self.pacer = pacer

    # -- thread-safe API ----------------------------------------------------------------
    def post(self, name: str, *args) -> None:
        """Queue the command ``_cmd_<name>(*args)``; runs in the worker between chunks."""
        self._queue.put((name, args))

    def call(self, fn: Callable, timeout: float = 10.0):
        """Run ``fn(target)`` in the worker between chunks and return its result (blocks)."""
        done = threading.Event()
        box: dict = {}
        self._queue.put(("_call", (fn, box, done)))
        if not done.wait(timeout):
            raise TimeoutError(self.busy_text)
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def request_stop(self) -> None:
        self._stop.set()
        self._queue.put(("noop", ()))

    def ack(self) -> None:
        """The GUI has handled one snapshot."""
        self.pacer.ack()

    # -- worker thread ----------------------------------------------------------------------
    def _drain(self, block: bool) -> None:
        """Run every queued command (waiting up to 0.25 s for one when ``block``)."""
        try:
            item = self._queue.get(timeout=0.25) if block else self._queue.get_nowait()
        except queue.Empty:
            return
        while True:
            self._execute(*item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return

    def _execute(self, name: str, args: tuple) -> None:
        try:
            getattr(self, "_cmd_" + name)(*args)
        except Exception as e:  # a command must never kill the loop
            self.commandFailed.emit(str(e))

    def _call_target(self):
        raise NotImplementedError

    def _cmd_noop(self) -> None:
        pass

    def _cmd__call(self, fn, box: dict, done: threading.Event) -> None:
        try:
            box["result"] = fn(self._call_target())
        except BaseException as e:  # handed back to the waiting caller
            box["error"] = e
        finally:
            done.set()


class TrainingWorker(CommandWorker):
    """Lives in a QThread; call :meth:`post` (thread-safe) from the GUI, never its internals."""

    snapshotReady = Signal(object)
    diverged = Signal(str)
    engineReady = Signal(float)  # seconds the warm-up took
    engineProgress = Signal(str, int, int)  # warm-up phase: what compiles, its number, how many
    dtypeCompiling = Signal(str)  # a precision's kernels compile on first use ("" when done)
    dtypeReady = Signal(str, float)  # that precision and the seconds it took
    # quick start: a precision's kernels compile in a background process meanwhile the numpy
    # twins train; carries a readiness.Progress (plain data) whenever it moves on or is ready
    compileProgress = Signal(object)
    relay = Signal(int)  # high-rate test signal (soak test); silent unless relay_per_loop > 0
    finished = Signal()

    busy_text = "the training engine did not answer in time"

    def __init__(self, experiment: Experiment | None = None):
        # plots redraw once per snapshot: a little above 30 frames/s; the boundary heatmap and
        # neuron thumbnails at 16; chunks end on time, so one ending just then counts as due
        hz = 1.0 / LIVE_EVAL_INTERVAL_S
        super().__init__(SnapshotPacer(hz=hz, grid_hz=16.0, max_unacked=1, slack=0.999))
        self.pacer.force()
        self._exp = experiment
        if experiment is not None:
            experiment.live_eval_budget = LIVE_EVAL_BUDGET
        self._running = False
        self._pending_steps = 0
        self._cursor = HistoryCursor()
        self._chunk = 200  # steps of a first chunk, before the rate is known
        self._rate = 0.0  # measured steps/s of the current experiment (sizes chunks)
        self._deadline = 0.0
        self._rate_meter = RateMeter()
        self._relay_counter = 0
        # tunables (set before the thread starts, or through post)
        self.warm_up = True
        self.grid_resolution = 80
        self.grid_axes: tuple = (0, 1)  # the controller's axes (it validates them; set_grid, set_experiment)
        self._fresh_metrics: tuple | None = None  # (experiment id, step, metrics) after a live loss change
        self.target_chunk_s = 0.03  # upper bound; chunks also end when a snapshot is due
        self.relay_per_loop = 0
        self.ready = False
        self._warm_dtypes: set[str] = set()  # precisions whose kernels this process has ready
        self._watched: dict[str, tuple] = {}  # quick start: precision -> last progress sent
        # name -> fn(experiment, theta) computed with each snapshot into ``snap.extra[name]``
        # (views that need more than the weights, e.g. the image views' feature maps); a fn
        # returns None when it has nothing new. Set through the controller's add_snapshot_extra.
        self.snapshot_extras: dict[str, Callable] = {}

    # -- the loop -----------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        try:
            if self.warm_up and readiness.start_mode() == "quick":
                # train at once (on the twins while a background process compiles): never wait
                self._watch(warm_up_spec().training.dtype)
                if self._exp is not None:
                    self._watch(self._exp.trainer.engine_key)
                self.ready = True
                self._refresh_if_cold(self._exp)
                self.engineReady.emit(0.0)
            elif self.warm_up:
                t0 = time.perf_counter()
                dtype = warm_up_spec().training.dtype
                compile_kernels(dtype, self.engineProgress.emit)
                self._warm_dtypes.add(dtype)
                self.dtypeReady.emit(dtype, 0.0)
                if self._exp is not None:  # built before the warm-up: its precision too
                    self._warm_up_dtype(self._exp.trainer.engine_key)
                self.ready = True
                self._refresh_if_cold(self._exp)
                self.engineReady.emit(time.perf_counter() - t0)
            else:
                self.ready = True
                self.engineReady.emit(0.0)
            while not self._stop.is_set():
                busy = self._exp is not None and (self._running or self._pending_steps > 0)
                self._drain(block=not busy and not self.pacer.forced)
                if self._stop.is_set():
                    break
                if self._watched:
                    self._poll_compiles()
                if self._exp is None:
                    continue
                if self._running or self._pending_steps > 0:
                    self._train_chunk()
                self._maybe_snapshot()
                for _ in range(self.relay_per_loop):
                    self._relay_counter += 1
                    self.relay.emit(self._relay_counter)
        finally:
            self.finished.emit()

    def _chunk_deadline(self) -> float:
        """When the running chunk should end: at the next snapshot, ``target_chunk_s`` at most.

        A snapshot that is due but not yet acknowledged by the GUI is polled for every
        ``ACK_POLL_S``, so it leaves as soon as the GUI is ready."""
        now = time.perf_counter()
        due = self.pacer.next_due()
        if due <= now:
            return now + ACK_POLL_S
        return min(due, now + self.target_chunk_s)

    def _stop_chunk(self) -> bool:
        # checked by the engine between its kernel calls (one per history row: ~0.1 ms apart)
        return time.perf_counter() >= self._deadline or not self._queue.empty() or self._stop.is_set()

    def _train_chunk(self) -> None:
        exp = self._exp
        if self._running:
            # The engine trains (and records history rows) inside one nogil kernel call where it
            # can, so the step budget is what fits before the deadline at the measured rate;
            # on its other paths it also stops between kernel calls once the deadline passes.
            # The chunk's length in time counts what it evaluates: the history rows it reaches
            # (a CNN's 1,800 images cost ~25 ms each) and, when due, the live losses at its end,
            # so a chunk that evaluates trains less and the snapshot still leaves on time.
            self._deadline = self._chunk_deadline()
            t0, step0, live0 = time.perf_counter(), exp.step, exp.live_eval_seconds
            row_cost, live_cost, live_due = exp.eval_costs()
            every = exp.record_every
            if self._rate > 0:
                seconds = self._deadline - t0 - (live_cost if live_due <= self._deadline else 0.0)
                to_row = every - step0 % every
                k = plan_steps(seconds, self._rate, to_row, every, row_cost, exp_max_chunk())
            else:
                k = self._chunk
            exp.live_eval_interval = LIVE_EVAL_INTERVAL_S  # running: the losses once per snapshot
            try:
                exp.train(steps=max(1, min(k, exp_max_chunk())), should_stop=self._stop_chunk)
            finally:
                exp.live_eval_interval = 0.0  # a manual or inspected step shows its own losses
            dt, done = time.perf_counter() - t0, exp.step - step0
            rows = exp.step // every - step0 // every
            train_s = dt - rows * row_cost - (exp.live_eval_seconds - live0)  # the steps alone
            if done > 0 and train_s > 0.001:
                rate = done / train_s
                self._rate = rate if self._rate <= 0 else 0.7 * self._rate + 0.3 * rate
        else:
            exp.train(steps=self._pending_steps)
            exp.record_now()  # a manual step shows on the curves at once
            self._pending_steps = 0
            self.pacer.force()
        self._rate_meter.add(exp.step)
        if exp.status == "diverged":
            self._running = False
            self._pending_steps = 0
            self.pacer.force()
            self._maybe_snapshot()
            self.diverged.emit(exp.message)

    def steps_per_s(self) -> float:
        return self._rate_meter.rate() if self._running else 0.0

    def _maybe_snapshot(self) -> None:
        with_grid = self.pacer.take(self._running)
        if with_grid is not None:
            self.snapshotReady.emit(self.build_snapshot(with_grid=with_grid))

    def build_snapshot(self, with_grid: bool = True) -> Snapshot:
        exp = self._exp
        reset, start, rows = self._cursor.take(exp)
        theta = exp.trainer.theta.copy()
        grid, grid_axes = None, tuple(self.grid_axes)
        if with_grid and exp.dataset.X_train.ndim == 2:  # images, sequences: no input plane
            grid, grid_axes = self._grid(exp, theta)
        extra = {}
        for name, fn in list(self.snapshot_extras.items()):
            try:
                value = fn(exp, theta)
            except Exception as e:  # a view's extra must never stop training
                self.commandFailed.emit(f"{name}: {e}")
                continue
            if value is not None:
                extra[name] = value
        metrics = exp.metrics()
        fresh = self._fresh_metrics
        if fresh is not None:
            if fresh[0] == id(exp) and fresh[1] == exp.step:
                metrics.update(fresh[2])  # the loss changed since the last evaluation, weights did not
            else:
                self._fresh_metrics = None  # trained since: the experiment's own metrics are newer
        return Snapshot(
            experiment_id=id(exp),
            step=exp.step,
            epoch=exp.epoch,
            theta=theta,
            params=[tuple(a.copy() for a in p) for p in exp.trainer.layout.views(theta)],
            metrics=metrics,
            status=exp.status,
            message=exp.message,
            running=self._running,
            steps_per_s=self.steps_per_s(),
            steps_per_epoch=exp.trainer.steps_per_epoch,
            history_reset=reset,
            history_start=start,
            history_rows=rows,
            events=list(exp.events),
            grid=grid,
            grid_axes=grid_axes,
            extra=extra,
        )

    def _grid(self, exp: Experiment, theta: np.ndarray) -> tuple[tuple, tuple]:
        """(grid, the axes it spans). The controller hands over axes valid for the experiment
        with it; should they not fit anyway, the grid says which axes it really spans."""
        n_raw = exp.dataset.raw_train.shape[1]
        axes = tuple(self.grid_axes)
        if n_raw <= 1:
            axes, call_axes = (0, None), (0, 0)
        else:
            ok = len(axes) == 2 and all(isinstance(a, int) and 0 <= a < n_raw for a in axes)
            if not ok or axes[0] == axes[1]:
                axes = (0, 1)
            call_axes = axes
        hidden = int(exp.trainer.layout.sizes[1:].sum()) <= MAX_HIDDEN_NEURONS_IN_GRID
        res = exp.grid(axes=call_axes, resolution=self.grid_resolution, hidden=hidden, theta=theta)
        return (res if hidden else (*res, None)), axes

    # -- commands (worker thread) -----------------------------------------------------------
    def _call_target(self):
        return self._exp

    def _cmd_play(self, running: bool) -> None:
        if running and self._exp is not None and self._exp.status == "diverged":
            running = False
        if self._running and not running and self._exp is not None:
            self._exp.record_now()  # paused between history rows: the curves show where it stopped
        self._running = bool(running)
        self._rate_meter.clear()
        self.pacer.force(grid=False)

    def _cmd_step(self, n: int) -> None:
        self._running = False
        if self._exp is not None and self._exp.status != "diverged":
            self._pending_steps += int(n)

    def _cmd_step_epoch(self) -> None:
        if self._exp is not None:
            self._cmd_step(self._exp.trainer.steps_per_epoch)

    @staticmethod
    def _refresh_if_cold(exp: Experiment | None) -> None:
        # built before the kernels existed: its first history row has no losses; same seed, same weights
        if exp is not None and exp.provenance.built_cold and exp.step == 0:
            exp.reset()
            exp.provenance.built_cold = False

    def _watch(self, dtype: str) -> None:
        """Quick start: make sure ``dtype``'s kernels are on their way (the first readiness
        check starts the background compile) and report its progress from now on."""
        if dtype in self._warm_dtypes or dtype in self._watched:
            return
        readiness.kernels_ready(dtype)
        self._watched[dtype] = ()
        self._poll_compiles()

    def _poll_compiles(self) -> None:
        """Send each watched compile's progress when it moved on; forget it once ready."""
        for dtype, last in list(self._watched.items()):
            p = readiness.progress(dtype)
            if p.ready:
                readiness.kernels_ready(dtype)  # switch this process over
                del self._watched[dtype]
                self._warm_dtypes.add(dtype)
            key = (p.number, p.phase, p.ready, p.note)
            if key != last:
                if not p.ready:
                    self._watched[dtype] = key
                self.compileProgress.emit(p)

    def _warm_up_dtype(self, dtype: str) -> None:
        """Compile (or load) every kernel of ``dtype`` before an experiment of it trains, so
        the window can say so (float32 on first use takes seconds) instead of freezing on
        the first chunk. Quick start: the twins train meanwhile a background process
        compiles (``_watch``)."""
        if dtype in self._warm_dtypes:
            return
        if readiness.start_mode() == "quick":
            self._watch(dtype)
            return
        self._warm_dtypes.add(dtype)
        if readiness.split_key(dtype)[1]:
            return  # compiled mode (tests, tools): a first CNN/RNN compiles what it uses when used
        self.dtypeCompiling.emit(dtype)
        t0 = time.perf_counter()
        compile_kernels(dtype)
        self.dtypeReady.emit(dtype, time.perf_counter() - t0)

    def _cmd_set_experiment(self, exp: Experiment, axes: tuple | None = None) -> None:
        if self.ready and self.warm_up:
            self._warm_up_dtype(exp.trainer.engine_key)
        if self.ready:
            self._refresh_if_cold(exp)
        self._exp = exp
        exp.live_eval_budget = LIVE_EVAL_BUDGET
        if axes is not None:
            self.grid_axes = tuple(axes)
        self._fresh_metrics = None
        self._pending_steps = 0
        self._running = self._running and exp.status != "diverged"
        self._rate = 0.0
        self._rate_meter.clear()
        self.pacer.force()

    def _cmd_apply_training(self, training, note) -> None:
        exp = self._exp
        if exp is None:
            return
        old = exp.spec.training
        exp.apply_training(training, note)
        if (old.loss, old.huber_delta) != (training.loss, training.huber_delta) and self.ready:
            # the experiment's last metrics are the old loss's: evaluate the new one on the
            # current weights, so the next snapshot shows it even while paused
            with np.errstate(over="ignore", invalid="ignore"):
                self._fresh_metrics = (id(exp), exp.step, exp.live_evaluate())  # sampled if big
        self.pacer.force(grid=False)

    def _cmd_set_grid(self, axes: tuple, resolution: int | None = None) -> None:
        self.grid_axes = tuple(axes)
        if resolution is not None:
            self.grid_resolution = int(resolution)
        self.pacer.force()

    def _cmd_snapshot(self) -> None:
        self.pacer.force()

    def _cmd_set_relay(self, per_loop: int) -> None:
        self.relay_per_loop = int(per_loop)


def exp_max_chunk() -> int:
    from playground.experiment import MAX_CHUNK

    return MAX_CHUNK
