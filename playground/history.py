"""Metric history: columns of numbers, bounded in memory.

Rows are appended at fixed step boundaries. When the table reaches ``max_rows`` it keeps
every other row and records half as often from then on, so memory stays flat on long runs
and the result does not depend on how training was split into calls.
"""

from __future__ import annotations

import math

import numpy as np

SCALAR_COLUMNS = (
    "step",
    "epoch",
    "wall_time",
    "lr",
    "batch_loss",
    "train_loss",
    "test_loss",
    "train_metric",
    "test_metric",
    "grad_norm",
)
LAYER_COLUMNS = ("grad_norm_w", "grad_norm_b", "weight_norm")


class History:
    def __init__(self, n_layers: int, max_rows: int = 20_000):
        self.n_layers = n_layers
        self.max_rows = max_rows
        self.stride = 1  # keep one of every `stride` candidate rows
        self._candidates = 0
        self._n = 0
        self._cols: dict[str, np.ndarray] = {}
        self._alloc(256)

    def _alloc(self, cap: int) -> None:
        new = {c: np.full(cap, np.nan) for c in SCALAR_COLUMNS}
        new.update({c: np.full((cap, self.n_layers), np.nan) for c in LAYER_COLUMNS})
        for c, arr in self._cols.items():
            new[c][: self._n] = arr[: self._n]
        self._cols = new

    def __len__(self) -> int:
        return self._n

    @property
    def offered(self) -> int:
        """Rows offered so far (kept or skipped): changes with every ``append``."""
        return self._candidates

    def append(self, row: dict) -> bool:
        """Offer a row; returns whether it was kept (decimation may skip it)."""
        self._candidates += 1
        if (self._candidates - 1) % self.stride:
            return False
        if self._n == self.max_rows:
            for arr in self._cols.values():
                kept = arr[: self._n : 2].copy()
                arr[: len(kept)] = kept
                arr[len(kept) : self._n] = np.nan
            self._n = (self._n + 1) // 2
            self.stride *= 2
            # the row being offered now may no longer be on the new grid
            if (self._candidates - 1) % self.stride:
                return False
        if self._n == len(self._cols["step"]):
            self._alloc(min(2 * self._n, self.max_rows))
        for c in SCALAR_COLUMNS:
            self._cols[c][self._n] = row.get(c, np.nan)
        for c in LAYER_COLUMNS:
            if c in row:
                self._cols[c][self._n] = row[c]
        self._n += 1
        return True

    def __getitem__(self, column: str) -> np.ndarray:
        return self._cols[column][: self._n]

    def columns(self) -> list[str]:
        return list(SCALAR_COLUMNS) + list(LAYER_COLUMNS)

    def last(self) -> dict:
        if not self._n:
            return {}
        i = self._n - 1
        row = {c: float(self._cols[c][i]) for c in SCALAR_COLUMNS}
        row.update({c: self._cols[c][i].tolist() for c in LAYER_COLUMNS})
        return row

    # -- plain data for sessions and exports -----------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        d = {c: self[c].copy() for c in self.columns()}
        d["_meta"] = np.array([self.stride, self._candidates, self.max_rows], dtype=np.int64)
        return d

    @classmethod
    def from_arrays(cls, d: dict[str, np.ndarray], n_layers: int) -> History:
        stride, candidates, max_rows = (int(v) for v in d["_meta"])
        h = cls(n_layers, max_rows)
        n = len(d["step"])
        h._alloc(max(256, n))
        for c in h.columns():
            arr = np.asarray(d[c], dtype=np.float64)
            if c in LAYER_COLUMNS and arr.shape != (n, n_layers):
                raise ValueError(f"history column {c} has shape {arr.shape}, expected ({n}, {n_layers})")
            if c in SCALAR_COLUMNS and arr.shape != (n,):
                raise ValueError(f"history column {c} has shape {arr.shape}, expected ({n},)")
            h._cols[c][:n] = arr
        h._n, h.stride, h._candidates = n, stride, candidates
        return h

    def csv_text(self) -> str:
        """The history as CSV text, header first (``to_csv_rows``): step and epoch counts as
        integers (100, not 1.0e+02), other values as exact floats, empty where not finite.
        The one format of File > Export history and ``playground export --history``."""
        import csv
        import io

        header, table = self.to_csv_rows()
        ints = [name in CSV_INT_COLUMNS for name in header]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        for row in table:
            w.writerow([_csv_cell(v, as_int) for v, as_int in zip(row.tolist(), ints)])
        return out.getvalue()

    def to_csv_rows(self) -> tuple[list[str], np.ndarray]:
        """Header and a 2-D table (per-layer columns expanded as name_1, name_2...)."""
        header = list(SCALAR_COLUMNS)
        blocks = [np.column_stack([self[c] for c in SCALAR_COLUMNS])] if self._n else [np.zeros((0, 10))]
        for c in LAYER_COLUMNS:
            header += [f"{c}_{l + 1}" for l in range(self.n_layers)]
            blocks.append(self[c].reshape(self._n, self.n_layers))
        return header, np.hstack(blocks)


CSV_INT_COLUMNS = ("step", "epoch")  # whole numbers written as integers (epoch when whole)


def _csv_cell(v: float, as_int: bool) -> str:
    if not math.isfinite(v):
        return ""
    if as_int and float(v).is_integer():
        return str(int(v))
    return repr(float(v))
