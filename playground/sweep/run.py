"""One sweep run: a plain-data task in, a plain-data result out.

A task is a dict ``{"run_id", "combo", "params", "seed", "spec", "steps", "epochs"}`` where
``spec`` is a complete, validated spec dict (the combination's values and the seed already
set). The result depends on the task alone, so a run can execute in this process, a
spawned process or on a Dask worker and give the same numbers (wall times aside).
"""

from __future__ import annotations

import math
import time
import traceback
import warnings

import numpy as np

from playground import variants

MAX_CURVE_POINTS = 1000  # record points kept per run for "steps to reach a target loss"
# the losses and metrics of a result row (summarize_experiment), in the order files list them
SCORE_COLUMNS = (
    "final_train_loss",
    "final_test_loss",
    "best_train_loss",
    "best_test_loss",
    "final_train_metric",
    "final_test_metric",
    "best_test_metric",
)


def _f(x) -> float | None:
    """A JSON-able float (None for NaN/inf)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nanmin(a: np.ndarray) -> float | None:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.min()) if a.size else None


def _nanmax(a: np.ndarray) -> float | None:
    a = np.asarray(a, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size else None


def record_curve(steps: np.ndarray, wall: np.ndarray, loss: np.ndarray) -> list[list[float]]:
    """The history rows where the train loss reaches a new minimum, as [step, wall, loss].

    The first history row with ``loss <= target`` is always such a row, so this small list
    answers "steps to reach a target loss" exactly for any target chosen later. Very long
    lists are thinned to improvements of at least 0.1 % (then the answer is approximate).
    """
    out: list[list[float]] = []
    best = math.inf
    for s, w, v in zip(steps, wall, loss):
        if math.isfinite(v) and v < best:
            best = float(v)
            out.append([int(s), round(float(w), 4), float(f"{best:.7g}")])
    if len(out) > MAX_CURVE_POINTS:
        thinned = [out[0]]
        for p in out[1:]:
            if p[2] <= thinned[-1][2] * (1 - 1e-3):
                thinned.append(p)
        if thinned[-1] is not out[-1]:
            thinned.append(out[-1])
        out = thinned
    if len(out) > MAX_CURVE_POINTS:
        # keep the first point below each of MAX_CURVE_POINTS log-spaced loss levels
        hi, lo = out[0][2], out[-1][2]
        if lo > 0:
            levels = np.geomspace(hi, lo, MAX_CURVE_POINTS - 1)
        else:
            levels = np.linspace(hi, lo, MAX_CURVE_POINTS - 1)
        losses = np.array([p[2] for p in out])
        idx = sorted({int(np.argmax(losses <= lv)) for lv in levels} | {len(out) - 1})
        out = [out[i] for i in idx]
    return out


def reach(curve: list, target: float | None) -> tuple[int | None, float | None]:
    """(steps, wall seconds) of the first point of a record curve with loss <= target."""
    if not curve:
        return None, None
    steps, walls, losses = np.asarray(curve, dtype=np.float64).T
    return variants.reach(steps, walls, losses, target)


def run_task(task: dict) -> dict:
    """Train one combination x seed; returns a plain dict (see module docstring)."""
    from playground.errors import PlaygroundError
    from playground.experiment import Experiment
    from playground.spec import ExperimentSpec

    base = {
        "run_id": task["run_id"],
        "combo": task["combo"],
        "params": dict(task["params"]),
        "seed": task["seed"],
    }
    t0 = time.perf_counter()
    try:
        exp = Experiment(ExperimentSpec.from_dict(task["spec"]))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # a diverging run overflows (e.g. weight norms): that is a result, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            exp.train(steps=task.get("steps"), epochs=task.get("epochs"))
    except PlaygroundError as e:
        return {**base, "status": "error", "message": str(e), "elapsed": time.perf_counter() - t0}
    except Exception as e:  # a bug must not sink the other runs; keep the reason
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return {**base, "status": "error", "message": tb, "elapsed": time.perf_counter() - t0}
    return {**base, **summarize_experiment(exp), "elapsed": time.perf_counter() - t0}


def summarize_experiment(exp) -> dict:
    """Final/best losses and metric, divergence, wall time and the record curve."""
    h = exp.history
    m = exp.metrics()
    task = exp.dataset.task
    metric = "accuracy" if task == "classification" else "r2"
    steps, wall = h["step"], h["wall_time"]
    train_loss, test_loss = h["train_loss"], h["test_loss"]
    test_metric = h["test_metric"]
    if len(steps) == 0 or steps[-1] != exp.step:
        # the run ended between history rows: its final state counts as a point too
        steps, wall = np.append(steps, exp.step), np.append(wall, exp.wall_time)
        train_loss = np.append(train_loss, float(m.get("train_loss", np.nan)))
        test_loss = np.append(test_loss, float(m.get("test_loss", np.nan)))
        test_metric = np.append(test_metric, float(m.get(f"test_{metric}", np.nan)))
    return {
        "status": exp.status,
        "diverged": exp.status == "diverged",
        "diverged_step": exp.diverged_step,
        "steps": int(exp.step),
        "epochs": float(exp.epoch),
        "metric": metric,
        "final_train_loss": _f(m.get("train_loss")),
        "final_test_loss": _f(m.get("test_loss")),
        "best_train_loss": _nanmin(train_loss),
        "best_test_loss": _nanmin(test_loss),
        "final_train_metric": _f(m.get(f"train_{metric}")),
        "final_test_metric": _f(m.get(f"test_{metric}")),
        "best_test_metric": _nanmax(test_metric),
        "wall_time": float(exp.wall_time),
        "curve": record_curve(steps, wall, train_loss),
    }
