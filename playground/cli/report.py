"""`playground report SESSION --out DIR`: the one-click report without the window.

The spec in words, the metrics tables and the history CSV need only the core
(``playground.report``). The figures need Qt: the command builds the app's window offscreen
(``QT_QPA_PLATFORM=offscreen``, no screen needed) on the session, waits for its first
snapshot, and draws the same figures File > Save Report… does. Where Qt cannot start (not
installed, no offscreen platform) or ``--no-figures`` is given, the report is written
without figures and says why, on stderr and at the top of the page.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from playground.errors import PlaygroundError

SNAPSHOT_TIMEOUT_S = 120.0  # the offscreen window's first snapshot (a cold compile is slow)


def add_report_parser(subparsers) -> None:
    r = subparsers.add_parser(
        "report", help="an HTML report of a session: the spec in words, metrics, history CSV, figures"
    )
    r.add_argument("file", help="a .playground session (or a spec JSON: its initial weights)")
    r.add_argument(
        "--out", required=True, help="the report's folder (created; a previous report is replaced)"
    )
    r.add_argument("--no-figures", action="store_true", help="skip the figures (no Qt needed)")
    r.set_defaults(func=lambda args: cmd_report(args.file, args.out, figures=not args.no_figures))


def cmd_report(path, out, figures: bool = True) -> int:
    """Write the report of the session ``path`` into the folder ``out``; 0, or 2 after one line."""
    from playground.cli.session import _failed
    from playground.report import report_data, write_report
    from playground.session import load

    try:
        exp = load(path)
        notes = []
        written = None
        if figures:
            written, why = _with_figures(exp, out)
            if written is None:
                notes.append(f"No figures: {why}")
        else:
            notes.append("No figures (--no-figures).")
        if written is None:
            written = write_report(report_data(exp), out, notes=notes)
    except (PlaygroundError, OSError, MemoryError) as e:
        return _failed(e, path)
    for n in notes:
        print(f"playground report: {n}", file=sys.stderr)
    print(f"report: {Path(written) / 'index.html'}")
    return 0


def _with_figures(exp, out) -> tuple[Path | None, str]:
    """(the report written with figures, "") or (None, why Qt could not draw them)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as e:
        return None, f"Qt is not available ({e})"
    app = QApplication.instance() or QApplication(["playground-report"])
    if app.platformName() != "offscreen" and not os.environ.get("DISPLAY") and sys.platform == "linux":
        return None, f"no screen and the Qt platform is {app.platformName()!r}"
    from playground.app.controller import ExperimentController
    from playground.app.dialogs.report import write_window_report
    from playground.app.main_window import MainWindow

    controller = ExperimentController(exp.spec, warm_up=False)
    window = None
    try:
        controller.set_experiment(exp)
        window = MainWindow(controller)
        window.resize(1440, 900)
        window.show()
        if not _wait(app, lambda: _caught_up(controller, exp)):
            return None, f"the offscreen window had no picture after {SNAPSHOT_TIMEOUT_S:.0f} s"
        _wait(app, lambda: False, 0.3)  # the views' frame timers draw the last snapshot
        return write_window_report(window, out), ""
    finally:
        controller.shutdown()
        if window is not None:
            window.hide()
            window.deleteLater()
        app.processEvents()


def _caught_up(controller, exp) -> bool:
    snap = controller.last_snapshot
    return snap is not None and snap.step == exp.step and len(controller.live) == len(exp.history)


def _wait(app, done, seconds: float = SNAPSHOT_TIMEOUT_S) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.01)
    return done()


__all__ = ["add_report_parser", "cmd_report"]
