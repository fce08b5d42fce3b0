"""Autosave and crash recovery: a per-user folder of recent ``*.playground`` snapshots.

The app calls ``write_recovery(experiment)`` every few minutes and on quit, and offers
``newest_recovery()`` after a crash (then ``clear_recovery()`` once the user decided).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import time
from pathlib import Path

from playground.errors import SessionError

ENV_VAR = "PLAYGROUND_RECOVERY_DIR"
KEEP_PER_NAME = 3  # newest snapshots kept for each name ("autosave", "race-2", ...)
KEEP_TOTAL = 20
SUFFIX = ".playground"
_counter = itertools.count()


def recovery_dir() -> Path:
    """The per-user recovery folder (not created here).

    $PLAYGROUND_RECOVERY_DIR if set; Linux: $XDG_STATE_HOME (or ~/.local/state)
    /neural-playground/recovery; Windows: %LOCALAPPDATA%\\NeuralPlayground\\recovery;
    macOS: ~/Library/Application Support/NeuralPlayground/recovery.
    """
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "NeuralPlayground" / "recovery"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "NeuralPlayground" / "recovery"
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state and Path(state).is_absolute() else home / ".local" / "state"
    return base / "neural-playground" / "recovery"


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60]
    return cleaned or "autosave"


def _snapshots(folder: Path) -> list[Path]:
    try:
        return [
            p for p in folder.iterdir() if p.suffix == SUFFIX and p.is_file() and not p.name.startswith(".")
        ]
    except OSError:
        return []


def _age_key(p: Path):
    try:
        return (p.stat().st_mtime_ns, p.name)
    except OSError:
        return (0, p.name)


def write_recovery(experiment, view: dict | None = None, name: str = "autosave") -> Path:
    """Save a recovery snapshot atomically; keeps the newest few per name. Returns its path."""
    from playground.session.document import save

    folder = recovery_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SessionError(f"cannot create the recovery folder {folder}: {e.strerror or e}") from None
    safe = _safe_name(name)
    stamp = f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}"
    path = folder / f"{safe}--{stamp}{SUFFIX}"
    save(experiment, path, view=view, remember=False)
    _prune(folder, safe)
    return path


def _prune(folder: Path, safe: str) -> None:
    from playground.session.archive import clean_stale_temps, temp_name_pattern

    # every snapshot has a new name, so a killed autosave's temp file is never cleaned by
    # saving that name again: clean the stale temps of any snapshot here
    clean_stale_temps(folder / "x", temp_name_pattern(ending=SUFFIX))
    snaps = sorted(_snapshots(folder), key=_age_key, reverse=True)
    mine = [p for p in snaps if p.name.startswith(f"{safe}--")]
    doomed = set(mine[KEEP_PER_NAME:]) | set(snaps[KEEP_TOTAL:])
    for p in doomed:
        with contextlib.suppress(OSError):
            p.unlink()


def newest_recovery() -> Path | None:
    """The newest recovery snapshot, or None."""
    snaps = _snapshots(recovery_dir())
    return max(snaps, key=_age_key) if snaps else None


def list_recovery() -> list[Path]:
    """All recovery snapshots, newest first."""
    return sorted(_snapshots(recovery_dir()), key=_age_key, reverse=True)


def clear_recovery() -> None:
    """Delete every recovery snapshot (and temp files a crashed save left behind)."""
    folder = recovery_dir()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for p in entries:
        if p.is_file() and (p.suffix == SUFFIX or (p.name.startswith(".") and p.name.endswith(".tmp"))):
            with contextlib.suppress(OSError):
                p.unlink()
