"""The race's GUI-side owner: its members, their live histories and the worker thread.

A race is several variants of one experiment trained side by side from the same start
(``playground.variants.build_race``: the same data and, where the layer sizes match and the
variant does not change the seed or the initializer, the same initial parameters). Views
subscribe to :class:`RaceController`'s signals and read its :class:`LiveHistory` per member;
the training runs in :class:`~playground.app.race.worker.RaceWorker`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from playground.errors import PlaygroundError
from playground.experiment import Experiment
from playground.spec import ExperimentSpec
from playground.variants import (
    MAX_VARIANTS,
    MIN_VARIANTS,
    build_race,
    describe_overrides,
    flat_diff,
    reach,
    target_loss,
    variant_spec,
)

from ..controller import LiveHistory
from ..worker import stop_worker_thread
from .worker import MemberFrame, RaceSnapshot, RaceWorker

RACE_COLORS = ("#0877bd", "#f59322", "#3fa34d", "#c2417b", "#8e6ccf", "#17a2b8", "#d4b21f", "#8c564b")


@dataclass
class RaceMember:
    label: str
    overrides: dict
    spec: ExperimentSpec
    color: str
    shared_init: bool = False
    stop_at: int | None = None


class RaceController(QObject):
    """GUI-side owner of a race: members, their live histories and the worker thread.

    Signals (GUI thread): ``membersChanged()`` (a new race), ``frame(object)`` (a
    :class:`RaceSnapshot` was applied), ``runningChanged(bool)``, ``memberDiverged(int, str)``,
    ``targetChanged()``, ``errorOccurred(str)``.
    """

    membersChanged = Signal()
    frame = Signal(object)
    runningChanged = Signal(bool)
    memberDiverged = Signal(int, str)
    targetChanged = Signal()
    errorOccurred = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.members: list[RaceMember] = []
        self.experiments: list[Experiment] = []  # owned by the worker while it runs
        self.live: list[LiveHistory] = []
        self.frames: list[MemberFrame | None] = []
        self.grids: list[tuple | None] = []
        self.base_spec: ExperimentSpec | None = None
        self.task = "classification"
        self.running = False
        self.steps_per_s = 0.0
        self.target_override: float | None = None  # None: TARGET_FACTOR x best final train loss
        self.lesson_id: str | None = None  # the lesson this race shows (start_specs, set_race)
        self.path: str | None = None  # the file it was opened from or saved to (set_race, save)
        self.generation = 0
        self._play_seq = 0
        self._thread = QThread()
        self._thread.setObjectName("race-worker")
        self._worker = RaceWorker()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.snapshotReady.connect(self._on_snapshot)
        self._worker.memberDiverged.connect(self._on_diverged)
        self._worker.commandFailed.connect(self._on_failed)
        self._thread.start()

    @property
    def worker(self) -> RaceWorker:
        return self._worker

    # -- starting a race ---------------------------------------------------------------------
    def start(
        self, base: ExperimentSpec, variants: list[dict], labels: list[str] | None = None, dataset=None
    ):
        """A new race of ``base`` + each overrides dict in ``variants`` (raises PlaygroundError)."""
        if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
            raise PlaygroundError(
                f"a race has {MIN_VARIANTS} to {MAX_VARIANTS} variants, not {len(variants)}"
            )
        specs = [variant_spec(base, o) for o in variants]
        labels = labels or _unique_labels([describe_overrides(o) for o in variants])
        exps, shared = build_race(base, specs, dataset)
        self._adopt(base, exps, labels, [dict(o) for o in variants], shared)

    def start_specs(
        self,
        specs: list[ExperimentSpec],
        labels: list[str],
        stop_at: list | None = None,
        lesson_id: str | None = None,
    ):
        """A race of whole specs (a lesson's variants): the first one is the base."""
        exps, shared = build_race(specs[0], specs)
        base = specs[0].to_dict()
        overrides = [flat_diff(base, s.to_dict()) for s in specs]
        self._adopt(specs[0], exps, labels, overrides, shared, stop_at, lesson_id)

    def set_race(
        self,
        exps: list[Experiment],
        labels: list[str],
        overrides: list[dict],
        path: str | None = None,
        lesson_id: str | None = None,
    ) -> None:
        """Adopt already built experiments (a race session opened from ``path``)."""
        self._adopt(exps[0].spec, exps, labels, overrides, [False] * len(exps), None, lesson_id, path)

    def _adopt(self, base, exps, labels, overrides, shared, stop_at=None, lesson_id=None, path=None) -> None:
        self.pause()
        self.generation += 1
        self.base_spec = base
        self.task = exps[0].dataset.task
        stop_at = stop_at or [None] * len(exps)
        self.members = [
            RaceMember(lab, o, e.spec, RACE_COLORS[i % len(RACE_COLORS)], s, st)
            for i, (e, lab, o, s, st) in enumerate(zip(exps, labels, overrides, shared, stop_at))
        ]
        self.experiments = list(exps)
        self.live = [LiveHistory() for _ in exps]
        self.frames = [None] * len(exps)
        self.grids = [None] * len(exps)  # each member's newest boundary grid (images: confusion counts)
        self.target_override = None
        self.lesson_id, self.path = lesson_id, path
        self._worker.post("set_members", self.experiments, stop_at, self.generation)
        self.membersChanged.emit()

    def reset(self) -> None:
        """Start every member again from the shared initial weights."""
        if not self.members:
            return
        labels = [m.label for m in self.members]
        overrides = [m.overrides for m in self.members]
        stop_at = [m.stop_at for m in self.members]
        exps, shared = build_race(self.base_spec, [m.spec for m in self.members])
        self._adopt(self.base_spec, exps, labels, overrides, shared, stop_at, self.lesson_id, self.path)

    # -- training ----------------------------------------------------------------------------
    def play(self) -> None:
        self._set_running(True)

    def pause(self) -> None:
        self._set_running(False)

    def toggle_play(self) -> None:
        self._set_running(not self.running)

    def step(self, n: int = 1) -> None:
        self._set_running(False)
        self._worker.post("step", n)

    def _set_running(self, running: bool) -> None:
        self._play_seq += 1
        self._worker.post("play", running, self._play_seq)
        if running != self.running:
            self.running = running
            self.runningChanged.emit(running)

    def call_in_worker(self, fn, timeout: float = 10.0):
        if not self._thread.isRunning():
            return fn(self.experiments)
        return self._worker.call(fn, timeout)

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop the race thread (see :func:`~playground.app.worker.stop_worker_thread`)."""
        return stop_worker_thread(self._thread, self._worker, timeout_ms, "race")

    def finished(self) -> bool:
        """Whether every member has diverged or reached its step limit."""
        done = [
            f is not None and (f.status == "diverged" or (m.stop_at is not None and f.step >= m.stop_at))
            for m, f in zip(self.members, self.frames)
        ]
        return bool(done) and all(done)

    def state_text(self) -> str:
        """The race's state for the status bar."""
        if self.running:
            rate = f" — {self.steps_per_s:,.0f} steps/s each" if self.steps_per_s else "…"
            return f"Race: training{rate}"
        if self.finished():
            return "Race finished"
        if any(f is not None and f.step > 0 for f in self.frames):
            return "Race paused"
        return "Race ready: press Play"

    # -- saving --------------------------------------------------------------------------------
    def save(self, path: str, view: dict | None = None) -> None:
        from playground.session import save_race

        labels = [m.label for m in self.members]
        overrides = [m.overrides for m in self.members]
        view = dict(view or {}, race_target=self.target_override, lesson=self.lesson_id)
        self.call_in_worker(lambda exps: save_race(exps, path, labels, overrides, view))
        self.path = str(path)

    # -- summary ---------------------------------------------------------------------------------
    def set_target(self, value: float | None) -> None:
        self.target_override = value
        self.targetChanged.emit()

    def auto_target(self) -> float | None:
        """The default target (playground.variants.target_loss) over the members' curves."""
        finals, starts = [], []
        for lv, f in zip(self.live, self.frames):
            if not len(lv) or f is None:
                continue
            losses = lv["train_loss"]
            finite = losses[np.isfinite(losses)]
            if len(finite):
                starts.append(float(finite[0]))
            if f.status != "diverged" and np.isfinite(losses[-1]):
                finals.append(float(losses[-1]))
        return target_loss(finals, starts)

    def target(self) -> float | None:
        return self.target_override if self.target_override is not None else self.auto_target()

    def summary_rows(self) -> list[dict]:
        """One plain row per member for the summary table."""
        target = self.target()
        rows = []
        for m, lv, f in zip(self.members, self.live, self.frames):
            r = {"label": m.label, "color": m.color, "step": 0, "epoch": 0.0, "wall_time": 0.0}
            r.update(train_loss=None, test_loss=None, train_metric=None, test_metric=None)
            r.update(status="ready", diverged_step=None, steps_to_target=None, time_to_target=None)
            r["warning"] = None  # Experiment.warning: "not learning", "oscillating"...
            if f is not None:
                r.update(step=f.step, epoch=f.epoch, wall_time=f.wall_time, status=f.status)
                r["diverged_step"] = f.diverged_step
                r["warning"] = f.metrics.get("warning") if f.status != "diverged" else None
            if len(lv):
                for c in ("train_loss", "test_loss", "train_metric", "test_metric"):
                    finite = lv[c][np.isfinite(lv[c])]
                    r[c] = float(finite[-1]) if len(finite) else None
                r["steps_to_target"], r["time_to_target"] = reach(
                    lv["step"], lv["wall_time"], lv["train_loss"], target
                )
            rows.append(r)
        return rows

    # -- worker slots (GUI thread) -------------------------------------------------------------
    @Slot(object)
    def _on_snapshot(self, snap: RaceSnapshot) -> None:
        self._worker.ack()
        if snap.generation != self.generation:
            return
        for f in snap.members:
            if f.index < len(self.live):
                self.live[f.index].apply(f)
                self.frames[f.index] = f
                if f.grid is not None:
                    self.grids[f.index] = f.grid
                elif f.confusion is not None:  # image data: the thumbnail is a confusion matrix
                    self.grids[f.index] = f.confusion
                elif f.grad_t is not None:  # sequences: the gradient per time step
                    self.grids[f.index] = f.grad_t
        self.steps_per_s = snap.steps_per_s
        if snap.play_seq == self._play_seq and self.running and not snap.running:  # all finished
            self.running = False
            self.runningChanged.emit(False)
        self.frame.emit(snap)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.errorOccurred.emit(message)

    @Slot(int, str)
    def _on_diverged(self, index: int, message: str) -> None:
        self.memberDiverged.emit(index, message)


def _unique_labels(labels: list[str]) -> list[str]:
    out = []
    for i, lab in enumerate(labels):
        out.append(lab if labels.count(lab) == 1 else f"{lab} #{i + 1}")
    return out


def overrides_json(overrides: dict) -> str:
    return json.dumps(overrides, sort_keys=True)
