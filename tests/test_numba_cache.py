"""playground._numba_cache: frozen-app kernel cache that does not depend on the working directory.

A frozen app's modules have relative ``co_filename``s; the child processes below load a tiny
``@njit(cache=True)`` module the same way (compiled with a relative file name), with
``PLAYGROUND_FORCE_FROZEN_CACHE=1`` standing in for ``sys.frozen``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from playground import _numba_cache

REPO = Path(__file__).resolve().parents[1]

KERNEL_SRC = textwrap.dedent(
    """
    import numpy as np
    from numba import njit

    @njit(cache=True, nogil=True)
    def sum_squares(x):
        total = 0.0
        for v in x:
            total += v * v
        return total
    """
)

CHILD = textwrap.dedent(
    """
    import json, os, sys, types
    sys.path.insert(0, {repo!r})
    if os.environ.get("TEST_MEIPASS"):  # a bundle folder holding playground_build_id.txt
        sys._MEIPASS = os.environ["TEST_MEIPASS"]
    if os.environ.get("TEST_PREIMPORT_NUMBA"):  # numba imported before the locator is installed
        import numba.core.caching
    numba_before = "numba.core.caching" in sys.modules
    import numpy as np
    from playground import _numba_cache
    mode = _numba_cache.install_cache_locator(version="9.9.9-test")
    numba_after_install = "numba.core.caching" in sys.modules
    warm_before = _numba_cache.kernel_cache_is_warm()
    mod = types.ModuleType("tinykernel")
    sys.modules["tinykernel"] = mod
    src = open({src!r}).read()
    exec(compile(src, "tinykernel.py", "exec"), mod.__dict__)   # relative co_filename, as when frozen
    value = mod.sum_squares(np.arange(4.0))
    stats = mod.sum_squares.stats
    print(json.dumps({{
        "mode": mode, "value": value, "numba_before": numba_before,
        "numba_after_install": numba_after_install, "dir": str(_numba_cache.cache_dir()),
        "hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values()),
        "warm_before": warm_before, "warm_after": _numba_cache.kernel_cache_is_warm(),
    }}))
    """
)


def _run_child(tmp_path: Path, cwd: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    src = tmp_path / "kernel_src" / "tinykernel.py"
    src.parent.mkdir(exist_ok=True)
    src.write_text(KERNEL_SRC)
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO), src=str(src)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PLAYGROUND_"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "xdg"), **env_extra)
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _result(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_frozen_locator_caches_per_user_and_ignores_cwd(tmp_path):
    forced = {_numba_cache.FORCE_ENV: "1"}
    first = _result(_run_child(tmp_path, tmp_path / "launch_a", forced))
    assert first["mode"] == "frozen"
    assert first["numba_before"] is False
    assert first["value"] == 14.0
    assert first["misses"] == 1 and first["hits"] == 0
    assert first["warm_before"] is False and first["warm_after"] is True

    # (a) cache files land in $XDG_CACHE_HOME/neural-playground/numba/<app key>/<module>/
    base = tmp_path / "xdg" / "neural-playground" / "numba"
    assert Path(first["dir"]).parent == base
    index_files = list(base.rglob("*.nbi"))
    assert index_files and all(p.parent.name == "tinykernel" for p in index_files)
    assert list(base.rglob("*.nbc"))
    assert not list((tmp_path / "launch_a").rglob("*.nb*"))

    # (b) a second process launched from another folder loads the kernel from that cache; this one
    # imports numba before the locator is installed (the first registered it lazily, on import)
    second = _result(
        _run_child(tmp_path, tmp_path / "elsewhere" / "launch_b", {**forced, "TEST_PREIMPORT_NUMBA": "1"})
    )
    assert second["numba_before"] is True
    assert second["dir"] == first["dir"]
    assert second["warm_before"] is True
    assert second["hits"] == 1 and second["misses"] == 0


def test_new_build_invalidates_and_prunes_old_cache(tmp_path):
    def launch(build_id: str, cwd: str) -> dict:
        bundle = tmp_path / f"bundle-{build_id}"
        bundle.mkdir(exist_ok=True)
        (bundle / _numba_cache.BUILD_ID_FILE).write_text(build_id + "\n")
        env = {_numba_cache.FORCE_ENV: "1", "TEST_MEIPASS": str(bundle)}
        return _result(_run_child(tmp_path, tmp_path / cwd, env))

    first = launch("build-1", "a")
    again = launch("build-1", "b")
    assert again["dir"] == first["dir"] and again["hits"] == 1
    # A new build installed in the same place: fresh cache folder, the old build's one removed.
    second = launch("build-2", "a")
    assert second["dir"] != first["dir"]
    assert second["misses"] == 1 and second["hits"] == 0
    assert not Path(first["dir"]).exists()


def test_without_locator_relative_filename_has_no_cache(tmp_path):
    """The failure the locator exists for: numba's own locators find no home for a relative co_filename."""
    proc = _run_child(tmp_path, tmp_path / "launch_a", {})
    assert proc.returncode != 0
    assert "no locator available" in proc.stderr


