"""Whether the compiled kernels for a precision are ready in this process (the cold start).

A first launch on a computer has an empty numba cache: compiling everything a session uses
takes seconds. Two start modes decide what happens meanwhile:

``"compiled"``: every kernel compiles in-process on first call, as a plain numba program does;
    runs are bitwise deterministic. The command line (``playground train``, ``bench``,
    ``warmup``...), sweeps' worker processes (multiprocessing children) and the test suite
    use it.
``"quick"`` (the default: the app and the Python API): if this precision's kernels are known
    to be in numba's cache (a marker written after a successful background compile, keyed on
    the playground and numba versions and the engine sources' sizes and mtimes), they are
    ready at once. Otherwise ONE background process per precision (``playground warmup
    --dtype D --progress``) compiles exactly what a session of it uses, prints its progress
    and writes the marker, and until it has finished the trainer runs on the numpy twins
    (``twin.py``) and switches to the kernels at a step boundary. A lock file keeps to one
    such process per precision per machine (a second app waits for the first one's result).
    If the process fails, this process compiles in a background thread instead (and
    ``progress(dtype).note`` says so). The process is reaped when it ends; it is never
    killed when Python exits (the cache should be complete) and exiting never waits for it.

Determinism: twins and kernels agree to ~1e-12 relative, not bitwise, so a quick-mode run
that started before the kernels were ready differs in the last digits from a warm run; in
compiled mode every run is bitwise the same. Saving and resuming is exact either way: the
saved state is the state, and a resumed run continues from it exactly as the engine then
running (twins or kernels) computes.

Set the mode with :func:`set_start_mode` or ``$PLAYGROUND_ENGINE_START``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODE_ENV = "PLAYGROUND_ENGINE_START"
READY_DIR_ENV = "PLAYGROUND_READY_DIR"  # where markers and locks live (default: in numba's cache)
MODES = ("quick", "compiled")
PROGRESS_PREFIX = "playground-warmup:"  # progress lines of the compile process start with this

_lock = threading.Lock()
_mode: str | None = None
_ready: set[str] = set()  # precisions ready in this process (the fast path of kernels_ready)
_jobs: dict[str, _Job] = {}
_local = threading.local()  # .force: this thread calls the kernels whatever the mode (warm-up)


@dataclass
class Progress:
    """What a precision's background compile is doing (plain data, read by the app)."""

    dtype: str
    phase: str = ""  # what compiles now
    number: int = 0  # its number, of ``count``
    count: int = 0
    ready: bool = False
    seconds: float = 0.0  # how long the compile took (0 when the kernels came from the cache)
    note: str = ""  # a failure and what happens instead
    started: float = 0.0  # time.perf_counter() when it started


class _Job:
    """One precision's way to readiness: a background process (or the in-process fallback)."""

    def __init__(self, dtype: str):
        self.progress = Progress(dtype, started=time.perf_counter())
        self.proc: subprocess.Popen | None = None
        self.done = threading.Event()


def set_start_mode(mode: str | None) -> None:
    """``"quick"`` or ``"compiled"`` for this process (None: back to the environment's)."""
    global _mode
    if mode is not None and mode not in MODES:
        raise ValueError(f"start mode must be one of {MODES}, not {mode!r}")
    _mode = mode if mode is not None else _mode_from_env()


def _mode_from_env() -> str:
    env = os.environ.get(MODE_ENV, "").strip().lower()
    if env in MODES:
        return env
    import multiprocessing

    # a worker process of a sweep (spawned by multiprocessing): bitwise runs, compile in-process
    return "compiled" if multiprocessing.parent_process() is not None else "quick"


def start_mode() -> str:
    global _mode
    if _mode is None:
        _mode = _mode_from_env()
    return _mode


BLOCKS_SUFFIX = "-blocks"  # the kernels of networks with other blocks than dense ones


