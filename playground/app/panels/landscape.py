"""The Loss landscape view: a 2-D slice of the training loss with the run's path, and the
1-D curve from the initial to the current parameters.

The numbers are :mod:`playground.landscape`'s. The path is a :class:`~playground.landscape.
Trajectory` the training worker feeds with its snapshots (``controller.add_snapshot_extra
("landscape_path", trajectory.feed)``: every ``every`` steps at most, thinned when long); it
is read only in the worker (``controller.call_in_worker``). "Compute" builds a
``SliceJob`` there and then runs it a few grid rows per call from a ``QTimer`` (about
``CHUNK_S`` of work each), so the GUI keeps responding and a progress text counts the
points; training may go on meanwhile (the slice stays around the parameters it started at).

What is drawn: the slice as a heatmap of log10(loss) with contour lines, the path in white
(its start a circle, the current point a star), and below it the text a person needs to
trust it: the directions (the PCA's explained variance), and how far the path's true losses
are from the surface under them (projected paths mislead where the run leaves the plane).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.formatting import fmt
from playground.landscape import DEFAULT_RESOLUTION, SliceJob, Trajectory, race_slice_job

from .. import theme
from ..figures import install_figure_menu

CHUNK_S = 0.05  # seconds of grid work per worker call
DIRECTION_CHOICES = [
    ("Filter-normalised random directions", "random"),
    ("Principal directions of the path", "pca"),
]
N_CONTOURS = 10


def slice_summary(s) -> str:
    """The text under the slice: directions, timing and the path's gap to the surface."""
    parts = [f"{len(s.a)}×{len(s.b)} = {len(s.a) * len(s.b):,} points in {s.seconds:.2f} s"]
    if s.explained is not None:
        whose = "the paths'" if len(s.paths) > 1 else "the path's"
        parts.append(f"PC1 explains {s.explained[0]:.0%}, PC2 {s.explained[1]:.0%} of {whose} variance")
    for p in s.paths:
        g = p.gap_summary()
        name = f"{p.label}: " if len(s.paths) > 1 else ""
        parts.append(
            f"{name}path ({g['points']} points): |true loss − surface under it| median {fmt(g['median'])}, "
            f"max {fmt(g['max'])}; off the plane by {np.median(p.offset):.0%} of its distance (median)"
        )
    return "\n".join(parts)


