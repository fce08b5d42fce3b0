"""SweepResult: one row per run and one summary per combination, with its target loss."""

from __future__ import annotations

from pathlib import Path

from playground.sweep.report import format_table, plot_svg
from playground.sweep.run import reach
from playground.sweep.storage import csv_text, json_text, write_text_atomic
from playground.sweep.summary import default_target, metric_column, summarize


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
        return metric_column(metric)

    def to_csv(self, path: str | Path) -> Path:
        return write_text_atomic(Path(path), csv_text(self.rows, list(self.grid)))

    def to_json(self, path: str | Path) -> Path:
        return write_text_atomic(
            Path(path), json_text(self.rows, self.grid, self.target, self.summary, self.meta)
        )

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        return self.to_json(p) if p.suffix.lower() == ".json" else self.to_csv(p)

    def table(self, metric: str | None = None) -> str:
        return format_table(self, metric)

    def svg(self, metric: str | None = None, theme: str = "light") -> str:
        return plot_svg(self, metric, theme)

    def save_plot(self, path: str | Path, metric: str | None = None) -> Path:
        return write_text_atomic(Path(path), self.svg(metric))
