"""One background job with progress and cancel, for every dialog (CSV reads, sweeps).

A :class:`Task` runs ``fn(state)`` in its own thread; ``fn`` reports through its
:class:`TaskState` and looks there whether it was cancelled. The result, the error or the
progress come back as queued signals to GUI-thread slots. As Orange's ``TaskState``
(``Orange/widgets/utils/concurrent.py``) or a ``concurrent.futures.Future``: the job knows
nothing of the dialog, the dialog nothing of the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal


class Cancelled(Exception):
    """Raised by :meth:`TaskState.progress` once the task was cancelled: the job ends quietly."""


class TaskState:
    """What a running job sees of its task: report progress, ask whether it was cancelled."""

    def __init__(self, task: Task):
        self._task = task

    def is_cancelled(self) -> bool:
        return self._task.is_cancelled()

    def report(self, value) -> None:
        """Send ``value`` (a fraction, a tuple: whatever the dialog's slot takes) to ``progressed``."""
        self._task.progressed.emit(value)

    def progress(self, fraction: float) -> None:
        """A progress callback for core code: raises :class:`Cancelled` once cancelled, else reports."""
        if self.is_cancelled():
            raise Cancelled
        self.report(float(fraction))


class Task(QThread):
    """Runs ``fn(state)`` once in a thread: ``succeeded(result)``, ``failed(exception)`` or
    nothing (cancelled); ``progressed(value)`` meanwhile.

    A cancelled job that still returns delivers its result only with ``keep_partial`` (a sweep
    shows the runs it finished); otherwise a cancelled job's result is dropped.
    """

    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        fn: Callable[[TaskState], object],
        parent: QObject | None = None,
        name: str | None = None,
        keep_partial: bool = False,
    ):
        super().__init__(parent)
        if name:
            self.setObjectName(name)
        self.fn = fn
        self.keep_partial = keep_partial
        self.state = TaskState(self)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            result = self.fn(self.state)
        except Cancelled:
            return
        except Exception as e:  # noqa: BLE001 - the dialog shows it; a job never kills the app
            self.failed.emit(e)
            return
        if self.keep_partial or not self.is_cancelled():
            self.succeeded.emit(result)


__all__ = ["Cancelled", "Task", "TaskState"]
