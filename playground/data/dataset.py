"""Dataset: what the network sees, the raw inputs for plotting, and the fitted pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from playground.data.toy import FEATURE_TRANSFORMS, apply_transforms

NORMALIZATIONS = ("none", "standard", "minmax")
_FMAX = float(np.finfo(np.float64).max)


def all_finite(a: np.ndarray, rows: int = 1 << 15) -> bool:
    """``np.isfinite(a).all()`` in blocks of rows: no temporary the size of a million-row
    table (loading keeps the peak memory near what the dataset itself holds)."""
    a = np.asarray(a)
    if a.ndim == 0 or len(a) <= rows:
        return bool(np.isfinite(a).all())
    return all(bool(np.isfinite(a[i : i + rows]).all()) for i in range(0, len(a), rows))


def _mean_std(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (population) standard deviations that do not overflow for finite
    values up to the float maximum: columns whose sum or squares overflow are scaled by
    their largest magnitude first (other columns give exactly numpy's mean and std)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = F.mean(axis=0)
        sd = F.std(axis=0)
        bad = ~(np.isfinite(mean) & np.isfinite(sd))
        if bad.any():  # only then look at the values (no table-sized temporary otherwise)
            bad[bad] = np.isfinite(F[:, bad]).all(axis=0)
        if bad.any():
            G = F[:, bad]
            big = np.abs(G).max(axis=0)
            big = np.where(big > 0, big, 1.0)
            G = G / big
            mean[bad] = G.mean(axis=0) * big
            sd[bad] = G.std(axis=0) * big
    return mean, sd


@dataclass
class FeaturePipeline:
    """raw (n, n_raw) -> network inputs (n, n_features).

    ``transforms``: toy input feature names (``"x1"``, ``"x1*x2"``, ...) applied to the raw
    columns; empty means the raw columns pass through unchanged (CSV data).
    ``normalize``: ``"none"``; ``"standard"`` (x - mean) / std; ``"minmax"`` maps the
    training range to [-1, 1]. ``offset``/``scale`` are per output column, fitted on the
    training split only (``fit``); ``apply`` computes (features - offset) / scale.
    """

    transforms: tuple[str, ...] = ()
    normalize: str = "none"
    offset: np.ndarray | None = None
    scale: np.ndarray | None = None

    def __post_init__(self):
        self.transforms = tuple(self.transforms)
        if self.normalize is None:
            self.normalize = "none"
        if self.normalize not in NORMALIZATIONS:
            choices = ", ".join(NORMALIZATIONS)
            raise ValueError(f"unknown normalization {self.normalize!r}; choose one of: {choices}")
        for t in self.transforms:
            FEATURE_TRANSFORMS[t]  # raises KeyError naming the choices
        if self.offset is not None:
            self.offset = np.asarray(self.offset, dtype=np.float64)
        if self.scale is not None:
            self.scale = np.asarray(self.scale, dtype=np.float64)

    def features(self, raw: np.ndarray) -> np.ndarray:
        """Transforms only (no normalization)."""
        F = self._features(raw)
        return F if self.transforms else F.copy()

    def _features(self, raw: np.ndarray) -> np.ndarray:
        """``features`` that may return ``raw`` itself (read only: a million-row table is
        not copied just to be normalised)."""
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
        if not self.transforms:
            return raw
        return apply_transforms(self.transforms, raw)

    def fit(self, raw_train: np.ndarray) -> FeaturePipeline:
        F = self._features(raw_train)
        k = F.shape[1]
        if self.normalize == "none" or F.shape[0] == 0:
            self.offset, self.scale = np.zeros(k), np.ones(k)
        elif self.normalize == "standard":
            self.offset, sd = _mean_std(F)
            self.scale = np.where(sd > 1e-12, sd, 1.0)
        else:  # minmax -> [-1, 1]; halves first, so 1e308 and -1e308 do not overflow
            lo, hi = F.min(axis=0), F.max(axis=0)
            self.offset = lo / 2.0 + hi / 2.0  # == (lo + hi) / 2 whenever that is finite
            half = hi / 2.0 - lo / 2.0
            self.scale = np.where(half > 1e-12, half, 1.0)
        return self

    def apply(self, raw: np.ndarray) -> np.ndarray:
        F = self._features(raw)
        if self.offset is None or self.scale is None:
            if self.normalize != "none":
                raise RuntimeError("FeaturePipeline.apply before fit")
            return self.features(raw)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.subtract(F, self.offset)  # (F - offset) / scale with one temporary
            np.divide(out, self.scale, out=out)
            bad = None if all_finite(out) else ~np.isfinite(out) & np.isfinite(F)
            if bad is not None and bad.any():  # F - offset overflowed (huge values): divide first
                cols = bad.any(axis=0)
                out[:, cols] = F[:, cols] / self.scale[cols] - self.offset[cols] / self.scale[cols]
        return out

    def to_dict(self) -> dict:
        return {
            "transforms": list(self.transforms),
            "normalize": self.normalize,
            "offset": None if self.offset is None else [float(v) for v in self.offset],
            "scale": None if self.scale is None else [float(v) for v in self.scale],
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeaturePipeline:
        return cls(
            transforms=tuple(d.get("transforms", ())),
            normalize=d.get("normalize", "none") or "none",
            offset=None if d.get("offset") is None else np.asarray(d["offset"], dtype=np.float64),
            scale=None if d.get("scale") is None else np.asarray(d["scale"], dtype=np.float64),
        )


@dataclass
class Dataset:
    """Train/test data as the network sees it plus what the GUI needs to plot it.

    X_*: float64 (n, n_features) after transforms + normalization; for image data
    (``is_image``) float64 (n, channels, height, width) pixels in [0, 1]. y_*: int64 (n,)
    class indices (classification) or float64 (n, n_targets) (regression). raw_*: float64
    (n, n_raw) inputs before transforms/normalization (toy: the coordinates; CSV: numeric
    and one-hot columns; images: the pixels as (n, c*h*w) views of X_*, with an identity
    pipeline).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    raw_train: np.ndarray
    raw_test: np.ndarray
    input_names: list[str]
    feature_names: list[str]
    task: str
    class_names: list[str] | None
    target_names: list[str]
    pipeline: FeaturePipeline
    info: dict = field(default_factory=dict)
    table: object = None  # the CSV Table it came from (csv data only), embedded by sessions
    text: str | None = None  # a user's text file (character models), embedded by sessions

    @property
    def n_inputs(self) -> int:
        """Network inputs per sample (an image's channels x height x width)."""
        return int(np.prod(self.X_train.shape[1:], dtype=np.int64))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape: ``(n_features,)``, or ``(channels, height, width)`` for images."""
        return tuple(int(s) for s in self.X_train.shape[1:])

    @property
    def is_image(self) -> bool:
        """Image data: no 2-D input space, so no decision boundary to draw over it."""
        return self.X_train.ndim == 4

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.class_names) if self.task == "classification" and self.class_names else 0

    @property
    def n_outputs_hint(self) -> int:
        """Output units a network needs: n_classes for classification (one per class,
        softmax; a 2-class net may also use 1 unit), n_targets for regression."""
        if self.task == "classification":
            return self.n_classes
        return int(self.y_train.shape[1]) if self.y_train.ndim == 2 else 1

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])

    def raw_bounds(self, pad: float = 0.0) -> list[tuple[float, float]]:
        """Per raw column (min, max) over train + test, widened on each side by ``pad`` times
        the column's span (a zero span is widened by ``pad`` or, if pad is 0, by 0.5)."""
        parts = [p for p in (self.raw_train, self.raw_test) if len(p)]
        if parts and all(np.isfinite(p).all() for p in parts):  # usual: no copy of the data
            los = np.min([p.min(axis=0) for p in parts], axis=0)
            his = np.max([p.max(axis=0) for p in parts], axis=0)
            finite = [(float(a), float(b)) for a, b in zip(los, his, strict=True)]
        else:
            finite = _finite_ranges(np.vstack([self.raw_train, self.raw_test]))
        out = []
        for lohi in finite:
            if lohi is None:
                out.append((-1.0, 1.0))
                continue
            lo, hi = lohi
            with np.errstate(over="ignore"):
                span = min(hi - lo, _FMAX)  # finite even for -1e308..1e308
                w = pad * span if span > 0 else (pad if pad > 0 else 0.5)
                out.append((max(lo - w, -_FMAX), min(hi + w, _FMAX)))
        return out

    def summary(self) -> str:
        if self.is_image:
            c, h, w = self.input_shape
            return (
                f"{self.info.get('source', '?')}: {self.n_classes} classes, {h}x{w} images with {c} "
                f"channel{'s' if c > 1 else ''}, {self.n_train} train / {self.n_test} test"
            )
        kind = (
            f"{self.n_classes} classes"
            if self.task == "classification"
            else f"{len(self.target_names)} target(s)"
        )
        return (
            f"{self.info.get('source', '?')}: {self.task}, {kind}, {self.n_inputs} inputs, "
            f"{self.n_train} train / {self.n_test} test"
        )


def _finite_ranges(both: np.ndarray) -> list[tuple[float, float] | None]:
    """(min, max) of the finite values of each column, None for a column with none."""
    out = []
    for j in range(both.shape[1]):
        col = both[:, j]
        col = col[np.isfinite(col)]
        out.append((float(col.min()), float(col.max())) if col.size else None)
    return out
