"""build_dataset(DataSpec, seed) -> Dataset, for toy generators, CSV files (tables, pixel
rows, time series), images and sequences."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import numpy as np

from playground.data.csv_reader import read_csv_table
from playground.data.dataset import NORMALIZATIONS, Dataset, FeaturePipeline
from playground.data.image_folder import build_image_folder_dataset
from playground.data.images import IMAGE_DATASETS, build_named_images, image_dataset_from_table
from playground.data.sequences import build_sequence_dataset
from playground.data.tabular import make_tabular_dataset
from playground.data.timeseries import build_timeseries_dataset, timeseries_dataset_from_table
from playground.data.toy import FEATURE_TRANSFORMS, TOY_DATASETS, default_features, split_indices
from playground.errors import DataError, SpecError
from playground.spec import DEFAULT_TRAIN_FRACTION, short_path


def resources_dir() -> Path:
    """``<repo>/resources`` from a source checkout, ``sys._MEIPASS/resources`` when frozen."""
    try:  # the shared helper knows every layout ($PLAYGROUND_RESOURCES, frozen, wheel)
        from playground.resources import resources_root

        return Path(resources_root())
    except ImportError:  # pragma: no cover
        meipass = getattr(sys, "_MEIPASS", None)
        if getattr(sys, "frozen", False) and meipass:
            return Path(meipass) / "resources"
        return Path(__file__).resolve().parents[2] / "resources"


def datasets_dir() -> Path:
    return resources_dir() / "datasets"


def _exists(p: Path) -> bool:
    """``p.exists()`` that is False, not an exception, for a name the OS refuses (too long,
    a NUL byte, a symlink loop)."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def resolve_data_path(path: str | os.PathLike) -> Path:
    """Absolute paths as given; relative ones against the current directory, then against
    ``resources/datasets/`` (so ``"iris.csv"`` finds the shipped sample). A spec read from a
    file has already made a path relative to that file's folder absolute
    (``ExperimentSpec.beside``)."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_absolute() or _exists(p):
        return p
    shipped = datasets_dir() / p
    if _exists(shipped):
        return shipped
    return p


def _seed_of(spec, seed) -> int:
    s = getattr(spec, "seed", None)
    if s is None:
        s = seed
    return 0 if s is None else int(s) & 0xFFFFFFFFFFFFFFFF


def build_dataset(data_spec, seed: int | None = 0, progress=None) -> Dataset:
    """Build the Dataset a DataSpec describes. ``seed`` is the experiment seed, used when
    ``data_spec.seed`` is None. ``progress(fraction)`` is passed to the CSV reader."""
    kind = getattr(data_spec, "kind", "toy")
    if kind == "toy":
        return build_toy_dataset(data_spec, seed)
    if kind == "csv":
        if getattr(data_spec, "window", None) is not None:
            return build_timeseries_dataset(data_spec, seed, progress)
        return build_csv_dataset(data_spec, seed, progress=progress)
    if kind == "image":
        return build_image_dataset(data_spec, seed)
    if kind == "points":
        return build_points_dataset(data_spec, seed)
    if kind == "sequence":
        return build_sequence_dataset(data_spec, seed)
    raise SpecError(
        "data.kind", f"unknown data kind {kind!r}; choose 'toy', 'csv', 'image', 'sequence' or 'points'"
    )


def build_image_dataset(spec, seed: int | None = 0) -> Dataset:
    """A folder of images (``path``) or a named image set (``digits``, ``bars``, ``shapes``)."""
    frac = float(getattr(spec, "train_fraction", DEFAULT_TRAIN_FRACTION))
    if not 0.0 < frac < 1.0:
        raise SpecError("data.train_fraction", f"must be between 0 and 1, got {frac}")
    size = tuple(getattr(spec, "size", ()) or ())
    path = getattr(spec, "path", None)
    if path:
        resolved = resolve_data_path(path)
        shown = short_path(path)
        if not _exists(resolved):
            raise DataError(f"folder not found (looked in {Path.cwd()} and {datasets_dir()})", file=shown)
        return build_image_folder_dataset(
            resolved, size or None, getattr(spec, "color", None), frac, _seed_of(spec, seed), shown=shown
        )
    name = getattr(spec, "name", "digits")
    if name not in IMAGE_DATASETS:
        choices = ", ".join(IMAGE_DATASETS)
        raise SpecError("data.name", f"unknown image data set {name!r}; choose one of: {choices}")
    n = int(getattr(spec, "n_samples", 500))
    return build_named_images(name, n, float(getattr(spec, "noise", 0.0)), size, frac, _seed_of(spec, seed))


def build_toy_dataset(spec, seed: int | None = 0) -> Dataset:
    name = getattr(spec, "name", "spiral")
    if name not in TOY_DATASETS:
        choices = ", ".join(TOY_DATASETS)
        raise SpecError("data.name", f"unknown toy data set {name!r}; choose one of: {choices}")
    gen = TOY_DATASETS[name]
    n = int(getattr(spec, "n_samples", gen.default_n_samples))
    if n < 2:
        raise SpecError("data.n_samples", f"need at least 2 samples, got {n}")
    noise = float(getattr(spec, "noise", 0.0))
    if not 0.0 <= noise <= 1.0:
        raise SpecError("data.noise", f"must be between 0 and 1, got {noise}")
    frac = float(getattr(spec, "train_fraction", DEFAULT_TRAIN_FRACTION))
    if not 0.0 < frac < 1.0:
        raise SpecError("data.train_fraction", f"must be between 0 and 1, got {frac}")
    n_classes = int(getattr(spec, "n_classes", 3) or 3)
    if gen.task == "classification" and gen.fixed_classes is None and not 2 <= n_classes <= 50:
        raise SpecError("data.n_classes", f"must be between 2 and 50, got {n_classes}")
    features = tuple(getattr(spec, "features", ()) or ()) or default_features(gen.input_dim)
    for f in features:
        if f not in FEATURE_TRANSFORMS:
            raise SpecError(
                "data.features", f"unknown input feature {f!r}; choose from: {', '.join(FEATURE_TRANSFORMS)}"
            )
        if FEATURE_TRANSFORMS[f].needs > gen.input_dim:
            raise SpecError("data.features", f"{f!r} needs x2, but {name!r} is 1-D (use x1, x1^2, sin(x1))")
    if len(set(features)) != len(features):
        raise SpecError("data.features", "an input feature is listed twice")
    normalize = getattr(spec, "normalize", None) or "none"
    if normalize not in NORMALIZATIONS:
        choices = ", ".join(NORMALIZATIONS)
        raise SpecError("data.normalize", f"unknown normalization {normalize!r}; choose one of: {choices}")

    s = _seed_of(spec, seed)
    gen_ss, split_ss = np.random.SeedSequence(s).spawn(2)
    X, y = gen.generate(n, noise, np.random.default_rng(gen_ss), n_classes)
    tr, te = split_indices(n, frac, np.random.default_rng(split_ss))
    pipeline = FeaturePipeline(transforms=features, normalize=normalize).fit(X[tr])
    input_names = ["x1"] if gen.input_dim == 1 else ["x1", "x2"]
    return Dataset(
        X_train=pipeline.apply(X[tr]),
        y_train=y[tr],
        X_test=pipeline.apply(X[te]),
        y_test=y[te],
        raw_train=X[tr],
        raw_test=X[te],
        input_names=input_names,
        feature_names=list(features),
        task=gen.task,
        class_names=gen.class_names(n_classes),
        target_names=["y"] if gen.task == "regression" else [],
        pipeline=pipeline,
        info={"source": f"toy:{name}", "n_rows": n, "rows_dropped": 0, "noise": noise, "seed": s},
    )


def build_points_dataset(spec, seed: int | None = 0) -> Dataset:
    """Points painted on the plane (``spec.points``: x1, x2, label or value), split at random
    from the seed, with the toy data's input features and normalisation."""
    pts = np.asarray(spec.points, dtype=np.float64).reshape(-1, 3)
    task = spec.task or "classification"
    X = np.ascontiguousarray(pts[:, :2])
    if task == "classification":
        y = pts[:, 2].astype(np.int64)
        k = int(y.max()) + 1
        class_names = [str(c) for c in range(k)]
    else:
        y, class_names = pts[:, 2:3].copy(), None
    s = _seed_of(spec, seed)
    tr, te = split_indices(
        len(pts), float(spec.train_fraction), np.random.default_rng(np.random.SeedSequence([s, 0x9A1]))
    )
    features = tuple(spec.features) or default_features(2)
    pipeline = FeaturePipeline(transforms=features, normalize=spec.normalize or "none").fit(X[tr])
    return Dataset(
        X_train=pipeline.apply(X[tr]),
        y_train=y[tr],
        X_test=pipeline.apply(X[te]),
        y_test=y[te],
        raw_train=X[tr],
        raw_test=X[te],
        input_names=["x1", "x2"],
        feature_names=list(features),
        task=task,
        class_names=class_names,
        target_names=["y"] if task == "regression" else [],
        pipeline=pipeline,
        info={"source": "painted", "n_rows": len(pts), "rows_dropped": 0, "seed": s},
    )


