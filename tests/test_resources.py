"""playground.resources finds resources/ from source, from a frozen app and via the env override."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from playground import resources

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_root(monkeypatch):
    monkeypatch.delenv(resources.ENV_VAR, raising=False)
    resources.clear_cache()
    yield
    resources.clear_cache()


def test_source_checkout_uses_repo_resources():
    assert resources.resources_root() == REPO / "resources"
    assert (
        resources.resource_path("icons", "playground.svg") == REPO / "resources" / "icons" / "playground.svg"
    )


def test_icons_exist_in_every_size():
    assert resources.icon_path().is_file()
    assert resources.mime_icon_path().is_file()
    for size in resources.ICON_SIZES:
        assert resources.icon_path(size).is_file(), size
    assert resources.icon_path(20) == resources.resource_path("icons", "playground-32.png")
    assert resources.icon_path(4096) == resources.resource_path("icons", "playground-512.png")
    for name in ("playground.ico", "playground.icns", "playground.png"):
        assert resources.resource_path("icons", name).is_file(), name


def test_frozen_app_uses_meipass(tmp_path, monkeypatch):
    (tmp_path / "resources" / "examples").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.clear_cache()
    assert resources.is_frozen()
    assert resources.resources_root() == tmp_path / "resources"
    assert resources.examples_dir() == tmp_path / "resources" / "examples"
    assert resources.datasets_dir() == tmp_path / "resources" / "datasets"
    assert resources.lessons_dir() == tmp_path / "resources" / "lessons"


def test_env_override_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(resources.ENV_VAR, str(tmp_path))
    resources.clear_cache()
    assert resources.resource_path("a", "b.txt") == tmp_path / "a" / "b.txt"


def test_absolute_parts_are_refused():
    with pytest.raises(ValueError):
        resources.resource_path(str(Path("/etc/passwd").resolve()))


def test_resources_module_does_not_import_qt():
    import subprocess

    code = "import sys, playground.resources; sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO).returncode == 0
