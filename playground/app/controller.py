"""ExperimentController: the one object that mutates experiments; every view subscribes to it.

Interface for views (kept stable; the panels in ``playground/app/panels`` rely on it):

- ``controller.experiments: list[Experiment]`` and ``controller.current`` (index; race mode
  later trains several side by side), ``controller.experiment`` (the current one) and
  ``controller.spec`` (the current :class:`ExperimentSpec`, updated synchronously by edits).
  While training, the worker thread owns the experiment: read its static parts (spec, dataset,
  layout) freely, but take live numbers (weights, metrics, grid) from snapshots.
- ``edit_spec(new_spec, text, merge_key=None) -> bool``: pushes an undoable command (Ctrl+Z).
  Data, network, seed or dtype changes rebuild the experiment (weights reset; the status bar
  says what changed, e.g. "Data changed: weights were reset"); training-only changes (lr, optimizer, batch,
  loss, schedule, regularization) apply live without reset, between two training chunks.
  Consecutive edits with the same ``merge_key`` (e.g. dragging a spin box) merge into one undo
  step. Returns False (and shows why) if the spec cannot be built.
- ``axes`` (the one source of truth for the two raw input columns the decision boundary plots:
  ``(x, y)``, or ``(0, None)`` for 1-D data, where the vertical axis is the target);
  ``set_axes(axes)`` validates them, tells the worker (which computes the grid over them) and
  emits ``axesChanged``. Whenever the experiment is replaced (data change, undo/redo, session
  open, lesson, reset...) the axes are validated for the new data (kept by column name where
  they still exist, else the first two columns) *before* ``experimentReplaced`` is emitted, and
  handed to the worker with the experiment.
- ``play()``, ``pause()``, ``toggle_play()``, ``step_once()``, ``step_epoch()``, ``reset()``,
  ``new_seed()``; ``live`` (:class:`LiveHistory`, the GUI-side copy of the metric history);
  ``last_snapshot``; ``running``; ``engine_ready``.
- Signals, always emitted in the GUI thread: ``specChanged(object)`` (new spec),
  ``experimentReplaced()``, ``axesChanged(object)``, ``snapshot(object)``
  (:class:`~playground.app.worker.Snapshot`), ``statusMessage(str)``,
  ``trainingStateChanged(bool)``, ``diverged(str)``, ``engineReadyChanged(bool)``, ``errorOccurred(str)``.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from playground.engine import readiness
from playground.errors import PlaygroundError
from playground.experiment import Experiment
from playground.history import LAYER_COLUMNS, SCALAR_COLUMNS
from playground.spec import ExperimentSpec, default_spec

from .worker import Snapshot, TrainingWorker, stop_worker_thread

RESET_MESSAGE = "Network changed: weights were reset"
DATA_RESET_MESSAGE = "Data changed: weights were reset"
SEED_RESET_MESSAGE = "Seed changed: new weights and data split"
SEED_WEIGHTS_MESSAGE = "Seed changed: new weights (the data has its own seed)"
DTYPE_RESET_MESSAGE = "Precision changed: weights were reset"

Axes = tuple[int, "int | None"]


def reset_message(old: ExperimentSpec, new: ExperimentSpec) -> str:
    """What the status bar says when going from old to new rebuilt the experiment."""
    if old.data != new.data:
        return DATA_RESET_MESSAGE
    if old.network != new.network:
        return RESET_MESSAGE
    if old.seed != new.seed:  # the experiment seed also draws the data unless it has its own
        return SEED_RESET_MESSAGE if new.data.seed is None else SEED_WEIGHTS_MESSAGE
    return DTYPE_RESET_MESSAGE


def _n_raw(dataset) -> int:
    return int(dataset.raw_train.shape[1])


def axis_names(dataset) -> list[str]:
    """The names of the raw input columns (x1, x2, ... where the data has none)."""
    n = _n_raw(dataset)
    names = list(dataset.input_names)
    return names if len(names) == n else [f"x{i + 1}" for i in range(n)]


def valid_axes(dataset, axes) -> Axes:
    """``axes`` if they are two distinct raw columns of ``dataset``; else its default:
    ``(0, None)`` for 1-D data (the vertical axis shows the target), ``(0, 1)`` otherwise."""
    n = _n_raw(dataset)
    if n <= 1:
        return (0, None)
    try:
        a, b = (int(v) for v in axes)
    except (TypeError, ValueError, OverflowError):  # None, "x", [1e400, 0], a wrong length
        return (0, 1)
    if 0 <= a < n and 0 <= b < n and a != b:
        return (a, b)
    return (0, 1)


def carry_axes(axes, old_dataset, new_dataset) -> Axes:
    """The axes for ``new_dataset`` after ``old_dataset`` showed ``axes``: the same columns
    (by name) where the new data still has them, else the new data's default."""
    if old_dataset is None or new_dataset is old_dataset:
        return valid_axes(new_dataset, axes)
    old_names, new_names = axis_names(old_dataset), axis_names(new_dataset)
    if _n_raw(new_dataset) <= 1 or _n_raw(old_dataset) <= 1:
        return valid_axes(new_dataset, None)
    try:
        wanted = [old_names[int(a)] for a in axes]
        mapped = tuple(new_names.index(name) for name in wanted)
    except (TypeError, ValueError, IndexError):
        return valid_axes(new_dataset, None)
    return valid_axes(new_dataset, mapped)