class LandscapeView(QWidget):
    """Slice heatmap + contours + path, the 1-D curve, direction choice, Compute, progress."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.trajectory = Trajectory(every=25)  # the single run's (RaceLandscapeView: one per member)
        self.job: SliceJob | None = None
        self.slice = None

        self.direction = QComboBox()
        for text, key in DIRECTION_CHOICES:
            self.direction.addItem(text, key)
        self.resolution = QSpinBox()
        self.resolution.setRange(5, 201)
        self.resolution.setValue(DEFAULT_RESOLUTION)
        self.resolution.setPrefix("grid ")
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        self.progress = QLabel("Compute a slice of the training loss around the current weights")
        self.progress.setObjectName("dim")
        self.progress.setWordWrap(True)  # one line of text made the dock (and the window) ~900 px wide
        top = QHBoxLayout()
        for w in (QLabel("Directions"), self.direction, self.resolution, self.compute_button):
            top.addWidget(w)
        top.addWidget(self.progress, 1)

        self.plot = pg.PlotWidget()
        p = self.plot.getPlotItem()
        p.setTitle("Training loss on the slice (log10)", size="10pt", justify="left")
        p.setLabel("bottom", "direction 1")
        p.setLabel("left", "direction 2")
        theme.style_plot(p, grid=False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        p.addItem(self.image)
        self.contours: list[pg.IsocurveItem] = []
        self.path_item = pg.PlotDataItem(
            pen=pg.mkPen("w", width=2), symbol="o", symbolSize=4, symbolBrush="w"
        )
        self.start_item = pg.ScatterPlotItem(symbol="o", size=11, brush=pg.mkBrush("#ff7f0e"), pen="w")
        self.end_item = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush("#d62728"), pen="w")
        for it in (self.path_item, self.start_item, self.end_item):
            p.addItem(it)
            it.setZValue(10)
        self.extra_paths: list[pg.PlotDataItem] = []  # the further paths of a race

        self.line_plot = pg.PlotWidget()
        lp = self.line_plot.getPlotItem()
        lp.setTitle("From the initial (t = 0) to the current weights (t = 1)", size="10pt", justify="left")
        lp.setLabel("bottom", "t")
        lp.setLabel("left", "training loss")
        theme.style_plot(lp, grid=True)
        self.line_curve = lp.plot(pen=pg.mkPen("#1f77b4", width=2))
        for t in (0.0, 1.0):
            lp.addItem(
                pg.InfiniteLine(t, angle=90, pen=pg.mkPen("#888", style=pg.QtCore.Qt.PenStyle.DashLine))
            )
        self.line_plot.setMaximumHeight(190)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.summary)
        lay.addWidget(self.line_plot)
        install_figure_menu(self.plot, "loss landscape")

        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)
        add_extra = getattr(controller, "add_snapshot_extra", None)
        if add_extra is not None:
            add_extra("landscape_path", self.trajectory.feed)
        self._connect_replaced()
        self._on_replaced()

    def _connect_replaced(self) -> None:
        self.controller.experimentReplaced.connect(self._on_replaced)

    # -- the path -------------------------------------------------------------------------
    def _on_replaced(self) -> None:
        self.cancel()
        # the path begins anew with the worker's next snapshot (Trajectory.feed): never a
        # blocking call into a worker that may be busy compiling
        self.trajectory.restart()

    # -- computing --------------------------------------------------------------------------
    def compute(self) -> None:
        """Start a slice around the current weights (in the worker, in chunks)."""
        start = self._make_job(self.direction.currentData(), self.resolution.value())
        try:
            self.job = self.controller.call_in_worker(start)
        except ValueError as e:  # no trajectory yet for the PCA directions
            self.progress.setText(str(e))
            return
        self.compute_button.setEnabled(False)
        self._show_progress()
        self._timer.start()

    def _make_job(self, kind: str, res: int):
        """The function the worker calls to create the ``SliceJob``."""
        traj = self.trajectory

        def start(exp):
            theta = exp.trainer.theta.astype(np.float64)
            traj.offer(exp.step, theta)
            paths = {"run": traj.points(theta, exp.step)}
            return SliceJob(exp.trainer, theta, kind, paths, resolution=res)

        return start

    def cancel(self) -> None:
        self._timer.stop()
        self.job = None
        self.compute_button.setEnabled(True)

    def _work(self) -> None:
        job = self.job
        if job is None:
            self._timer.stop()
            return
        if not job.done:
            self.controller.call_in_worker(lambda exp: job.run_for(CHUNK_S))
            self._show_progress()
            return
        self._timer.stop()
        self.show_slice(self.controller.call_in_worker(lambda exp: job.result()))
        self.job = None
        self.compute_button.setEnabled(True)

    def _show_progress(self) -> None:
        done, total = self.job.progress
        self.progress.setText(f"Computing: {done:,} / {total:,} points")

    def path_colors(self) -> list[str]:
        """The colour of each path (empty: white, the single run)."""
        return []

    # -- drawing ----------------------------------------------------------------------------
    def show_slice(self, s) -> None:
        self.slice = s
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log10(np.where(s.loss > 0, s.loss, np.nan))
        finite = z[np.isfinite(z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1e-12
        zz = np.where(np.isfinite(z), z, hi)
        a0, a1, b0, b1 = s.a[0], s.a[-1], s.b[0], s.b[-1]
        self.image.setImage(zz.T, levels=(lo, hi), autoLevels=False)
        self.image.setRect(pg.QtCore.QRectF(a0, b0, a1 - a0, b1 - b0))
        p = self.plot.getPlotItem()
        for c in self.contours:
            p.removeItem(c)
        self.contours = []
        for level in np.linspace(lo, hi, N_CONTOURS + 2)[1:-1]:
            c = pg.IsocurveItem(data=zz.T, level=float(level), pen=pg.mkPen((255, 255, 255, 90)))
            c.setParentItem(self.image)
            self.contours.append(c)
        path = s.paths[0] if s.paths else None
        if path is not None:
            self.path_item.setData(path.coords[:, 0], path.coords[:, 1])
            self.start_item.setData([path.coords[0, 0]], [path.coords[0, 1]])
            self.end_item.setData([path.coords[-1, 0]], [path.coords[-1, 1]])
        else:
            for it in (self.path_item, self.start_item, self.end_item):
                it.setData([], [])
        for it in self.extra_paths:
            p.removeItem(it)
        self.extra_paths = []
        colors = self.path_colors()
        if len(colors) > 0 and path is not None:
            self.path_item.setPen(pg.mkPen(colors[0], width=2))
            self.path_item.setSymbolBrush(colors[0])
        for k, other in enumerate(s.paths[1:], start=1):
            color = colors[k % len(colors)] if colors else "w"
            it = pg.PlotDataItem(
                other.coords[:, 0], other.coords[:, 1], pen=pg.mkPen(color, width=2),
                symbol="o", symbolSize=4, symbolBrush=color,
            )  # fmt: skip
            it.setZValue(10)
            p.addItem(it)
            self.extra_paths.append(it)
        p.getViewBox().setRange(xRange=(a0, a1), yRange=(b0, b1), padding=0)
        label = "principal direction" if s.kind == "pca" else "random direction"
        p.setLabel("bottom", f"{label} 1")
        p.setLabel("left", f"{label} 2")
        if s.line_t is not None:
            self.line_curve.setData(s.line_t, s.line_loss)
        self.progress.setText(f"Done: {len(s.a) * len(s.b):,} points in {s.seconds:.2f} s")
        self.summary.setText(slice_summary(s))


class RaceLandscapeView(LandscapeView):
    """Every race member's path on one slice (``landscape.race_slice``) around the first
    member's weights, each path in its member's colour.

    Takes the race controller (``members``, ``membersChanged``, ``frame``, ``call_in_worker``
    with the members' experiments); their trajectories are recorded in its worker at most
    every ``RECORD_S`` seconds of frames."""

    RECORD_S = 0.2

    def __init__(self, race, parent: QWidget | None = None):
        self.trajectories: list[Trajectory] = []
        self._last_record = 0.0
        super().__init__(race, parent)
        self.direction.setCurrentIndex(1)  # the paths' own plane: random slices hide them
        race.frame.connect(self._on_frame)

    def _connect_replaced(self) -> None:
        self.controller.membersChanged.connect(self._on_replaced)

    def _on_replaced(self) -> None:
        self.cancel()
        self.controller.call_in_worker(lambda exps: self._restart_path(exps))

    def _restart_path(self, exps) -> None:
        self.trajectories = [Trajectory(every=25) for _ in exps]
        self._record(exps)

    def _record(self, exps) -> None:
        for traj, exp in zip(self.trajectories, exps, strict=False):
            traj.offer(exp.step, exp.trainer.theta)

    def _on_frame(self, _snap) -> None:
        now = time.perf_counter()
        if now - self._last_record >= self.RECORD_S and self.job is None:
            self._last_record = now
            self.controller.call_in_worker(self._record)

    def path_colors(self) -> list[str]:
        return [m.color for m in getattr(self.controller, "members", [])]

    def _make_job(self, kind: str, res: int):
        labels = [m.label for m in self.controller.members]
        trajs = self.trajectories

        def start(exps):
            if not exps:
                raise ValueError("start a race first")
            self._record(exps)
            return race_slice_job(list(zip(labels, exps, trajs, strict=False)), kind, resolution=res)

        return start


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: LandscapeView(c), size=(720, 760))