def build_csv_dataset(spec, seed: int | None = 0, progress=None) -> Dataset:
    return dataset_from_table(read_spec_table(spec, progress), spec, seed)


def read_spec_table(spec, progress=None):
    """The Table of a CSV data spec's file (found as ``resolve_data_path`` says), or a
    DataError naming the file."""
    path = getattr(spec, "path", None)
    if not path:
        raise SpecError("data.path", "a CSV data set needs a file path")
    resolved = resolve_data_path(path)
    shown = short_path(path)
    if not _exists(resolved):
        try:
            os.stat(resolved)
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:
                raise DataError("the file name is too long for this system", file=shown) from None
        except ValueError:
            raise DataError("the file name contains a NUL character", file=shown) from None
        raise DataError(f"file not found (looked in {Path.cwd()} and {datasets_dir()})", file=shown)
    if not resolved.is_file():  # a folder, a device like /dev/zero or a pipe would never end
        raise DataError("is not a regular file (a folder, device or pipe cannot be read as CSV)", file=shown)
    table = read_csv_table(
        resolved,
        delimiter=getattr(spec, "delimiter", None),
        header=getattr(spec, "header", None),
        skip_rows=getattr(spec, "skip_rows", None),
        progress=progress,
    )
    return table


def dataset_from_table(table, spec, seed: int | None = 0) -> Dataset:
    """The Dataset of a CSV data spec from an already read table (kept as ``ds.table``,
    so a session can embed it and a loaded session needs no file). With ``image_shape``
    the rows are images (``images.image_dataset_from_table``); with ``window`` a time
    series (``timeseries.timeseries_dataset_from_table``)."""
    if getattr(spec, "window", None) is not None:
        return timeseries_dataset_from_table(table, spec, seed)
    image_shape = tuple(getattr(spec, "image_shape", ()) or ())
    if image_shape:
        ds = image_dataset_from_table(
            table,
            image_shape,
            target=getattr(spec, "target", None),
            features=tuple(getattr(spec, "features", ()) or ()) or None,
            missing=getattr(spec, "missing", "drop") or "drop",
            train_fraction=float(getattr(spec, "train_fraction", DEFAULT_TRAIN_FRACTION)),
            seed=_seed_of(spec, seed),
            file=str(table.source),
        )
        ds.info["path"] = str(getattr(spec, "path", table.source))
        ds.table = table
        return ds
    ds = make_tabular_dataset(
        table,
        target=getattr(spec, "target", None),
        features=tuple(getattr(spec, "features", ()) or ()) or None,
        task=getattr(spec, "task", None),
        missing=getattr(spec, "missing", "drop") or "drop",
        normalize=getattr(spec, "normalize", None) or "standard",
        train_fraction=float(getattr(spec, "train_fraction", DEFAULT_TRAIN_FRACTION)),
        seed=_seed_of(spec, seed),
        file=str(table.source),
    )
    ds.info["path"] = str(getattr(spec, "path", table.source))
    ds.table = table
    return ds
