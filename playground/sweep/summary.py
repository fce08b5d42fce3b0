"""Summaries of sweep results: statistics over seeds per combination, the default target,
and the metric columns ``--metric`` can name. Plain rows in, plain dicts out."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np

from playground.errors import SpecError
from playground.sweep.run import SCORE_COLUMNS
from playground.variants import target_loss

# summary statistics are computed for these result columns
STAT_COLUMNS = (
    *SCORE_COLUMNS,
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


def column_stats(values: list) -> dict:
    """mean, std, min, max and n of the finite values (None where there are none)."""
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
    """TARGET_FACTOR (1.1) x the best final train loss over the runs that did not diverge."""
    finals = [
        r["final_train_loss"]
        for r in rows
        if r.get("status") == "ready" and r.get("final_train_loss") is not None
    ]
    return target_loss(finals)


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
            s[col] = column_stats([r.get(col) for r in ok])
        out.append(s)
    return out


def metric_column(metric: str | None) -> str:
    """The result column of a ``--metric`` name (SpecError for an unknown one)."""
    if metric is None:
        return "final_test_metric"
    if metric not in METRICS:
        raise SpecError("--metric", f"unknown metric {metric!r}; choose one of: {', '.join(sorted(METRICS))}")
    return METRICS[metric]


def metric_title(col: str, kind: str | None) -> str:
    """ "final test accuracy": a column named for people (``kind``: accuracy or r2)."""
    name = {"accuracy": "accuracy", "r2": "R\u00b2"}.get(kind or "", "metric")
    return col.replace("_metric", f"_{name}").replace("_", " ")
