"""Help > a topic (``help_texts``) and Help > About."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

import playground

from .. import help_texts


def show_help(parent: QWidget, key: str) -> QDialog:
    """Help > a topic: its text in a non-modal dialog."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(help_texts.TOPICS[key][0])
    dlg.resize(520, 360)
    lay = QVBoxLayout(dlg)
    text = QTextBrowser()
    text.setOpenExternalLinks(False)
    text.setHtml(help_texts.topic_html(key))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dlg.close)
    lay.addWidget(text)
    lay.addWidget(buttons)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.show()
    return dlg


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        "About Neural Playground",
        f"<h3>Neural Playground {playground.__version__}</h3>"
        "<p>Watch neural networks learn by gradient descent: build a network, train it live, "
        "see the decision boundary, the losses and the gradients.</p>"
        "<p>Colours follow TensorFlow Playground: orange for negative / class 0, "
        "blue for positive / class 1.</p>",
    )
