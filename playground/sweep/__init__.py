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

One module per job:

- :mod:`~playground.sweep.grid`: ``--grid`` parsing and the tasks (combination x seed)
- :mod:`~playground.sweep.run`: one task in, one plain result out (any process)
- :mod:`~playground.sweep.executors`: this process, a process pool, or Dask
- :mod:`~playground.sweep.driver`: :func:`run_sweep`, the whole sweep: resuming, running, storing
- :mod:`~playground.sweep.storage`: the CSV and JSON result files
- :mod:`~playground.sweep.summary`: statistics over seeds, the default target, metric columns
- :mod:`~playground.sweep.result`: :class:`SweepResult`
- :mod:`~playground.sweep.report` and :mod:`~playground.sweep.svg`: the table and the chart

The ``playground sweep`` command is :mod:`playground.cli.sweep`.
"""

from __future__ import annotations

from playground.sweep.driver import run_sweep
from playground.sweep.grid import build_tasks, parse_grid, parse_value
from playground.sweep.result import SweepResult
from playground.sweep.run import run_task
from playground.sweep.summary import METRICS, summarize

__all__ = [
    "SweepResult",
    "run_sweep",
    "build_tasks",
    "parse_grid",
    "parse_value",
    "run_task",
    "summarize",
    "METRICS",
]
