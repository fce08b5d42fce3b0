"""GanWindow: GAN mode in a window of its own, with its File menu (open, save a
``*.playground-gan`` session) and Space to play / pause.

The main window opens it from its GAN menu (``open_gan_window``); closing it stops the
trainer thread. A GAN lesson (``"mode": "gan"``, chosen from the main window's Lessons
menu) opens here too: ``show_lesson`` puts the lesson's text in a dock on the left and its
variants in the "Lesson race" tab (:class:`~.race_dialog.GanRaceView`: their generated
points side by side, modes covered over the iterations), ready to Run; any variant can be
opened in the Playground tab to step through it. Run alone: ``python -m
playground.app.gan.window [LESSON_ID]``.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from playground.errors import PlaygroundError
from playground.gan.session import SUFFIX

from .controller import GanController
from .race_dialog import GanRaceView
from .view import GanView

GAN_FILTER = f"GAN sessions (*{SUFFIX})"
THREAD_STOP_WAIT_MS = 15 * 60_000  # a kernel compile in the thread cannot be interrupted


class GanWindow(QMainWindow):
    def __init__(self, controller: GanController | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller or GanController(parent=self)
        self.view = GanView(self.controller)
        self.race_view = GanRaceView()  # a lesson's race, in its own tab once a lesson is open
        self.tabs = QTabWidget()
        self.tabs.addTab(self.view, "Playground")
        self.setCentralWidget(self.tabs)
        self.lesson_id: str | None = None
        self.lesson_dock: QDockWidget | None = None
        self.setWindowTitle("Neural Playground — GAN mode")
        self.resize(1280, 780)
        self.path: str | None = None
        f = self.menuBar().addMenu("&File")
        self._action(f, "&Open GAN Session…", self.open_dialog, QKeySequence.StandardKey.Open)
        self._action(f, "&Save GAN Session As…", self.save_dialog, QKeySequence.StandardKey.SaveAs)
        f.addSeparator()
        self._action(f, "&Close", self.close, QKeySequence.StandardKey.Close)
        t = self.menuBar().addMenu("&Train")
        self._action(t, "&Play / Pause", self.controller.toggle, "Space")
        self._action(t, "One &D Step", self.controller.d_step, "D")
        self._action(t, "One &G Step", self.controller.g_step, "G")
        self._action(t, "&Reset", self.controller.reset, "Ctrl+R")
        self.controller.statusMessage.connect(lambda m: self.statusBar().showMessage(m, 5000))

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(shortcut)
        a.triggered.connect(lambda _=False: slot())
        menu.addAction(a)
        return a

    # -- lessons ------------------------------------------------------------------------------
    def show_lesson(self, lesson_id: str) -> bool:
        """Show a GAN lesson: its text on the left, its variants in the Lesson race tab, ready
        to Run (the playground's experiment is left as it was)."""
        from playground.lessons import LESSONS

        lesson = LESSONS[lesson_id]
        if not lesson.is_gan:
            raise PlaygroundError(f"lesson {lesson_id!r} is not a GAN lesson")
        if self.lesson_dock is None:
            self._build_lesson_dock()
        self.lesson_id = lesson_id
        self.lesson_text.setHtml(gan_lesson_html(lesson))
        self.variant_combo.clear()
        for v in lesson.variants:
            self.variant_combo.addItem(v.title, v.name)
        self.race_view.set_variants(
            [(v.name, v.title, v.spec) for v in lesson.variants], lesson.steps, lesson.every
        )
        if self.tabs.indexOf(self.race_view) < 0:
            self.tabs.addTab(self.race_view, "Lesson race")
        self.tabs.setCurrentWidget(self.race_view)
        self.lesson_dock.setWindowTitle(f"Lesson: {lesson.title}")
        self.lesson_dock.show()
        self.setWindowTitle(f"Neural Playground — GAN mode — {lesson.title}")
        self.statusBar().showMessage(f"Lesson: {lesson.title}. Press Run to race its variants.", 8000)
        return True

    def run_lesson(self) -> bool:
        """Race the lesson's variants (again, from the start)."""
        if self.lesson_id is None:
            return False
        self.tabs.setCurrentWidget(self.race_view)
        return self.race_view.run()

    def open_variant(self, name: str | None = None) -> None:
        """Load a lesson variant into the Playground tab (to play it, step it, see its arrows)."""
        from playground.lessons import LESSONS

        if self.lesson_id is None:
            return
        lesson = LESSONS[self.lesson_id]
        v = lesson.variant(name or self.variant_combo.currentData())
        self.controller.set_spec(v.spec)
        self.tabs.setCurrentWidget(self.view)
        self.statusBar().showMessage(f"{v.title} in the playground: press Play, or step D and G.", 8000)

    def _build_lesson_dock(self) -> None:
        self.lesson_text = QTextBrowser()
        self.lesson_text.setOpenExternalLinks(False)
        self.lesson_run_button = QPushButton("Run the race")
        self.lesson_run_button.setToolTip("Train every variant from the same start, side by side")
        self.lesson_run_button.clicked.connect(self.run_lesson)
        self.variant_combo = QComboBox()
        open_button = QPushButton("Open in the playground")
        open_button.setToolTip("Train this variant alone, with the discriminator's heatmap and G's arrows")
        open_button.clicked.connect(lambda: self.open_variant())
        row = QHBoxLayout()
        row.addWidget(self.variant_combo, 1)
        row.addWidget(open_button)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.lesson_text, 1)
        lay.addWidget(self.lesson_run_button)
        lay.addLayout(row)
        self.lesson_dock = QDockWidget("Lesson", self)
        self.lesson_dock.setObjectName("gan_lesson_dock")
        self.lesson_dock.setWidget(box)
        self.lesson_dock.setMinimumWidth(300)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.lesson_dock)
        self.resizeDocks([self.lesson_dock], [340], Qt.Orientation.Horizontal)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open GAN Session", "", GAN_FILTER)
        if path:
            self.open_session(path)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save GAN Session", self.path or f"gan{SUFFIX}", GAN_FILTER
        )
        if path:
            self.save_session(path if path.endswith(SUFFIX) else path + SUFFIX)

    def open_session(self, path: str) -> bool:
        try:
            self.controller.open(path)
        except PlaygroundError as e:
            QMessageBox.warning(self, "Cannot open the GAN session", str(e))
            return False
        self.path = path
        return True

    def save_session(self, path: str) -> bool:
        try:
            self.controller.save(path)
        except (PlaygroundError, TimeoutError) as e:
            QMessageBox.warning(self, "Cannot save the GAN session", str(e))
            return False
        self.path = path
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        from ..presenter import presenter_on, set_presenter

        if presenter_on():  # opened in presenter mode: its plots' pens and points as the others'
            set_presenter(None, True)

    def closeEvent(self, event) -> None:
        self.hide()
        self.race_view.stop()
        self.view.close_race()  # the loss race's dialog and thread go with GAN mode
        self.controller.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        event.accept()


def gan_lesson_html(lesson) -> str:
    """A GAN lesson as readable HTML: title, claim, what to watch, its variants."""
    e = html.escape
    variants = "".join(f"<li>{e(v.title)}</li>" for v in lesson.variants)
    claim = f"<p><i>{e(lesson.claim)}</i></p>" if lesson.claim else ""
    return (
        f"<h3>{e(lesson.title)}</h3>{claim}"
        f"<p><b>What to watch</b></p><p>{e(lesson.text)}</p>"
        f"<p><b>Variants</b> ({lesson.steps:,} iterations each, from the same start)</p><ul>{variants}</ul>"
    )


def main() -> int:
    import sys

    from PySide6.QtWidgets import QApplication

    sys.setswitchinterval(0.001)  # as the app does: the trainer thread waits less for the GIL
    app = QApplication.instance() or QApplication(sys.argv)
    w = GanWindow()
    if len(sys.argv) > 1:
        w.show_lesson(sys.argv[1])
    w.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
