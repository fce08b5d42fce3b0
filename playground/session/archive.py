"""Low-level session file I/O: atomic writes and a defensive, memory-bounded zip reader.

Nothing here knows about experiments. The reader never extracts to disk, never unpickles,
checks every declared size against limits before reading, and reads each member with a
bounded reader; .npy members are parsed by hand (header first, then exactly the declared
number of bytes) so a hostile header cannot make numpy allocate a huge array.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from playground.errors import SessionError
from playground.spec import short_path

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
MAX_DEFLATE_RATIO = 1100  # deflate cannot exceed ~1032:1; more is a lie in the header
NPY_HEADER_MAX = 65536

# dtype.str values a session may contain (little-endian/native numbers, bools, bytes, unicode text)
_ALLOWED_DTYPE = re.compile(r"^(<f8|<f4|<i8|\|b1|\|u1|<U\d{1,9})$")


@dataclass
class Limits:
    """What a session file may declare before we refuse to read it."""

    max_members: int = 10_000
    max_member_bytes: int = 4 << 30
    max_total_bytes: int = 8 << 30
    max_json_bytes: int = 64 << 20


LIMITS = Limits()


def _available_memory() -> int | None:
    try:
        from playground.data.csv_reader import available_memory

        return available_memory()
    except Exception:  # pragma: no cover - best effort
        return None


# --------------------------------------------------------------------------- atomic write

# Temp files are ".<name>.<8 random chars>.tmp" (tempfile.mkstemp) beside the target. A save
# killed mid-write leaves one behind; the next save or open of that file removes those older
# than this process that no writer holds a lock on.
TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM = r"[a-z0-9_]{8}"
_PROCESS_START = time.time()

try:  # POSIX: writers hold an advisory lock on their temp file while they write
    import fcntl
except ImportError:  # pragma: no cover - Windows: an open file cannot be deleted anyway
    fcntl = None


def temp_name_pattern(name: str | None = None, ending: str = "") -> re.Pattern:
    """The names atomic_write gives its temp files: for target ``name``, or for any target
    whose name ends with ``ending``."""
    base = re.escape(name) if name is not None else r".+" + re.escape(ending)
    return re.compile(rf"^\.{base}\.{_TEMP_RANDOM}{re.escape(TEMP_SUFFIX)}$")


def _locked(path: str) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # (closing releases our probe lock)
    return False


def clean_stale_temps(path: str | os.PathLike, pattern: re.Pattern | None = None) -> list[Path]:
    """Remove temp files a killed save of ``path`` left in its folder: only names matching
    our own pattern, regular files, last written before this process started, and not locked
    by a writer. Best effort (never raises); returns what was removed."""
    path = Path(path)
    pattern = pattern or temp_name_pattern(path.name)
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except (OSError, ValueError):
        return removed
    for entry in entries:
        try:
            if not pattern.match(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= _PROCESS_START or _locked(entry.path):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` via a temp file in the same folder: write, flush, fsync, os.replace,
    fsync the folder. A crash at any point leaves the previous file as it was; an exception
    removes the temp file and propagates."""
    path = Path(path)
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    except OSError:
        mode = 0o644
    clean_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)
    return path


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_npy_member(zf: zipfile.ZipFile, name: str, arr: np.ndarray, compresslevel: int = 1) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    for attr in ("compress_level", "_compresslevel"):  # 3.13+ / 3.11-3.12 name; used by open(info, "w")
        with contextlib.suppress(AttributeError):
            setattr(info, attr, compresslevel)
            break
    info.external_attr = 0o644 << 16
    with zf.open(info, "w", force_zip64=arr.nbytes > (1 << 30)) as out:
        np.lib.format.write_array(out, arr, allow_pickle=False)


def write_text_member(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, text.encode("utf-8"), compresslevel=6)


def dtype_str(arr: np.ndarray) -> str:
    return arr.dtype.str


