"""Exercises: a session that carries a teacher's instructions and locks (no Qt).

An exercise is an ordinary ``.playground`` session whose ``view`` dict (the app's free-form,
JSON-only view state; the session format has no other metadata slot, and its writer is used
unchanged) holds one more key, ``"exercise"``::

    {"theme": "light", ..., "exercise": {"version": 1, "title": "Only the learning rate",
     "instructions": "Find a learning rate that ...", "locked": ["data.dataset", ...],
     "hidden": ["training.seed"]}}

The *start state* of the exercise is the session itself: its spec, weights, optimizer state
and history, exactly as the session writer stores them. Opening the file gives the student
that state; "back to the start" reloads it. Control ids are dotted names of the app's
controls ("training.optimizer.lr"); this module only checks their spelling, the app knows
which widget each names (``playground/app/exercise.py``), so an id the app no longer has is
ignored there rather than refused here (an old exercise still opens).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from playground.errors import SessionError

KEY = "exercise"
VERSION = 1
MAX_TEXT = 100_000  # characters of instructions
MAX_IDS = 500
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class Exercise:
    """A teacher's exercise: what the student reads and which controls they may not touch."""

    title: str = ""
    instructions: str = ""  # plain text or Markdown
    locked: tuple[str, ...] = ()  # control ids shown disabled
    hidden: tuple[str, ...] = ()  # control ids not shown at all
    version: int = field(default=VERSION)

    def __post_init__(self):
        object.__setattr__(self, "locked", tuple(self.locked))
        object.__setattr__(self, "hidden", tuple(self.hidden))

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "title": self.title,
            "instructions": self.instructions,
            "locked": list(self.locked),
            "hidden": list(self.hidden),
        }

    @classmethod
    def from_dict(cls, d, where: str = "exercise") -> Exercise:
        """Validate a stored exercise block; errors name the field (``exercise.locked[2]``)."""

        def fail(name: str, what: str):
            raise SessionError(f"{where}.{name}: {what}" if name else f"{where}: {what}")

        if not isinstance(d, dict):
            fail("", f"must be an object, not {type(d).__name__}")
        unknown = sorted(set(d) - {"version", "title", "instructions", "locked", "hidden"})
        if unknown:
            fail(unknown[0], "unknown field (this exercise is from a newer version?)")
        version = d.get("version", VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            fail("version", f"must be a positive whole number, not {version!r}")
        if version > VERSION:
            fail("version", f"is {version}; this version of Neural Playground reads up to {VERSION}")
        texts = {}
        for name in ("title", "instructions"):
            v = d.get(name, "")
            if not isinstance(v, str):
                fail(name, f"must be text, not {type(v).__name__}")
            if len(v) > MAX_TEXT:
                fail(name, f"is {len(v):,} characters long (at most {MAX_TEXT:,})")
            texts[name] = v
        ids = {}
        for name in ("locked", "hidden"):
            v = d.get(name, [])
            if not isinstance(v, list):
                fail(name, f"must be a list of control ids, not {type(v).__name__}")
            if len(v) > MAX_IDS:
                fail(name, f"has {len(v):,} entries (at most {MAX_IDS})")
            for k, item in enumerate(v):
                if not isinstance(item, str) or not _ID.match(item):
                    fail(f"{name}[{k}]", f"{item!r} is not a control id like 'training.optimizer.lr'")
            ids[name] = tuple(dict.fromkeys(v))  # no duplicates, order kept
        return cls(texts["title"], texts["instructions"], ids["locked"], ids["hidden"], version)

    def is_locked(self, control: str) -> bool:
        return control in self.locked

    def is_hidden(self, control: str) -> bool:
        return control in self.hidden


def exercise_of(view: dict | None, where: str = "exercise") -> Exercise | None:
    """The exercise stored in a session's view state, or None (an ordinary session)."""
    if not isinstance(view, dict) or view.get(KEY) is None:
        return None
    return Exercise.from_dict(view[KEY], where)


def with_exercise(view: dict | None, exercise: Exercise | None) -> dict:
    """A copy of ``view`` carrying ``exercise`` (None removes it)."""
    out = dict(view or {})
    out.pop(KEY, None)
    if exercise is not None:
        out[KEY] = exercise.to_dict()
    return out


def save_exercise(experiment, path: str | os.PathLike, exercise: Exercise, view: dict | None = None) -> Path:
    """Write ``experiment`` (the start state) with ``exercise`` through the session writer."""
    from playground import session

    return session.save(experiment, path, view=with_exercise(view, exercise))


def load_exercise(path: str | os.PathLike):
    """(experiment, exercise or None) of a session file; a broken exercise block names the file."""
    from playground import session

    exp = session.load(path)
    return exp, exercise_of(exp.provenance.view_state, f"{Path(path).name}: exercise")
