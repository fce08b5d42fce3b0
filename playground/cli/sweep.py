"""`playground sweep`: run a grid of hyper-parameters, print the table, write results and a chart."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playground.errors import SpecError
from playground.formatting import fmt


def cmd_sweep(args) -> int:
    """`playground sweep` (arguments defined in playground.cli)."""
    from playground.sweep import build_tasks, parse_grid, run_sweep
    from playground.sweep.grid import as_spec, combination_label
    from playground.sweep.summary import metric_column

    metric = getattr(args, "metric", None)
    metric_column(metric)  # validate before running anything
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".json"):
        raise SpecError("--out", f"{out.name}: use a .csv or .json file name")
    plot = Path(args.plot) if getattr(args, "plot", None) else out.with_suffix(".svg")
    if plot.suffix.lower() != ".svg":
        raise SpecError("--plot", f"{plot.name}: only .svg is supported (drawn without matplotlib)")
    grid = parse_grid(args.grid or [])
    spec = as_spec(args.file)
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
        print(
            f"[{done}/{total}] {combination_label(row['params'])} seed={row['seed']}: {what}",
            file=stream,
            flush=True,
        )

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
