"""Views a lesson opens with it (``"views"`` in its JSON, :mod:`playground.lessons`), for one
of its variants while the variants race.

``"landscape"``: a Loss landscape dock on one race member, the lesson's first variant unless
another is chosen in the dock. The view is of the class of the window's own landscape view
(``type(window.landscape_view)``, :class:`~playground.app.panels.landscape.LandscapeView`:
race mode does not import panels, the window wires them); it talks to a
:class:`MemberController`, which makes that member look like the single
experiment's controller: ``call_in_worker(fn)`` runs ``fn(experiment)`` on the member in the
race worker, ``experimentReplaced`` fires for a new race or another member. The member's
path is recorded from the race's frames (at most every ``RECORD_S`` seconds), as the race's
own landscape view records its members'.

Separate from the window's Loss landscape dock (that one shows the single experiment, which
race mode hides); leaving the lesson hides this dock (:func:`hide_lesson_views`).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QVBoxLayout, QWidget

DOCK_NAME = "lesson_landscape_dock"


class MemberController(QObject):
    """One member of a race controller, as a LandscapeView's controller."""

    experimentReplaced = Signal()

    def __init__(self, race, index: int = 0, parent: QObject | None = None):
        super().__init__(parent)
        self.race = race
        self.index = index
        race.membersChanged.connect(self.experimentReplaced)

    def set_index(self, index: int) -> None:
        if index != self.index:
            self.index = index
            self.experimentReplaced.emit()

    def call_in_worker(self, fn, timeout: float = 10.0):
        k = self.index

        def on_member(exps):
            if not 0 <= k < len(exps):
                raise ValueError("start the lesson first")
            return fn(exps[k])

        return self.race.call_in_worker(on_member, timeout)


class LessonLandscape(QWidget):
    """A variant chooser above a landscape view (``make_view(controller)``) of the chosen
    race member."""

    RECORD_S = 0.05  # a lesson's race is short (3,000 steps of a small network in about a second)
    RECORD_WAIT_S = 2.0

    def __init__(self, race, make_view, parent: QWidget | None = None):
        super().__init__(parent)
        self.race = race
        self.member = MemberController(race, 0, self)
        self.variant = QComboBox()
        self.variant.setToolTip("The variant whose training loss the slice shows, around its current weights")
        self.view = make_view(self.member)
        top = QHBoxLayout()
        top.addWidget(QLabel("Variant"))
        top.addWidget(self.variant, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        self._last_record = 0.0
        self.variant.currentIndexChanged.connect(self._on_variant)
        race.membersChanged.connect(self._fill)
        race.frame.connect(self._on_frame)
        self._fill()

    def _fill(self) -> None:
        self.variant.blockSignals(True)
        self.variant.clear()
        for m in self.race.members:
            self.variant.addItem(m.label)
        self.variant.setCurrentIndex(min(self.member.index, max(self.variant.count() - 1, 0)))
        self.variant.blockSignals(False)
        self._record_start()

    def select(self, index: int) -> None:
        """Show the landscape of the race's ``index``-th member."""
        self.variant.setCurrentIndex(index)
        self._on_variant(index)

    def _on_variant(self, index: int) -> None:
        if index >= 0 and index != self.member.index:
            self.member.set_index(index)
            self._record_start()

    def _record(self, fn) -> None:
        """Run ``fn(experiments)`` in the race worker to record the path; a worker still busy
        (compiling on a cold start) after RECORD_WAIT_S is not waited for: the queued call
        runs when it is free (the path is only ever read there)."""
        try:
            self.race.call_in_worker(fn, timeout=self.RECORD_WAIT_S)
        except TimeoutError:
            pass

    def _record_start(self) -> None:
        """The path's first point: the member's weights now (a new race: its start), so the
        1-D curve runs from the initial weights, not from the first frame's."""
        traj, k = self.view.trajectory, self.member.index

        def feed(exps):
            if 0 <= k < len(exps):  # (none yet while a race is being built)
                traj.feed(exps[k], exps[k].trainer.theta)

        self._record(feed)

    def _on_frame(self, _snap) -> None:
        if not self.isVisible() or self.view.job is not None:
            return
        now, k = time.perf_counter(), self.member.index
        if now - self._last_record >= self.RECORD_S:
            self._last_record = now
            traj = self.view.trajectory
            self._record(lambda exps: traj.feed(exps[k], exps[k].trainer.theta) if k < len(exps) else None)


def show_lesson_views(window, race, lesson) -> None:
    """Open the docks a lesson asks for (``lesson.views``) on its first variant; hide them
    for a lesson that asks for none."""
    dock = getattr(window, "lesson_landscape_dock", None)
    if "landscape" not in lesson.views:
        if dock is not None:
            dock.hide()
        return
    if dock is None:
        dock = QDockWidget("Loss landscape (lesson)", window)
        dock.setObjectName(DOCK_NAME)  # saveState needs it
        dock.setWidget(LessonLandscape(race, type(window.landscape_view)))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        window.lesson_landscape_dock = dock
    dock.widget().select(0)
    dock.show()
    dock.raise_()
    # the text beside the race, the slice beside it: sizes once the docks are laid out
    QTimer.singleShot(
        0, lambda: window.resizeDocks([window.lessons_dock, dock], [300, 560], Qt.Orientation.Horizontal)
    )


def hide_lesson_views(window) -> None:
    dock = getattr(window, "lesson_landscape_dock", None)
    if dock is not None:
        dock.hide()