def engine_key(dtype, blocks: bool = False) -> str:
    """What readiness is tracked for: a precision (``"float64"``), or its variant for networks
    with convolution, pooling or recurrent blocks (``"float64-blocks"``): numba compiles the
    code of those blocks only for such networks (``blocks/network.py``), so a dense session
    never waits for it."""
    return np.dtype(dtype).name + (BLOCKS_SUFFIX if blocks else "")


def split_key(key) -> tuple[str, bool]:
    """(precision, blocks) of an engine key (or of a plain dtype)."""
    if isinstance(key, str) and key.endswith(BLOCKS_SUFFIX):
        return np.dtype(key[: -len(BLOCKS_SUFFIX)]).name, True
    return np.dtype(key).name, False


def describe(key) -> str:
    """'the engine', 'the float32 engine', 'the engine for convolution, pooling and recurrent
    layers' ... (status bar texts)."""
    dtype, blocks = split_key(key)
    prec = "" if dtype == "float64" else f"{dtype} "
    return f"the {prec}engine" + (" for convolution, pooling and recurrent layers" if blocks else "")


def _name(key) -> str:
    return engine_key(*split_key(key))


def kernels_ready(dtype) -> bool:
    """True when the trainer should call the compiled kernels of ``dtype`` now; False while
    they compile in the background (it then runs on the twins). Cheap: called at every step
    call. The first False starts the background compile."""
    name = _name(dtype)
    if name in _ready or getattr(_local, "force", False) or start_mode() == "compiled":
        return True
    job = _jobs.get(name)
    if job is not None:
        if job.done.is_set():
            _ready.add(name)
            return True
        return False
    with _lock:
        if name in _ready:
            return True
        if name not in _jobs:
            if marker_path(name).is_file():
                _ready.add(name)
                return True
            _jobs[name] = job = _Job(name)
            _start(job)
    return name in _ready


def progress(dtype) -> Progress:
    """The background compile of ``dtype`` as it stands (ready at once: the kernels were cached)."""
    name = _name(dtype)
    job = _jobs.get(name)
    if job is None:
        return Progress(name, ready=name in _ready or start_mode() == "compiled")
    p = job.progress
    return Progress(**{**p.__dict__, "ready": job.done.is_set()})


def wait(dtype, timeout: float | None = None) -> bool:
    """Block until the kernels of ``dtype`` are ready (tests, tools); True if they are."""
    if kernels_ready(dtype):
        return True
    job = _jobs.get(_name(dtype))
    return job is not None and job.done.wait(timeout) and kernels_ready(dtype)


class forced:
    """``with readiness.forced():`` this thread calls the kernels (compiling them) whatever
    the mode: the warm-up itself."""

    def __enter__(self):
        self._old = getattr(_local, "force", False)
        _local.force = True
        return self

    def __exit__(self, *exc):
        _local.force = self._old


# --------------------------------------------------------------------------- the marker


def _engine_files() -> list[Path]:
    import playground.engine as engine

    folders = [Path(p) for p in engine.__path__]
    files = [f for d in folders for f in sorted(d.rglob("*.py"))]
    from playground.data import csv_numeric

    if getattr(csv_numeric, "__file__", None):
        files.append(Path(csv_numeric.__file__))
    return files


