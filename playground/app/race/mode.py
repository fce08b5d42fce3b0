"""The main window's race mode: entering and leaving it, races of the user's own, opened
races and lessons.

:class:`RaceMode` makes the race controller and view on first use (the controller owns a
thread), shows the view in place of the single experiment and hides the docks that show it;
leaving restores the window layout found on entering. It changes the window only through the
parts the window is built from (docks, toolbar, central stack, status bar, lessons panel).
A GAN lesson (``Lesson.is_gan``) is no race of Experiments: it opens in GAN mode's window
(``window.open_gan_window``), which shows its text and races its variants.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, Slot

from playground.errors import PlaygroundError
from playground.lessons import LESSONS

from ..controller import build_experiment
from .controller import RaceController
from .lesson_views import hide_lesson_views, show_lesson_views
from .view import RaceView

RACE_PAGE = 1  # the central stack's page of the race view (page 0: the single experiment)


class RaceMode(QObject):
    """Race mode of a :class:`~playground.app.main_window.MainWindow`."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.race: RaceController | None = None
        self.view: RaceView | None = None
        # the window layout (dock state, splitter) found when the mode was entered: leaving
        # restores it; None in the mode means "the default layout"
        self.layout_before: tuple[QByteArray, QByteArray] | None = None

    @property
    def active(self) -> bool:
        return self.window.central_stack.currentIndex() == RACE_PAGE

    @property
    def in_lesson(self) -> bool:
        return self.active and self.race is not None and self.race.lesson_id is not None

    def controller(self) -> RaceController:
        """The race controller (and its view), made on first use."""
        if self.race is None:
            w = self.window
            self.race = RaceController(w)
            self.race.errorOccurred.connect(w.show_error)
            for signal in (self.race.runningChanged, self.race.frame, self.race.membersChanged):
                signal.connect(self._on_race_state)
            self.view = RaceView(self.race)
            self.view.exitRequested.connect(self.exit)
            self.view.editRequested.connect(self.edit)
            w.central_stack.addWidget(self.view)
        return self.race

    @Slot()
    def _on_race_state(self, *_args) -> None:
        if self.active:
            self.window.set_engine_text()

    # -- entering and leaving ----------------------------------------------------------------
    def enter(self, layout: tuple[QByteArray, QByteArray] | None = None) -> None:
        """Show the race; ``layout`` (default: the current one) is what leaving the race restores."""
        if self.active:
            return
        w = self.window
        self.layout_before = layout or w.current_layout()
        w.controller.pause()
        for d in w.single_docks():  # they show the single experiment
            d.hide()
        w.toolbar.setEnabled(False)
        for a in w.single_actions():  # Space and the Train menu act on the race meanwhile
            a.setEnabled(False)
        for a in _undo_actions(w):  # the single experiment's undo: it would change it unseen
            a.setEnabled(False)
        w.central_stack.setCurrentIndex(RACE_PAGE)
        w.exit_race_action.setEnabled(True)
        w.set_engine_text()

    def exit(self) -> None:
        if self.race is not None:
            self.race.pause()
        if not self.active:
            return
        w = self.window
        hide_lesson_views(w)
        w.central_stack.setCurrentIndex(0)
        w.toolbar.setEnabled(True)
        for a in w.single_actions():
            a.setEnabled(True)
        stack = w.controller.undo_stack
        for a, can in zip(_undo_actions(w), (stack.canUndo(), stack.canRedo())):
            a.setEnabled(can)
        exercise = getattr(w, "exercise", None)
        if exercise is not None:
            exercise.reapply()  # an exercise's locked actions stay locked
        saved, self.layout_before = self.layout_before, None
        if saved is None or not w.restoreState(saved[0]):
            w.reset_layout()  # View > Reset layout was used in the race: the default layout
        else:
            w.splitter.restoreState(saved[1])
        w.exit_race_action.setEnabled(False)
        w.statusBar().clearMessage()  # "Lesson: … press Run" is about the race just left
        w.set_engine_text()
        w.update_title()

    # -- races ---------------------------------------------------------------------------------
    def start(self, variants: list[dict], labels: list[str] | None = None) -> bool:
        """Race variants (overrides dicts) of the current experiment; False (and why) if impossible."""
        w = self.window
        race = self.controller()
        try:
            race.start(w.controller.spec, variants, labels, w.controller.experiment.dataset)
        except PlaygroundError as e:
            w.show_error(str(e))
            return False
        w.lessons_dock.hide()  # a race of the user's own: no lesson text
        hide_lesson_views(w)
        self.enter()
        return True

    def edit(self) -> None:
        """Race > Race Variants…: the dialog, with the current race's variants when there is one."""
        from .dialog import RaceDialog

        w = self.window
        exp = w.controller.experiment
        dlg = RaceDialog(w.controller.spec, len(exp.dataset.X_train), w)
        if self.active and self.race is not None and self.race.lesson_id is None:
            dlg.set_variants([m.overrides for m in self.race.members])
        if dlg.exec():
            self.start(dlg.variants())

    def open(self, exps: list, path: str | None = None) -> None:
        """Show a race read from a session file (its experiments carry their provenance)."""
        race = self.controller()
        labels = [e.provenance.race_label or f"variant {i + 1}" for i, e in enumerate(exps)]
        view = exps[0].provenance.view_state or {}
        lesson = view.get("lesson") if isinstance(view.get("lesson"), str) else None
        overrides = [e.provenance.race_overrides for e in exps]
        race.set_race(exps, labels, overrides, str(path) if path else None, lesson)
        if isinstance(view.get("race_target"), (int, float)):
            race.set_target(float(view["race_target"]))
        if lesson in LESSONS:
            self.window.lessons_panel.show_lesson(lesson)
        self.enter()
        if lesson in LESSONS:
            show_lesson_views(self.window, race, LESSONS[lesson])

    # -- lessons -------------------------------------------------------------------------------
    def load_lesson(self, lesson_id: str) -> bool:
        """Open a lesson: its variants race (or its only variant opens), its text in the panel."""
        w = self.window
        lesson = LESSONS[lesson_id]
        if lesson.is_gan:
            return self._open_gan_lesson(lesson_id)
        if len(lesson.variants) == 1:
            self.exit()  # first: leaving a race restores its layout, then the lesson text shows
        layout = w.current_layout()  # before the lesson text shows: leaving the lesson hides it
        w.lessons_panel.show_lesson(lesson_id)
        w.lessons_dock.show()
        w.lessons_dock.raise_()
        if len(lesson.variants) == 1:
            v = lesson.variants[0]
            w.controller.set_experiment(build_experiment(v.spec, engine_ready=w.controller.engine_ready))
            return True
        race = self.controller()
        try:
            race.start_specs(
                [v.spec for v in lesson.variants],
                [v.title for v in lesson.variants],
                [v.steps for v in lesson.variants],
                lesson_id,
            )
        except PlaygroundError as e:
            w.show_error(str(e))
            return False
        self.enter(layout)
        show_lesson_views(w, race, lesson)  # "views": e.g. the loss landscape of its first variant
        w.statusBar().showMessage(f"Lesson: {lesson.title}. Press Run to train every variant.", 8000)
        return True

    def _open_gan_lesson(self, lesson_id: str) -> bool:
        """GAN mode's window with the lesson's text and its variants' race, ready to run."""
        w = self.window
        w.open_gan_window()
        try:
            return w.gan_window.show_lesson(lesson_id)
        except PlaygroundError as e:
            w.show_error(str(e))
            return False

    def run_lesson(self, lesson_id: str) -> None:
        """The lesson panel's Run: load the lesson if it is not showing, then train it (again)."""
        if LESSONS[lesson_id].is_gan:
            gan = self.window.gan_window
            if gan is None or not gan.isVisible() or gan.lesson_id != lesson_id:
                if not self._open_gan_lesson(lesson_id):
                    return
            self.window.gan_window.run_lesson()
            return
        if self.race is None or self.race.lesson_id != lesson_id or not self.active:
            if not self.load_lesson(lesson_id):
                return
        if len(LESSONS[lesson_id].variants) == 1:
            self.window.controller.play()
            return
        if all(
            f is not None and m.stop_at and f.step >= m.stop_at
            for m, f in zip(self.race.members, self.race.frames)
        ):
            self.race.reset()  # finished: run it again from the start
        self.race.play()

    def shutdown(self, timeout_ms: int) -> None:
        if self.race is not None:
            self.race.shutdown(timeout_ms=timeout_ms)


def _undo_actions(window) -> list:
    """Edit > Undo and Redo (of the single experiment), where the window has them."""
    return [a for a in (getattr(window, "undo_action", None), getattr(window, "redo_action", None)) if a]
