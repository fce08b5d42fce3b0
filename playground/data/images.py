"""Image data sets: the shipped 8x8 digits, toy image generators, pixel-column CSVs.

Every image Dataset holds ``X_*`` as float64 ``(n, channels, height, width)`` (PyTorch's
NCHW) with pixels in [0, 1], ``y_*`` as int64 class indices, and a seeded stratified
train/test split (each class is cut at ``train_fraction`` on its own, so both sides keep
the class balance). Its ``raw_*`` are the same pixels as ``(n, c*h*w)`` views (no copy),
and its pipeline is the identity; ``Dataset.is_image`` says there is no 2-D input space
to draw a decision boundary in. Folders of image files are read by ``image_folder.py``.

Pixel scaling: the digits' 0..16 counts are divided by 16 (as in BENCHMARKS.md's W4);
generated images are drawn in [0, 1]; a pixel CSV is divided by its largest value when
that exceeds 1 (255 for MNIST as CSV, 16 for UCI's optdigits files), else kept.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.data.csv_reader import Table, available_memory
from playground.data.dataset import Dataset, FeaturePipeline
from playground.errors import DataError
from playground.registry import Registry
from playground.resources import datasets_dir

DIGITS_FILE = "digits.csv.gz"
MAX_IMAGE_CLASSES = 1000
FLOAT_BYTES = 8  # images are held as float64, like every other data set


@dataclass(frozen=True)
class ImageSource:
    """A named image data set: ``load(n, noise, rng, (h, w)) -> (X (n, 1, h, w), y)``."""

    name: str
    description: str
    class_names: tuple[str, ...]
    default_size: tuple[int, int]
    load: Callable[[int, float, np.random.Generator, tuple[int, int]], tuple[np.ndarray, np.ndarray]]
    fixed_size: bool = False  # the shipped digits: always 8x8, all 1797 images
    min_side: int = 4
    max_side: int = 256
    channels: int = 1

    def size(self, size=()) -> tuple[int, int]:
        return tuple(int(s) for s in size) if size and not self.fixed_size else self.default_size

    def shape(self, size=()) -> tuple[int, int, int]:
        """(channels, height, width) of its images at ``size`` (empty: the default)."""
        return (self.channels, *self.size(size))


IMAGE_DATASETS: Registry[ImageSource] = Registry("image data set")


def _register(source: ImageSource) -> ImageSource:
    return IMAGE_DATASETS.register(source.name, source)


# --------------------------------------------------------------------------- digits


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 UCI optical digits as scikit-learn ships them (64 pixel counts 0..16 and
    the digit per line): X float64 (1797, 1, 8, 8) divided by 16, y int64 digits."""
    path = datasets_dir() / DIGITS_FILE
    try:
        with gzip.open(path, "rt", encoding="ascii") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read the shipped digits: {e}", file=str(path)) from None
    if table.shape[1] != 65:
        raise DataError(
            f"expected 65 columns (64 pixels and the digit), found {table.shape[1]}", file=str(path)
        )
    X = (table[:, :64] / 16.0).reshape(-1, 1, 8, 8)
    return np.ascontiguousarray(X), table[:, 64].astype(np.int64)


_register(
    ImageSource(
        "digits",
        "1,797 handwritten digits, 8x8 pixels (UCI optical digits, as scikit-learn ships them)",
        tuple(str(d) for d in range(10)),
        (8, 8),
        lambda n, noise, rng, size: load_digits(),
        fixed_size=True,
    )
)


# --------------------------------------------------------------------------- toy images


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """n labels, each of the k classes n // k or n // k + 1 times, in random order."""
    return rng.permutation(np.arange(n, dtype=np.int64) % k)


