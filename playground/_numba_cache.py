"""Where numba keeps compiled kernels, in a source checkout and in a frozen (PyInstaller) app.

Call :func:`install_cache_locator` from ``playground/__init__.py`` after ``__version__`` is set and
before any module with ``@njit(cache=True)`` is imported.

Why (see shared/PITFALLS.md):

* In a frozen app a module's ``co_filename`` is relative (``playground/engine/kernels.py``), so numba's
  own locators key the cache on the *working directory*: every launch folder recompiles (~3 s), and
  ``NUMBA_CACHE_DIR`` alone does not help. Frozen, we put :class:`FrozenAppCacheLocator` first: it keys
  the cache on the app's version, build id and install folder, and stores it in a per-user folder.
* If no cache folder is writable, importing a ``cache=True`` module raises
  ``RuntimeError: cannot cache function ... no locator available``. From source we fall back to the
  per-user folder when the package's ``__pycache__`` is read-only, then to the temp folder.

* From source, numba keys each function's cache on its own file only, and a kernel's cached
  machine code holds the code of everything it calls, inlined, and the constants it read: a
  change to ``blocks/recurrent.py`` or ``codes.py`` left ``kernels.py``'s cached kernels as they
  were (stale code, wrong numbers or a crash after an update, or while editing the engine).
  :class:`EngineSourceLocator` adds a stamp of every file of numba code (``engine/``,
  ``gan/``, the CSV parser) to the playground's functions' stamps: any change recompiles them.

``PLAYGROUND_FORCE_FROZEN_CACHE=1`` uses the frozen-app locator from source (tests);
``PLAYGROUND_NUMBA_CACHE_DIR`` (or ``NUMBA_CACHE_DIR``) overrides the per-user base folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

FORCE_ENV = "PLAYGROUND_FORCE_FROZEN_CACHE"
DIR_ENV = "PLAYGROUND_NUMBA_CACHE_DIR"
BUILD_ID_FILE = "playground_build_id.txt"  # written into the bundle by packaging/playground.spec
_MARKER = "app.txt"
_PACKAGE_DIR = Path(__file__).resolve().parent

# Filled by install_cache_locator(); read by cache_dir() and the locator.
_state: dict[str, object] = {}


def frozen_mode() -> bool:
    """True when the frozen-app locator applies: a frozen app, or ``$PLAYGROUND_FORCE_FROZEN_CACHE`` set."""
    forced = os.environ.get(FORCE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return bool(getattr(sys, "frozen", False)) or forced


def user_cache_base() -> Path:
    """Per-user folder for compiled kernels (the OS's cache location, never roaming)."""
    override = os.environ.get(DIR_ENV) or os.environ.get("NUMBA_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "NeuralPlayground" / "numba-cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "NeuralPlayground" / "numba"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".cache"
    return base / "neural-playground" / "numba"


def _fallback_base() -> Path:
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("USER") or os.environ.get("USERNAME") or "user")
    return Path(tempfile.gettempdir()) / f"neural-playground-numba-{user}"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _first_writable(*paths: Path) -> Path:
    for path in paths:
        if _writable(path):
            return path
    return Path(tempfile.mkdtemp(prefix="neural-playground-numba-"))  # last resort: this process only


def _app_dir() -> Path:
    """Folder holding the app: the executable's folder when frozen, the package folder from source."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return _PACKAGE_DIR


def _build_id() -> str:
    """Id of this build of the app (a different one invalidates the cache even at the same version)."""
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        try:
            return (Path(meipass) / BUILD_ID_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            pass
    try:  # no build id: the executable changes with every build
        st = os.stat(sys.executable)
        return f"exe-{st.st_size}-{st.st_mtime_ns}"
    except OSError:
        return "unknown"


def _app_key(version: str) -> str:
    raw = "|".join([version, _build_id(), str(_app_dir()), sys.version])
    slug = re.sub(r"[^A-Za-z0-9_.+-]", "_", version)[:40]
    return f"{slug}-{hashlib.sha1(raw.encode()).hexdigest()[:12]}"


def _prune_siblings(base: Path, key: str) -> None:
    """Remove caches of earlier builds installed in the same folder (same app, new build or version)."""
    try:
        siblings = [p for p in base.iterdir() if p.is_dir() and p.name != key]
    except OSError:
        return
    for other in siblings:
        try:
            if (other / _MARKER).read_text(encoding="utf-8").strip() == str(_app_dir()):
                shutil.rmtree(other, ignore_errors=True)
        except OSError:
            continue


def _module_subdir(py_func, py_file: str) -> str:
    module = getattr(py_func, "__module__", None) or os.path.splitext(os.path.basename(py_file))[0]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", module)


def _make_locator_class():
    from numba.core.caching import _CacheLocator

    class FrozenAppCacheLocator(_CacheLocator):
        """Cache ``cache=True`` functions of a frozen app in the per-user folder of this build.

        Keyed on the module name and the app (version, build id, install folder), never on the
        working directory or on ``co_filename`` (relative in a frozen app).
        """

        def __init__(self, py_func, py_file):
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(Path(str(_state["dir"])) / _module_subdir(py_func, py_file))

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return str(_state["key"])

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            if _state.get("mode") != "frozen":
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError:  # cache folder became read-only or vanished: use a temp folder instead
                fallback = _first_writable(_fallback_base() / str(_state["key"]))
                self._cache_path = str(fallback / _module_subdir(py_func, py_file))
                try:
                    self.ensure_cache_path()
                except OSError:
                    return None
            return self

    return FrozenAppCacheLocator


NUMBA_SOURCES = ("engine", "gan", "data/csv_numeric.py")  # every file whose code or constants numba compiles


def engine_source_stamp() -> str:
    """A hash of the names, sizes and mtimes of every file of numba code in the package
    (computed once per process: the sources do not change under a running kernel)."""
    stamp = _state.get("engine_stamp")
    if stamp is None:
        parts = []
        for rel in NUMBA_SOURCES:
            root = _PACKAGE_DIR / rel
            files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
            for f in files:
                try:
                    st = f.stat()
                except OSError:
                    continue
                parts.append(f"{f.relative_to(_PACKAGE_DIR)}:{st.st_size}:{st.st_mtime_ns}")
        stamp = _state["engine_stamp"] = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    return stamp


def _make_source_locator_classes():
    """numba's in-tree and NUMBA_CACHE_DIR locators, for the playground's own functions with
    the engine's stamp beside their file's (see the module docstring)."""
    from numba.core.caching import InTreeCacheLocator, UserProvidedCacheLocator

    def mixin(base):
        class EngineSourceLocator(base):
            def get_source_stamp(self):
                return (super().get_source_stamp(), engine_source_stamp())

            @classmethod
            def from_function(cls, py_func, py_file):
                if _state.get("mode") == "frozen":
                    return None
                try:
                    inside = Path(py_file).resolve().is_relative_to(_PACKAGE_DIR)
                except (OSError, ValueError):
                    inside = False
                return super().from_function(py_func, py_file) if inside else None

        EngineSourceLocator.__name__ = EngineSourceLocator.__qualname__ = f"Engine{base.__name__}"
        return EngineSourceLocator

    return [mixin(UserProvidedCacheLocator), mixin(InTreeCacheLocator)]


def __getattr__(name: str):  # built on first use so that importing this module does not import numba
    if name == "FrozenAppCacheLocator":
        cls = _make_locator_class()
        globals()[name] = cls
        return cls
    if name == "EngineSourceLocators":
        classes = _make_source_locator_classes()
        globals()[name] = classes
        return classes
    raise AttributeError(name)


def _register_in(caching) -> None:
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # the older numba name
    for cls in reversed([__getattr__("FrozenAppCacheLocator"), *__getattr__("EngineSourceLocators")]):
        if cls not in impl._locator_classes:
            impl._locator_classes.insert(0, cls)


class _LoaderProxy:
    """Runs the real loader, then registers our locator in the freshly executed numba.core.caching."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            _register_in(module)
        except Exception as exc:  # numba internals changed: run uncached-per-folder rather than not at all
            import warnings

            warnings.warn(f"numba kernel cache locator not installed: {exc!r}", RuntimeWarning, stacklevel=2)

    def __getattr__(self, name):  # get_source, get_code, ... of the real loader
        return getattr(self._loader, name)


class _RegisterOnImport:
    """sys.meta_path hook: register the locator when numba.core.caching is first imported.

    Importing numba costs ~0.25 s; the app should not pay it before its window shows.
    """

    target = "numba.core.caching"

    def find_spec(self, name, path=None, target=None):
        if name != self.target:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _LoaderProxy(spec.loader)
                return spec
        return None


def _register_locator() -> None:
    caching = sys.modules.get("numba.core.caching")
    if caching is not None:
        _register_in(caching)
    elif not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnImport())


