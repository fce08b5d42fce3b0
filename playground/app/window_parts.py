"""Small widgets of the main window: the divergence and warning banners, the central page stack."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QWidget

WARNING_TEXTS = {
    "not learning": "Not learning: the loss has stayed above where it started for many epochs. "
    "A smaller learning rate usually helps; training goes on.",
    "oscillating": "Oscillating: the loss keeps jumping up and down. "
    "A smaller learning rate usually steadies it; training goes on.",
}


class DivergenceBanner(QFrame):
    """A prominent, dismissible message with actions, shown when a run diverges."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.lower_button = QPushButton("Learning rate ÷ 10")
        self.lower_button.setToolTip("Continue from the last finite weights with a 10x smaller learning rate")
        self.reset_button = QPushButton("Reset")
        self.dismiss_button = QPushButton("Dismiss")
        lay.addWidget(self.label, 1)
        for b in (self.lower_button, self.reset_button, self.dismiss_button):
            lay.addWidget(b)
        self.dismiss_button.clicked.connect(self.hide)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class WarningBanner(QFrame):
    """A non-blocking note that training looks wrong ("not learning", "oscillating"); the run goes on.

    Dismissing it hides this warning until the experiment's warning changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.dismiss_button = QPushButton("Dismiss")
        lay.addWidget(self.label, 1)
        lay.addWidget(self.dismiss_button)
        self.warning: str | None = None
        self._dismissed: str | None = None
        self.dismiss_button.clicked.connect(self._dismiss)
        self.hide()

    def set_warning(self, warning: str | None) -> None:
        """Show (or hide, for None) the experiment's current warning."""
        if warning != self.warning:
            self.warning = warning
            if warning != self._dismissed:
                self._dismissed = None
        if warning is None or warning == self._dismissed:
            self.hide()
            return
        text = WARNING_TEXTS.get(warning, warning)  # a short key, or the engine's own sentence
        if self.label.text() != text:
            self.label.setText(text)
        if self.isHidden():
            self.show()

    def _dismiss(self) -> None:
        self._dismissed = self.warning
        self.hide()


class PageStack(QStackedWidget):
    """A stacked widget as small as its *current* page allows (QStackedWidget takes the largest
    minimum of all its pages, so the race view, once built, squeezed every dock beside the single
    experiment)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.currentChanged.connect(self._page_changed)

    def minimumSizeHint(self):
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()

    def sizeHint(self):
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    @Slot(int)
    def _page_changed(self, _index: int) -> None:
        self.updateGeometry()
