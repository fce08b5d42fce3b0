"""The metrics people expect beside the loss: a confusion matrix with per-class precision,
recall, F1 and support for classification; RMSE and MAE beside R² for regression.

Plain numpy on plain data, no Qt: the app's Metrics view (fed from the training worker),
reports (``playground.report``) and the CLI all call :func:`metrics_report` and get the same
dict of numbers, lists and strings.

Definitions (scikit-learn's; ``benchmarks/check_metrics_sklearn.py`` compares them):

- counts ``C[true, predicted]`` from ``Experiment.confusion`` (the rule behind accuracy).
- precision_k = C[k, k] / (column k), recall_k = C[k, k] / (row k), F1_k = 2 tp / (2 tp +
  fp + fn), support_k = row k. A ratio with a zero denominator is reported as 0 and a note
  says so (sklearn's ``zero_division=0``).
- macro average: the plain mean over the classes that occur in the truth or the
  predictions (sklearn's default labels); weighted: the mean weighted by support.
- regression, per target: RMSE = sqrt(mean (p - y)²), MAE = mean |p - y|, R² = 1 - SSE /
  SST (NaN, with a note, when the target is constant; sklearn's ``force_finite`` would say
  0 or 1). With several targets an "all targets" row pools every value: its R² is the one
  the history and the live plots show (1 - total SSE / total SST).

Regression values are in the units of the data set's targets (``Dataset.y_*``).
"""

from __future__ import annotations

import math

import numpy as np

from playground.formatting import MISSING

PARTS = ("train", "test")


# ----------------------------------------------------------------------------- classification


def classification_metrics(counts, class_names=None) -> dict:
    """Per-class and averaged precision / recall / F1 / support from confusion counts
    ``[true, predicted]`` (k x k). Returns plain data (lists, floats, ints)."""
    C = np.asarray(counts, dtype=np.int64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"confusion counts must be square, got shape {C.shape}")
    k = C.shape[0]
    names = [str(n) for n in (class_names or [])]
    names += [str(i) for i in range(len(names), k)]
    tp = np.diag(C).astype(np.float64)
    support = C.sum(axis=1)
    predicted = C.sum(axis=0)
    notes = []
    rows = []
    for i in range(k):
        fp, fn = float(predicted[i] - tp[i]), float(support[i] - tp[i])
        precision = _ratio(tp[i], predicted[i])
        recall = _ratio(tp[i], support[i])
        f1 = _ratio(2 * tp[i], 2 * tp[i] + fp + fn)
        if predicted[i] == 0 and support[i] > 0:
            notes.append(f"class {names[i]!r} was never predicted: its precision is reported as 0")
        if support[i] == 0 and predicted[i] > 0:
            notes.append(f"class {names[i]!r} has no true samples: its recall is reported as 0")
        rows.append(
            {
                "class": names[i],
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": int(support[i]),
            }
        )
    present = [i for i in range(k) if support[i] > 0 or predicted[i] > 0]
    absent = [names[i] for i in range(k) if i not in present]
    if absent:
        notes.append(f"classes absent from truth and predictions, left out of the averages: {absent}")
    total = int(support.sum())
    averages = {}
    for name in ("macro", "weighted"):
        avg = {"support": total}
        for m in ("precision", "recall", "f1"):
            vals = np.array([rows[i][m] for i in present], dtype=np.float64)
            if not len(vals):
                avg[m] = 0.0
            elif name == "macro":
                avg[m] = float(vals.mean())
            else:
                w = support[present].astype(np.float64)
                avg[m] = float((vals * w).sum() / w.sum()) if w.sum() > 0 else 0.0
        averages[name] = avg
    return {
        "n": total,
        "accuracy": float(tp.sum() / total) if total else float("nan"),
        "confusion": C.tolist(),
        "classes": names,
        "per_class": rows,
        "macro": averages["macro"],
        "weighted": averages["weighted"],
        "notes": notes,
    }


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else 0.0  # sklearn's zero_division=0


# ----------------------------------------------------------------------------- regression