def needs_rebuild(old: ExperimentSpec, new: ExperimentSpec) -> bool:
    """Whether going from old to new needs fresh weights (anything but training settings)."""
    return (
        old.data != new.data
        or old.seed != new.seed
        or old.network != new.network
        or old.training.dtype != new.training.dtype
    )


def build_experiment(spec: ExperimentSpec, dataset=None, engine_ready: bool = True) -> Experiment:
    """Build an Experiment; before the kernels are compiled, skip the first evaluation so the
    GUI thread never waits for numba (the worker re-evaluates once the engine is ready)."""
    if engine_ready:
        return Experiment(spec, dataset)
    exp = Experiment(spec, dataset, record_initial=False)
    exp.provenance.built_cold = True
    return exp


class LiveHistory:
    """The GUI thread's copy of the current experiment's history, fed by snapshots.

    Buffers grow by doubling and are bounded like the core's history (it decimates, and then
    the worker sends the whole, shorter, table again).
    """

    def __init__(self):
        self.n = 0
        self.version = 0  # bumps on every change; plots redraw when it moved
        self.n_layers = 0
        self._cols: dict[str, np.ndarray] = {}

    def clear(self) -> None:
        self.n = 0
        self._cols = {}
        self.version += 1

    def apply(self, snap: Snapshot) -> None:
        rows = snap.history_rows
        if not rows:
            return
        k = len(rows["step"])
        if snap.history_reset:
            self.n = 0
            self.n_layers = rows["grad_norm_w"].shape[1] if rows["grad_norm_w"].ndim == 2 else 0
            self._cols = {c: np.empty((max(256, 2 * k),) + v.shape[1:]) for c, v in rows.items()}
        elif k == 0:
            return
        if snap.history_start != self.n:  # a gap would mean a lost snapshot: never expected
            return
        need = self.n + k
        cap = len(self._cols["step"])
        if need > cap:
            new_cap = max(need, 2 * cap)
            for c, arr in self._cols.items():
                grown = np.empty((new_cap,) + arr.shape[1:])
                grown[: self.n] = arr[: self.n]
                self._cols[c] = grown
        for c, v in rows.items():
            self._cols[c][self.n : need] = v
        self.n = need
        self.version += 1

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self._cols:
            width = (self.n_layers,) if column in LAYER_COLUMNS else ()
            return np.empty((0,) + width)
        return self._cols[column][: self.n]

    def __len__(self) -> int:
        return self.n

    @staticmethod
    def columns() -> list[str]:
        return list(SCALAR_COLUMNS) + list(LAYER_COLUMNS)


class SpecCommand(QUndoCommand):
    def __init__(self, controller: ExperimentController, old, new, text: str, merge_id: int, prebuilt):
        super().__init__(text)
        self.controller, self.old, self.new, self.merge_id = controller, old, new, merge_id
        self._prebuilt = prebuilt

    def id(self) -> int:
        return self.merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SpecCommand) or other.merge_id != self.merge_id or self.merge_id < 0:
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        prebuilt, self._prebuilt = self._prebuilt, None
        self.controller._set_spec(self.new, prebuilt)

    def undo(self) -> None:
        self.controller._set_spec(self.old, None)


