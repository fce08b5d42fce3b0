"""Start the app: ``neural-playground`` (or ``playground`` with no arguments).

``--smoke-test`` opens the window on the demo, waits for the engine, trains ~3 s, prints
``window_shown_s=…``, ``frames_per_s=…``, ``steps_per_s=…`` (and the headless engine's speed
on the same demo for comparison) and exits 0; it works with ``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import os
import sys
import time

_IMPORT_TIME = time.perf_counter()


def seconds_since_process_start() -> float:
    """Wall time since the process started (Linux: from /proc; elsewhere: since this import)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): starttime in clock ticks since boot
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORT_TIME


def _wait(app, condition, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def _headless_steps_per_s(seconds: float = 1.5) -> float:
    from playground.experiment import Experiment
    from playground.spec import default_spec

    exp = Experiment(default_spec())
    exp.train(steps=100)
    t0, s0 = time.perf_counter(), exp.step
    while time.perf_counter() - t0 < seconds:
        exp.train(steps=2000)
    return (exp.step - s0) / (time.perf_counter() - t0)


def smoke_test(app, window) -> int:
    c = window.controller
    window.show()
    app.processEvents()
    shown = seconds_since_process_start()
    if not _wait(app, lambda: c.engine_ready, 180.0):
        print("smoke test: the engine did not get ready", file=sys.stderr)
        return 1
    _wait(app, lambda: c.last_snapshot is not None, 10.0)
    c.play()
    _wait(app, lambda: c.last_snapshot is not None and c.last_snapshot.step > 0, 10.0)
    frames0, t0 = window.plots.frames, time.perf_counter()
    step0 = c.last_snapshot.step
    _wait(app, lambda: False, 3.0)
    dt = time.perf_counter() - t0
    frames = window.plots.frames - frames0
    steps = c.last_snapshot.step - step0
    c.pause()
    _wait(app, lambda: False, 0.2)
    headless = _headless_steps_per_s()
    print(f"window_shown_s={shown:.2f}")
    print(f"frames_per_s={frames / dt:.1f}")
    print(f"steps_per_s={steps / dt:.0f}")
    print(f"headless_steps_per_s={headless:.0f}")
    print(f"app_vs_headless={steps / dt / headless:.2f}")
    c.mark_saved(c.path)  # nothing to ask about on close
    window.close()
    return 0 if steps > 0 and frames > 0 else 1


GIL_SWITCH_S = 0.001


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    smoke = "--smoke-test" in argv
    # The GUI thread paints in Python while the trainer thread needs the GIL between its nogil
    # kernel calls: hand it over every 1 ms instead of 5 (smoke test, 5 runs each on this
    # 2-core machine: 30.2 frames/s at 0.75 of headless speed, against 27.9 at 0.68)
    sys.setswitchinterval(GIL_SWITCH_S)
    from PySide6.QtWidgets import QApplication

    from . import settings, theme
    from .controller import ExperimentController
    from .main_window import MainWindow, app_icon

    app = QApplication.instance() or QApplication([sys.argv[0]])
    if smoke:
        # a smoke test measures the default window: never the user's saved layout, and it
        # leaves their settings untouched
        import tempfile

        from PySide6.QtCore import QSettings

        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app.setOrganizationName(settings.ORGANIZATION)
    app.setApplicationName(settings.APPLICATION)
    app.setApplicationDisplayName("Neural Playground")
    app.setWindowIcon(app_icon())
    theme.apply_theme(settings.theme(), app)
    window = MainWindow(ExperimentController(), check_recovery=not smoke)
    if smoke:
        return smoke_test(app, window)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
