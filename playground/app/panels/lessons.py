"""The lessons panel: the shipped lessons (playground.lessons.LESSONS) and the chosen one's text.

Choosing a lesson emits ``lessonChosen(id)`` (the window loads its variants into race mode);
"Run" emits ``runRequested(id)`` (load if needed, then train every variant for the lesson's
steps). A GAN lesson opens in GAN mode's window instead (``race/mode.py`` routes it). The
panel only shows text; it keeps no experiment state.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from playground.lessons import LESSONS, Lesson


def lesson_html(lesson: Lesson) -> str:
    """The lesson as readable HTML: title, claim, what to watch, and its variants."""
    e = html.escape
    unit = "iterations" if lesson.is_gan else "steps"
    variants = "".join(
        f"<li>{e(v.title)} <span style='color:gray'>({v.steps:,} {unit})</span></li>" for v in lesson.variants
    )
    claim = f"<p><i>{e(lesson.claim)}</i></p>" if lesson.claim else ""
    where = "<p><i>A GAN lesson: it opens in GAN mode's window.</i></p>" if lesson.is_gan else ""
    return (
        f"<h3>{e(lesson.title)}</h3>{claim}{where}"
        f"<p><b>What to watch</b></p><p>{e(lesson.text)}</p>"
        f"<p><b>Variants</b></p><ul>{variants}</ul>"
    )


MIN_WIDTH = 220  # px: ~28 characters a line


class LessonsPanel(QWidget):
    lessonChosen = Signal(str)
    runRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setMaximumHeight(170)
        self.list.setWordWrap(True)
        for lid, lesson in LESSONS.items():
            item = QListWidgetItem(lesson.title)
            item.setData(Qt.ItemDataRole.UserRole, lid)
            item.setToolTip(lesson.claim)
            self.list.addItem(item)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setPlaceholderText("Choose a lesson above: its variants open side by side in race mode.")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Train every variant of the lesson together, for the lesson's steps")
        self.run_button.setEnabled(False)
        hint = QLabel("Lessons")
        hint.setObjectName("metric")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(hint)
        lay.addWidget(self.list)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.run_button)
        # room for the lesson's words: beside a race the dock is squeezed to its minimum, and a
        # text browser's own is a few pixels (a word or two a line, titles broken mid-word)
        self.setMinimumWidth(MIN_WIDTH)
        self.current_id: str | None = None
        self.list.itemActivated.connect(self._on_item)
        self.list.itemClicked.connect(self._on_item)
        self.run_button.clicked.connect(self._on_run)

    def show_lesson(self, lesson_id: str) -> None:
        """Show a lesson's text and select it in the list (without emitting)."""
        lesson = LESSONS[lesson_id]
        self.current_id = lesson_id
        self.text.setHtml(lesson_html(lesson))
        self.run_button.setEnabled(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == lesson_id:
                self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)

    @Slot(QListWidgetItem)
    def _on_item(self, item: QListWidgetItem) -> None:
        lid = item.data(Qt.ItemDataRole.UserRole)
        if lid != self.current_id:
            self.show_lesson(lid)
            self.lessonChosen.emit(lid)

    @Slot()
    def _on_run(self) -> None:
        if self.current_id:
            self.runRequested.emit(self.current_id)


if __name__ == "__main__":  # quick look: python -m playground.app.panels.lessons
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    panel = LessonsPanel()
    panel.show_lesson(next(iter(LESSONS)))
    panel.resize(380, 640)
    panel.show()
    app.exec()
