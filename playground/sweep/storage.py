"""Sweep result files: CSV (one row per run, appended as runs finish) and JSON (rows,
summary and metadata, rewritten atomically), and reading them back to resume a sweep."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from playground.errors import PlaygroundError
from playground.session.archive import atomic_write
from playground.sweep.grid import parse_value
from playground.sweep.run import SCORE_COLUMNS

# the columns of a results CSV; the swept paths go after run_id and combo
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
    *SCORE_COLUMNS,
    "wall_time",
    "elapsed",
    "target_loss",
    "steps_to_target",
    "time_to_target",
    "message",
    "curve",
)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder: a crash leaves the
    previous file (the session writer's atomic_write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


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


def csv_header(paths: list[str]) -> list[str]:
    return [FIXED_COLUMNS[0], FIXED_COLUMNS[1], *paths, *FIXED_COLUMNS[2:]]


def csv_line(row: dict, paths: list[str]) -> str:
    buf = io.StringIO()
    vals = {**row, **{p: row["params"].get(p) for p in paths}}
    csv.writer(buf, lineterminator="\n").writerow([_csv_cell(vals.get(c)) for c in csv_header(paths)])
    return buf.getvalue()


def csv_text(rows: list[dict], paths: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(csv_header(paths))
    return buf.getvalue() + "".join(csv_line(r, paths) for r in rows)


def read_csv(path: Path, paths: list[str]) -> list[dict]:
    """Rows of a previous (maybe interrupted) sweep; a half-written last line is skipped."""
    text = path.read_text(encoding="utf-8")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # the curve column can be long
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    if header != csv_header(paths):
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


def json_text(rows, grid, target, summary, meta) -> str:
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


def read_json(path: Path) -> list[dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise PlaygroundError(f"{path}: not a sweep results file (not valid JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != "playground-sweep":
        raise PlaygroundError(f"{path}: not a sweep results file; choose another --out")
    return list(doc.get("rows", []))