def source_stamp() -> str:
    """playground version + numba version + the engine sources' sizes and mtimes (numba
    recompiles when those change, so the marker must go stale with them)."""
    import numba

    version = getattr(sys.modules.get("playground"), "__version__", "?")  # the package is loaded
    parts = [str(version), numba.__version__, sys.version]
    for f in _engine_files():
        try:
            st = f.stat()
        except OSError:
            continue
        parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    if getattr(sys, "frozen", False):  # no sources in the bundle: the executable stands for them
        try:
            st = os.stat(sys.executable)
            parts.append(f"exe:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            pass
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def _state_dir() -> Path:
    override = os.environ.get(READY_DIR_ENV)
    if override:
        return Path(override)
    from playground._numba_cache import cache_dir, install_cache_locator

    base = Path(cache_dir())
    if install_cache_locator() == "in-tree":  # numba caches in the package's __pycache__
        base = base / "__pycache__"
    return base / "playground-ready"


def marker_path(dtype) -> Path:
    """The file that says the kernels of ``dtype`` are in numba's cache for these sources."""
    return _state_dir() / f"{_name(dtype)}-{source_stamp()}.ok"


def lock_path(dtype) -> Path:
    return _state_dir() / f"{_name(dtype)}.lock"


def write_marker(dtype, seconds: float) -> Path:
    path = marker_path(dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f"{_name(dtype)}-*.ok"):  # stale sources
        if old != path:
            old.unlink(missing_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(f"compiled in {seconds:.2f} s\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- the process


def compile_command(dtype: str) -> list[str]:
    """How to run ``playground warmup --dtype D --progress`` from here, source or frozen
    (the frozen app is its own command line; the console twin, if present, has a stdout)."""
    args = ["warmup", "--dtype", dtype, "--progress"]
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        cli = exe.with_name("playground-cli" + exe.suffix)
        return [str(cli if cli.is_file() else exe), *args]
    return [sys.executable, "-m", "playground", *args]


def spawn_compile(args: list[str], stderr=subprocess.PIPE, **env_extra: str) -> subprocess.Popen:
    """A compile process (``compile_command`` + more arguments) in compiled mode, its progress
    lines on a text pipe, in a session of its own (no console window on Windows); OSError if
    it cannot start."""
    env = {**os.environ, MODE_ENV: "compiled", "PYTHONUNBUFFERED": "1", **env_extra}
    kwargs: dict = {"start_new_session": True} if os.name == "posix" else {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(
            subprocess, "CREATE_NO_WINDOW", 0
        )
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        text=True,
        encoding="utf-8",
        errors="replace",
        **kwargs,
    )


def _start(job: _Job) -> None:
    try:
        job.proc = spawn_compile(compile_command(job.progress.dtype))
    except OSError as e:
        _fallback(job, f"could not start the compile process ({e})")
        return
    threading.Thread(
        target=_follow, args=(job,), name=f"playground-compile-{job.progress.dtype}", daemon=True
    ).start()


def _follow(job: _Job) -> None:
    """Read the process's progress lines, reap it, and mark the precision ready (daemon)."""
    proc = job.proc
    p = job.progress
    err: list[str] = []
    drain = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    drain.start()
    for line in proc.stdout:
        if line.startswith(PROGRESS_PREFIX):
            parse_progress(line, p)
    rc = proc.wait()  # reaped: never a zombie
    drain.join(5.0)
    if rc == 0 and marker_path(p.dtype).is_file():
        p.seconds = time.perf_counter() - p.started
        job.done.set()
        return
    tail = "".join(err).strip().splitlines()[-1:] or [f"exit code {rc}"]
    _fallback(job, f"the compile process failed ({tail[0][:200]})")


def parse_progress(line: str, p: Progress) -> None:
    """``playground-warmup: 2/5 training with history`` -> p.number, p.count, p.phase."""
    body = line[len(PROGRESS_PREFIX) :].strip()
    head, _, phase = body.partition(" ")
    num, _, count = head.partition("/")
    if num.isdigit() and count.isdigit():
        p.number, p.count, p.phase = int(num), int(count), phase.strip()


def _fallback(job: _Job, why: str) -> None:
    """The process failed: compile here, in a background thread, meanwhile on the twins."""
    p = job.progress
    p.note = f"{why}; compiling in this process instead"
    print(f"playground: {p.note}", file=sys.stderr)

    def work():
        from playground.engine.warmup import compile_dtype

        def say(phase, number, count):
            p.phase, p.number, p.count = phase, number, count

        try:
            with forced():
                compile_dtype(p.dtype, say)
        finally:  # ready either way: a kernel that failed here fails where it is called, with its error
            p.seconds = time.perf_counter() - p.started
            job.done.set()

    threading.Thread(target=work, name=f"playground-compile-{p.dtype}", daemon=True).start()


def _reset_for_tests() -> None:
    """Forget what this process knows (it does not stop a running compile process)."""
    global _mode
    with _lock:
        _ready.clear()
        _jobs.clear()
        _mode = None
