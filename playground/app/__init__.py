"""The desktop app (PySide6 + pyqtgraph). Imports the core; the core never imports this.

Entry point: :func:`playground.app.main.main`. The window (:mod:`.main_window`) is built from
one :class:`~playground.app.controller.ExperimentController`; training runs in
:mod:`playground.app.worker` and only snapshots cross threads. Rooms: :mod:`.panels` (the
window's panels), :mod:`.dialogs`, :mod:`.race` (race mode and lessons), :mod:`.files`
(open, save, export, recovery); helpers every view shares: :mod:`.plotting`, :mod:`.colors`,
:mod:`.theme`, :mod:`.tasks` (background jobs), :mod:`.pacing` (snapshot pacing). The layers
are an import-linter contract in ``pyproject.toml``.
"""