def portable(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous little-endian copy-if-needed with an allowed dtype."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "U":
        width = max(arr.dtype.itemsize // 4, 1)
        arr = arr.astype(f"<U{width}", copy=False)
    elif arr.dtype.kind in "fi":
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    if not arr.flags.c_contiguous:
        arr = np.array(arr, order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    if not _ALLOWED_DTYPE.match(arr.dtype.str):
        raise SessionError(f"cannot store an array of dtype {arr.dtype} in a session")
    return arr


# --------------------------------------------------------------------------- reading


def unsafe_member_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    parts = name.split("/")
    if re.match(r"^[A-Za-z]:", parts[0]):
        return True
    return any(p in ("..", ".") for p in parts)


class Archive:
    """A session zip opened for reading, every member declaration checked up front."""

    def __init__(self, path: Path, limits: Limits | None = None):
        self.path = Path(path)
        self.fname = short_path(self.path.name)
        self.limits = limits or LIMITS
        clean_stale_temps(self.path)  # left by a save that was killed; never by one still running
        try:
            with open(self.path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise SessionError(f"{self.fname}: cannot read the file ({e.strerror or e})") from None
        if head not in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
            raise SessionError(f"{self.fname}: not a Neural Playground session (not a zip archive)")
        try:
            self.zf = zipfile.ZipFile(self.path, "r")
        except Exception as e:  # BadZipFile, NotImplementedError ("zip file version"), ...
            raise SessionError(
                f"{self.fname}: the file is truncated or damaged (unreadable zip directory: {e})"
            ) from None
        try:
            self._check_directory()
        except BaseException:
            self.zf.close()
            raise

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_directory(self) -> None:
        infos = self.zf.infolist()
        lim = self.limits
        if len(infos) > lim.max_members:
            raise SessionError(f"{self.fname}: {len(infos)} members, more than a session can have")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if unsafe_member_name(name):
                raise SessionError(
                    f"{self.fname}: refusing member {name!r} (absolute path or '..' in its name)"
                )
            if name in self.infos:
                raise SessionError(f"{self.fname}: member {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise SessionError(f"{self.fname}: member {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise SessionError(f"{self.fname}: member {name!r} uses an unsupported compression method")
            if info.file_size > lim.max_member_bytes:
                raise SessionError(
                    f"{self.fname}: member {name!r} declares {info.file_size:,} bytes, "
                    f"more than the limit of {lim.max_member_bytes:,}"
                )
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise SessionError(f"{self.fname}: member {name!r} has inconsistent sizes")
            if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1) + 1024:
                raise SessionError(
                    f"{self.fname}: member {name!r} claims an impossible compression ratio (zip bomb?)"
                )
            total += info.file_size
            self.infos[name] = info
        if total > lim.max_total_bytes:
            raise SessionError(
                f"{self.fname}: members declare {total:,} bytes in total, more than the limit of "
                f"{lim.max_total_bytes:,}"
            )
        avail = _available_memory()
        if avail is not None and total > avail:
            raise SessionError(
                f"{self.fname}: needs {total:,} bytes of memory to open, but only {avail:,} are available"
            )

    def has(self, name: str) -> bool:
        return name in self.infos

    def read_bytes(self, name: str, max_bytes: int | None = None) -> bytes:
        """A member's bytes; stops as soon as more come out than the header declared."""
        info = self.infos.get(name)
        if info is None:
            raise SessionError(f"{self.fname}: member {name!r} is missing")
        declared = info.file_size
        if max_bytes is not None and declared > max_bytes:
            raise SessionError(f"{self.fname}: member {name!r} is too large ({declared:,} bytes)")
        buf = io.BytesIO()
        got = 0
        try:
            with self.zf.open(info, "r") as f:
                while True:
                    chunk = f.read(min(1 << 20, declared - got + 1))
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > declared:
                        raise SessionError(
                            f"{self.fname}: member {name!r} decompresses to more than its declared "
                            f"{declared:,} bytes (zip bomb?)"
                        )
                    buf.write(chunk)
        except SessionError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as e:
            # zlib.error is an Exception subclass raised by the decompressor
            raise SessionError(f"{self.fname}: member {name!r} is truncated or damaged ({e})") from None
        except Exception as e:  # zlib.error
            raise SessionError(f"{self.fname}: member {name!r} is truncated or damaged ({e})") from None
        if got != declared:
            raise SessionError(f"{self.fname}: member {name!r} is truncated ({got:,} of {declared:,} bytes)")
        return buf.getvalue()

    def npy_header(self, name: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
        """(dtype, shape, fortran_order, header_length) of a .npy member, reading only its start."""
        info = self.infos.get(name)
        if info is None:
            raise SessionError(f"{self.fname}: member {name!r} is missing")
        try:
            with self.zf.open(info, "r") as f:
                head = f.read(min(NPY_HEADER_MAX, info.file_size))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as e:
            raise SessionError(f"{self.fname}: member {name!r} is truncated or damaged ({e})") from None
        except Exception as e:  # zlib.error
            raise SessionError(f"{self.fname}: member {name!r} is truncated or damaged ({e})") from None
        return parse_npy_header(head, f"{self.fname}: member {name!r}")

    def read_array(self, name: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        """A .npy member, which must have exactly this dtype string and shape."""
        where = f"{self.fname}: member {name!r}"
        info = self.infos.get(name)
        if info is None:
            raise SessionError(f"{self.fname}: member {name!r} is missing")
        dt, shp, fortran, hlen = self.npy_header(name)
        if dt.str != dtype or shp != tuple(shape):
            raise SessionError(
                f"{where}: holds a {dt.str} array of shape {shp}, "
                f"but the manifest says {dtype} {tuple(shape)}"
            )
        nbytes = int(np.prod(shp, dtype=np.int64)) * dt.itemsize
        if info.file_size != hlen + nbytes:
            raise SessionError(f"{where}: size {info.file_size:,} does not match its header")
        data = self.read_bytes(name)
        arr = np.frombuffer(data, dtype=dt, count=nbytes // dt.itemsize if dt.itemsize else 0, offset=hlen)
        arr = arr.reshape(shp, order="F" if fortran else "C")
        return np.array(arr, order="C")  # own, writable, C-ordered copy


def parse_npy_header(head: bytes, where: str) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    fmt = np.lib.format
    bio = io.BytesIO(head)
    try:
        version = fmt.read_magic(bio)
    except ValueError:
        raise SessionError(f"{where}: not a .npy array") from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(bio, max_header_size=NPY_HEADER_MAX)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(bio, max_header_size=NPY_HEADER_MAX)
        else:  # pragma: no cover - read_magic only accepts known versions
            raise ValueError(f"unknown .npy version {version}")
    except Exception as e:  # ValueError, SyntaxError, tokenize.TokenError, ...
        raise SessionError(f"{where}: damaged .npy header ({e})") from None
    if dtype.hasobject:
        raise SessionError(f"{where}: holds Python objects (a pickled array); refusing to load it")
    if not _ALLOWED_DTYPE.match(dtype.str) or dtype.itemsize == 0:
        raise SessionError(f"{where}: unsupported array type {dtype.str}")
    if any((not isinstance(s, int)) or s < 0 for s in shape):
        raise SessionError(f"{where}: invalid shape {shape}")
    return dtype, tuple(int(s) for s in shape), bool(fortran), bio.tell()
