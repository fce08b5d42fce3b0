"""run_sweep drives a whole sweep: build the tasks, skip those a previous run of the same
sweep finished, run the rest on an executor and store each result as it arrives
(:class:`ResultStore`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from playground.errors import PlaygroundError
from playground.sweep.executors import run_dask, run_local
from playground.sweep.grid import as_spec, build_tasks, unique_values
from playground.sweep.result import SweepResult
from playground.sweep.run import reach, run_task
from playground.sweep.storage import csv_line, read_csv, read_json


class ResultStore:
    """Writes results as they arrive so an interrupted sweep keeps the finished runs."""

    def __init__(self, path: Path | None, grid: dict, meta: dict, target: float | None):
        self.path, self.grid, self.meta, self.target = path, grid, meta, target
        self.paths = list(grid)
        self.json = path is not None and path.suffix.lower() == ".json"
        self.rows: list[dict] = []

    def load(self, tasks: list[dict]) -> list[dict]:
        """Finished rows of a previous run of this sweep (errors are run again)."""
        if self.path is None or not self.path.exists() or self.path.stat().st_size == 0:
            return []
        rows = read_json(self.path) if self.json else read_csv(self.path, self.paths)
        wanted = {t["run_id"] for t in tasks}
        foreign = [r for r in rows if r.get("run_id") not in wanted]
        if foreign:
            raise PlaygroundError(
                f"{self.path}: holds {len(foreign)} result(s) of a different sweep (other spec, grid, "
                "seeds or steps); choose another --out or delete it"
            )
        seen: set[str] = set()
        kept = []
        for r in rows:
            if r.get("status") != "error" and r["run_id"] not in seen:
                seen.add(r["run_id"])
                kept.append(r)
        return kept

    def start(self, rows: list[dict]) -> None:
        self.rows = list(rows)
        if self.path is not None:
            self._rewrite()  # drops a half-written last line and error rows

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if self.path is None:
            return
        if self.json:
            self._rewrite()
        else:
            if self.target is not None:
                row["target_loss"] = self.target
                row["steps_to_target"], row["time_to_target"] = reach(row.get("curve") or [], self.target)
            with open(self.path, "a", encoding="utf-8", newline="") as f:
                f.write(csv_line(row, self.paths))
                f.flush()
                os.fsync(f.fileno())

    def _rewrite(self) -> None:
        res = SweepResult(self.rows, self.grid, self.target, self.meta)
        if self.json:
            res.to_json(self.path)
        else:
            res.to_csv(self.path)


def run_sweep(
    spec,
    grid: dict[str, list],
    seeds: int = 1,
    steps: int | None = None,
    epochs: float | None = None,
    workers: int | None = None,
    scheduler=None,
    out: str | Path | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
    target: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    runner: Callable[[dict], dict] = run_task,
) -> SweepResult:
    """Train every combination of ``grid`` ({dotted path: [values]}) x ``seeds``.

    ``spec``: ExperimentSpec, spec dict or path. ``steps`` or ``epochs`` per run (default
    100 epochs). ``workers``: local processes (default os.cpu_count(); 1 = in this process).
    ``scheduler``: ``"tcp://host:port"`` of a Dask scheduler (or a distributed.Client).
    ``out``: .csv or .json written as results arrive; an existing file of the same sweep
    is resumed. ``progress(done, total, row)`` is called after every run (in the calling
    thread). ``target``: train loss for steps_to_target (default 1.1 x best final loss).
    ``should_stop()`` is polled between results to cancel. ``runner`` runs one task
    (default ``run_task``; must be picklable for processes/Dask).
    """
    tasks = build_tasks(spec, grid, seeds, steps, epochs)
    grid = {p: unique_values(list(v)) for p, v in grid.items()}
    meta = {
        "base_spec": as_spec(spec).to_dict(),
        "seeds": seeds,
        "steps": tasks[0]["steps"],
        "epochs": tasks[0]["epochs"],
        "total": len(tasks),
    }
    store = ResultStore(Path(out) if out is not None else None, grid, meta, target)
    done_rows = store.load(tasks)
    store.start(done_rows)
    finished = {r["run_id"] for r in done_rows}
    todo = [t for t in tasks if t["run_id"] not in finished]
    total = len(tasks)
    count = [len(done_rows)]

    def on_result(row: dict) -> None:
        store.add(row)
        count[0] += 1
        if progress is not None:
            progress(count[0], total, row)

    t0 = time.perf_counter()
    if todo:
        if scheduler is not None:
            run_dask(todo, scheduler, runner, on_result, should_stop)
        else:
            n = workers if workers is not None else (os.cpu_count() or 1)
            run_local(todo, max(1, min(n, len(todo))), runner, on_result, should_stop)
    meta["sweep_wall_time"] = time.perf_counter() - t0
    meta["resumed_runs"] = len(done_rows)
    result = SweepResult(store.rows, grid, target, meta)
    if out is not None:
        result.save(out)  # final rewrite with steps_to_target for the final target
    return result
