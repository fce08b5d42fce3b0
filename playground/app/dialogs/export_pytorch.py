"""File > Export > PyTorch script…: the current experiment as a self-contained PyTorch script
with its weights and data beside it (``playground.export``, docs/EXPORT.md).

The export is built where the experiment may be read (``controller.call_in_worker``: between
the worker's training chunks), in memory; the three files are then written from the GUI
thread, each to a temporary file that is renamed, the script last. A failure shows its own
message in a message box and leaves no half-written file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from playground.app import settings
from playground.errors import PlaygroundError

TITLE = "Export PyTorch script"
FILTER = "Python scripts (*.py)"
BUILD_TIMEOUT = 60.0  # seconds the worker may take to build a large export


def export_pytorch_dialog(parent: QWidget, controller) -> list[Path] | None:
    """Ask where to write the script, then export; returns the files written (None if cancelled
    or failed)."""
    start = str(settings.last_folder("exports") / "model.py")
    path, _ = QFileDialog.getSaveFileName(parent, TITLE, start, FILTER)
    if not path:
        return None
    return export_pytorch_to(parent, controller, path)


def export_pytorch_to(parent: QWidget, controller, path: str) -> list[Path] | None:
    """Export the controller's experiment to ``path`` (``.py`` added if missing)."""
    from playground.export import build_export, script_stem, write_export

    if not path.lower().endswith(".py"):
        path += ".py"
    try:
        stem = script_stem(path)
        call = getattr(controller, "call_in_worker", None)
        if call is not None:
            export = call(lambda exp: build_export(exp, stem), BUILD_TIMEOUT)
        else:  # a stand-in controller without a worker (previews)
            export = build_export(controller.experiment, stem)
        written = write_export(export, path)
    except (PlaygroundError, OSError, TimeoutError, MemoryError) as e:
        show_failure(parent, path, e)
        return None
    settings.set_last_folder("exports", path)
    status = getattr(parent, "statusBar", None)
    if callable(status):
        status().showMessage(
            f"PyTorch script written to {path} (with {written[1].name}, {written[2].name})", 8000
        )
    return written


def show_failure(parent: QWidget, path: str, error: BaseException) -> QMessageBox:
    """A non-blocking message box with the error's own text (never a traceback)."""
    if isinstance(error, PlaygroundError):
        text = str(error)
    elif isinstance(error, TimeoutError):
        text = f"Cannot export {path}: the training thread did not answer in time; pause and try again"
    elif isinstance(error, MemoryError):
        text = f"Cannot export {path}: not enough memory"
    else:
        text = f"Cannot write {path}: {error.strerror or error}" if isinstance(error, OSError) else str(error)
    box = QMessageBox(QMessageBox.Icon.Warning, TITLE, text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from playground.app.preview import PreviewController

    app = QApplication.instance() or QApplication(sys.argv)
    window = QWidget()
    print(export_pytorch_dialog(window, PreviewController()))
