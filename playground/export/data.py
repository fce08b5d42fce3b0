"""The data of an exported PyTorch script: the constants of its ``prepare_array`` (the raw
columns, how each is encoded, the fitted normalisation) and the arrays of ``<stem>_data.npz``:
the rows the app trained and tested on, as in the data file.

Toy data: the coordinates. CSV data: the input columns, numbers as numbers and text as text
(one-hot encoded by the script with the app's sorted categories), rebuilt from the embedded
table with the split ``data/tabular.py`` made. Images: the pixels (n, c, h, w), of a pixel
CSV as in the file (the script divides by the app's pixel scale).
"""

from __future__ import annotations

import numpy as np

from playground.data.toy import split_indices
from playground.export.network import ExportError
from playground.export.script_parts import TRANSFORM_SOURCE


def text_columns(ds, spec) -> tuple[list[str], list, list[np.ndarray], list[np.ndarray]] | None:
    """CSV data with text inputs: (column names, encoding, train columns, test columns) as in
    the file, from the embedded table (the split redone exactly as ``tabular.py`` does)."""
    table, info = ds.table, ds.info
    if table is None or not all(k in info for k in ("features", "target")):
        return None
    features = list(info["features"])
    cols = [table.column(f) for f in features]
    if all(c.kind == "numeric" for c in cols):
        return None
    miss = table.column(info["target"]).missing.copy()
    for c in cols:
        miss |= c.missing
    keep = ~miss
    seed = spec.data.seed if spec.data.seed is not None else spec.seed
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, 0x7AB1]))
    tr, te = split_indices(int(keep.sum()), float(spec.data.train_fraction), rng)
    encoding, train, test = [], [], []
    for c in cols:
        vals = c.values[keep]
        if c.kind == "numeric":
            encoding.append((c.name, None))
            vals = vals.astype(np.float64)
        else:
            encoding.append((c.name, sorted(set(vals.tolist()))))
            vals = vals.astype(str)
        train.append(vals[tr])
        test.append(vals[te])
    return features, encoding, train, test


def data_parts(experiment) -> tuple[dict, dict[str, np.ndarray]]:
    """(constants for the script's data half, the data archive's arrays)."""
    ds, spec = experiment.dataset, experiment.spec
    pipe = ds.pipeline
    arrays_in = ds.X_train.ndim > 2  # images (n, c, h, w), or sequences: stored whole, not as columns
    k = int(np.prod(ds.input_shape)) if arrays_in else None
    const = {
        "ARRAYS": arrays_in,
        "TRANSFORMS": list(pipe.transforms),
        "PIXEL_SCALE": float(ds.info.get("pixel_scale", 1.0)) if arrays_in else 1.0,
        "CSV_DELIMITER": None,
        "CSV_HEADER": True,
        "CSV_SKIP_LINES": 0,
        "DATA_SOURCE": ds.info.get("path") or ds.info.get("source"),
    }
    if ds.table is not None:
        const["CSV_DELIMITER"] = ds.table.delimiter
        const["CSV_HEADER"] = bool(ds.table.has_header)
        const["CSV_SKIP_LINES"] = int(ds.table.info.get("skipped_lines", 0) or 0)
    arrays: dict[str, np.ndarray] = {"train/y": np.asarray(ds.y_train), "test/y": np.asarray(ds.y_test)}
    identity = False
    if arrays_in:
        s = const["PIXEL_SCALE"]
        for part, raw, X in (("train", ds.raw_train, ds.X_train), ("test", ds.raw_test, ds.X_test)):
            if raw is not None and raw.size == X.size:  # the inputs before the pipeline
                X = np.asarray(raw, dtype=np.float64).reshape(X.shape)
            else:
                identity = True  # only the network's inputs are known: no pipeline to apply
            arrays[f"{part}/X"] = X * s if s != 1.0 else X
        names, encoding = [], []
    else:
        text = text_columns(ds, spec)
        if text is not None:
            names, encoding, train, test = text
        else:
            names = list(ds.input_names)
            encoding = [(n, None) for n in names]
            train = [ds.raw_train[:, j] for j in range(ds.raw_train.shape[1])]
            test = [ds.raw_test[:, j] for j in range(ds.raw_test.shape[1])]
        for j, (a, b) in enumerate(zip(train, test, strict=True)):
            arrays[f"train/{j}"], arrays[f"test/{j}"] = np.asarray(a), np.asarray(b)
        for t in pipe.transforms:
            if t not in TRANSFORM_SOURCE:
                raise ExportError(f"the input feature {t!r} has no PyTorch export yet")
        k = len(pipe.transforms) if pipe.transforms else sum(1 if c is None else len(c) for _, c in encoding)
    const["RAW_COLUMNS"], const["ENCODING"] = names, encoding
    fitted = pipe.offset is not None and pipe.scale is not None and not identity
    const["OFFSET"] = np.asarray(pipe.offset, dtype=np.float64) if fitted else np.zeros(k)
    const["SCALE"] = np.asarray(pipe.scale, dtype=np.float64) if fitted else np.ones(k)
    return const, arrays
