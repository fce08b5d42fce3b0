"""Hyper-parameter sweeps: every combination of a grid x seeds, run locally or on Dask.

    playground sweep SPEC.json --grid training.optimizer.lr=0.001,0.01,0.1 \\
        --grid training.batch_size=1,10,100 --seeds 3 --steps 2000 --out results.csv

>>> from playground.sweep import run_sweep
>>> res = run_sweep(spec, {"training.optimizer.lr": [0.001, 0.01, 0.1]}, seeds=3)  # doctest: +SKIP
>>> print(res.table()); res.save_plot("lr.svg")                                   # doctest: +SKIP

Each run (one combination x one seed) is a plain-data task -> plain-data result
(``playground.sweep.run.run_task``), deterministic given its spec, so it runs the same in
a spawned local process or on a Dask worker. Seeds are ``spec.seed + k``; the data set is
pinned to the base spec's data seed, so seeds vary the initial weights, shuffles and
dropout masks on the same data. Results are written as they arrive (CSV rows appended,
JSON rewritten atomically); running again with the same ``out`` resumes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from playground.errors import PlaygroundError, SpecError
from playground.spec import ExperimentSpec, set_path
from playground.sweep.run import reach, run_task
from playground.sweep.svg import fmt, heatmap_svg, lines_svg, setting_name

__all__ = [
    "SweepResult",
    "run_sweep",
    "build_tasks",
    "parse_grid",
    "parse_value",
    "run_task",
    "summarize",
    "cli_sweep",
    "METRICS",
]

# summary statistics are computed for these result columns
STAT_COLUMNS = (
    "final_train_loss",
    "final_test_loss",
    "best_train_loss",
    "best_test_loss",
    "final_train_metric",
    "final_test_metric",
    "best_test_metric",
    "steps_to_target",
    "time_to_target",
    "wall_time",
)
# --metric names -> result columns
METRICS = {
    "test_metric": "final_test_metric",
    "test_accuracy": "final_test_metric",
    "accuracy": "final_test_metric",
    "test_r2": "final_test_metric",
    "r2": "final_test_metric",
    "train_metric": "final_train_metric",
    "train_accuracy": "final_train_metric",
    "train_r2": "final_train_metric",
    "train_loss": "final_train_loss",
    "test_loss": "final_test_loss",
    **{c: c for c in STAT_COLUMNS},
}
FIXED_COLUMNS = (
    "run_id",
    "combo",
    "seed",
    "status",
    "diverged",
    "diverged_step",
    "steps",
    "epochs",
    "metric",
    "final_train_loss",
    "final_test_loss",
    "best_train_loss",
    "best_test_loss",
    "final_train_metric",
    "final_test_metric",
    "best_test_metric",
    "wall_time",
    "elapsed",
    "target_loss",
    "steps_to_target",
    "time_to_target",
    "message",
    "curve",
)
DEFAULT_EPOCHS = 100.0
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------- grid and tasks


def parse_value(text: str) -> Any:
    """A grid value: a JSON scalar when it parses as one (0.01, 10, true, null), else the string."""
    text = text.strip()
    try:
        v = json.loads(text)
    except ValueError:
        return text
    return v if v is None or isinstance(v, (bool, int, float, str)) else text


def parse_grid(items: list[str]) -> dict[str, list]:
    """["training.optimizer.lr=0.001,0.01", ...] -> {"training.optimizer.lr": [0.001, 0.01]}."""
    grid: dict[str, list] = {}
    for item in items:
        path, sep, values = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise SpecError("--grid", f"{item!r}: expected dotted.path=value1,value2,...")
        vals = [parse_value(v) for v in values.split(",") if v.strip()]
        if not vals:
            raise SpecError(path, "--grid lists no values")
        if path in grid:
            raise SpecError(path, "appears twice in --grid")
        grid[path] = vals
    return grid


def _unique(values: list) -> list:
    out: list = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def _as_spec(spec) -> ExperimentSpec:
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return ExperimentSpec.from_dict(spec)
    p = Path(spec)
    if p.suffix.lower() == ".playground":
        from playground.session import load

        return load(p).spec
    return ExperimentSpec.from_file(p)


def _label(params: dict) -> str:
    return ", ".join(f"{_short(k)}={fmt(v)}" for k, v in params.items())


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def build_tasks(spec, grid: dict[str, list], seeds: int = 1, steps=None, epochs=None) -> list[dict]:
    """Every combination x seed as a plain-data task; validates every combination's spec
    up front (SpecError naming the path and the combination)."""
    base = _as_spec(spec)
    if seeds < 1:
        raise SpecError("--seeds", "must be >= 1")
    if steps is not None and epochs is not None:
        raise SpecError("--steps", "give either steps or epochs, not both")
    if steps is not None and steps < 1:
        raise SpecError("--steps", "must be >= 1")
    if epochs is not None and not epochs > 0:
        raise SpecError("--epochs", "must be > 0")
    if steps is None and epochs is None:
        epochs = DEFAULT_EPOCHS
    grid = {path: _unique(list(vals)) for path, vals in grid.items()}
    for path, vals in grid.items():
        if not vals:
            raise SpecError(path, "the grid lists no values")
    base_dict = base.to_dict()
    if base_dict["data"].get("seed") is None:
        base_dict["data"]["seed"] = base.seed  # same data for every seed
    paths = list(grid)
    tasks = []
    for combo, values in enumerate(itertools.product(*(grid[p] for p in paths))):
        params = dict(zip(paths, values))
        d = json.loads(json.dumps(base_dict))
        for path, value in params.items():
            try:
                set_path(d, path, value)
            except (IndexError, ValueError, TypeError, KeyError):
                raise SpecError(path, "no such field in the spec") from None
        try:
            combo_spec = ExperimentSpec.from_dict(d)
        except SpecError as e:
            raise SpecError(e.path, f"{e.message} (in the combination {_label(params)})") from None
        for k in range(seeds):
            sd = combo_spec.to_dict()
            sd["seed"] = combo_spec.seed + k
            key = json.dumps({"spec": sd, "steps": steps, "epochs": epochs}, sort_keys=True)
            tasks.append(
                {
                    "run_id": hashlib.sha1(key.encode()).hexdigest()[:16],
                    "combo": combo,
                    "params": params,
                    "seed": sd["seed"],
                    "spec": sd,
                    "steps": steps,
                    "epochs": epochs,
                }
            )
    return tasks


# --------------------------------------------------------------------------- summary


def _stats(values: list) -> dict:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if not v.size:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "min": float(v.min()),
        "max": float(v.max()),
        "n": int(v.size),
    }


def default_target(rows: list[dict]) -> float | None:
    """1.1 x the best final train loss over the runs that did not diverge."""
    finals = [
        r["final_train_loss"]
        for r in rows
        if r.get("status") == "ready" and r.get("final_train_loss") is not None
    ]
    return 1.1 * min(finals) if finals else None


def summarize(rows: list[dict], grid: dict[str, list]) -> list[dict]:
    """Per combination (grid order): params, runs, diverged, errors and for every column of
    STAT_COLUMNS its mean, std, min and max over the seeds."""
    paths = list(grid)
    by_combo: dict[tuple, list[dict]] = {}
    for r in rows:
        by_combo.setdefault(tuple(json.dumps(r["params"].get(p)) for p in paths), []).append(r)
    out = []
    for values in itertools.product(*(grid[p] for p in paths)):
        runs = by_combo.get(tuple(json.dumps(v) for v in values), [])
        if not runs:
            continue
        ok = [r for r in runs if r.get("status") != "error"]
        s = {
            "params": dict(zip(paths, values)),
            "runs": len(runs),
            "diverged": sum(1 for r in ok if r.get("diverged")),
            "errors": len(runs) - len(ok),
            "reached": sum(1 for r in ok if r.get("steps_to_target") is not None),
            "metric": next((r["metric"] for r in ok if r.get("metric")), None),
        }
        for col in STAT_COLUMNS:
            s[col] = _stats([r.get(col) for r in ok])
        out.append(s)
    return out


# --------------------------------------------------------------------------- result


class SweepResult:
    """Rows (one per run) + summary (one per combination); plain data throughout."""

    def __init__(self, rows: list[dict], grid: dict[str, list], target: float | None = None, meta=None):
        self.grid = {p: list(v) for p, v in grid.items()}
        self.rows = sorted(rows, key=lambda r: (r["combo"], r["seed"]))
        self.target_given = target
        self.meta = dict(meta or {})
        self.apply_target(target)

    def apply_target(self, target: float | None = None) -> None:
        """Fill target_loss/steps_to_target/time_to_target (default target: see default_target)."""
        self.target = target if target is not None else default_target(self.rows)
        for r in self.rows:
            if r.get("status") == "error":
                continue
            r["target_loss"] = self.target
            r["steps_to_target"], r["time_to_target"] = reach(r.get("curve") or [], self.target)
        self.summary = summarize(self.rows, self.grid)

    @property
    def complete(self) -> bool:
        return self.meta.get("total") is None or len(self.rows) >= self.meta["total"]

    def metric_column(self, metric: str | None = None) -> str:
        return _metric_column(metric)

    def to_csv(self, path: str | Path) -> Path:
        return _atomic_write(Path(path), _csv_text(self.rows, list(self.grid)))

    def to_json(self, path: str | Path) -> Path:
        return _atomic_write(
            Path(path), _json_text(self.rows, self.grid, self.target, self.summary, self.meta)
        )

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        return self.to_json(p) if p.suffix.lower() == ".json" else self.to_csv(p)

    def table(self, metric: str | None = None) -> str:
        return format_table(self, metric)

    def svg(self, metric: str | None = None, theme: str = "light") -> str:
        return plot_svg(self, metric, theme)

    def save_plot(self, path: str | Path, metric: str | None = None) -> Path:
        return _atomic_write(Path(path), self.svg(metric))


def _metric_column(metric: str | None) -> str:
    if metric is None:
        return "final_test_metric"
    if metric not in METRICS:
        raise SpecError("--metric", f"unknown metric {metric!r}; choose one of: {', '.join(sorted(METRICS))}")
    return METRICS[metric]


def _metric_title(col: str, kind: str | None) -> str:
    name = {"accuracy": "accuracy", "r2": "R\u00b2"}.get(kind or "", "metric")
    return col.replace("_metric", f"_{name}").replace("_", " ")


# --------------------------------------------------------------------------- table and plot


def format_table(result: SweepResult, metric: str | None = None) -> str:
    """Aligned text table: one line per combination, mean \u00b1 std [min, max] over seeds."""
    col = _metric_column(metric)
    kind = next((s["metric"] for s in result.summary if s["metric"]), None)
    paths = list(result.grid)
    shorts = [_short(p) for p in paths]
    names = shorts if len(set(shorts)) == len(shorts) else paths
    seeds = max((s["runs"] for s in result.summary), default=1)
    cols = []
    for c in ("final_train_loss", "final_test_loss", "best_test_loss", "final_test_metric"):
        cols.append(c)
    if col not in cols:
        cols.append(col)
    cols += ["steps_to_target", "wall_time"]
    header = names + ["runs", "div"] + [_metric_title(c, kind) for c in cols]
    lines = []
    for s in result.summary:
        cells = [fmt(s["params"][p]) for p in paths] + [str(s["runs"]), str(s["diverged"] + s["errors"])]
        for c in cols:
            st = s[c]
            if st["mean"] is None:
                cells.append("\u2013")
            elif seeds > 1 and c == col:
                cells.append(f"{st['mean']:.4g} \u00b1 {st['std']:.2g} [{st['min']:.4g}, {st['max']:.4g}]")
            elif seeds > 1 and c != "wall_time":
                cells.append(f"{st['mean']:.4g} \u00b1 {st['std']:.2g}")
            else:
                cells.append(f"{st['mean']:.4g}")
        lines.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = io.StringIO()
    out.write(
        "  ".join(
            h.ljust(w) if i < len(names) else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))
        )
    )
    out.write("\n" + "  ".join("-" * w for w in widths) + "\n")
    for r in lines:
        out.write(
            "  ".join(c.ljust(w) if i < len(names) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            + "\n"
        )
    if result.target is not None:
        out.write(f"target train loss for steps_to_target: {result.target:.4g}\n")
    return out.getvalue()


def plot_svg(result: SweepResult, metric: str | None = None, theme: str = "light") -> str:
    """Heatmap over the first two swept axes with more than one value (mean over seeds and
    over any further axes), or mean \u00b1 std curves over a single swept axis, in the colours
    of ``theme`` ("light" or "dark")."""
    col = _metric_column(metric)
    kind = next((s["metric"] for s in result.summary if s["metric"]), None)
    title = f"{_metric_title(col, kind)} (mean over seeds)"
    axes = [p for p, v in result.grid.items() if len(v) > 1]
    ok = [r for r in result.rows if r.get("status") != "error"]
    if len(axes) >= 2:
        ax_x, ax_y = axes[1], axes[0]
        xs, ys = result.grid[ax_x], result.grid[ax_y]
        values = []
        for vy in ys:
            row = []
            for vx in xs:
                vals = [
                    r.get(col)
                    for r in ok
                    if r["params"].get(ax_x) == vx and r["params"].get(ax_y) == vy and r.get(col) is not None
                ]
                row.append(float(np.mean(vals)) if vals else None)
            values.append(row)
        if len(axes) > 2:
            title += ", mean over " + ", ".join(setting_name(a) for a in axes[2:])
        return heatmap_svg(values, xs, ys, ax_x, ax_y, title, theme=theme)
    ax = axes[0] if axes else (next(iter(result.grid)) if result.grid else None)
    xs = result.grid[ax] if ax else ["all runs"]
    means, stds = [], []
    for vx in xs:
        st = _stats([r.get(col) for r in ok if ax is None or r["params"].get(ax) == vx])
        means.append(st["mean"])
        stds.append(st["std"])
    metric_title = _metric_title(col, kind)
    return lines_svg(xs, {metric_title: (means, stds)}, ax or "", metric_title, title, theme=theme)


# --------------------------------------------------------------------------- storage


def _atomic_write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _csv_header(paths: list[str]) -> list[str]:
    return [FIXED_COLUMNS[0], FIXED_COLUMNS[1], *paths, *FIXED_COLUMNS[2:]]


def _csv_line(row: dict, paths: list[str]) -> str:
    buf = io.StringIO()
    vals = {**row, **{p: row["params"].get(p) for p in paths}}
    csv.writer(buf, lineterminator="\n").writerow([_csv_cell(vals.get(c)) for c in _csv_header(paths)])
    return buf.getvalue()


def _csv_text(rows: list[dict], paths: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(_csv_header(paths))
    return buf.getvalue() + "".join(_csv_line(r, paths) for r in rows)


def _read_csv(path: Path, paths: list[str]) -> list[dict]:
    """Rows of a previous (maybe interrupted) sweep; a half-written last line is skipped."""
    text = path.read_text(encoding="utf-8")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # the curve column can be long
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    if header != _csv_header(paths):
        raise PlaygroundError(
            f"{path}: holds results of a different sweep (other columns); choose another --out or delete it"
        )
    rows = []
    for cells in reader:
        if len(cells) != len(header):
            continue
        rec = dict(zip(header, cells))
        try:
            row: dict[str, Any] = {}
            for c in FIXED_COLUMNS:
                v = rec[c]
                if c in ("run_id", "status", "metric", "message"):
                    row[c] = v or None
                elif c == "curve":
                    row[c] = json.loads(v) if v else []
                else:
                    row[c] = None if v == "" else json.loads(v)
            row["params"] = {p: parse_value(rec[p]) for p in paths}
        except ValueError:
            continue
        rows.append(row)
    return rows


def _json_text(rows, grid, target, summary, meta) -> str:
    doc = {
        "format": "playground-sweep",
        "version": 1,
        **meta,
        "grid": grid,
        "target_loss": target,
        "rows": rows,
        "summary": summary,
    }
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def _read_json(path: Path) -> list[dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise PlaygroundError(f"{path}: not a sweep results file (not valid JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != "playground-sweep":
        raise PlaygroundError(f"{path}: not a sweep results file; choose another --out")
    return list(doc.get("rows", []))


class _Store:
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
        rows = _read_json(self.path) if self.json else _read_csv(self.path, self.paths)
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
                f.write(_csv_line(row, self.paths))
                f.flush()
                os.fsync(f.fileno())

    def _rewrite(self) -> None:
        res = SweepResult(self.rows, self.grid, self.target, self.meta)
        if self.json:
            res.to_json(self.path)
        else:
            res.to_csv(self.path)


# --------------------------------------------------------------------------- executors


def _run_local(tasks, workers, runner, on_result, should_stop) -> None:
    if workers <= 1 or len(tasks) == 1:
        for t in tasks:
            if should_stop is not None and should_stop():
                return
            on_result(runner(t))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # one BLAS/OpenMP thread per worker process (the runs are the parallelism); the
        # workers start during the first submits and inherit this environment
        saved = {k: os.environ.get(k) for k in _THREAD_VARS}
        for k in _THREAD_VARS:
            os.environ.setdefault(k, "1")
        try:
            pending = {pool.submit(runner, t) for t in tasks}
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                on_result(fut.result())
            if should_stop is not None and should_stop():
                break
    except BrokenProcessPool:
        raise PlaygroundError(
            "a worker process died; finished runs are saved: run the same command again to resume"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(tasks, scheduler, runner, on_result, should_stop) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise PlaygroundError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    own = isinstance(scheduler, str)
    if own:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as e:
            raise PlaygroundError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    else:
        client = scheduler
    futures = []
    try:
        futures = [client.submit(runner, t, pure=False, retries=2) for t in tasks]
        for fut in as_completed(futures):
            on_result(fut.result())
            if should_stop is not None and should_stop():
                break
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
        if own:
            client.close()


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
    grid = {p: _unique(list(v)) for p, v in grid.items()}
    meta = {
        "base_spec": _as_spec(spec).to_dict(),
        "seeds": seeds,
        "steps": tasks[0]["steps"],
        "epochs": tasks[0]["epochs"],
        "total": len(tasks),
    }
    store = _Store(Path(out) if out is not None else None, grid, meta, target)
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
            _run_dask(todo, scheduler, runner, on_result, should_stop)
        else:
            n = workers if workers is not None else (os.cpu_count() or 1)
            _run_local(todo, max(1, min(n, len(todo))), runner, on_result, should_stop)
    meta["sweep_wall_time"] = time.perf_counter() - t0
    meta["resumed_runs"] = len(done_rows)
    result = SweepResult(store.rows, grid, target, meta)
    if out is not None:
        result.save(out)  # final rewrite with steps_to_target for the final target
    return result


# --------------------------------------------------------------------------- CLI


def cli_sweep(args) -> int:
    """`playground sweep` (arguments defined in playground.cli)."""
    metric = getattr(args, "metric", None)
    _metric_column(metric)  # validate before running anything
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".json"):
        raise SpecError("--out", f"{out.name}: use a .csv or .json file name")
    plot = Path(args.plot) if getattr(args, "plot", None) else out.with_suffix(".svg")
    if plot.suffix.lower() != ".svg":
        raise SpecError("--plot", f"{plot.name}: only .svg is supported (drawn without matplotlib)")
    grid = parse_grid(args.grid or [])
    spec = _as_spec(args.file)
    tasks = build_tasks(spec, grid, args.seeds, args.steps, args.epochs)  # validate up front
    stream = sys.stderr
    print(
        f"sweep: {len(tasks)} run(s) = {len(tasks) // args.seeds} combination(s) x {args.seeds} seed(s)"
        + (
            f" on {args.scheduler}"
            if args.scheduler
            else f", {args.workers or os.cpu_count()} local worker(s)"
        ),
        file=stream,
    )

    def progress(done: int, total: int, row: dict) -> None:
        if row.get("status") == "error":
            what = f"error: {row.get('message')}"
        else:
            m = row.get("final_test_metric")
            what = f"train loss {fmt(row.get('final_train_loss'))}, test {row.get('metric')} {fmt(m)}"
            if row.get("diverged"):
                what += f", diverged at step {row.get('diverged_step')}"
            what += f" ({row.get('wall_time', 0):.2f} s)"
        print(f"[{done}/{total}] {_label(row['params'])} seed={row['seed']}: {what}", file=stream, flush=True)

    res = run_sweep(
        spec,
        grid,
        seeds=args.seeds,
        steps=args.steps,
        epochs=args.epochs,
        workers=args.workers,
        scheduler=args.scheduler,
        out=out,
        progress=progress,
        target=getattr(args, "target", None),
    )
    print(res.table(metric))
    res.save_plot(plot, metric)
    resumed = res.meta.get("resumed_runs", 0)
    print(
        f"{len(res.rows)} run(s) in {res.meta['sweep_wall_time']:.1f} s"
        + (f" ({resumed} resumed from {out})" if resumed else "")
        + f"; results: {out}; plot: {plot}"
    )
    return 1 if any(r.get("status") == "error" for r in res.rows) else 0
