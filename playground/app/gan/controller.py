"""GanController: the one object that changes GAN mode's experiment.

It owns the worker thread (``worker.py``) that owns the GanTrainer; views call its methods
(play, pause, one D step, one G step, a new spec, painted points, save, open) and subscribe
to ``snapshot``. A change of training settings (loss, learning rates, batch sizes, d_steps)
goes to the running trainer; any other change (data, layers, noise, seed, precision) starts
a new trainer, a new *generation* the views redraw from scratch.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QThread, Signal, Slot

from playground.gan import session
from playground.gan.model import GanTrainer
from playground.gan.spec import GanDataSpec, GanSpec, default_gan_spec

from ..worker import stop_worker_thread
from .worker import GanWorker

PAINT_STD = 0.05  # jitter of painted points: each stroke is a soft blob, not a dot


class GanController(QObject):
    snapshot = Signal(object)  # GanSnapshot
    specChanged = Signal(object)  # GanSpec
    trainingStateChanged = Signal(bool)
    statusMessage = Signal(str)
    diverged = Signal(str)

    def __init__(self, spec: GanSpec | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._spec = spec or default_gan_spec()
        self._generation = 0
        self.running = False
        self.diverged_message: str | None = None  # set when the trainer diverged, until a new one
        self.last_snapshot = None
        self.worker = GanWorker(GanTrainer(self._spec))
        self.thread = QThread()
        self.thread.setObjectName("gan-trainer")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.snapshotReady.connect(self._on_snapshot)
        self.worker.diverged.connect(self._on_diverged)
        self.worker.commandFailed.connect(self.statusMessage)
        self.thread.start()

    @property
    def spec(self) -> GanSpec:
        return self._spec

    # -- training -----------------------------------------------------------------------------
    def play(self) -> None:
        self._set_running(True)

    def pause(self) -> None:
        self._set_running(False)

    def toggle(self) -> None:
        self._set_running(not self.running)

    def _refused(self) -> bool:
        """Whether the trainer diverged (its weights are NaN): nothing trains until Reset or a
        new trainer, so Play and the steps say so instead of pretending to run."""
        if self.diverged_message is None:
            return False
        self.running = False
        self.trainingStateChanged.emit(False)
        self.diverged.emit(f"{self.diverged_message}; press Reset to train again")
        return True

    def _set_running(self, on: bool) -> None:
        if on and self._refused():
            return
        self.running = on
        self.worker.post("play", on)
        self.trainingStateChanged.emit(on)

    def d_step(self) -> None:
        if self._refused():
            return
        self._set_running(False)
        self.worker.post("d_step")

    def g_step(self) -> None:
        if self._refused():
            return
        self._set_running(False)
        self.worker.post("g_step")

    def iteration(self) -> None:
        if self._refused():
            return
        self._set_running(False)
        self.worker.post("iteration")

    # -- the experiment -----------------------------------------------------------------------
    def set_spec(self, spec: GanSpec) -> None:
        """Apply a new spec: live for training settings, a new trainer for anything else."""
        old = self._spec
        if spec == old:
            return
        self._spec = spec
        if _same_model(old, spec):
            self.worker.post("update_spec", spec)
        else:
            self._new_trainer(GanTrainer(spec))
        self.specChanged.emit(spec)

    def reset(self) -> None:
        """The same spec from its initial weights."""
        self._new_trainer(GanTrainer(self._spec))

    def paint(self, points, append: bool = True) -> None:
        """Train on painted points (added to those painted before when ``append``)."""
        pts = tuple((float(x), float(y)) for x, y in points)
        d = self._spec.data
        if append and d.kind == "points":
            pts = d.points + pts
        if not pts:
            return
        self.set_spec(replace(self._spec, data=GanDataSpec(kind="points", points=pts, std=PAINT_STD)))

    def save(self, path) -> None:
        """Write the session (in the worker, between chunks: the state is consistent)."""
        self.worker.call(lambda tr: session.save(tr, path), timeout=60.0)
        self.statusMessage.emit(f"Saved {path}")

    def open(self, path) -> None:
        trainer, _ = session.load(path)
        self._spec = trainer.spec
        self._new_trainer(trainer)
        self.specChanged.emit(trainer.spec)
        self.statusMessage.emit(f"Opened {path} at iteration {trainer.iteration:,}")

    def _new_trainer(self, trainer: GanTrainer) -> None:
        self._generation += 1
        self.diverged_message = None
        self.running = False
        self.trainingStateChanged.emit(False)
        self.worker.post("set_trainer", trainer, self._generation)

    def shutdown(self, timeout_ms: int | None = None) -> None:
        stop_worker_thread(self.thread, self.worker, timeout_ms, "GAN trainer")

    # -- from the worker ---------------------------------------------------------------------
    @Slot(object)
    def _on_snapshot(self, snap) -> None:
        self.worker.ack()
        if snap.generation != self._generation:
            return  # from the trainer before a reset
        self.last_snapshot = snap
        if snap.status != "ok":  # a chunk or a single step diverged (this trainer's, not an older one)
            self.diverged_message = snap.message
        self.snapshot.emit(snap)

    @Slot(str)
    def _on_diverged(self, message: str) -> None:
        self.running = False
        self.trainingStateChanged.emit(False)
        self.diverged.emit(message)


def _same_model(a: GanSpec, b: GanSpec) -> bool:
    """Whether b differs from a only in settings a running trainer can take."""
    if (a.seed, a.data, a.noise, a.training.dtype) != (b.seed, b.data, b.noise, b.training.dtype):
        return False
    for which in ("generator", "discriminator"):
        x, y = getattr(a, which), getattr(b, which)
        if (x.hidden, x.output_activation, x.init, x.bias_init) != (
            y.hidden,
            y.output_activation,
            y.init,
            y.bias_init,
        ):
            return False
    return True
