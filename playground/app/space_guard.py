"""Space plays and pauses, except while a text field has focus: one guard per application.

The toolbar (and the race view) register their Space shortcuts with :func:`space_guard`; while
an editable field has focus the shortcuts are off so Space types there, and a focused number
field swallows Space.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QWidget


def is_text_editor(widget: QWidget | None) -> bool:
    """Whether keys typed now go into an editable field (line edit, spin box, editable combo)."""
    from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QPlainTextEdit, QTextEdit

    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class SpaceGuard(QObject):
    """One per application (it lives as long as the QApplication, so no widget's teardown can
    call into a half-destroyed Python object): while a text field has focus, the registered
    Space shortcuts are off, so Space types there; in a focused number field, which has no use
    for a space, Space neither plays nor replaces the selected number with a blank."""

    def __init__(self, app: QApplication):
        super().__init__(app)
        self._actions: list[QAction] = []
        self._filtered: QWidget | None = None
        app.focusChanged.connect(self._on_focus_changed)

    def add(self, action: QAction) -> None:
        self._actions.append(action)
        action.destroyed.connect(self._forget)

    @Slot(QObject)
    def _forget(self, obj) -> None:
        self._actions = [a for a in self._actions if shiboken6.isValid(a) and a is not obj]

    @Slot(QWidget, QWidget)
    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        from PySide6.QtWidgets import QAbstractSpinBox

        space = QKeySequence() if is_text_editor(new) else QKeySequence(Qt.Key.Key_Space)
        for action in self._actions:
            if shiboken6.isValid(action) and action.shortcut() != space:
                action.setShortcut(space)
        old = self._filtered
        if old is not None and shiboken6.isValid(old):
            old.removeEventFilter(self)
        self._filtered = new if isinstance(new, QAbstractSpinBox) else None
        if self._filtered is not None:
            self._filtered.installEventFilter(self)  # one filter, on the focused spin box only

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        kind = event.type()
        if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            if event.key() == Qt.Key.Key_Space and not event.modifiers():
                event.accept()  # ShortcutOverride accepted: the Space shortcut does not fire
                return True
        return super().eventFilter(obj, event)


def space_guard() -> SpaceGuard:
    app = QApplication.instance()
    guard = app.findChild(SpaceGuard, "space_guard")
    if guard is None:
        guard = SpaceGuard(app)
        guard.setObjectName("space_guard")
    return guard
