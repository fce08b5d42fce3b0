"""GanWindow: GAN mode in a window of its own, with its File menu (open, save a
``*.playground-gan`` session) and Space to play / pause.

The main window opens it from its GAN menu (``open_gan_window``); closing it stops the
trainer thread. Run alone: ``python -m playground.app.gan.window``.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from playground.errors import PlaygroundError
from playground.gan.session import SUFFIX

from .controller import GanController
from .view import GanView

GAN_FILTER = f"GAN sessions (*{SUFFIX})"
THREAD_STOP_WAIT_MS = 15 * 60_000  # a kernel compile in the thread cannot be interrupted


class GanWindow(QMainWindow):
    def __init__(self, controller: GanController | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller or GanController(parent=self)
        self.view = GanView(self.controller)
        self.setCentralWidget(self.view)
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

    def closeEvent(self, event) -> None:
        self.hide()
        self.controller.shutdown(timeout_ms=THREAD_STOP_WAIT_MS)
        event.accept()


def main() -> int:
    import sys

    from PySide6.QtWidgets import QApplication

    sys.setswitchinterval(0.001)  # as the app does: the trainer thread waits less for the GIL
    app = QApplication.instance() or QApplication(sys.argv)
    w = GanWindow()
    w.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
