"""A CSV time series -> sequence Dataset: windows of past rows predicting a later value.

``"data": {"kind": "csv", "path": "co2_weekly.csv", "window": 52, "horizon": 1}`` reads the
file with ``csv_reader.read_csv_table``; the rows are the time steps, in file order.

- ``target``: the column to forecast (default: the first numeric column that is not a row
  id); ``columns``: the input series (default: the target alone). Every one must be
  numeric; a stray word names its row and column.
- Sample i sees rows i .. i+window-1 of the input columns, ``(window, len(columns))``, and
  predicts the target ``horizon`` rows after the last of them.
- Split in time order: the first ``round(train_fraction * n)`` windows train, the rest
  test, never shuffled. ``normalize`` (default ``standard``) is fitted per column on the
  rows up to the last training target only, the target normalised the same way (its
  offset and scale are ``info["target_offset"/"target_scale"]``, so a forecast goes back
  to the file's units).
- ``missing``: ``"drop"`` removes rows with a missing value in a used column (the rows
  after close up; ``info["rows_dropped"]``), ``"error"`` names the first one.

``info`` is that of ``sequences.forecast_dataset`` (the series, each sample's time index),
plus ``series_rows`` (the file line of each time step) and, when the first column is an
unused text column (dates), ``time_column`` and ``time_labels`` (its value on each step).
"""

from __future__ import annotations

import numpy as np

from playground.data.csv_reader import Column, Table
from playground.data.dataset import NORMALIZATIONS, Dataset
from playground.data.sequences import check_sequence_memory, forecast_dataset, lag_names
from playground.data.tabular import is_id_like
from playground.errors import DataError
from playground.spec import DEFAULT_TRAIN_FRACTION

MAX_TARGET = 1e15


def default_target(table: Table, file: str) -> str:
    """The first numeric column that is not a row id (else the first numeric one)."""
    numeric = [c for c in table.columns if c.kind == "numeric"]
    if not numeric:
        raise DataError("has no numeric column to forecast; name one with data.target", file=file)
    for c in numeric:
        if not is_id_like(c):
            return c.name
    return numeric[0].name


def _numeric(table: Table, name: str, role: str, file: str) -> Column:
    if name not in table:
        raise DataError(
            f"no {role} column named {name!r}; available columns: {', '.join(table.names)}",
            file=file,
            column=name,
        )
    col = table.column(name)
    if col.kind != "numeric":
        raise DataError(
            f"value {col.first_text_value!r} is not a number; a time series' columns hold numbers",
            file=file,
            row=col.first_text_row,
            column=name,
        )
    return col


def timeseries_dataset_from_table(table: Table, spec, seed: int | None = 0) -> Dataset:
    """The Dataset of a CSV time series spec (``window`` set) from a read table; the table
    is kept as ``ds.table`` (sessions embed it)."""
    file = str(table.source)
    window, horizon = int(spec.window), int(getattr(spec, "horizon", 1) or 1)
    normalize = getattr(spec, "normalize", None) or "standard"
    if normalize not in NORMALIZATIONS:
        raise DataError(
            f"unknown normalization {normalize!r}; choose one of: {', '.join(NORMALIZATIONS)}", file=file
        )
    missing = getattr(spec, "missing", "drop") or "drop"
    if missing not in ("drop", "error"):
        raise DataError(f"unknown missing-value policy {missing!r}; choose 'drop' or 'error'", file=file)
    frac = float(getattr(spec, "train_fraction", DEFAULT_TRAIN_FRACTION))
    target = getattr(spec, "target", None) or default_target(table, file)
    tcol = _numeric(table, target, "target", file)
    inputs = list(getattr(spec, "columns", ()) or ()) or [target]
    icols = [_numeric(table, c, "input", file) for c in inputs]

    rows = table.row_numbers
    used = [tcol, *icols]
    miss = np.zeros(table.n_rows, dtype=bool)
    for c in used:
        miss |= c.missing
    if miss.any() and missing == "error":
        i = int(np.argmax(miss))
        col = next(c for c in table.columns if c.name in {u.name for u in used} and c.missing[i])
        raise DataError(
            "missing value (set missing='drop' to skip such rows)",
            file=file,
            row=int(rows[i]),
            column=col.name,
        )
    keep = ~miss
    kept_rows = rows[keep]
    T = int(keep.sum())
    if T < window + horizon + 1:
        dropped = f" ({int(miss.sum())} dropped for missing values)" if miss.any() else ""
        raise DataError(
            f"has {T:,} usable rows{dropped}, too few for a window of {window} and a horizon of {horizon}: "
            f"need at least {window + horizon + 1} (two samples, one to train and one to test)",
            file=file,
        )
    for c in used:
        vals = c.values[keep]
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"value {vals[i]} is not a finite number", file=file, row=int(kept_rows[i]), column=c.name
            )
        big = np.abs(vals) > MAX_TARGET
        if big.any():
            i = int(np.argmax(big))
            raise DataError(
                f"value {vals[i]:g} is too large for a forecast; rescale the column",
                file=file,
                row=int(kept_rows[i]),
                column=c.name,
            )
    n = T - window - horizon + 1
    check_sequence_memory(n, window, len(icols), file)
    M = np.empty((T, len(icols)))
    for j, c in enumerate(icols):
        M[:, j] = c.values[keep]
    s = tcol.values[keep].astype(np.float64)
    info = {
        "source": file,
        "n_rows": table.n_rows,
        "n_used": T,
        "rows_dropped": int(miss.sum()),
        "delimiter": table.delimiter,
        "header": table.has_header,
        "target": target,
        "columns": inputs,
        "series_rows": kept_rows,
        "skipped_lines": table.info.get("skipped_lines", 0),
        "seed": 0 if seed is None else int(seed),
    }
    first = table.columns[0]
    if first.kind == "text" and first.name not in {u.name for u in used}:
        info["time_column"] = first.name
        info["time_labels"] = [str(v) for v in first.values[keep]]
    names = lag_names(window, inputs)
    ds = forecast_dataset(
        M,
        s,
        window,
        horizon,
        frac,
        normalize,
        names,
        f"{target}[t+{horizon}]",
        info,
        inputs_are_target=inputs == [target],
    )
    ds.info["n_rows"] = table.n_rows
    ds.info["rows_dropped"] = int(miss.sum())
    ds.info["path"] = str(getattr(spec, "path", None) or table.source)
    ds.table = table
    return ds


def build_timeseries_dataset(spec, seed: int | None = 0, progress=None) -> Dataset:
    """Read the CSV file of ``spec`` (``progress(fraction)`` while reading) and cut it into
    windows (``timeseries_dataset_from_table``)."""
    from playground.data.build import read_spec_table

    return timeseries_dataset_from_table(read_spec_table(spec, progress), spec, seed)
