"""The desktop app (PySide6 + pyqtgraph). Imports the core; the core never imports this.

Entry point: :func:`playground.app.main.main`. The window is built from one
:class:`~playground.app.controller.ExperimentController`; training runs in
:mod:`playground.app.worker` and only snapshots cross threads.
"""
