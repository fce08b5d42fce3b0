"""CSV table -> Dataset: column roles, one-hot encoding, missing values, normalization."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from playground.data.csv_reader import Column, Table
from playground.data.dataset import NORMALIZATIONS, Dataset, FeaturePipeline, _mean_std, all_finite
from playground.data.toy import split_indices
from playground.errors import DataError
from playground.spec import DEFAULT_TRAIN_FRACTION

MOSTLY_NUMERIC = 0.9  # a text column with at least this share of numbers has a stray word
MAX_CLASSES = 100
MAX_ONE_HOT = 100
MAX_AUTO_CLASSES = 10  # task "auto": an integer target with at most this many values is a class label
MAX_RAW_INPUT = 1e15  # larger inputs need normalization (the network would overflow at once)
MAX_TARGET = 1e15  # larger regression targets overflow the squared error
TASKS = ("classification", "regression")
ID_NAMES = frozenset(
    {"id", "index", "idx", "row", "rowid", "row_id", "row id", "no", "no.", "#", "unnamed: 0", ""}
)


def integer_distinct(col: Column) -> int | None:
    """Number of distinct values of a numeric column whose present values are all integers
    (None if the column is text, empty, or has a non-integer value)."""
    if col.kind != "numeric":
        return None
    vals = col.values[~col.missing]
    if vals.size == 0 or not np.isfinite(vals).all() or np.abs(vals).max() > 2**53:
        return None
    if not np.array_equal(vals, np.round(vals)):
        return None
    return int(np.unique(vals).size)


def is_id_like(col: Column) -> bool:
    """A row identifier, useless as an input: a complete column of unique integers that is
    named like an id (``id``, ``index``, ``PassengerId``...), or has no name of its own
    (``column 1``, pandas' ``Unnamed: 0``) and counts the rows (0, 1, 2, ... or 1, 2, 3, ...).
    A named column such as ``size`` or ``t`` is a measurement even when it counts."""
    n = col.values.shape[0]
    if n < 2 or col.n_missing or col.kind != "numeric":
        return False
    name = col.name.strip().lower()
    if name in ID_NAMES or name.endswith(("_id", " id")) or (col.name.endswith("Id") and len(col.name) > 2):
        return integer_distinct(col) == n
    if re.fullmatch(r"(column|unnamed:?) \d+", name) is None:
        return False
    v = col.values  # counts the rows: consecutive integers from 0 or 1 (O(n), no sort)
    return bool(v[0] in (0.0, 1.0) and np.all(np.diff(v) == 1.0))


def default_features(
    table: Table, target: str, distinct: dict[str, int] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The input columns used when none are chosen: every column but the target, except
    id-like columns and text columns with too many distinct values to one-hot encode (kept
    if nothing else would be left). ``distinct``: known numbers of distinct values of text
    columns (saves counting again). Returns (features, {ignored column: why})."""
    features, ignored = [], {}
    for c in table.columns:
        if c.name == target:
            continue
        if is_id_like(c):
            ignored[c.name] = "a unique integer per row (an id), not a measurement"
            continue
        if c.kind == "text" and c.n_numeric < MOSTLY_NUMERIC * max(1, c.n_present):  # not a typo column
            k = (distinct or {}).get(c.name)
            if k is None:
                k = len(set(c.values[~c.missing].tolist()))
            if k > MAX_ONE_HOT:
                ignored[c.name] = f"text with {k:,} distinct values, too many to one-hot encode"
                continue
            if k == c.n_present >= 10:
                ignored[c.name] = "a different text on every row (a name or id), nothing to learn from"
                continue
        features.append(c.name)
    if not features:
        return [c.name for c in table.columns if c.name != target], {}
    return features, ignored


def auto_task(col: Column) -> tuple[str, str]:
    """(task, why) for task "auto": text or an integer column with at most
    ``MAX_AUTO_CLASSES`` distinct values is a class label, other numbers are regression."""
    name = col.name
    if col.kind == "text":
        return "classification", f"classification: {name!r} holds text labels"
    k = integer_distinct(col)
    if k is not None and 2 <= k <= MAX_AUTO_CLASSES and 2 * k <= col.n_present:
        return "classification", f"classification: {name!r} has {k} distinct integer values"
    if k is not None:
        return "regression", f"regression: {name!r} has {k:,} distinct integer values (too many for classes)"
    return "regression", f"regression: {name!r} holds numbers that are not all integers"


def _fmt_number(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(float(v), "g")


def _check_stray_text(col: Column, file: str) -> None:
    """A column of (mostly) numbers with a few words is a typo, not a category."""
    if col.kind != "text" or col.first_text_row is None:
        return
    present = col.n_present
    if present and col.n_numeric / present >= MOSTLY_NUMERIC:
        raise DataError(
            f"value {col.first_text_value!r} is not a number, but {col.n_numeric} of the {present} "
            "values in this column are; fix or remove it (or mark it missing, e.g. NA)",
            file=file,
            row=col.first_text_row,
            column=col.name,
        )


def _rows_of(columns: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``np.column_stack(columns)[rows]`` without stacking the whole table first."""
    out = np.empty((len(rows), len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = col[rows]
    return out


def make_tabular_dataset(
    table: Table,
    target: str | None,
    features=None,
    task: str | None = None,
    missing: str = "drop",
    normalize: str | None = "standard",
    train_fraction: float = DEFAULT_TRAIN_FRACTION,
    seed: int | None = 0,
    file: str | None = None,
) -> Dataset:
    """Turn a :class:`Table` into a :class:`Dataset`.

    ``target``: column to predict (None: the last column). ``features``: input columns
    (None/empty: :func:`default_features`, every other column but ids and free text, listed
    with the reason in ``info["ignored"]``). ``task``: "classification" | "regression" |
    None (:func:`auto_task`: text or an integer column with few values -> classification,
    other numbers -> regression; the reason is ``info["task_reason"]``). Huge values that
    would overflow the network are refused naming the column. ``missing``: "drop" rows with
    a missing value in a used column (count in ``info["rows_dropped"]``) or "error".
    Text features become one-hot columns ``"col=value"`` (values in sorted order); classes
    are the sorted distinct target values. Normalization is fitted on the train split.
    """
    file = file if file is not None else table.source
    names = table.names
    avail = ", ".join(names)
    if normalize is None:
        normalize = "standard"
    if normalize not in NORMALIZATIONS:
        raise DataError(
            f"unknown normalization {normalize!r}; choose one of: {', '.join(NORMALIZATIONS)}", file=file
        )
    if missing not in ("drop", "error"):
        raise DataError(f"unknown missing-value policy {missing!r}; choose 'drop' or 'error'", file=file)
    if task is not None and task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose 'classification' or 'regression'", file=file)
    if not (0.0 < float(train_fraction) < 1.0):
        raise DataError(f"train fraction must be between 0 and 1, got {train_fraction}", file=file)

    if target is None or target == "":
        if len(names) < 2:
            raise DataError(f"needs at least 2 columns (inputs and a target); found only: {avail}", file=file)
        target = names[-1]
    if target not in table:
        raise DataError(
            f"no target column named {target!r}; available columns: {avail}", file=file, column=target
        )
    if features:
        features = list(features)
        unknown = [f for f in features if f not in table]
        if unknown:
            raise DataError(
                f"no feature column named {unknown[0]!r}; available columns: {avail}",
                file=file,
                column=unknown[0],
            )
        if target in features:
            raise DataError("the target column is also listed as a feature", file=file, column=target)
        dup = sorted({f for f in features if features.count(f) > 1})
        if dup:
            raise DataError("feature column listed twice", file=file, column=dup[0])
        ignored: dict[str, str] = {}
    else:
        features, ignored = default_features(table, target)
    if not features:
        raise DataError(f"no input columns left besides the target {target!r}", file=file)

    tcol = table.column(target)
    fcols = [table.column(f) for f in features]
    for c in [tcol, *fcols]:
        _check_stray_text(c, file)

    rows = table.row_numbers
    n_rows = table.n_rows
    if tcol.n_present == 0:
        raise DataError("the target column has no values (all missing)", file=file, column=target)
    for c in fcols:
        if c.n_present == 0 and missing == "drop":
            raise DataError(
                "this feature column has no values (all missing); leave it out", file=file, column=c.name
            )

    # ---- missing values
    miss_any = tcol.missing.copy()
    for c in fcols:
        miss_any |= c.missing
    if miss_any.any():
        if missing == "error":
            i = int(np.argmax(miss_any))
            used = {target, *features}
            col = next(c for c in table.columns if c.name in used and c.missing[i])  # file order
            raise DataError(
                "missing value (set missing='drop' to skip such rows)",
                file=file,
                row=int(rows[i]),
                column=col.name,
            )
    keep = ~miss_any
    rows_dropped = int(miss_any.sum())
    n = int(keep.sum())
    if n < 2:
        raise DataError(
            f"only {n} complete row(s) after dropping {rows_dropped} with missing values; "
            "need at least 2 to split into train and test",
            file=file,
        )
    kept_rows = rows[keep] if rows_dropped else rows  # file lines, for messages (no copy)

    # ---- inputs: numeric columns as they are, text columns one-hot
    raw_cols: list[np.ndarray] = []
    input_names: list[str] = []
    for c in fcols:
        vals = c.values[keep] if rows_dropped else c.values
        if c.kind == "numeric":
            bad = ~np.isfinite(vals)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    f"value {vals[i]} is not a finite number", file=file, row=int(kept_rows[i]), column=c.name
                )
            if normalize == "none" and vals.size and np.abs(vals).max() > MAX_RAW_INPUT:
                i = int(np.argmax(np.abs(vals)))
                raise DataError(
                    f"value {vals[i]:g} is too large to feed the network unscaled; "
                    "choose standard or min-max normalization (or rescale the column)",
                    file=file,
                    row=int(kept_rows[i]),
                    column=c.name,
                )
            raw_cols.append(vals.astype(np.float64, copy=False))
            input_names.append(c.name)
        else:
            cats = sorted(set(vals.tolist()))
            if len(cats) > MAX_ONE_HOT:
                raise DataError(
                    f"text column has {len(cats)} distinct values, too many to one-hot encode "
                    f"(limit {MAX_ONE_HOT}); leave it out of the features",
                    file=file,
                    column=c.name,
                )
            for cat in cats:
                raw_cols.append((vals == cat).astype(np.float64))
                input_names.append(f"{c.name}={cat}")

    # ---- target
    tvals = tcol.values[keep]
    if task is None:
        kept = Column(tcol.name, tcol.kind, tvals, np.zeros(n, dtype=bool))
        task, task_reason = auto_task(kept)
    else:
        task_reason = f"{task}: chosen in the settings"
    class_names: list[str] | None
    if task == "classification":
        if tcol.kind == "text":
            class_names = sorted(set(tvals.tolist()))
            lookup = {name: k for k, name in enumerate(class_names)}
            y = np.fromiter((lookup[v] for v in tvals), dtype=np.int64, count=n)
        else:
            uniq, y = np.unique(tvals, return_inverse=True)
            y = y.astype(np.int64).reshape(-1)
            class_names = [_fmt_number(v) for v in uniq]
        if len(class_names) < 2:
            raise DataError(
                f"the target has a single class ({class_names[0]!r}); classification needs at least 2",
                file=file,
                column=target,
            )
        if len(class_names) > MAX_CLASSES:
            raise DataError(
                f"the target has {len(class_names)} distinct values, too many classes (limit {MAX_CLASSES}); "
                "use task 'regression' for a numeric target",
                file=file,
                column=target,
            )
        target_names = [target]
    else:
        if tcol.kind == "text":
            raise DataError(
                f"regression needs a numeric target, but value {tcol.first_text_value!r} is text",
                file=file,
                row=tcol.first_text_row,
                column=target,
            )
        bad = ~np.isfinite(tvals)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"value {tvals[i]} is not a finite number", file=file, row=int(kept_rows[i]), column=target
            )
        if np.abs(tvals).max() > MAX_TARGET:
            i = int(np.argmax(np.abs(tvals)))
            raise DataError(
                f"value {tvals[i]:g} is too large a regression target (its squared error overflows); "
                "rescale the column (e.g. to thousands or millions)",
                file=file,
                row=int(kept_rows[i]),
                column=target,
            )
        y = tvals.astype(np.float64).reshape(-1, 1)
        class_names = None
        target_names = [target]

    # ---- split + normalization fitted on train
    seed_int = 0 if seed is None else int(seed) & 0xFFFFFFFFFFFFFFFF
    rng = np.random.default_rng(np.random.SeedSequence([seed_int, 0x7AB1]))
    tr, te = split_indices(n, train_fraction, rng)
    y_train, y_test = y[tr], y[te]
    del y  # a million rows: no n-long array more than needed at the peak
    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy copies and arithmetic free the GIL
        raw_train, raw_test = pool.map(lambda idx: _rows_of(raw_cols, idx), (tr, te))
        pipeline = FeaturePipeline(transforms=(), normalize=normalize).fit(raw_train)
        del tr, te, kept_rows
        X_train, X_test = pool.map(pipeline.apply, (raw_train, raw_test))
    for X in (X_train, X_test):
        if not all_finite(X):  # cannot happen for finite inputs; refuse rather than train on inf
            bad = ~np.isfinite(X)
            j = int(np.argmax(bad.any(axis=0)))
            raise DataError(
                "values too large to normalize; rescale the column", file=file, column=input_names[j]
            )
    info = {
        "source": file,
        "n_rows": n_rows,
        "n_used": n,
        "rows_dropped": rows_dropped,
        "delimiter": table.delimiter,
        "header": table.has_header,
        "target": target,
        "features": list(features),
        "ignored": ignored,
        "task_reason": task_reason,
        "skipped_lines": table.info.get("skipped_lines", 0),
        "skip_reason": table.info.get("skip_reason"),
    }
    if task == "regression":
        mean, sd = _mean_std(y_train)
        info["target_mean"] = float(mean[0])
        info["target_std"] = float(sd[0])
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        raw_train=raw_train,
        raw_test=raw_test,
        input_names=list(input_names),
        feature_names=list(input_names),
        task=task,
        class_names=class_names,
        target_names=target_names,
        pipeline=pipeline,
        info=info,
    )
