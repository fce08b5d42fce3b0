"""The grid of a sweep: ``--grid path=v1,v2`` parsing and every combination x seed as a task.

A task is plain data (see :mod:`playground.sweep.run`); its ``run_id`` hashes the spec and
the run length, so a resumed sweep recognises the runs it has finished.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from playground.errors import SpecError
from playground.formatting import fmt
from playground.spec import ExperimentSpec
from playground.variants import apply_overrides, pin_data_seed

DEFAULT_EPOCHS = 100.0


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


def unique_values(values: list) -> list:
    """``values`` without repeats, in order (1 and 1.0 and True stay apart)."""
    out: list = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def as_spec(spec) -> ExperimentSpec:
    """The base spec of a sweep from a spec, a spec dict, a spec file or a session file."""
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return ExperimentSpec.from_dict(spec)
    p = Path(spec)
    if p.suffix.lower() == ".playground":
        from playground.session import load

        return load(p).spec
    return ExperimentSpec.from_file(p)


def combination_label(params: dict) -> str:
    """ "lr=0.1, batch_size=10": one combination in progress lines and errors."""
    return ", ".join(f"{last_part(k)}={fmt(v)}" for k, v in params.items())


def last_part(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def build_tasks(spec, grid: dict[str, list], seeds: int = 1, steps=None, epochs=None) -> list[dict]:
    """Every combination x seed as a plain-data task; validates every combination's spec
    up front (SpecError naming the path and the combination)."""
    base = as_spec(spec)
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
    grid = {path: unique_values(list(vals)) for path, vals in grid.items()}
    for path, vals in grid.items():
        if not vals:
            raise SpecError(path, "the grid lists no values")
    base_dict = pin_data_seed(base.to_dict())  # same data for every seed
    paths = list(grid)
    tasks = []
    for combo, values in enumerate(itertools.product(*(grid[p] for p in paths))):
        params = dict(zip(paths, values))
        combo_spec = apply_overrides(base_dict, params, f"in the combination {combination_label(params)}")
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
