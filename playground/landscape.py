"""The loss landscape around a run: a 2-D slice, the run's path on it, a 1-D interpolation.

A slice is the training loss at ``theta + a * d1 + b * d2`` over a grid of (a, b), with two
directions ``d1, d2`` in parameter space:

- ``"random"``: filter-normalised random directions (Li et al. 2018, "Visualizing the Loss
  Landscape of Neural Nets"): a Gaussian direction whose every filter (a dense layer's
  output neuron, i.e. a column of its (fan_in, fan_out) W; a conv layer's output channel;
  a recurrent array's row) is rescaled to the norm of the same filter of the weights, with
  biases set to zero (the paper's "ignore biases" choice), so the slice's scale does not
  depend on the network's scale invariances;
- ``"pca"``: the top two principal directions of the run's trajectory (the paper's
  section 7): the SVD of the recorded points minus the current point, so the slice is the
  plane the run moved in most.

The loss is the engine's own: ``Trainer.metrics`` on the whole training set (mean data loss,
no dropout, no penalty: the history's ``train_loss``), evaluated point by point with the
trainer's compiled metrics kernel (or its numpy twin before the kernels are ready), in
chunks of grid rows (``SliceJob``) so a GUI can show progress and keep responding.

Projected paths mislead where the path leaves the plane: each path point's coordinates are
its least-squares projection on the plane, and ``Slice.path_gap`` says how far its true
loss is from the surface's (bilinearly interpolated) loss under it, and ``path_offset``
how far the point is from the plane. The trajectory is recorded by ``Trajectory``, a
bounded, thinned list of parameter vectors a worker feeds every few steps.

No Qt here: the app's landscape panel runs these functions in the training worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

DIRECTIONS = ("random", "pca")
DEFAULT_RESOLUTION = 51


# --------------------------------------------------------------------------- the trajectory


class Trajectory:
    """Parameter vectors of a run, at most ``capacity``, thinned as it grows.

    ``offer(step, theta)`` keeps a copy every ``every`` steps; when full, every other point
    is dropped (the first and the newest stay) and ``every`` doubles, so a long run keeps an
    evenly spaced path in bounded memory."""

    def __init__(self, every: int = 25, capacity: int = 400):
        if every < 1 or capacity < 4:
            raise ValueError("Trajectory needs every >= 1 and capacity >= 4")
        self.every = self._every0 = int(every)
        self.capacity = int(capacity)
        self.steps: list[int] = []
        self.thetas: list[np.ndarray] = []
        self._owner: int | None = None  # id of the experiment ``feed`` records
        self._restart = False

    def __len__(self) -> int:
        return len(self.steps)

    def clear(self) -> None:
        self.steps.clear()
        self.thetas.clear()

    def offer(self, step: int, theta: np.ndarray) -> bool:
        """Record theta at ``step`` if due (the first point, or ``every`` steps since the
        last kept one); a step before the last one (a reset, a step back) truncates the path
        there first. Returns whether it was kept."""
        step = int(step)
        while self.steps and step < self.steps[-1]:
            self.steps.pop()
            self.thetas.pop()
        if self.steps and step - self.steps[-1] < self.every:
            return False
        if len(self.steps) >= self.capacity:
            keep = list(range(0, len(self.steps), 2))
            self.steps = [self.steps[i] for i in keep]
            self.thetas = [self.thetas[i] for i in keep]
            self.every *= 2
            if step - self.steps[-1] < self.every:
                return False
        self.steps.append(step)
        self.thetas.append(np.array(theta, dtype=np.float64, copy=True))
        return True

    def restart(self) -> None:
        """Start a new path with the next ``feed`` (safe from any thread: only a flag is set;
        a view calls this when its experiment is replaced, without waiting for the worker)."""
        self._restart = True

    def feed(self, exp, theta) -> None:
        """``controller.add_snapshot_extra`` signature: record the experiment's parameters
        (runs in the worker thread; returns None, nothing goes into the snapshot). Another
        experiment than the last one fed, or a ``restart``, begins a new path."""
        if self._restart or id(exp) != self._owner:
            self._restart, self._owner = False, id(exp)
            self.clear()
            self.every = self._every0
        self.offer(exp.step, theta)

    def points(self, current: np.ndarray | None = None, step: int | None = None):
        """(steps, points as rows) with ``current`` appended when newer than the last."""
        steps, pts = list(self.steps), list(self.thetas)
        if current is not None and (not steps or step is None or step > steps[-1]):
            steps.append(-1 if step is None else int(step))
            pts.append(np.asarray(current, dtype=np.float64))
        if not pts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
        return np.asarray(steps, dtype=np.int64), np.vstack(pts)


# --------------------------------------------------------------------------- directions


def filter_normalized_direction(trainer, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction with every filter scaled to the norm of theta's same filter
    (Li et al. 2018); biases (every 1-D array) zero."""
    theta = np.asarray(theta, dtype=np.float64)
    d = np.zeros_like(theta)
    wviews = trainer.layout.views(theta)
    dviews = trainer.layout.views(d)
    for warrs, darrs in zip(wviews, dviews, strict=True):
        for w, v in zip(warrs, darrs, strict=True):
            if w.size == 0 or w.ndim < 2:
                continue  # biases stay zero
            r = rng.standard_normal(w.shape)
            if w.ndim == 2 and w.shape[0] != 0 and len(warrs) == 2:
                # dense W is (fan_in, fan_out): a filter is a column (one output neuron)
                wn = np.linalg.norm(w, axis=0, keepdims=True)
                rn = np.linalg.norm(r, axis=0, keepdims=True)
            else:  # conv (out, in, kh, kw), recurrent (gates*hidden, in): a filter is a row
                axes = tuple(range(1, w.ndim))
                wn = np.sqrt((w * w).sum(axis=axes, keepdims=True))
                rn = np.sqrt((r * r).sum(axis=axes, keepdims=True))
            v[...] = r * (wn / np.where(rn > 0, rn, 1.0))
    return d


