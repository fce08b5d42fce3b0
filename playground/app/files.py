"""File operations of the main window: open, save, export, recovery.

Every operation takes a path (tests call them directly); the window's menu slots only put a
file dialog around them, and errors go to the window's message box. :class:`SessionFiles`
reads and writes through ``playground.session``; the training thread owns the experiment, so
saving and exporting run there (``controller.call_in_worker``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QRect, QTimer, Slot
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QMessageBox, QWidget

from playground import session
from playground.errors import PlaygroundError, SessionError
from playground.spec import default_spec

from . import settings, theme
from .controller import build_experiment

SESSION_FILTER = "Neural Playground sessions (*.playground)"
CSV_FILTER = "CSV files (*.csv)"
RECOVERY_INTERVAL_MS = 60_000


class SessionFiles(QObject):
    """Open, save and export for a :class:`~playground.app.main_window.MainWindow`, and the
    recovery file written every minute while there are unsaved changes."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        self.recovery_timer = QTimer(self)
        self.recovery_timer.setInterval(RECOVERY_INTERVAL_MS)
        self.recovery_timer.timeout.connect(self.write_recovery)
        self.recovery_timer.start()

    # -- sessions ------------------------------------------------------------------------------
    def new_experiment(self) -> None:
        c = self.controller
        c.pause()
        c.set_experiment(build_experiment(default_spec(), engine_ready=c.engine_ready))
        c.mark_saved(None)
        self.window.update_title()

    def open_session(self, path: str) -> bool:
        """Open a ``.playground`` file (one experiment or a race); errors go to a message box.
        Returns whether it worked."""
        w = self.window
        self.controller.pause()
        try:
            exps = session.load_race(path)
        except (PlaygroundError, OSError, ValueError) as e:
            w.show_error(str(e) if isinstance(e, PlaygroundError) else f"Cannot open {path}: {e}")
            return False
        if len(exps) > 1:
            w.race_mode.open(exps, path)
            self._remember(path, f"Opened the race {path}")
            return True
        if w.racing:
            w.race_mode.exit()
        exp = exps[0]
        self.controller.set_experiment(exp)
        w.apply_view_state(exp.provenance.view_state or {})
        self._remember(path, f"Opened {path}")
        return True

    def save_session(self, path: str) -> bool:
        """Save the experiment (in race mode: the race) to ``path``; errors go to a message box."""
        if self.window.racing:
            return self.save_race(path)
        view_state = self.window.view_state()
        name = self.controller.spec.name

        def _save(exp):
            if exp.spec.name != name:
                exp.spec = replace(exp.spec, name=name)
            session.save(exp, path, view_state=view_state)

        try:
            self.controller.call_in_worker(_save)
        except (PlaygroundError, OSError, TimeoutError) as e:
            return self._save_failed(path, e)
        return self._remember(path, f"Saved {path}")

    def save_race(self, path: str) -> bool:
        try:
            self.window.race.save(path, {"theme": theme.current().name})
        except (PlaygroundError, OSError, TimeoutError) as e:
            return self._save_failed(path, e)
        return self._remember(path, f"Saved the race to {path}")

    def _save_failed(self, path, error: Exception) -> bool:
        text = str(error) if isinstance(error, PlaygroundError) else f"Cannot save {path}: {error}"
        self.window.show_error(text)
        return False

    def _remember(self, path, message: str) -> bool:
        """After an open or a save: the experiment is clean at ``path``, a recent file."""
        self.controller.mark_saved(str(path))
        settings.add_recent_file(str(path))
        settings.set_last_folder("sessions", path)
        self.window.update_title()
        self.window.statusBar().showMessage(message, 5000)
        return True

    # -- exports -------------------------------------------------------------------------------
    def export_history_csv(self, path: str) -> bool:
        try:
            text = self.controller.call_in_worker(lambda exp: exp.history.csv_text()).encode("utf-8")
            session.atomic_write(path, lambda f: f.write(text))  # never a half-written file
        except (OSError, TimeoutError) as e:
            self.window.show_error(f"Cannot write {path}: {e}")
            return False
        settings.set_last_folder("exports", path)
        self.window.statusBar().showMessage(f"History written to {path}", 5000)
        return True

    def export_plot(self, widget, path: str) -> bool:
        """Write one plot as PNG (pyqtgraph ImageExporter, 2x resolution) or SVG (by the suffix)."""
        import pyqtgraph.exporters as ex

        try:
            if str(path).lower().endswith(".svg"):
                export_svg(widget, str(path))
            else:
                item = widget.getPlotItem()
                exporter = ex.ImageExporter(item)
                exporter.parameters()["width"] = max(800, int(item.sceneBoundingRect().width() * 2))
                exporter.export(str(path))
        except (OSError, ValueError) as e:
            self.window.show_error(f"Cannot export the plot to {path}: {e}")
            return False
        if not Path(path).exists():
            self.window.show_error(f"Cannot export the plot to {path}")
            return False
        settings.set_last_folder("exports", path)
        self.window.statusBar().showMessage(f"Plot written to {path}", 5000)
        return True

    # -- recovery ------------------------------------------------------------------------------
    @Slot()
    def write_recovery(self) -> None:
        if not self.controller.is_dirty():
            return
        try:
            self.controller.call_in_worker(session.write_recovery, timeout=5.0)
        except Exception as e:  # recovery is best effort; never interrupt the user
            print(f"warning: could not write the recovery file: {e}", file=sys.stderr)

    def offer_recovery(self) -> None:
        """After a crash: offer the newest recovery file written since the last clean exit."""
        try:
            path = session.newest_recovery()
        except (PlaygroundError, OSError):
            return
        if not path or os.path.getmtime(path) <= settings.last_clean_exit():
            return
        answer = self.window.ask(
            "Restore your work?",
            "Neural Playground did not close properly last time. Restore the experiment it recovered?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            try:
                exp = session.load(path)
            except (PlaygroundError, SessionError, OSError) as e:
                self.window.show_error(str(e))
                return
            self.controller.set_experiment(exp)
            self.controller.path = None

    def stop(self) -> None:
        self.recovery_timer.stop()


def export_svg(widget: QWidget, path: str) -> None:
    """Vector export through QSvgGenerator: pyqtgraph 0.14's SVGExporter fails on the closed paths
    Qt 6.11 writes ("not enough values to unpack")."""
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(widget.size())
    gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle("Neural Playground plot")
    painter = QPainter(gen)
    try:
        widget.render(painter)
    finally:
        painter.end()
