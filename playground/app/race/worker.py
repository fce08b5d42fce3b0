"""The race's worker: one QThread trains every member round-robin and sends race snapshots.

Members train in chunks of equal step counts (sized so a round takes ~30 ms; the kernels
release the GIL). A :class:`RaceSnapshot` (plain copies: history rows, metrics, a small
boundary grid per member) leaves as the :class:`~playground.app.pacing.SnapshotPacer` allows,
acknowledged by the GUI like the main worker's. A member that diverges stops; the others go on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Signal, Slot

from playground.experiment import Experiment

from ..pacing import HistoryCursor, RateMeter, SnapshotPacer
from ..worker import LIVE_EVAL_BUDGET, CommandWorker


@dataclass
class MemberFrame:
    """One member's numbers in a snapshot (duck-types a Snapshot for LiveHistory.apply)."""

    index: int
    experiment_id: int
    step: int
    epoch: float
    wall_time: float
    status: str
    message: str
    diverged_step: int | None
    metrics: dict
    history_reset: bool
    history_start: int
    history_rows: dict
    grid: tuple | None = None  # (xs, ys, out (r, r, n_out))
    confusion: np.ndarray | None = None  # image data (no plane): test confusion counts [true, predicted]
    grad_t: np.ndarray | None = None  # sequences: |dL/dh_t| per step of the first recurrent layer


@dataclass
class RaceSnapshot:
    generation: int
    running: bool
    steps_per_s: float
    play_seq: int  # the last play/pause command the worker had seen (stale ``running`` otherwise)
    members: list[MemberFrame] = field(default_factory=list)


CONFUSION_ROWS = 500  # test images a member's confusion thumbnail counts (image data)


PROBE_ROWS = 64  # test sequences a member's gradient-through-time thumbnail averages


def _gradient_through_time(exp: Experiment, theta: np.ndarray) -> np.ndarray | None:
    """|dL/dh_t| per step of the member's first recurrent layer on a test batch (None for a
    network without one), as the sequence views compute it."""
    from playground.engine.twin import probe_recurrent

    ds = exp.dataset
    n = min(PROBE_ROWS, ds.n_test)
    if n == 0:
        return None
    with np.errstate(all="ignore"):
        probes = probe_recurrent(exp.trainer, ds.X_test[:n], exp.Y_test[:n], theta)
    return np.asarray(probes[0]["grad_norm"], dtype=np.float64) if probes else None


class RaceWorker(CommandWorker):
    """Trains every member round-robin in one thread; :meth:`post` is the thread-safe API."""

    snapshotReady = Signal(object)
    memberDiverged = Signal(int, str)
    busy_text = "the race did not answer in time"

    def __init__(self):
        super().__init__(SnapshotPacer(hz=30.0, grid_hz=8.0, max_unacked=3))
        self._exps: list[Experiment] = []
        self._stop_at: list[int | None] = []
        self._cursors: list[HistoryCursor] = []
        self._generation = 0
        self._running = False
        self._play_seq = 0
        self._chunk = 20
        self._rate = RateMeter()
        self.grid_resolution = 64
        self.target_round_s = 0.03

    # -- loop ------------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        while not self._stop.is_set():
            busy = self._running and bool(self._active())
            self._drain(block=not busy and not self.pacer.forced)
            if self._stop.is_set():
                break
            if self._running:
                self._round()
            self._maybe_snapshot()

    def _active(self) -> list[int]:
        return [
            i
            for i, e in enumerate(self._exps)
            if e.status != "diverged" and (self._stop_at[i] is None or e.step < self._stop_at[i])
        ]

    def _round(self) -> None:
        active = self._active()
        if not active:
            self._running = False
            self.pacer.force()
            return
        t0 = time.perf_counter()
        for i in active:
            exp = self._exps[i]
            k = self._chunk if self._stop_at[i] is None else min(self._chunk, self._stop_at[i] - exp.step)
            with np.errstate(all="ignore"):
                exp.train(steps=k)
            if exp.status == "diverged":
                self.pacer.force()
                self.memberDiverged.emit(i, exp.message)
        dt = time.perf_counter() - t0
        if dt > 0:
            ideal = self._chunk * self.target_round_s / dt
            self._chunk = int(max(1, min(20_000, 0.5 * self._chunk + 0.5 * ideal)))
        self._rate.add(sum(e.step for e in self._exps))

    def _steps_per_s(self) -> float:
        """Steps per second of one member."""
        if not self._running or not self._exps:
            return 0.0
        return self._rate.rate() / len(self._exps)

    def _maybe_snapshot(self) -> None:
        with_grid = self.pacer.take(self._running)
        if with_grid is None:
            return
        snap = RaceSnapshot(self._generation, self._running, self._steps_per_s(), self._play_seq)
        for i, exp in enumerate(self._exps):
            snap.members.append(self._frame(i, exp, with_grid))
        self.snapshotReady.emit(snap)

    def _frame(self, i: int, exp: Experiment, with_grid: bool) -> MemberFrame:
        reset, start, rows = self._cursors[i].take(exp)
        grid = confusion = grad_t = None
        if with_grid:
            theta = exp.trainer.theta.copy()
            if exp.dataset.X_train.ndim == 3:  # sequences: the gradient reaching back through time
                grad_t = _gradient_through_time(exp, theta)
            elif exp.dataset.X_train.ndim > 2:  # images: no plane; their confusion matrix
                confusion = exp.confusion(theta=theta, max_rows=CONFUSION_ROWS)
            else:
                grid = exp.grid(resolution=self.grid_resolution, theta=theta)
        return MemberFrame(
            index=i,
            experiment_id=id(exp),
            step=exp.step,
            epoch=exp.epoch,
            wall_time=exp.wall_time,
            status=exp.status,
            message=exp.message,
            diverged_step=exp.diverged_step,
            metrics=exp.metrics(),
            history_reset=reset,
            history_start=start,
            history_rows=rows,
            grid=grid,
            confusion=confusion,
            grad_t=grad_t,
        )

    # -- commands (worker thread) ---------------------------------------------------------------
    def _call_target(self):
        return self._exps

    def _cmd_set_members(self, exps: list[Experiment], stop_at: list, generation: int) -> None:
        self._exps, self._stop_at, self._generation = list(exps), list(stop_at), generation
        for exp in self._exps:
            exp.live_eval_budget = LIVE_EVAL_BUDGET
        self._cursors = [HistoryCursor() for _ in exps]
        self._running, self._chunk = False, 20
        self._rate.clear()
        self.pacer.force()

    def _cmd_play(self, running: bool, seq: int = 0) -> None:
        self._play_seq = seq
        self._running = bool(running) and bool(self._active())
        self._rate.clear()
        self.pacer.force()

    def _cmd_step(self, n: int) -> None:
        """Train every active member ``n`` more steps (paused afterwards)."""
        for i in self._active():
            with np.errstate(all="ignore"):
                self._exps[i].train(steps=int(n))
            if self._exps[i].status == "diverged":
                self.memberDiverged.emit(i, self._exps[i].message)
        self._running = False
        self.pacer.force()

    def _cmd_snapshot(self) -> None:
        self.pacer.force()