def random_directions(trainer, theta: np.ndarray, seed: int = 0) -> np.ndarray:
    """Two filter-normalised random directions, (2, n_params)."""
    rng = np.random.default_rng([int(seed), 0x1A5D])
    return np.vstack([filter_normalized_direction(trainer, theta, rng) for _ in range(2)])


def pca_directions(points: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The top two principal directions of ``points - center`` (unit vectors, (2, n)) and the
    share of the variance each explains. Needs at least two points away from the centre."""
    M = np.asarray(points, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    M = M[np.linalg.norm(M, axis=1) > 0]
    if M.shape[0] < 2:
        raise ValueError("the trajectory has fewer than two points besides the current one: train first")
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    total = float((s**2).sum())
    share = (s[:2] ** 2) / total if total > 0 else np.zeros(2)
    return vt[:2].copy(), share


def project(points: np.ndarray, center: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (n, 2) of points on the plane ``center + span(dirs)`` and
    each point's distance from the plane, relative to its distance from the centre."""
    M = np.asarray(points, dtype=np.float64) - center
    coef, *_ = np.linalg.lstsq(dirs.T, M.T, rcond=None)
    coords = coef.T
    resid = np.linalg.norm(M - coords @ dirs, axis=1)
    dist = np.linalg.norm(M, axis=1)
    return coords, np.divide(resid, dist, out=np.zeros_like(resid), where=dist > 0)


# --------------------------------------------------------------------------- the loss


class LossProbe:
    """The training loss at any parameters, with the trainer's metrics kernel: its buffers
    are prepared once; the trainer's parameters are put back after every call."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.es = trainer.eval_buffers(trainer.X, trainer.Y, None)
        self.evals = 0

    def __call__(self, theta: np.ndarray) -> float:
        tr = self.trainer
        keep = tr.theta
        tr.theta = np.ascontiguousarray(theta, dtype=tr.dtype)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return tr.metrics(self.es, 0.5)[0]
        finally:
            tr.theta = keep
            self.evals += 1


def line_losses(probe: LossProbe, start: np.ndarray, end: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Loss at ``start + t (end - start)`` for each t (the 1-D interpolation curve)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    return np.array([probe(start + t * (end - start)) for t in ts])


# --------------------------------------------------------------------------- the slice


@dataclass
class PathOnSlice:
    """One run's path on a slice: coordinates, true losses, and how wrong the picture is."""

    label: str
    steps: np.ndarray  # (k,) training step of each point (-1: the current point, no step)
    coords: np.ndarray  # (k, 2) least-squares (a, b)
    loss: np.ndarray  # (k,) the true training loss at the point itself
    surface: np.ndarray  # (k,) the slice's loss under the point (bilinear; NaN outside the grid)
    offset: np.ndarray  # (k,) distance from the plane / distance from the centre

    @property
    def gap(self) -> np.ndarray:
        """True loss minus the surface's loss under each point (the projection's error)."""
        return self.loss - self.surface

    def gap_summary(self) -> dict:
        g = np.abs(self.gap[np.isfinite(self.gap)])
        if g.size == 0:
            return {"points": 0, "median": np.nan, "max": np.nan}
        return {"points": int(g.size), "median": float(np.median(g)), "max": float(g.max())}


@dataclass
class Slice:
    """A computed slice: ``loss[i, j]`` at ``(center + b[i] d2) + a[j] d1`` (summed in that order)."""

    kind: str
    center: np.ndarray
    dirs: np.ndarray  # (2, n_params)
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray  # (len(b), len(a))
    paths: list[PathOnSlice] = field(default_factory=list)
    explained: np.ndarray | None = None  # pca: the variance share of each direction
    line_t: np.ndarray | None = None  # the 1-D curve: t from the initial (0) to the current (1)
    line_loss: np.ndarray | None = None
    seconds: float = 0.0

    def interpolate(self, coords: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of the surface at (a, b) coordinates (NaN outside)."""
        coords = np.atleast_2d(coords)
        out = np.full(coords.shape[0], np.nan)
        a, b = self.a, self.b
        for k, (x, y) in enumerate(coords):
            if not (a[0] <= x <= a[-1] and b[0] <= y <= b[-1]):
                continue
            j = min(int(np.searchsorted(a, x, side="right")) - 1, len(a) - 2)
            i = min(int(np.searchsorted(b, y, side="right")) - 1, len(b) - 2)
            tx = (x - a[j]) / (a[j + 1] - a[j])
            ty = (y - b[i]) / (b[i + 1] - b[i])
            L = self.loss
            out[k] = (
                (1 - tx) * (1 - ty) * L[i, j]
                + tx * (1 - ty) * L[i, j + 1]
                + (1 - tx) * ty * L[i + 1, j]
                + tx * ty * L[i + 1, j + 1]
            )
        return out


def _span(coords: np.ndarray, default: float) -> tuple[float, float]:
    """A grid range covering the coordinates with a 15 % margin, centred on 0 at least."""
    if coords.size == 0:
        return -default, default
    lo, hi = min(0.0, float(coords.min())), max(0.0, float(coords.max()))
    pad = 0.15 * max(hi - lo, 1e-12)
    return lo - pad, hi + pad


class SliceJob:
    """A slice computed in chunks of grid rows: ``run_rows(n)`` does the next n rows (call
    it where the trainer may be read: the training worker), ``done``/``progress`` say how
    far it is, ``result()`` finishes the path and the 1-D curve."""

    def __init__(
        self,
        trainer,
        center: np.ndarray,
        kind: str = "random",
        paths: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
        resolution: int = DEFAULT_RESOLUTION,
        span: float = 1.0,
        seed: int = 0,
        line_from: np.ndarray | None = None,
        line_points: int = 61,
    ):
        """``paths``: label -> (steps, points as rows) of each run to draw (the first run's
        path gives the PCA directions together with the others'); ``span``: the half-width
        of the random slice in units of the (filter-normalised) directions; ``line_from``:
        the initial parameters of the 1-D curve (default: the first run's first point)."""
        if kind not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {kind!r}")
        if resolution < 3:
            raise ValueError(f"resolution must be at least 3, got {resolution}")
        self.trainer = trainer
        self.center = np.array(center, dtype=np.float64, copy=True)
        self.kind = kind
        self.paths = dict(paths or {})
        self.explained = None
        if kind == "pca":
            every = [p for _, p in self.paths.values() if p.size]
            if not every:
                raise ValueError("the PCA directions need a recorded trajectory: train first")
            self.dirs, self.explained = pca_directions(np.vstack(every), self.center)
        else:
            self.dirs = random_directions(trainer, self.center, seed)
        self._coords = {k: project(p, self.center, self.dirs) for k, (_, p) in self.paths.items() if p.size}
        if kind == "pca":
            both = np.vstack([c for c, _ in self._coords.values()] or [np.zeros((0, 2))])
            (a0, a1), (b0, b1) = _span(both[:, 0], span), _span(both[:, 1], span)
        else:
            a0, a1, b0, b1 = -span, span, -span, span
        self.a = np.linspace(a0, a1, resolution)
        self.b = np.linspace(b0, b1, resolution)
        self.loss = np.full((resolution, resolution), np.nan)
        self.rows_done = 0
        self.probe = LossProbe(trainer)
        first = next(iter(self.paths.values()), None)
        self.line_from = (
            line_from if line_from is not None else (first[1][0] if first and first[1].size else None)
        )
        self.line_points = line_points
        self._t0 = time.perf_counter()
        self._seconds = 0.0

    @property
    def done(self) -> bool:
        return self.rows_done >= len(self.b)

    @property
    def progress(self) -> tuple[int, int]:
        return self.rows_done * len(self.a), len(self.a) * len(self.b)

    def run_rows(self, n: int = 1) -> None:
        t0 = time.perf_counter()
        d1, d2 = self.dirs
        for _ in range(n):
            if self.done:
                break
            i = self.rows_done
            base = self.center + self.b[i] * d2
            row = self.loss[i]
            for j, a in enumerate(self.a):
                row[j] = self.probe(base + a * d1)
            self.rows_done += 1
        self._seconds += time.perf_counter() - t0

    def run_for(self, seconds: float) -> None:
        """Rows until ``seconds`` have passed (at least one)."""
        t0 = time.perf_counter()
        self.run_rows(1)
        while not self.done and time.perf_counter() - t0 < seconds:
            self.run_rows(1)

    def result(self) -> Slice:
        self.run_rows(len(self.b))
        t0 = time.perf_counter()
        s = Slice(self.kind, self.center, self.dirs, self.a, self.b, self.loss, explained=self.explained)
        for label, (steps, pts) in self.paths.items():
            if not pts.size:
                continue
            coords, offset = self._coords[label]
            true = np.array([self.probe(p) for p in pts])
            s.paths.append(PathOnSlice(label, steps, coords, true, s.interpolate(coords), offset))
        if self.line_from is not None:
            s.line_t = np.linspace(-0.25, 1.25, self.line_points)
            s.line_loss = line_losses(self.probe, self.line_from, self.center, s.line_t)
        s.seconds = self._seconds + time.perf_counter() - t0
        return s


def compute_slice(exp, trajectory: Trajectory | None = None, kind: str = "random", **kwargs) -> Slice:
    """The whole slice around an experiment's current parameters, its path from
    ``trajectory`` (with the current point appended) drawn on it."""
    theta = exp.trainer.theta.astype(np.float64)
    paths = {}
    if trajectory is not None:
        paths["run"] = trajectory.points(theta, exp.step)
    return SliceJob(exp.trainer, theta, kind, paths, **kwargs).result()


def race_slice(members, kind: str = "pca", **kwargs) -> Slice:
    """Every race member's path on one slice around the first member's current parameters.

    ``members``: (label, experiment, trajectory) triples of runs of the same network that
    started from the same parameters (race mode shares initial weights); the surface is the
    first member's training loss."""
    return race_slice_job(members, kind, **kwargs).result()


def race_slice_job(members, kind: str = "pca", **kwargs) -> SliceJob:
    """The ``SliceJob`` of :func:`race_slice`, to run in chunks."""
    members = list(members)
    if not members:
        raise ValueError("a race slice needs at least one member")
    _, exp0, _ = members[0]
    n = exp0.trainer.layout.n_params
    paths = {}
    for label, exp, traj in members:
        if exp.trainer.layout.n_params != n:
            raise ValueError(
                f"{label}: a different network ({exp.trainer.layout.n_params} parameters, not {n})"
            )
        paths[label] = traj.points(exp.trainer.theta, exp.step)
    starts = [p[0] for _, p in paths.values() if p.size]
    if any(not np.array_equal(s, starts[0]) for s in starts[1:]):
        raise ValueError("the members did not start from the same parameters: their paths share no slice")
    return SliceJob(exp0.trainer, exp0.trainer.theta.astype(np.float64), kind, paths, **kwargs)
