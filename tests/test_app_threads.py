"""No QThread or worker is destroyed while it runs: closing the window, leaving a race and
replacing the experiment while the kernels compile from an empty cache end the process cleanly.

Qt aborts the whole process ("QThread: Destroyed while thread is still running", then "Fatal
Python error: Aborted") when a thread object goes while its thread runs, so this runs the app in
a subprocess of its own, with an empty numba cache: every kernel compiles during the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, time
    from dataclasses import replace

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication([])

    from playground._numba_cache import kernel_cache_is_warm
    from playground.app.controller import ExperimentController, build_experiment
    from playground.app.main_window import MainWindow
    from playground.spec import default_spec

    def pump(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)

    print("cache_warm_at_start", kernel_cache_is_warm(), flush=True)
    window = MainWindow(ExperimentController())
    window.ask = lambda *a, **k: QMessageBox.StandardButton.Discard
    window.show()
    c = window.controller
    pump(0.3)  # the worker thread starts compiling the kernels
    print("engine_ready_at_play", c.engine_ready, flush=True)
    window.toolbar.play_action.trigger()  # Play while the engine compiles
    pump(0.2)
    spec = default_spec()
    # a race of float32 variants: their kernels are not the ones the warm-up compiles
    variants = [{"training.dtype": "float32", "training.optimizer.lr": lr} for lr in (0.003, 0.03)]
    assert window.start_race(variants), "the race did not start"
    window.race.play()  # the race thread compiles (or waits for numba's compiler lock)
    pump(0.2)
    window.exit_race()
    # replace the experiment: another optimizer and dtype, so the training worker compiles again
    other = replace(
        spec,
        training=replace(
            spec.training, dtype="float32", optimizer=replace(spec.training.optimizer, name="rmsprop")
        ),
    )
    c.set_experiment(build_experiment(other, engine_ready=c.engine_ready))
    c.play()
    pump(0.05)
    print("race_thread_running_at_close", window.race._thread.isRunning(), flush=True)
    print("training_thread_running_at_close", c._thread.isRunning(), flush=True)
    c.mark_saved(None)
    window.close()  # while the threads still compile and train
    print("closed", flush=True)
    assert not c._thread.isRunning() and not window.race._thread.isRunning()
    del window, c
    app.processEvents()
    print("done", flush=True)
    """
)


def test_closing_leaving_a_race_and_replacing_the_experiment_during_a_cold_compile(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        NUMBA_CACHE_DIR=str(cache),
        PLAYGROUND_NUMBA_CACHE_DIR=str(cache),
        PLAYGROUND_RECOVERY_DIR=str(tmp_path / "recovery"),
        PYTHONFAULTHANDLER="1",
    )
    env.pop("PLAYGROUND_FORCE_FROZEN_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=1200,  # a cold compile of everything on a busy machine; this is no speed check
    )
    out, err = proc.stdout, proc.stderr
    report = f"exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
    assert proc.returncode == 0, report
    assert "Fatal" not in err and "Destroyed while thread" not in err, report
    assert "cache_warm_at_start False" in out, report  # the compile really was cold
    assert "engine_ready_at_play False" in out, report  # Play was pressed during it
    assert "race_thread_running_at_close True" in out, report
    assert "closed" in out and "done" in out, report
