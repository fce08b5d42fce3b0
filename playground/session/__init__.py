"""``*.playground`` session files: save/load/migrate/recover (layout: docs/SESSION_FORMAT.md).

>>> exp.save("run.playground", view={"zoom": 2})        # doctest: +SKIP
>>> exp2 = playground.load("run.playground")            # doctest: +SKIP
>>> exp2.train(steps=100)  # continues bit-for-bit as if never interrupted

Never imports Qt.
"""

from __future__ import annotations

from playground.errors import SessionError
from playground.session.archive import LIMITS, Limits, atomic_write
from playground.session.document import (
    DOCUMENT,
    FORMAT,
    MIGRATIONS,
    SESSION_SCHEMA_VERSION,
    SessionWarning,
    is_session_file,
    load,
    migrate_document,
    save,
)
from playground.session.race import is_race_file, load_race, save_race
from playground.session.recovery import (
    clear_recovery,
    list_recovery,
    newest_recovery,
    recovery_dir,
    write_recovery,
)

__all__ = [
    "DOCUMENT",
    "FORMAT",
    "LIMITS",
    "MIGRATIONS",
    "SESSION_SCHEMA_VERSION",
    "Limits",
    "SessionError",
    "SessionWarning",
    "atomic_write",
    "clear_recovery",
    "is_race_file",
    "is_session_file",
    "list_recovery",
    "load",
    "load_race",
    "migrate_document",
    "newest_recovery",
    "recovery_dir",
    "save",
    "save_race",
    "write_recovery",
]
