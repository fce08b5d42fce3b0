"""A sweep result for people: the aligned text table (``playground sweep`` prints it) and the
SVG chart (heatmap over two swept axes, or curves over one)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from playground.formatting import fmt
from playground.sweep.grid import last_part
from playground.sweep.summary import column_stats, metric_column, metric_title
from playground.sweep.svg import heatmap_svg, lines_svg, setting_name

if TYPE_CHECKING:
    from playground.sweep.result import SweepResult


def format_table(result: SweepResult, metric: str | None = None) -> str:
    """Aligned text table: one line per combination, mean \u00b1 std [min, max] over seeds."""
    col = metric_column(metric)
    kind = next((s["metric"] for s in result.summary if s["metric"]), None)
    paths = list(result.grid)
    shorts = [last_part(p) for p in paths]
    names = shorts if len(set(shorts)) == len(shorts) else paths
    seeds = max((s["runs"] for s in result.summary), default=1)
    cols = []
    for c in ("final_train_loss", "final_test_loss", "best_test_loss", "final_test_metric"):
        cols.append(c)
    if col not in cols:
        cols.append(col)
    cols += ["steps_to_target", "wall_time"]
    header = names + ["runs", "div"] + [metric_title(c, kind) for c in cols]
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
    col = metric_column(metric)
    kind = next((s["metric"] for s in result.summary if s["metric"]), None)
    title = f"{metric_title(col, kind)} (mean over seeds)"
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
        st = column_stats([r.get(col) for r in ok if ax is None or r["params"].get(ax) == vx])
        means.append(st["mean"])
        stds.append(st["std"])
    y_title = metric_title(col, kind)
    return lines_svg(xs, {y_title: (means, stds)}, ax or "", y_title, title, theme=theme)
