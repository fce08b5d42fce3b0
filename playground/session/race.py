"""Race sessions: several experiments in one ``*.playground`` file (docs/SESSION_FORMAT.md).

The first member is stored exactly like a single-experiment session (so ``load`` of a race
file opens its first member); member ``i >= 1`` is a complete session under the prefix
``race/<i>/`` (its own ``race/<i>/session.json`` and arrays). The top-level document lists
them all in ``"race"``::

    "race": [{"prefix": "", "label": "lr 0.001", "overrides": {"training.optimizer.lr": 0.001}},
             {"prefix": "race/1/", "label": "lr 0.1", "overrides": {...}}, ...]

>>> save_race([exp_a, exp_b], "race.playground", labels=["lr 0.01", "lr 0.1"])  # doctest: +SKIP
>>> [e.provenance.race_label for e in load_race("race.playground")]               # doctest: +SKIP

Never imports Qt.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from playground.errors import SessionError
from playground.session.archive import Archive, atomic_write, write_npy_member, write_text_member
from playground.session.document import (
    DOCUMENT,
    _build_document,
    _collect_arrays,
    experiment_from_document,
    load,
    read_document,
)

MAX_MEMBERS = 16
MAX_LABEL = 200

__all__ = ["MAX_MEMBERS", "save_race", "load_race", "is_race_file", "member_prefix"]


def member_prefix(i: int) -> str:
    """Where race member ``i`` lives in the archive ("" for the first one)."""
    return "" if i == 0 else f"race/{i}/"


def _plain(value, what: str, fname: str):
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise SessionError(f"{fname}: the race {what} is not plain JSON data ({e})") from None


def save_race(
    experiments: list,
    path: str | os.PathLike,
    labels: list[str] | None = None,
    overrides: list[dict] | None = None,
    view: dict | None = None,
) -> Path:
    """Write every experiment of a race to one session file, atomically.

    ``labels`` name each member (legend text), ``overrides`` the dotted-path settings that
    made it (both plain JSON, for the app); ``view`` is the app's view state.
    """
    path = Path(path)
    n = len(experiments)
    if not 1 <= n <= MAX_MEMBERS:
        raise SessionError(f"{path.name}: a race has 1 to {MAX_MEMBERS} experiments, not {n}")
    labels = [
        str(x) for x in (labels or [e.spec.name or f"variant {i + 1}" for i, e in enumerate(experiments)])
    ]
    overrides = overrides or [{} for _ in experiments]
    if len(labels) != n or len(overrides) != n:
        raise SessionError(f"{path.name}: give one label and one overrides dict per experiment")
    view = _plain(view, "view state", path.name) if view is not None else None
    race = [
        {
            "prefix": member_prefix(i),
            "label": labels[i][:MAX_LABEL],
            "overrides": _plain(o, "overrides", path.name),
        }
        for i, o in enumerate(overrides)
    ]
    parts = []
    for i, exp in enumerate(experiments):
        arrays, data_doc = _collect_arrays(exp)
        doc = _build_document(exp, arrays, data_doc, view)
        if i == 0:
            doc["race"] = race
        text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False)
        parts.append((member_prefix(i), text, arrays, doc))

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for prefix, text, _arrays, _doc in parts:  # every session.json first: cheap to peek
                write_text_member(zf, prefix + DOCUMENT, text)
            for prefix, _text, arrays, _doc in parts:
                for name, arr in arrays.items():
                    write_npy_member(zf, prefix + name, arr)

    try:
        atomic_write(path, write)
    except OSError as e:
        raise SessionError(f"{path.name}: cannot save the race ({e.strerror or e})") from None
    for exp, (_p, _t, _a, doc) in zip(experiments, parts):
        exp.provenance.path = path.resolve()
        exp.provenance.view_state = view
        exp.provenance.created = doc["created"]
    return path


class _Member:
    """A read-only view of an Archive under a prefix: looks like an Archive to the loader."""

    def __init__(self, ar: Archive, prefix: str):
        self._ar, self._prefix = ar, prefix
        self.fname = f"{ar.fname} [{prefix.rstrip('/')}]" if prefix else ar.fname
        self.limits = ar.limits
        self.infos = {n[len(prefix) :]: i for n, i in ar.infos.items() if n.startswith(prefix)}

    def has(self, name: str) -> bool:
        return name in self.infos

    def read_bytes(self, name: str, max_bytes: int | None = None) -> bytes:
        return self._ar.read_bytes(self._prefix + name, max_bytes)

    def read_array(self, name: str, dtype: str, shape: tuple[int, ...]):
        return self._ar.read_array(self._prefix + name, dtype, shape)


def _race_list(doc: dict, fname: str) -> list[dict] | None:
    race = doc.get("race")
    if race is None:
        return None
    if not isinstance(race, list) or not 1 <= len(race) <= MAX_MEMBERS:
        raise SessionError(f"{fname}: {DOCUMENT} field 'race' must list 1 to {MAX_MEMBERS} members")
    for i, m in enumerate(race):
        where = f"{fname}: {DOCUMENT} field 'race[{i}]'"
        if not isinstance(m, dict):
            raise SessionError(f"{where} must be an object")
        if m.get("prefix") != member_prefix(i):
            raise SessionError(f"{where}.prefix must be {member_prefix(i)!r}")
        if not isinstance(m.get("label", ""), str) or len(m.get("label", "")) > MAX_LABEL:
            raise SessionError(f"{where}.label must be a string of at most {MAX_LABEL} characters")
        if not isinstance(m.get("overrides", {}), dict):
            raise SessionError(f"{where}.overrides must be an object")
    return race


def is_race_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a session holding a race (reads only its session.json)."""
    try:
        with Archive(Path(path)) as ar:
            return _race_list(read_document(ar), ar.fname) is not None
    except (SessionError, OSError):
        return False


def load_race(path: str | os.PathLike) -> list:
    """Every experiment of a race file (exact resume), in order; each has
    ``provenance.race_label`` and ``provenance.race_overrides``. An ordinary session or spec
    file gives a list of one experiment (``race_label`` None)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(2)
    except OSError as e:
        raise SessionError(f"{p}: cannot open ({e.strerror or e})") from None
    if head != b"PK":
        exp = load(p)
        exp.provenance.race_label, exp.provenance.race_overrides = None, {}
        return [exp]
    out = []
    with Archive(p) as ar:
        doc = read_document(ar)
        race = _race_list(doc, ar.fname)
        entries = race if race is not None else [{"prefix": "", "label": None, "overrides": {}}]
        for i, m in enumerate(entries):
            view = _Member(ar, m["prefix"])
            if i == 0:
                sub = doc
            else:
                if not view.has(DOCUMENT):
                    raise SessionError(f"{ar.fname}: member {m['prefix'] + DOCUMENT!r} is missing")
                sub = read_document(view)
            exp = experiment_from_document(view, sub, p)
            exp.provenance.race_label = m.get("label")
            exp.provenance.race_overrides = dict(m.get("overrides") or {})
            out.append(exp)
    return out