class ExperimentController(QObject):
    specChanged = Signal(object)
    experimentReplaced = Signal()
    axesChanged = Signal(object)  # the new (x, y) axes of the decision boundary
    snapshot = Signal(object)
    statusMessage = Signal(str)
    trainingStateChanged = Signal(bool)
    diverged = Signal(str)
    engineReadyChanged = Signal(bool)
    engineProgress = Signal(str, int, int)  # the warm-up's phase (what compiles), number, count
    dtypeCompiling = Signal(str)  # a precision's kernels compile on first use ("" when ready)
    compileProgress = Signal(object)  # quick start: a background compile's readiness.Progress
    errorOccurred = Signal(str)
    relayTick = Signal(int)  # re-emits the worker's high-rate test signal in the GUI thread

    def __init__(
        self, spec: ExperimentSpec | None = None, parent: QObject | None = None, warm_up: bool = True
    ):
        super().__init__(parent)
        self.engine_ready = False
        self.engine_phase: tuple[str, int, int] | None = None  # (phase, number, count) while warming up
        self.engine_started = time.perf_counter()
        self.compiling_dtype = ""  # "float32" while that precision's kernels compile
        self._ready_dtypes: set[str] = set()  # precisions the worker has compiled (or loaded)
        # quick start: precision -> readiness.Progress of its background compile, while it runs
        self.background_compiles: dict[str, readiness.Progress] = {}
        self.running = False
        self.last_snapshot: Snapshot | None = None
        self.live = LiveHistory()
        self.undo_stack = QUndoStack(self)
        self.path: str | None = None
        self._trained_since_save = False
        self._merge_ids: dict[str, int] = {}
        self._spec = spec or default_spec()
        self.experiments: list[Experiment] = [build_experiment(self._spec, engine_ready=False)]
        self.current = 0
        self.relay_count = 0
        self._axes: Axes = valid_axes(self.experiment.dataset, None)

        self._thread = QThread()
        self._thread.setObjectName("training-worker")
        self._worker = TrainingWorker(self.experiment)
        self._worker.grid_axes = self._axes
        self._worker.warm_up = warm_up
        if not warm_up:  # no warm-up (tests, tools): the caller has the kernels compiled
            self._ready_dtypes = {"float64", "float32"}
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        # Only bound slots of this GUI-thread QObject: Qt queues them into the GUI thread.
        self._worker.snapshotReady.connect(self._on_snapshot)
        self._worker.diverged.connect(self._on_diverged)
        self._worker.engineReady.connect(self._on_engine_ready)
        self._worker.engineProgress.connect(self._on_engine_progress)
        self._worker.dtypeCompiling.connect(self._on_dtype_compiling)
        self._worker.dtypeReady.connect(self._on_dtype_ready)
        self._worker.compileProgress.connect(self._on_compile_progress)
        self._worker.commandFailed.connect(self._on_command_failed)
        self._worker.relay.connect(self._on_relay)
        # Start (and compile the kernels) once the event loop runs, so the compiler does not
        # compete for the GIL with building and first painting the window.
        self._shut_down = False
        QTimer.singleShot(0, self._start_thread)

    @Slot()
    def _start_thread(self) -> None:
        if not self._shut_down and not self._thread.isRunning():
            self._thread.start()

    # -- reading ----------------------------------------------------------------------------
    @property
    def experiment(self) -> Experiment:
        return self.experiments[self.current]

    @property
    def spec(self) -> ExperimentSpec:
        return self._spec

    @property
    def axes(self) -> Axes:
        """The raw input columns the decision boundary shows: (x, y), or (0, None) for 1-D."""
        return self._axes

    @property
    def worker(self) -> TrainingWorker:
        return self._worker

    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean() or self._trained_since_save

    # -- editing ------------------------------------------------------------------------------
    def edit_spec(self, new_spec: ExperimentSpec, text: str = "Edit", merge_key: str | None = None) -> bool:
        old = self._spec
        if new_spec == old:
            return True
        prebuilt = None
        try:
            ExperimentSpec.from_dict(new_spec.to_dict())  # validates, naming the field
            if needs_rebuild(old, new_spec):
                prebuilt = self._build(new_spec)
            elif new_spec.training != old.training:
                self._check_training(new_spec)
        except PlaygroundError as e:
            self._error(str(e))
            return False
        merge_id = -1
        if merge_key is not None:
            merge_id = self._merge_ids.setdefault(merge_key, len(self._merge_ids) + 1)
        self.undo_stack.push(SpecCommand(self, old, new_spec, text, merge_id, prebuilt))
        return True

    def _check_training(self, spec: ExperimentSpec) -> None:
        ds = self.experiment.dataset
        from playground.spec import CLASSIFICATION_ONLY_LOSSES

        if ds.task == "regression" and spec.training.loss in CLASSIFICATION_ONLY_LOSSES:
            from playground.errors import SpecError

            raise SpecError(
                "training.loss", f"{spec.training.loss!r} needs class labels; this data is regression"
            )
        from playground.engine import methods  # a method that cannot train this network says why

        if spec.training.optimizer.name not in methods.METHODS:
            return
        from playground.shapes import ShapeError, count_params

        try:  # the new network's size (a stack that cannot be built is refused elsewhere)
            n_params = count_params(
                ds.input_shape, spec.network.hidden, int(self.experiment.trainer.layout.sizes[-1])
            )
        except ShapeError:
            n_params = self.experiment.trainer.layout.n_params
        methods.check(spec, n_params)

    def _build(self, spec: ExperimentSpec) -> Experiment:
        old = self._spec
        reuse = spec.data == old.data and spec.seed == old.seed
        dataset = self.experiment.dataset if reuse else None
        return build_experiment(spec, dataset, engine_ready=self._kernels_ready(spec))

    def _set_spec(self, spec: ExperimentSpec, prebuilt: Experiment | None) -> None:
        """Make ``spec`` current (called by undo commands)."""
        old = self._spec
        if needs_rebuild(old, spec):
            try:
                exp = prebuilt or self._build(spec)
            except PlaygroundError as e:
                self._error(str(e))
                return
            self._spec = spec
            self._replace(exp)
            self.statusMessage.emit(reset_message(old, spec))
        else:
            self._spec = spec
            if spec.training != old.training:
                self._worker.post("apply_training", spec.training, None)
            # keep the experiment's own spec name etc. in step for saving
        self.specChanged.emit(spec)

    def _replace(self, exp: Experiment) -> None:
        old = self.experiment
        self.experiments[self.current] = exp
        # the axes follow the data before anyone hears of the new experiment, and reach the
        # worker together with it: its first grid is over the axes the view will ask for
        self._axes = carry_axes(self._axes, old.dataset if old is not exp else None, exp.dataset)
        self.live.clear()
        self.last_snapshot = None
        self._trained_since_save = True
        self._worker.post("set_experiment", exp, self._axes)
        self.experimentReplaced.emit()

    def set_experiment(self, exp: Experiment, clear_undo: bool = True) -> None:
        """Adopt a whole experiment (opened from a file, restored from recovery)."""
        self._spec = exp.spec
        if clear_undo:
            self.undo_stack.clear()
        self._replace(exp)
        self.specChanged.emit(exp.spec)

    # -- training -----------------------------------------------------------------------------
    def play(self) -> None:
        if self.experiment.status == "diverged":
            self.statusMessage.emit("The run diverged: reset it or lower the learning rate first")
            return
        quick = self._worker.warm_up and readiness.start_mode() == "quick"  # trains at once
        if not self.engine_ready and not self.running and not quick:
            self.statusMessage.emit("Training starts as soon as the engine is ready")
        self._set_running(True)

    def pause(self) -> None:
        self._set_running(False)

    def toggle_play(self) -> None:
        self.pause() if self.running else self.play()

    def _set_running(self, running: bool) -> None:
        self._worker.post("play", running)
        if running != self.running:
            self.running = running
            self.trainingStateChanged.emit(running)

    def step_once(self) -> None:
        self._set_running(False)
        self._worker.post("step", 1)

    def step_epoch(self) -> None:
        self._set_running(False)
        self._worker.post("step_epoch")

    def reset(self) -> None:
        """Start again from the same initial weights (same seed)."""
        try:
            exp = build_experiment(
                self._spec, self.experiment.dataset, engine_ready=self._kernels_ready(self._spec)
            )
        except PlaygroundError as e:
            self._error(str(e))
            return
        self._replace(exp)
        self.statusMessage.emit("Reset: training starts again from the same initial weights")

    def new_seed(self) -> None:
        seed = random.SystemRandom().randrange(1, 100_000)
        self.edit_spec(replace(self._spec, seed=seed), f"New seed {seed}")

    def set_axes(self, axes) -> Axes:
        """Show the raw input columns ``axes`` = (x, y) on the decision boundary (validated for
        the current data: invalid axes give its default). Returns the axes now shown."""
        new = valid_axes(self.experiment.dataset, axes)
        if new != self._axes:
            self._axes = new
            self._worker.post("set_grid", new)
            self.axesChanged.emit(new)
        return new

    def set_grid(self, axes=None, resolution: int | None = None) -> None:
        """Change the boundary's axes (see :meth:`set_axes`) and/or the grid resolution."""
        if axes is not None:
            self.set_axes(axes)
        if resolution is not None:
            self._worker.post("set_grid", self._axes, int(resolution))

    def request_snapshot(self) -> None:
        self._worker.post("snapshot")

    def add_snapshot_extra(self, name: str, fn) -> None:
        """Have the worker compute ``fn(experiment, theta)`` with each snapshot, into
        ``snapshot.extra[name]`` (None: nothing new). ``fn`` runs in the worker thread."""
        self._worker.snapshot_extras[name] = fn

    def call_in_worker(self, fn, timeout: float = 10.0):
        """Run ``fn(experiment)`` where the experiment is safe to read (between chunks)."""
        if not self._thread.isRunning() or not self._worker.ready:
            return fn(self.experiment)
        return self._worker.call(fn, timeout)

    def mark_saved(self, path: str | None) -> None:
        self.path = path
        self._trained_since_save = False
        self.undo_stack.setClean()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop the worker thread and wait until it has finished (fixtures and closeEvent call
        this). A kernel compile in it cannot be interrupted, so by default this waits for it.
        With ``timeout_ms`` and a thread still running after it, the thread and worker stay
        referenced until the process ends, never collected while they run. True when the
        thread has finished."""
        self._shut_down = True
        return stop_worker_thread(self._thread, self._worker, timeout_ms, "training")

    # -- slots for worker signals (GUI thread) ---------------------------------------------------
    @Slot(object)
    def _on_snapshot(self, snap: Snapshot) -> None:
        self._worker.ack()
        if snap.experiment_id != id(self.experiment):
            return  # from an experiment that was replaced meanwhile
        self.live.apply(snap)
        if snap.step > 0:
            self._trained_since_save = True
        self.last_snapshot = snap
        self.snapshot.emit(snap)

    @Slot(str)
    def _on_diverged(self, message: str) -> None:
        if self.running:
            self.running = False
            self.trainingStateChanged.emit(False)
        self.diverged.emit(message)

    @Slot(str, int, int)
    def _on_engine_progress(self, phase: str, number: int, count: int) -> None:
        self.engine_phase = (phase, number, count)
        self.engineProgress.emit(phase, number, count)

    def _kernels_ready(self, spec: ExperimentSpec) -> bool:
        """Whether an experiment of ``spec`` can be evaluated on the GUI thread without
        compiling: never wait for numba there (a first float32 use compiles for seconds).
        Quick start: always once the worker runs (the twins answer until the background
        compile has filled the cache; then the kernels only load)."""
        if self.engine_ready and self._worker.warm_up and readiness.start_mode() == "quick":
            return True
        return self.engine_ready and spec.training.dtype in self._ready_dtypes

    @Slot(object)
    def _on_compile_progress(self, p: readiness.Progress) -> None:
        if not p.ready:
            first = p.dtype not in self.background_compiles
            self.background_compiles[p.dtype] = p
            if first and p.note:
                self.statusMessage.emit(p.note)
            self.compileProgress.emit(p)
            return
        self._ready_dtypes.add(p.dtype)
        was_compiling = self.background_compiles.pop(p.dtype, None) is not None
        self.compileProgress.emit(p)
        if was_compiling or p.seconds > 0:
            what = "engine" if p.dtype == "float64" else readiness.describe(p.dtype)
            self.statusMessage.emit(f"{what[0].upper()}{what[1:]} ready (compiled in {p.seconds:.1f} s)")

    @Slot(str)
    def _on_dtype_compiling(self, dtype: str) -> None:
        self.compiling_dtype = dtype
        self.dtypeCompiling.emit(dtype)

    @Slot(str, float)
    def _on_dtype_ready(self, dtype: str, seconds: float) -> None:
        self._ready_dtypes.add(dtype)
        if self.compiling_dtype:
            self.compiling_dtype = ""
            self.dtypeCompiling.emit("")
        if seconds >= 1.0:  # compiled, not just loaded from the cache
            self.statusMessage.emit(f"{dtype} engine ready ({seconds:.1f} s)")

    @Slot(float)
    def _on_engine_ready(self, seconds: float) -> None:
        self.engine_ready = True
        self.engineReadyChanged.emit(True)
        if self._worker.warm_up and readiness.start_mode() == "quick":
            return  # trains at once; the background compile says when it is done
        self.statusMessage.emit(f"Engine ready ({seconds:.1f} s)")

    @Slot(str)
    def _on_command_failed(self, message: str) -> None:
        self._error(message)

    @Slot(int)
    def _on_relay(self, n: int) -> None:
        self.relay_count += 1
        self.relayTick.emit(n)

    def _error(self, message: str) -> None:
        self.statusMessage.emit(message)
        self.errorOccurred.emit(message)
