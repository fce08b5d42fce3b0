"""Errors the user can act on. Each says what is wrong and where."""

from __future__ import annotations


class PlaygroundError(Exception):
    """Base class: an error whose message is meant for the user, never a traceback."""


class SpecError(PlaygroundError):
    """An experiment spec field is unknown, of the wrong type or impossible.

    ``path`` is the dotted field path, e.g. ``training.optimizer.lr``.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class DataError(PlaygroundError):
    """Data could not be read or used. Names the file, row (1-based, as a text editor
    shows it) and column where known."""

    def __init__(
        self,
        message: str,
        file: str | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ):
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class SessionError(PlaygroundError):
    """A session file is broken, hostile, or from an unknown future version."""
