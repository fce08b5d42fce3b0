"""How well the generated points fit the real ones: modes covered, a distance between the
two clouds, and whether the generator has collapsed onto a few modes.

Modes covered generalises BENCHMARKS.md's W6 rule. A mixture (ring, grid, one gaussian) has
its centres as modes, and a mode is covered when at least 16% of its fair share of the
generated samples lie within ``mode_radius`` of its centre: for 8 modes that is W6's 2% of
2,000 samples within 0.2. Data without modes (moons, spiral, line, painted points, a CSV)
is cut into ``REGIONS`` regions by k-means; a generated point counts when it lies within
``rho`` (a tenth of the data's spread plus twice its jitter) of a real point, for the
region of its nearest region centre, and a region is covered when it gets 16% of its real
share.

The distance is the sliced Wasserstein-1 distance over 64 fixed directions (no random
projections, so the same clouds always give the same number; in the data's units). Mode
collapse: most samples sit on the data but on at most half of its modes, or the generated
cloud is less than a quarter as wide as the real one.
"""

from __future__ import annotations

import numpy as np

from playground.gan.data import RealData, kmeans_regions

SHARE_OF_FAIR = 0.16  # W6: 2% of the samples for one of 8 modes = 0.16 of its 1/8
DIRECTIONS = 64


def _nearest(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of the nearest row of b for each row of a."""
    dist = np.empty(len(a))
    idx = np.empty(len(a), dtype=np.int64)
    for s in range(0, len(a), chunk):
        d2 = ((a[s : s + chunk, None, :] - b[None]) ** 2).sum(-1)
        idx[s : s + chunk] = d2.argmin(1)
        dist[s : s + chunk] = np.sqrt(d2[np.arange(len(d2)), idx[s : s + chunk]])
    return dist, idx


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: int = DIRECTIONS) -> float:
    """Mean over fixed directions of the 1-D Wasserstein-1 distance of the projections."""
    t = np.pi * np.arange(directions) / directions
    dirs = np.c_[np.cos(t), np.sin(t)]
    pa, pb = np.sort(a @ dirs.T, axis=0), np.sort(b @ dirs.T, axis=0)
    if len(pa) != len(pb):
        q = (np.arange(min(len(pa), len(pb))) + 0.5) / min(len(pa), len(pb))
        pa, pb = np.quantile(pa, q, axis=0), np.quantile(pb, q, axis=0)
    return float(np.abs(pa - pb).mean())


def spread(points: np.ndarray) -> float:
    return float(np.sqrt(np.trace(np.atleast_2d(np.cov(points.T)))))


def fit_report(real: RealData, generated: np.ndarray, reference: np.ndarray) -> dict:
    """Modes covered, share near the data, sliced Wasserstein distance, spread ratio and
    mode collapse for ``generated`` points against ``reference`` real points."""
    gen = np.asarray(generated, dtype=np.float64)
    ok = np.isfinite(gen).all(1)
    gen_f = gen[ok] if ok.any() else np.zeros((1, 2))
    if real.is_mixture:
        centres = real.mode_centres
        dist, idx = _nearest(gen_f, centres)
        near = dist < real.mode_radius
        share = np.bincount(idx[near], minlength=len(centres)) / len(gen)
        fair = np.full(len(centres), 1.0 / len(centres))
        radius = real.mode_radius
    else:
        centres = kmeans_regions(real.base)
        scale = spread(reference)
        radius = 0.1 * scale + 2.0 * real.jitter
        dist, _ = _nearest(gen_f, reference)
        near = dist <= radius
        _, region = _nearest(gen_f, centres)
        share = np.bincount(region[near], minlength=len(centres)) / len(gen)
        _, ref_region = _nearest(reference, centres)
        fair = np.bincount(ref_region, minlength=len(centres)) / len(reference)
    covered = share >= SHARE_OF_FAIR * fair
    n_modes = len(centres)
    share_near = float(near.sum() / len(gen))
    ratio = spread(gen_f) / max(spread(reference), 1e-12) if len(gen_f) > 1 else 0.0
    n_cov = int(covered.sum())
    collapse = bool(ratio < 0.25 or (n_modes >= 2 and share_near >= 0.5 and n_cov <= n_modes // 2))
    return {
        "modes": n_modes,
        "modes_covered": n_cov,
        "covered": covered,
        "mode_share": share,
        "mode_centres": centres,
        "mode_radius": float(radius),
        "share_near": share_near,
        "sliced_wasserstein": sliced_wasserstein(gen_f, reference),
        "spread_ratio": float(ratio),
        "collapse": collapse,
        "finite": bool(ok.all()),
    }


def describe(fit: dict) -> str:
    """One line a user can read: "6/8 modes, distance 0.12" (+ "mode collapse")."""
    text = f"{fit['modes_covered']}/{fit['modes']} modes covered, distance {fit['sliced_wasserstein']:.3g}"
    return text + (" — mode collapse" if fit["collapse"] else "")