def test_read_only_source_tree_falls_back_to_user_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv(_numba_cache.FORCE_ENV, raising=False)
    monkeypatch.delenv(_numba_cache.DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(_numba_cache, "_in_tree_writable", lambda: False)
    config = sys.modules.get("numba.core.config")
    old = getattr(config, "CACHE_DIR", None)
    saved = dict(_numba_cache._state)
    _numba_cache._reset_for_tests()
    try:
        assert _numba_cache.install_cache_locator(version="1") == "user-dir"
        expected = tmp_path / "xdg" / "neural-playground" / "numba" / "source"
        assert os.environ["NUMBA_CACHE_DIR"] == str(expected)
        assert _numba_cache.cache_dir() == expected and expected.is_dir()
        assert _numba_cache.kernel_cache_is_warm() is False
    finally:
        _numba_cache._reset_for_tests()
        _numba_cache._state.update(saved)
        if config is not None:
            config.CACHE_DIR = old


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CACHE_HOME": "/x/cache"}, "/x/cache/neural-playground/numba"),
        ("linux", {}, "{home}/.cache/neural-playground/numba"),
        ("win32", {"LOCALAPPDATA": "/w/Local"}, "/w/Local/NeuralPlayground/numba-cache"),
        ("darwin", {}, "{home}/Library/Caches/NeuralPlayground/numba"),
    ],
)
def test_user_cache_base_per_os(tmp_path, monkeypatch, platform, env, expected):
    for name in ("XDG_CACHE_HOME", "LOCALAPPDATA", "NUMBA_CACHE_DIR", _numba_cache.DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", platform)
    assert _numba_cache.user_cache_base() == Path(expected.format(home=tmp_path))


def test_importing_the_module_does_not_import_numba():
    code = (
        "import sys, playground; before = 'numba' in sys.modules; import playground._numba_cache; "
        "sys.exit('numba' in sys.modules and not before)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, env=env).returncode == 0


ENGINE_CHILD = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    import playground  # installs the locator; imports no engine module yet
    from playground import _numba_cache
    if os.environ.get("TEST_ENGINE_STAMP"):  # as if an engine file had changed since the cache was written
        _numba_cache._state["engine_stamp"] = os.environ["TEST_ENGINE_STAMP"]
    from playground.engine import rng  # its functions' cache stamps are taken here
    perm = np.arange(7, dtype=np.int64)
    rng.epoch_permutation(np.uint64(5), 3, perm)
    stats = rng.epoch_permutation.stats
    locator = type(rng.epoch_permutation._cache._impl.locator).__name__
    print(json.dumps({{"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values()),
                      "perm": perm.tolist(), "locator": locator}}))
    """
)


def test_a_change_to_any_engine_file_recompiles_the_cached_kernels(tmp_path):
    """numba keys a function's cache on its own file, but a kernel's machine code holds what
    it calls (other files) and the constants it read: the playground's functions carry the
    stamp of every file of numba code too, so an edit or update anywhere recompiles them."""
    script = tmp_path / "engine_child.py"
    script.write_text(ENGINE_CHILD.format(repo=str(REPO)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PLAYGROUND_"))}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def run(**extra):
        proc = subprocess.run(
            [sys.executable, str(script)], env={**env, **extra}, capture_output=True, text=True, timeout=240
        )
        return _result(proc)

    first = run()
    assert first["misses"] == 1 and first["hits"] == 0 and first["locator"].startswith("Engine")
    again = run()
    assert again["hits"] == 1 and again["misses"] == 0 and again["perm"] == first["perm"]
    changed = run(TEST_ENGINE_STAMP="another engine")
    assert changed["misses"] == 1 and changed["hits"] == 0 and changed["perm"] == first["perm"]


def test_the_engine_stamp_follows_the_numba_sources():
    stamp = _numba_cache.engine_source_stamp()
    assert len(stamp) == 16 and stamp == _numba_cache.engine_source_stamp()
    for rel in _numba_cache.NUMBA_SOURCES:
        assert (REPO / "playground" / rel).exists()