def _in_tree_writable() -> bool:
    dirs = [_PACKAGE_DIR] + [p for p in _PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()]
    return all(_writable(d / "__pycache__") for d in dirs)


def _set_numba_cache_dir(path: Path) -> None:
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba already imported: its config read the environment already
        config.CACHE_DIR = str(path)


def install_cache_locator(version: str | None = None) -> str:
    """Make ``@njit(cache=True)`` work wherever the app runs; return the mode chosen.

    ``"frozen"``: our locator, per-user folder keyed on the app build (registered when numba is imported).
    ``"env"``: ``$NUMBA_CACHE_DIR`` set by the user; ``"in-tree"``: numba's default ``__pycache__``;
    ``"user-dir"``: source tree read-only, so ``NUMBA_CACHE_DIR`` now points at the per-user folder.
    Idempotent.
    """
    if "mode" in _state:
        return str(_state["mode"])
    if version is None:
        version = str(getattr(sys.modules.get("playground"), "__version__", "0+unknown"))
    if frozen_mode():
        key = _app_key(version)
        base = _first_writable(user_cache_base(), _fallback_base())
        folder = base / key
        folder.mkdir(parents=True, exist_ok=True)
        _prune_siblings(base, key)
        try:
            (folder / _MARKER).write_text(str(_app_dir()), encoding="utf-8")
        except OSError:
            pass
        _state.update(mode="frozen", key=key, dir=folder)
        _register_locator()
    elif os.environ.get("NUMBA_CACHE_DIR"):
        _state.update(mode="env", dir=Path(os.environ["NUMBA_CACHE_DIR"]))
    elif _in_tree_writable():
        _state.update(mode="in-tree", dir=_PACKAGE_DIR)
    else:
        folder = _first_writable(user_cache_base() / "source", _fallback_base() / "source")
        _set_numba_cache_dir(folder)
        _state.update(mode="user-dir", dir=folder)
    if _state["mode"] != "frozen":
        _register_locator()  # the engine's stamp on its functions' caches
    return str(_state["mode"])


def cache_dir() -> Path:
    """Folder under which the compiled kernels of this run are stored (after install_cache_locator)."""
    if "dir" not in _state:
        install_cache_locator()
    return Path(str(_state["dir"]))


def kernel_cache_is_warm() -> bool:
    """Heuristic: has any kernel been cached for this build? If not, expect a few seconds of compiling."""
    try:
        return any(cache_dir().rglob("*.nbi"))
    except OSError:
        return False


def _reset_for_tests() -> None:
    _state.clear()
