"""Dialogs: CSV import (:mod:`.csv`), parameter sweeps (:mod:`.sweep`), help and about (:mod:`.help`).

Their slow work (reading a file, training a sweep) runs as one :class:`~playground.app.tasks.Task`.
The race set-up dialog lives with race mode (:mod:`playground.app.race.dialog`).
"""
