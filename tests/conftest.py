"""Shared test set-up: Qt runs offscreen and user settings never leak between tests."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import
# kernels compile in-process on first call (bitwise runs); the cold-start tests switch to quick
os.environ.setdefault("PLAYGROUND_ENGINE_START", "compiled")

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """QSettings and the recovery folder live in a fresh tmp dir for every test."""
    root = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("PLAYGROUND_RECOVERY_DIR", str(root / "recovery"))
    try:
        from PySide6.QtCore import QCoreApplication, QSettings
    except ImportError:  # the core's tests run without Qt
        yield
        return
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(root))
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(root))
    old_org = QCoreApplication.organizationName()
    QCoreApplication.setOrganizationName("NeuralPlaygroundTests")
    try:
        from playground.app import settings as app_settings
    except ImportError:
        yield
    else:
        monkeypatch.setattr(app_settings, "ORGANIZATION", "NeuralPlaygroundTests")
        yield
    QCoreApplication.setOrganizationName(old_org)
