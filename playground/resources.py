"""Find the files under ``resources/`` from a source checkout and from a frozen app.

Layouts, tried in order (the first whose ``resources/`` folder exists wins):

1. ``$PLAYGROUND_RESOURCES`` (tests, unusual installs);
2. a PyInstaller app: ``sys._MEIPASS/resources`` (the spec bundles the repo's ``resources/`` there;
   in a macOS .app ``_MEIPASS`` is ``Contents/Frameworks``, which links to ``Contents/Resources``);
3. a source checkout (editable install included): ``<repo>/resources`` next to ``playground/``;
4. a wheel that shipped them as data files: ``<sys.prefix>/share/neural-playground/resources``.

No Qt here: the CLI and the core may use it too.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

ENV_VAR = "PLAYGROUND_RESOURCES"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
_PACKAGE_DIR = Path(__file__).resolve().parent


def is_frozen() -> bool:
    """True inside a PyInstaller (or similar) bundle."""
    return bool(getattr(sys, "frozen", False))


def _candidates() -> list[Path]:
    found = []
    env = os.environ.get(ENV_VAR)
    if env:
        found.append(Path(env))
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        found.append(Path(meipass) / "resources")
    if is_frozen():
        found.append(Path(sys.executable).resolve().parent / "resources")
    found.append(_PACKAGE_DIR.parent / "resources")
    found.append(Path(sys.prefix) / "share" / "neural-playground" / "resources")
    return found


@lru_cache(maxsize=1)
def _root() -> Path:
    candidates = _candidates()
    for path in candidates:
        if path.is_dir():
            return path
    # Nothing exists: answer the most likely place so error messages name a sensible path.
    return candidates[0]


def resources_root() -> Path:
    """The ``resources/`` folder in use."""
    return _root()


def resource_path(*parts: str | os.PathLike) -> Path:
    """``resources/<parts...>``; the path may not exist (callers check)."""
    if any(Path(part).is_absolute() for part in parts):
        raise ValueError(f"resource parts must be relative, got {parts!r}")
    return _root().joinpath(*parts)


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG by default, or the PNG rendered at ``size`` px (nearest larger size)."""
    if size is None:
        return resource_path("icons", "playground.svg")
    best = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return resource_path("icons", f"playground-{best}.png")


def mime_icon_path() -> Path:
    """Icon of ``*.playground`` session files."""
    return resource_path("icons", "application-x-playground.svg")


def datasets_dir() -> Path:
    """Sample CSV data sets shipped with the app."""
    return resource_path("datasets")


def lessons_dir() -> Path:
    """Guided lessons shipped with the app."""
    return resource_path("lessons")


def examples_dir() -> Path:
    """Example ``*.playground`` sessions and spec files shipped with the app."""
    return resource_path("examples")


def clear_cache() -> None:
    """Forget the resolved root (tests that change ``$PLAYGROUND_RESOURCES`` or ``sys._MEIPASS``)."""
    _root.cache_clear()
