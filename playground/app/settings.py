"""User preferences and window state, stored with QSettings (tests isolate them in a tmp dir)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "NeuralPlayground"
APPLICATION = "Neural Playground"
MAX_RECENT = 8


def settings() -> QSettings:
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def theme() -> str:
    value = settings().value("view/theme", "light")
    return value if value in ("light", "dark") else "light"


def set_theme(name: str) -> None:
    settings().setValue("view/theme", name)


def recent_files() -> list[str]:
    value = settings().value("files/recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])][:MAX_RECENT]


def add_recent_file(path: str) -> list[str]:
    files = [path] + [f for f in recent_files() if f != path]
    settings().setValue("files/recent", files[:MAX_RECENT])
    return files[:MAX_RECENT]


def save_window(geometry: QByteArray, state: QByteArray | None) -> None:
    """Store the window geometry and dock layout (``state`` None: no layout, the default next time)."""
    s = settings()
    s.setValue("window/geometry", geometry)
    if state is None:
        s.remove("window/state")
    else:
        s.setValue("window/state", state)


def window_geometry() -> QByteArray | None:
    value = settings().value("window/geometry")
    return value if isinstance(value, QByteArray) else None


def window_state() -> QByteArray | None:
    value = settings().value("window/state")
    return value if isinstance(value, QByteArray) else None


def bool_value(key: str, default: bool) -> bool:
    value = settings().value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def set_value(key: str, value) -> None:
    settings().setValue(key, value)


def restore_view(panel) -> None:
    """Give a panel the view settings it remembers from the last launch (``view/<key>``)."""
    panel.apply_view_state({k: bool_value(f"view/{k}", d) for k, d in panel.REMEMBERED.items()})


def save_view(panel) -> None:
    """Remember a panel's view settings for the next launch."""
    state = panel.view_state()
    for key in panel.REMEMBERED:
        set_value(f"view/{key}", state[key])


def mark_clean_exit() -> None:
    settings().setValue("session/clean_exit", time.time())


def last_clean_exit() -> float:
    try:
        return float(settings().value("session/clean_exit", 0.0))
    except (TypeError, ValueError):
        return 0.0


def last_folder(kind: str) -> Path:
    """The folder a file dialog of this kind ("sessions", "exports") last used; home if none or gone."""
    value = settings().value(f"files/last_folder_{kind}", "")
    if isinstance(value, str) and value:
        folder = Path(value)
        if folder.is_dir():
            return folder
    return Path.home()


def set_last_folder(kind: str, path: str | Path) -> None:
    """Remember the folder of ``path`` (a file chosen in a dialog of this kind)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    settings().setValue(f"files/last_folder_{kind}", str(folder))
