"""Toy data generators (TensorFlow Playground's sets and a few more) and input transforms.

Each generator is ``fn(n_samples, noise, rng, n_classes) -> (X, y)`` with ``X`` float64
``(n, d)`` raw coordinates and ``y`` int64 class indices ``(n,)`` for classification or
float64 ``(n, 1)`` for regression. They are pure functions of the ``rng`` state.

The four classification sets and two regression sets follow TensorFlow Playground's
``dataset.ts`` (classifyCircleData, classifyXORData, classifyTwoGaussData,
classifySpiralData, regressPlane, regressGaussian): points in about [-6, 6]^2, and our
``noise`` in 0..1 is TF's noise value (its slider 0..50 is 0..0.5), used the same way.
TF labels -1 (orange) / +1 (blue) become class 0 "orange" / class 1 "blue".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.registry import Registry

TF_CLASS_NAMES = ("orange", "blue")


@dataclass(frozen=True)
class ToyGenerator:
    name: str
    task: str  # "classification" | "regression"
    input_dim: int
    default_n_samples: int
    default_noise: float
    description: str
    fn: Callable[[int, float, np.random.Generator, int], tuple[np.ndarray, np.ndarray]]
    fixed_classes: int | None = None  # None: uses n_classes (blobs); 0 for regression
    class_names_fixed: tuple[str, ...] | None = None

    def n_classes(self, requested: int) -> int:
        if self.task != "classification":
            return 0
        return self.fixed_classes if self.fixed_classes is not None else int(requested)

    def class_names(self, requested: int = 3) -> list[str] | None:
        if self.task != "classification":
            return None
        if self.class_names_fixed is not None:
            return list(self.class_names_fixed)
        return [f"class {k}" for k in range(self.n_classes(requested))]

    def generate(self, n_samples: int, noise: float, rng: np.random.Generator, n_classes: int = 3):
        X, y = self.fn(int(n_samples), float(noise), rng, int(n_classes))
        X = np.ascontiguousarray(X, dtype=np.float64).reshape(int(n_samples), self.input_dim)
        if self.task == "classification":
            y = np.asarray(y, dtype=np.int64).reshape(-1)
        else:
            y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        return X, y


TOY_DATASETS: Registry[ToyGenerator] = Registry("toy data set")


def _register(name, task, input_dim, n, noise, description, fixed_classes=None, class_names=None):
    def deco(fn):
        TOY_DATASETS.register(
            name,
            ToyGenerator(name, task, input_dim, n, noise, description, fn, fixed_classes, class_names),
        )
        return fn

    return deco


def _halves(n: int) -> tuple[int, int]:
    return n - n // 2, n // 2


# ------------------------------------------------------------------ TF Playground sets


@_register(
    "circle",
    "classification",
    2,
    500,
    0.0,
    "TF Playground circle: a blue disc inside an orange ring",
    2,
    TF_CLASS_NAMES,
)
def circle(n, noise, rng, n_classes=2):
    radius = 5.0
    n_in, n_out = _halves(n)
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)])
    angle = rng.uniform(0, 2 * np.pi, n)
    x = r * np.sin(angle)
    y = r * np.cos(angle)
    nx = rng.uniform(-radius, radius, n) * noise
    ny = rng.uniform(-radius, radius, n) * noise
    label = (np.hypot(x + nx, y + ny) < radius * 0.5).astype(np.int64)  # inside: +1 -> blue
    return np.column_stack([x, y]), label


@_register(
    "xor",
    "classification",
    2,
    500,
    0.0,
    "TF Playground XOR: quadrants with equal signs are blue",
    2,
    TF_CLASS_NAMES,
)
def xor(n, noise, rng, n_classes=2):
    padding = 0.3
    x = rng.uniform(-5, 5, n)
    x += np.where(x > 0, padding, -padding)
    y = rng.uniform(-5, 5, n)
    y += np.where(y > 0, padding, -padding)
    nx = rng.uniform(-5, 5, n) * noise
    ny = rng.uniform(-5, 5, n) * noise
    label = ((x + nx) * (y + ny) >= 0).astype(np.int64)
    return np.column_stack([x, y]), label


@_register(
    "gauss",
    "classification",
    2,
    500,
    0.0,
    "TF Playground two Gaussians: blue around (2,2), orange around (-2,-2)",
    2,
    TF_CLASS_NAMES,
)
def gauss(n, noise, rng, n_classes=2):
    # d3.scale.linear().domain([0, .5]).range([0.5, 4]) -> variance
    variance = 0.5 + noise * (3.5 / 0.5)
    sd = np.sqrt(variance)
    n_pos, n_neg = _halves(n)
    pos = rng.normal(2.0, sd, (n_pos, 2))
    neg = rng.normal(-2.0, sd, (n_neg, 2))
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return np.vstack([pos, neg]), label


def _spiral_arm(m, delta_t, noise, rng):
    i = np.arange(m, dtype=np.float64)
    r = i / m * 5
    t = 1.75 * i / m * 2 * np.pi + delta_t
    x = r * np.sin(t) + rng.uniform(-1, 1, m) * noise
    y = r * np.cos(t) + rng.uniform(-1, 1, m) * noise
    return np.column_stack([x, y])


@_register(
    "spiral",
    "classification",
    2,
    500,
    0.0,
    "TF Playground spiral: two interleaved spiral arms",
    2,
    TF_CLASS_NAMES,
)
def spiral(n, noise, rng, n_classes=2):
    n_pos, n_neg = _halves(n)
    pos = _spiral_arm(n_pos, 0.0, noise, rng)
    neg = _spiral_arm(n_neg, np.pi, noise, rng)
    label = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return np.vstack([pos, neg]), label


@_register(
    "plane",
    "regression",
    2,
    1200,
    0.0,
    "TF Playground plane: target (x1 + x2) / 10, a tilted plane in [-1.2, 1.2]",
)
def plane(n, noise, rng, n_classes=0):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    nx = rng.uniform(-radius, radius, n) * noise
    ny = rng.uniform(-radius, radius, n) * noise
    target = (x + nx + y + ny) / 10.0  # d3 linear [-10, 10] -> [-1, 1]
    return np.column_stack([x, y]), target


_GAUSSIANS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64
)


@_register(
    "multi_gauss", "regression", 2, 1200, 0.0, "TF Playground multi Gaussian: six bumps of height +1 / -1"
)
def multi_gauss(n, noise, rng, n_classes=0):
    radius = 6.0
    x = rng.uniform(-radius, radius, n)
    y = rng.uniform(-radius, radius, n)
    nx = rng.uniform(-radius, radius, n) * noise
    ny = rng.uniform(-radius, radius, n) * noise
    px, py = x + nx, y + ny
    label = np.zeros(n)
    for cx, cy, sign in _GAUSSIANS:
        d = np.hypot(px - cx, py - cy)
        new = sign * np.clip(1.0 - d / 2.0, 0.0, 1.0)  # linear [0, 2] -> [1, 0], clamped
        label = np.where(np.abs(new) > np.abs(label), new, label)
    return np.column_stack([x, y]), label


# ----------------------------------------------------------------------------- extras


@_register("moons", "classification", 2, 500, 0.0, "two interleaving half moons", 2, ("class 0", "class 1"))
def moons(n, noise, rng, n_classes=2):
    n_a, n_b = _halves(n)
    ta = rng.uniform(0, np.pi, n_a)
    tb = rng.uniform(0, np.pi, n_b)
    a = np.column_stack([np.cos(ta), np.sin(ta)])
    b = np.column_stack([1 - np.cos(tb), 0.5 - np.sin(tb)])
    X = np.vstack([a, b])
    X = (X - np.array([0.5, 0.25])) * 3.0  # centre and scale to about [-4.5, 4.5]
    X += rng.normal(0.0, 1.0, X.shape) * (1.5 * noise)
    label = np.concatenate([np.zeros(n_a, np.int64), np.ones(n_b, np.int64)])
    return X, label


@_register(
    "checkerboard",
    "classification",
    2,
    800,
    0.0,
    "4 x 4 checkerboard of 3 x 3 squares over [-6, 6]^2",
    2,
    ("class 0", "class 1"),
)
def checkerboard(n, noise, rng, n_classes=2):
    x = rng.uniform(-6, 6, n)
    y = rng.uniform(-6, 6, n)
    nx = rng.uniform(-3, 3, n) * noise
    ny = rng.uniform(-3, 3, n) * noise
    label = ((np.floor((x + nx) / 3.0) + np.floor((y + ny) / 3.0)) % 2).astype(np.int64)
    return np.column_stack([x, y]), label


@_register(
    "spiral3",
    "classification",
    2,
    600,
    0.0,
    "three interleaved spiral arms (3 classes)",
    3,
    ("class 0", "class 1", "class 2"),
)
def spiral3(n, noise, rng, n_classes=3):
    sizes = [n // 3 + (1 if k < n % 3 else 0) for k in range(3)]
    arms = [_spiral_arm(m, k * 2 * np.pi / 3, noise, rng) for k, m in enumerate(sizes)]
    label = np.concatenate([np.full(m, k, np.int64) for k, m in enumerate(sizes)])
    return np.vstack(arms), label


@_register(
    "blobs", "classification", 2, 500, 0.0, "k Gaussian blobs on a circle of radius 4 (n_classes classes)"
)
def blobs(n, noise, rng, n_classes=3):
    k = max(2, int(n_classes))
    sizes = [n // k + (1 if c < n % k else 0) for c in range(k)]
    sd = np.sqrt(0.25 + noise * 4.0)
    parts = []
    for c, m in enumerate(sizes):
        a = 2 * np.pi * c / k + np.pi / 4
        centre = 4.0 * np.array([np.cos(a), np.sin(a)])
        parts.append(centre + rng.normal(0.0, sd, (m, 2)))
    label = np.concatenate([np.full(m, c, np.int64) for c, m in enumerate(sizes)])
    return np.vstack(parts), label


@_register(
    "sine",
    "regression",
    1,
    200,
    0.0,
    "1-D regression: y = sin(x) on [-6, 6] plus Gaussian noise of sd = noise",
)
def sine(n, noise, rng, n_classes=0):
    x = rng.uniform(-6, 6, n)
    target = np.sin(x) + rng.normal(0.0, 1.0, n) * noise
    return x.reshape(-1, 1), target


# ------------------------------------------------------------------ input transforms


@dataclass(frozen=True)
class FeatureTransform:
    name: str
    needs: int  # highest raw column used (1 -> x1 only, 2 -> needs x2)
    fn: Callable[[np.ndarray], np.ndarray]


FEATURE_TRANSFORMS: Registry[FeatureTransform] = Registry("input feature")
for _name, _needs, _fn in (
    ("x1", 1, lambda R: R[:, 0]),
    ("x2", 2, lambda R: R[:, 1]),
    ("x1^2", 1, lambda R: R[:, 0] ** 2),
    ("x2^2", 2, lambda R: R[:, 1] ** 2),
    ("x1*x2", 2, lambda R: R[:, 0] * R[:, 1]),
    ("sin(x1)", 1, lambda R: np.sin(R[:, 0])),
    ("sin(x2)", 2, lambda R: np.sin(R[:, 1])),
):
    FEATURE_TRANSFORMS.register(_name, FeatureTransform(_name, _needs, _fn))


def apply_transforms(names, raw: np.ndarray) -> np.ndarray:
    """Stack the named transforms of the raw (n, 1 or 2) coordinates into (n, k) float64."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 1:
        raw = raw.reshape(-1, 1)
    cols = []
    for name in names:
        t = FEATURE_TRANSFORMS[name]
        if t.needs > raw.shape[1]:
            raise ValueError(f"input feature {name!r} needs {t.needs} raw columns, data has {raw.shape[1]}")
        cols.append(t.fn(raw))
    if not cols:
        return np.empty((raw.shape[0], 0))
    return np.column_stack(cols).astype(np.float64, copy=False)


def default_features(input_dim: int) -> tuple[str, ...]:
    return ("x1",) if input_dim == 1 else ("x1", "x2")


def split_indices(n: int, train_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle 0..n-1 and cut: round(train_fraction * n) to train, clamped so that train and
    test both get at least one point. n must be >= 2."""
    if n < 2:
        raise ValueError("need at least 2 points to split into train and test")
    perm = rng.permutation(n)
    n_train = int(round(float(train_fraction) * n))
    n_train = min(max(n_train, 1), n - 1)
    return perm[:n_train], perm[n_train:]