def regression_metrics(y_true, y_pred, target_names=None) -> dict:
    """RMSE, MAE and R² per target (columns) and pooled over all targets."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    y = y.reshape(len(y), -1)
    p = p.reshape(len(p), -1)
    if y.shape != p.shape:
        raise ValueError(f"targets {y.shape} and predictions {p.shape} differ in shape")
    n, t = y.shape
    names = [str(s) for s in (target_names or [])][:t]
    names += [f"y{j + 1}" for j in range(len(names), t)]
    notes = []
    with np.errstate(all="ignore"):
        err = p - y
        sse = (err**2).sum(axis=0)
        sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0) if n else np.zeros(t)
        rows = []
        for j in range(t):
            r2 = 1.0 - sse[j] / sst[j] if sst[j] > 0 else float("nan")
            if n and not sst[j] > 0:
                notes.append(f"target {names[j]!r} is constant: its R² is undefined")
            rows.append(
                {
                    "target": names[j],
                    "rmse": float(math.sqrt(sse[j] / n)) if n else float("nan"),
                    "mae": float(np.abs(err[:, j]).mean()) if n else float("nan"),
                    "r2": float(r2),
                }
            )
        pooled = {
            "target": "all targets",
            "rmse": float(math.sqrt(sse.sum() / (n * t))) if n else float("nan"),
            "mae": float(np.abs(err).mean()) if n else float("nan"),
            "r2": float(1.0 - sse.sum() / sst.sum()) if sst.sum() > 0 else float("nan"),
        }
    if not np.isfinite(p).all():
        notes.append("some predictions are not finite (the run diverged?)")
    return {"n": int(n), "targets": rows, "all": pooled, "notes": notes}


# ----------------------------------------------------------------------------- an experiment


def split_metrics(exp, part: str = "test", theta=None, max_rows: int | None = None) -> dict | None:
    """The metrics of one split (its first ``max_rows`` rows) at ``theta`` (default: the
    current weights); None for an empty split. Call it where the experiment may be read."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    ds = exp.dataset
    if ds.task == "classification":
        counts = exp.confusion(part, theta=theta, max_rows=max_rows)
        if counts is None:
            return None
        return classification_metrics(counts, ds.class_names)
    X, y = (ds.X_test, ds.y_test) if part == "test" else (ds.X_train, ds.y_train)
    X, y = X[:max_rows], y[:max_rows]
    if len(X) == 0:
        return None
    with np.errstate(all="ignore"):
        out = exp.trainer.predict(X, theta=theta)
    return regression_metrics(y, out, ds.target_names)


def metrics_report(exp, theta=None, max_rows: int | None = None) -> dict:
    """Everything :mod:`playground.metrics` computes of an experiment, as plain data:
    ``task``, ``step``, ``epoch``, ``splits`` {"train", "test"} (each a dict from
    :func:`classification_metrics` / :func:`regression_metrics`, or None when empty),
    ``rows_limit`` (``max_rows``) and ``notes``."""
    ds = exp.dataset
    splits = {part: split_metrics(exp, part, theta=theta, max_rows=max_rows) for part in PARTS}
    notes = []
    if max_rows is not None:
        sizes = {"train": ds.n_train, "test": ds.n_test}
        for part, n in sizes.items():
            if n > max_rows:
                notes.append(f"{part}: the first {max_rows:,} of {n:,} rows")
    if ds.task == "regression" and "target_scale" in ds.info:
        scale, offset = ds.info["target_scale"], ds.info.get("target_offset", 0.0)
        if scale != 1.0 or offset != 0.0:
            notes.append(
                f"targets are normalised (value = y × {scale:.4g} + {offset:.4g}): "
                f"RMSE and MAE times {scale:.4g} are in the data's own units"
            )
    return {
        "task": ds.task,
        "step": int(exp.step),
        "epoch": float(exp.epoch),
        "rows_limit": max_rows,
        "splits": splits,
        "notes": notes,
    }


# ----------------------------------------------------------------------------- text


def _num(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return MISSING
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def table_rows(split: dict, task: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of one split's table as text cells: per class (and the averages) or
    per target (and all targets). Shared by the text formatter, the HTML report and the app."""
    if task == "classification":
        header = ["class", "precision", "recall", "F1", "support"]
        rows = [[r["class"], _num(r["precision"]), _num(r["recall"]), _num(r["f1"]), _num(r["support"])]
                for r in split["per_class"]]  # fmt: skip
        for name in ("macro", "weighted"):
            a = split[name]
            rows.append([f"{name} avg", _num(a["precision"]), _num(a["recall"]), _num(a["f1"]),
                         _num(a["support"])])  # fmt: skip
        return header, rows
    header = ["target", "RMSE", "MAE", "R²"]
    targets = split["targets"] + ([split["all"]] if len(split["targets"]) > 1 else [])
    return header, [[r["target"], _num(r["rmse"]), _num(r["mae"]), _num(r["r2"])] for r in targets]


def confusion_rows(split: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the confusion matrix as text cells: true class down, predicted across."""
    names = split["classes"]
    header = ["true \\ predicted", *names]
    return header, [[names[i], *(f"{v:,}" for v in row)] for i, row in enumerate(split["confusion"])]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def format_report(report: dict) -> str:
    """The report of :func:`metrics_report` as text tables (train, then test)."""
    task = report["task"]
    out = [f"Metrics at step {report['step']:,} (epoch {report['epoch']:.2f}), {task}"]
    for part in PARTS:
        split = report["splits"].get(part)
        out.append("")
        if split is None:
            out.append(f"{part}: no rows")
            continue
        title = f"{part} ({split['n']:,} rows)"
        if task == "classification":
            title += f": accuracy {_num(split['accuracy'])}"
        out.append(title)
        out.append(text_table(*table_rows(split, task)))
        if task == "classification":
            out.append("")
            out.append(text_table(*confusion_rows(split)))
        out.extend(f"note: {n}" for n in split["notes"])
    out.extend(f"note: {n}" for n in report["notes"])
    return "\n".join(out) + "\n"


__all__ = [
    "classification_metrics",
    "confusion_rows",
    "format_report",
    "metrics_report",
    "regression_metrics",
    "split_metrics",
    "table_rows",
    "text_table",
]
