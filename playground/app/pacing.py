"""Snapshot pacing for the training workers (the single experiment's and the race's).

A worker's loop asks its :class:`SnapshotPacer` whether a snapshot leaves now and whether it
carries a boundary grid; the GUI acknowledges each snapshot it has handled (``ack``) and at
most ``max_unacked`` are ever waiting: a busy GUI is never flooded, it just gets the next
snapshot later. :class:`HistoryCursor` says which history rows a snapshot carries (only those
since the last one, so snapshots coalesce), :class:`RateMeter` the steps per second.
Plain Python: the pacer is called in the worker thread, ``ack`` from the GUI thread.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class SnapshotPacer:
    """When the next snapshot leaves: every ``1 / hz`` s while training (``slack`` < 1 lets a
    chunk that ended just on time count as due), at the next check when forced (a command, a
    divergence); with a grid at most ``grid_hz`` times a second, or when the grid is forced."""

    def __init__(self, hz: float, grid_hz: float, max_unacked: int, slack: float = 1.0):
        self.hz = hz
        self.grid_hz = grid_hz
        self.max_unacked = max_unacked
        self.slack = slack
        self.forced = False
        self.forced_grid = False
        self.last = 0.0  # perf_counter of the last snapshot sent
        self.last_grid = 0.0
        self._lock = threading.Lock()
        self._unacked = 0

    def force(self, grid: bool = True) -> None:
        """Send a snapshot at the next check (even if the GUI has not acknowledged the last)."""
        self.forced = True
        self.forced_grid = self.forced_grid or grid

    def next_due(self) -> float:
        """When (perf_counter) the next snapshot is due while training."""
        return self.last + 1.0 / self.hz

    def take(self, running: bool) -> bool | None:
        """None when no snapshot leaves now; otherwise one is counted as sent, and the value
        says whether it carries a grid."""
        now = time.perf_counter()
        due = now - self.last >= self.slack / self.hz
        if not (self.forced or (running and due)):
            return None
        with self._lock:
            if self._unacked >= self.max_unacked and not self.forced:
                return None
            self._unacked += 1
        with_grid = self.forced_grid or now - self.last_grid >= 1.0 / self.grid_hz
        self.last = now
        if with_grid:
            self.last_grid = now
        self.forced = self.forced_grid = False
        return with_grid

    def ack(self) -> None:
        """The GUI has handled one snapshot (any thread)."""
        with self._lock:
            self._unacked = max(0, self._unacked - 1)


def plan_steps(seconds: float, rate: float, to_row: int, every: int, row_cost: float, max_steps: int) -> int:
    """How many training steps fit in ``seconds`` at ``rate`` steps/s when a history row,
    evaluated when the step count reaches it, costs ``row_cost`` s and lands after ``to_row``
    steps, then every ``every``: a row that does not fit is left to the next chunk (this one
    ends a step before it), unless it is the very next step. At least 1, at most max_steps.

    >>> plan_steps(0.03, 1000.0, 50, 100, 0.02, 10_000)  # 30 steps fit; the row is 50 away
    30
    >>> plan_steps(0.03, 1000.0, 5, 100, 0.02, 10_000)  # 5 steps, the row (20 ms), 5 more
    10
    >>> plan_steps(0.03, 1000.0, 5, 100, 0.03, 10_000)  # the row does not fit: 4 steps
    4
    """
    if not rate > 0.0:
        raise ValueError(f"rate must be > 0, got {rate!r}")
    every = max(1, int(every))
    k, left, seg = 0, float(seconds), max(1, int(to_row))
    while k < max_steps:
        cost = seg / rate + row_cost
        if left >= cost or (k == 0 and seg == 1):
            k, left, seg = k + seg, left - cost, every
            continue
        k += max(0, min(seg - 1, int(left * rate + 1e-9)))
        break
    return max(1, min(k, int(max_steps)))


class HistoryCursor:
    """Which history rows the next snapshot carries: the whole history after a new experiment,
    a reset or a thinned history (its stride changed), else the rows added since the last one."""

    def __init__(self):
        self._key: tuple | None = None
        self._sent = 0

    def take(self, exp) -> tuple[bool, int, dict[str, np.ndarray]]:
        """(reset, start, rows): ``rows`` are plain copies of history rows ``start:``."""
        h = exp.history
        key, n = (id(exp), id(h), h.stride), len(h)
        start, reset = (0, True) if key != self._key or n < self._sent else (self._sent, False)
        self._key, self._sent = key, n
        return reset, start, {c: np.array(h[c][start:n]) for c in h.columns()}


class RateMeter:
    """Steps per second over about the last second of training."""

    def __init__(self):
        self._window: list[tuple[float, int]] = []

    def clear(self) -> None:
        self._window.clear()

    def add(self, steps: int) -> None:
        """Record the total step count now."""
        now = time.perf_counter()
        w = self._window
        w.append((now, steps))
        while len(w) > 2 and now - w[0][0] > 1.0:
            w.pop(0)

    def rate(self) -> float:
        w = self._window
        if len(w) < 2 or w[-1][0] <= w[0][0]:
            return 0.0
        return (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])


__all__ = ["HistoryCursor", "RateMeter", "SnapshotPacer"]


class PacedFeed:
    """The base of a view's snapshot extra (``controller.add_snapshot_extra``): ``due(exp)``
    is True at most ``hz`` times a second, only while ``active`` (the view is shown), and
    only for a new (experiment, step, ``sample``). Plain Python: it runs in the worker."""

    def __init__(self, hz: float):
        self.hz = float(hz)
        self.sample = 0
        self.active = True
        self._last = 0.0
        self._last_key = None

    def due(self, exp) -> bool:
        if not self.active:
            return False
        key = (id(exp), exp.step, self.sample)
        now = time.perf_counter()
        if key == self._last_key or now - self._last < 1.0 / self.hz:
            return False
        self._last, self._last_key = now, key
        return True
