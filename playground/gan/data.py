"""The real points of a GAN: a base set plus gaussian jitter, and where its modes are.

Every kind of data is one rule, so the kernels draw a real batch the same way whatever the
user picked: a point of the *base set* chosen uniformly, plus N(0, jitter^2) in x and y.
For a mixture of gaussians (ring, grid, one gaussian) the base set is the modes' centres and
the jitter their std: each batch is a fresh draw from the mixture, exactly as BENCHMARKS.md's
W6 samples it. For curves (two moons, spiral, line) the base set is 2,000 points evenly
along the curve; painted points and a CSV's rows are their own base set (jitter ``std``, 0:
the points themselves).

``RealData.modes`` are what the fit measure counts (``metrics.py``): a mixture's centres, or
for any other data ``k`` regions found by k-means on the base set (``mode_centres=None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from playground.errors import DataError
from playground.gan.spec import GanDataSpec

CURVE_POINTS = 2000
REGIONS = 8  # regions of data without modes (moons, spiral, line, painted points, CSV)


@dataclass(frozen=True)
class RealData:
    base: np.ndarray  # (n, 2) float64: the points a real sample is drawn around
    jitter: float  # std of the gaussian added to each coordinate
    mode_centres: np.ndarray | None  # (m, 2) a mixture's centres; None: regions by k-means
    mode_radius: float  # a generated point within this of a centre counts for that mode
    label: str

    @property
    def is_mixture(self) -> bool:
        return self.mode_centres is not None


def ring_centres(modes: int, radius: float) -> np.ndarray:
    a = 2 * np.pi * np.arange(modes) / modes
    return radius * np.c_[np.cos(a), np.sin(a)]


def grid_centres(modes: int, half_width: float) -> np.ndarray:
    side = round(math.sqrt(modes))
    v = np.linspace(-half_width, half_width, side) if side > 1 else np.zeros(1)
    xx, yy = np.meshgrid(v, v)
    return np.c_[xx.ravel(), yy.ravel()]


def _moons(radius: float) -> np.ndarray:
    t = np.linspace(0, np.pi, CURVE_POINTS // 2)
    outer = np.c_[np.cos(t), np.sin(t)]
    inner = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    pts = np.r_[outer, inner] - [0.5, 0.25]
    return pts * (radius / 1.5)


def _spiral(radius: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, CURVE_POINTS // 2)
    angle = 3 * np.pi * t
    arms = [
        np.c_[radius * t * np.cos(angle + k * np.pi), radius * t * np.sin(angle + k * np.pi)] for k in (0, 1)
    ]
    return np.r_[arms[0], arms[1]]


def _line(radius: float) -> np.ndarray:
    x = np.linspace(-radius, radius, CURVE_POINTS)
    return np.c_[x, 0.5 * x]


def _mixture_radius(centres: np.ndarray, std: float) -> float:
    """W6's 0.2 for thin modes, wider for wide ones, never reaching half way to the next."""
    r = max(0.2, 3.0 * std)
    if len(centres) > 1:
        d = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1))
        r = min(r, 0.5 * float(d[d > 0].min()))
    return r


def build_real_data(d: GanDataSpec) -> RealData:
    """The base set, jitter and modes of ``d`` (reads the CSV of ``kind == "csv"``)."""
    if d.kind in ("ring", "grid", "gaussian"):
        if d.kind == "ring":
            c = ring_centres(d.modes, d.radius)
        elif d.kind == "grid":
            c = grid_centres(d.modes, d.radius)
        else:
            c = np.zeros((1, 2))
        jitter = d.radius if d.kind == "gaussian" else d.std
        radius = 2.0 * jitter if d.kind == "gaussian" else _mixture_radius(c, jitter)
        return RealData(c, jitter, c, radius, f"{d.kind} of {len(c)}")
    if d.kind == "moons":
        base = _moons(d.radius)
    elif d.kind == "spiral":
        base = _spiral(d.radius)
    elif d.kind == "line":
        base = _line(d.radius)
    elif d.kind == "points":
        base = np.asarray(d.points, dtype=np.float64).reshape(-1, 2)
    else:
        base = read_points_csv(d.path, d.x_column, d.y_column, d.delimiter)
    return RealData(np.ascontiguousarray(base, dtype=np.float64), d.std, None, 0.0, d.kind)


def read_points_csv(path, x_column=None, y_column=None, delimiter=None) -> np.ndarray:
    """(n, 2) points from two numeric columns of a CSV (the first two numeric ones unless
    named). A missing or non-numeric cell raises DataError naming the file, row and column."""
    from playground.data.csv_reader import read_csv_table

    table = read_csv_table(path, delimiter=delimiter)
    fname = str(path)
    if x_column is None and y_column is None:
        numeric = [c for c in table.columns if c.kind == "numeric"]
        if len(numeric) < 2:
            bad = next((c for c in table.columns if c.kind != "numeric"), None)
            where = {}
            if bad is not None and bad.first_text_row is not None:
                where = {"row": bad.first_text_row, "column": bad.name}
            raise DataError(
                f"needs two numeric columns for x and y; found {len(numeric)} ({', '.join(table.names)})",
                file=fname,
                **where,
            )
        cols = numeric[:2]
    else:
        names = [x_column, y_column]
        if None in names:
            raise DataError("name both x_column and y_column, or neither", file=fname)
        cols = [table.column(n) for n in names]
    for c in cols:
        if c.kind != "numeric":
            row = c.first_text_row
            raise DataError(
                f"is not a number ({c.first_text_value!r}); x and y must be numeric",
                file=fname,
                row=row,
                column=c.name,
            )
        if c.n_missing:
            i = int(np.flatnonzero(c.missing)[0])
            raise DataError(
                "is empty; every point needs x and y",
                file=fname,
                row=int(table.row_numbers[i]),
                column=c.name,
            )
        bad = ~np.isfinite(c.values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                "is not a finite number", file=fname, row=int(table.row_numbers[i]), column=c.name
            )
    if table.n_rows == 0:
        raise DataError("has no data rows", file=fname)
    return np.c_[cols[0].values, cols[1].values].astype(np.float64)


def sample_real_np(data: RealData, n: int, seed: int) -> np.ndarray:
    """n real points from a numpy generator (evaluation, not training batches)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data.base), n)
    return data.base[idx] + data.jitter * rng.standard_normal((n, 2))


def kmeans_regions(points: np.ndarray, k: int = REGIONS, iters: int = 30) -> np.ndarray:
    """k region centres of a point set: k-means from farthest-point seeds (deterministic)."""
    pts = np.unique(points, axis=0)
    k = min(k, len(pts))
    centres = [pts[0]]
    d2 = ((pts - pts[0]) ** 2).sum(1)
    for _ in range(1, k):
        centres.append(pts[int(np.argmax(d2))])
        d2 = np.minimum(d2, ((pts - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iters):
        lab = np.argmin(((points[:, None] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([points[lab == j].mean(0) if (lab == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def short_name(path: str | None) -> str:
    return Path(path).name if path else ""
