"""Dialogs of the single experiment: CSV import (:mod:`.csv`) and parameter sweeps (:mod:`.sweep`).

Their slow work (reading a file, training a sweep) runs as one :class:`~playground.app.tasks.Task`.
"""