def _add_noise(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian pixel noise of sd ``noise / 2``, clipped to [0, 1]."""
    if noise > 0:
        X += rng.normal(0.0, noise / 2.0, X.shape)
        np.clip(X, 0.0, 1.0, out=X)
    return X


def bars(n: int, noise: float, rng: np.random.Generator, size: tuple[int, int]):
    """Class 0: one or two horizontal bars; class 1: vertical ones. Each bar is one pixel
    thick, at a random place, at least half the image long, of brightness 0.6..1."""
    h, w = size
    y = _balanced_labels(n, 2, rng)
    X = np.zeros((n, 1, h, w))
    for i in range(n):
        vertical = y[i] == 1
        across, along = (w, h) if vertical else (h, w)
        for _ in range(int(rng.integers(1, 3))):
            pos = int(rng.integers(0, across))
            length = int(rng.integers((along + 1) // 2, along + 1))
            start = int(rng.integers(0, along - length + 1))
            value = rng.uniform(0.6, 1.0)
            if vertical:
                X[i, 0, start : start + length, pos] = value
            else:
                X[i, 0, pos, start : start + length] = value
    return _add_noise(X, noise, rng), y


def shapes(n: int, noise: float, rng: np.random.Generator, size: tuple[int, int]):
    """Outlines of a square (class 0), a plus-shaped cross (1) and a circle (2), one pixel
    wide, of random size (radius 25..45 % of the smaller side) and place, brightness 0.6..1."""
    h, w = size
    y = _balanced_labels(n, 3, rng)
    X = np.zeros((n, 1, h, w))
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    side = min(h, w)
    for i in range(n):
        r = rng.uniform(0.25, 0.45) * side
        cy = rng.uniform(r, h - 1 - r) if h - 1 > 2 * r else (h - 1) / 2
        cx = rng.uniform(r, w - 1 - r) if w - 1 > 2 * r else (w - 1) / 2
        dy, dx = rows - cy, cols - cx
        if y[i] == 0:
            on = np.abs(np.maximum(np.abs(dy), np.abs(dx)) - r) <= 0.5
        elif y[i] == 1:
            on = ((np.abs(dy) <= 0.5) & (np.abs(dx) <= r)) | ((np.abs(dx) <= 0.5) & (np.abs(dy) <= r))
        else:
            on = np.abs(np.hypot(dy, dx) - r) <= 0.6
        X[i, 0][on] = rng.uniform(0.6, 1.0)
    return _add_noise(X, noise, rng), y


_register(
    ImageSource(
        "bars",
        "horizontal vs vertical bars (a convolution learns them in seconds)",
        ("horizontal", "vertical"),
        (8, 8),
        bars,
    )
)
_register(
    ImageSource(
        "shapes",
        "outlines of squares, crosses and circles",
        ("square", "cross", "circle"),
        (12, 12),
        shapes,
        min_side=8,
    )
)


# --------------------------------------------------------------------------- datasets


def stratified_split(
    y: np.ndarray, train_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: each class shuffled and cut at round(train_fraction * its
    count), clamped so that a class of two or more images has one on each side; both sides
    then shuffled. Needs at least one class with two images."""
    train, test = [], []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        m = len(idx)
        cut = min(max(int(round(float(train_fraction) * m)), 1), m - 1) if m > 1 else 1
        train.append(idx[:cut])
        test.append(idx[cut:])
    tr, te = np.concatenate(train), np.concatenate(test)
    if len(te) == 0:
        raise ValueError("need at least 2 images of one class to split into train and test")
    return rng.permutation(tr), rng.permutation(te)


def check_image_memory(n: int, shape, source: str, available: int | None = None) -> None:
    """DataError naming ``source`` if ``n`` images of ``shape`` (as float64, plus their train
    and test copies) cannot fit in the memory available now."""
    need = 2 * n * math.prod(shape) * FLOAT_BYTES
    if need < 64 << 20 and available is None:
        return
    available = available_memory() if available is None else available
    if available is not None and need > available:
        shown = "x".join(str(s) for s in shape)
        raise DataError(
            f"{n:,} images of {shown} pixels need about {need / 1e6:,.0f} MB of memory as numbers "
            f"(with their train/test copies), but only {available / 1e6:,.0f} MB is available; "
            "use fewer or smaller images (data.size)",
            file=source,
        )


def image_dataset(
    X: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    train_fraction: float,
    seed: int,
    info: dict,
    input_names: list[str] | None = None,
) -> Dataset:
    """A Dataset of images ``X`` (n, c, h, w) in [0, 1] and labels ``y`` (class indices)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, 0x1A6E]))
    try:
        tr, te = stratified_split(y, train_fraction, rng)
    except ValueError as e:
        raise DataError(str(e), file=info.get("source")) from None
    X_train, X_test = np.ascontiguousarray(X[tr]), np.ascontiguousarray(X[te])
    info = {"n_rows": len(y), "rows_dropped": 0, "image_shape": list(X.shape[1:]), **info}
    return split_image_dataset(X_train, y[tr], X_test, y[te], class_names, info, input_names)


def split_image_dataset(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    class_names: list[str],
    info: dict,
    input_names: list[str] | None = None,
) -> Dataset:
    """The Dataset of images already split (``image_dataset``, or a session's embedded
    images: a folder that has moved since)."""
    n_in = math.prod(X_train.shape[1:])
    names = input_names or [f"pixel{i}" for i in range(n_in)]
    return Dataset(
        X_train=X_train,
        y_train=np.asarray(y_train, dtype=np.int64),
        X_test=X_test,
        y_test=np.asarray(y_test, dtype=np.int64),
        raw_train=X_train.reshape(len(X_train), n_in),
        raw_test=X_test.reshape(len(X_test), n_in),
        input_names=list(names),
        feature_names=list(names),
        task="classification",
        class_names=list(class_names),
        target_names=[],
        pipeline=FeaturePipeline(),  # the identity: pixels are already scaled
        info=info,
    )


def build_named_images(name: str, n: int, noise: float, size, train_fraction: float, seed: int) -> Dataset:
    """The Dataset of a registered image set (``digits``, ``bars``, ``shapes``)."""
    source = IMAGE_DATASETS[name]
    hw = source.size(size)
    gen_ss, _ = np.random.SeedSequence(int(seed) & 0xFFFFFFFFFFFFFFFF).spawn(2)
    if not source.fixed_size:
        check_image_memory(n, (source.channels, *hw), f"image:{name}")
    X, y = source.load(int(n), float(noise), np.random.default_rng(gen_ss), hw)
    info = {"source": f"image:{name}", "seed": int(seed)}
    if not source.fixed_size:
        info["noise"] = float(noise)
    return image_dataset(X, y, list(source.class_names), train_fraction, seed, info)


# --------------------------------------------------------------------------- pixel CSVs


def _label_column(table: Table, target: str | None) -> str:
    if target:
        if target not in table:
            raise DataError(
                f"no label column named {target!r}; available columns: {', '.join(table.names[:20])}"
                + (", ..." if len(table.names) > 20 else ""),
                file=table.source,
                column=target,
            )
        return target
    for name in table.names:
        if name.strip().lower() == "label":
            return name
    return table.names[0]


def image_dataset_from_table(
    table: Table,
    image_shape,
    target: str | None = None,
    features=None,
    missing: str = "drop",
    train_fraction: float = 0.5,
    seed: int = 0,
    file: str | None = None,
) -> Dataset:
    """A Dataset of images stored one per CSV row: a label column (``target``; default the
    column named ``label``, else the first) and ``prod(image_shape)`` pixel columns
    (``features``; default all the others, in file order), read channel by channel, each
    row by row (MNIST's ``label, pixel0 ... pixel783`` for [1, 28, 28])."""
    file = file if file is not None else table.source
    shape = tuple(int(s) for s in image_shape)
    label = _label_column(table, target)
    pixels = list(features) if features else [c for c in table.names if c != label]
    need = math.prod(shape)
    if len(pixels) != need:
        shown = "x".join(str(s) for s in shape)
        raise DataError(
            f"has {len(pixels):,} pixel columns (every column but the label {label!r}) but image_shape "
            f"{list(shape)} needs {need:,} ({shown}, channels x height x width)",
            file=file,
        )
    lcol = table.column(label)
    pcols = [table.column(p) for p in pixels]
    for c in pcols:
        if c.kind != "numeric":
            raise DataError(
                f"value {c.first_text_value!r} is not a number; pixel columns hold numbers",
                file=file,
                row=c.first_text_row,
                column=c.name,
            )
    rows = table.row_numbers
    miss = lcol.missing.copy()
    for c in pcols:
        miss |= c.missing
    if miss.any() and missing == "error":
        i = int(np.argmax(miss))
        col = next(c for c in [lcol, *pcols] if c.missing[i])
        raise DataError(
            "missing value (set missing='drop' to skip such rows)",
            file=file,
            row=int(rows[i]),
            column=col.name,
        )
    keep = ~miss
    n = int(keep.sum())
    check_image_memory(n, shape, file)
    X = np.empty((n, need))
    for j, c in enumerate(pcols):
        X[:, j] = c.values[keep]
    kept_rows = rows[keep]
    bad = ~np.isfinite(X) | (X < 0)
    if bad.any():
        i, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise DataError(
            f"pixel value {X[i, j]:g} is not a finite number >= 0",
            file=file,
            row=int(kept_rows[i]),
            column=pcols[j].name,
        )
    top = float(X.max()) if X.size else 0.0
    scale = top if top > 1.0 else 1.0
    if scale != 1.0:
        X /= scale
    values = lcol.values[keep]
    if lcol.kind == "text":
        class_names = sorted(set(values.tolist()))
        lookup = {v: k for k, v in enumerate(class_names)}
        y = np.fromiter((lookup[v] for v in values), dtype=np.int64, count=n)
    else:
        uniq, y = np.unique(values, return_inverse=True)
        class_names = [str(int(v)) if float(v).is_integer() else format(float(v), "g") for v in uniq]
        y = y.astype(np.int64).reshape(-1)
    if len(class_names) < 2:
        raise DataError("the label column has fewer than 2 classes", file=file, column=label)
    if len(class_names) > MAX_IMAGE_CLASSES:
        raise DataError(
            f"the label column has {len(class_names):,} classes (limit {MAX_IMAGE_CLASSES:,})",
            file=file,
            column=label,
        )
    info = {
        "source": file,
        "n_rows": table.n_rows,
        "n_used": n,
        "rows_dropped": int(miss.sum()),
        "target": label,
        "pixel_scale": scale,
        "seed": int(seed),
    }
    return image_dataset(X.reshape(n, *shape), y, class_names, train_fraction, seed, info, input_names=pixels)
