"""*.playground-gan files: an exact save and resume of a GAN experiment.

The project's session container (``session/archive.py``): a zip written atomically (temp
file, fsync, rename), read back by the defensive, memory-bounded reader that checks every
member's declared size and parses .npy headers by hand. Members:

- ``gan.json``: ``format``, ``schema_version``, the GanSpec, the counters (D and G steps,
  both optimizers' update counts), the record stride, the app's view state;
- ``theta_g.npy``, ``theta_d.npy``: both flat parameter vectors;
- ``state_g.npy``, ``state_d.npy``: both optimizers' (3, n) states (moments, buffers);
- ``records.npy``: the kept per-iteration losses; ``real_base.npy``: the real base set (so a
  session made from a CSV opens without the file).

The random draws are a pure function of (seed, counters), so the counters *are* the RNG
state: train 2N == train N, save, load, train N, bit for bit (tests/test_gan_session.py).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from playground.errors import SessionError, SpecError
from playground.gan import kernels as K
from playground.gan.data import RealData, build_real_data
from playground.gan.model import GanTrainer
from playground.gan.spec import FORMAT, GanSpec
from playground.session.archive import Archive, atomic_write, portable, write_npy_member, write_text_member
from playground.spec import short_path

DOCUMENT = "gan.json"
GAN_SESSION_VERSION = 1
SUFFIX = ".playground-gan"
ARRAYS = ("theta_g", "theta_d", "state_g", "state_d", "records", "real_base")


def _app_version() -> str:
    try:
        from playground import __version__

        return str(__version__)
    except Exception:  # pragma: no cover
        return "unknown"


def save(trainer: GanTrainer, path: str | os.PathLike, view: dict | None = None) -> Path:
    """Write ``trainer`` to ``path`` atomically (the previous file survives any crash)."""
    path = Path(path)
    name = short_path(path.name)
    arrays = {
        "theta_g": trainer.theta_g,
        "theta_d": trainer.theta_d,
        "state_g": trainer.state_g,
        "state_d": trainer.state_d,
        "records": np.ascontiguousarray(trainer.records, dtype=np.float64),
        "real_base": np.ascontiguousarray(trainer.real.base, dtype=np.float64),
    }
    arrays = {k: portable(v) for k, v in arrays.items()}
    doc = {
        "format": FORMAT,
        "schema_version": GAN_SESSION_VERSION,
        "app_version": _app_version(),
        "spec": trainer.spec.to_dict(),
        "backend": trainer.backend,
        "counters": [int(c) for c in trainer.counters],
        "record_stride": int(trainer.record_stride),
        "real_jitter": float(trainer.real.jitter),
        "arrays": {k: [v.dtype.str, list(v.shape)] for k, v in arrays.items()},
        "view": view,
    }
    try:
        text = json.dumps(doc, indent=1, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise SessionError(f"{name}: the view state is not plain JSON data ({e})") from None

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            write_text_member(zf, DOCUMENT, text)
            for k, v in arrays.items():
                write_npy_member(zf, f"{k}.npy", v)

    try:
        atomic_write(path, write)
    except (OSError, ValueError) as e:
        raise SessionError(
            f"{name}: cannot save the GAN session ({getattr(e, 'strerror', None) or e})"
        ) from None
    return path


def load(path: str | os.PathLike, backend: str | None = None) -> tuple[GanTrainer, dict | None]:
    """(trainer, view state) from a GAN session; SessionError names the file and the field."""
    p = Path(path)
    with Archive(p) as ar:
        fname = ar.fname
        if not ar.has(DOCUMENT):
            raise SessionError(f"{fname}: member {DOCUMENT!r} is missing (not a GAN session?)")
        try:
            doc = json.loads(ar.read_bytes(DOCUMENT, max_bytes=ar.limits.max_json_bytes).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise SessionError(f"{fname}: {DOCUMENT} is not valid JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SessionError(f"{fname}: {DOCUMENT} field 'format' must be {FORMAT!r}")
        version = doc.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SessionError(f"{fname}: {DOCUMENT} field 'schema_version' must be a positive integer")
        if version > GAN_SESSION_VERSION:
            raise SessionError(
                f"{fname}: was saved by a newer version of Neural Playground; please update the app"
            )
        try:
            spec = GanSpec.from_dict(doc.get("spec"))
        except SpecError as e:
            raise SessionError(f"{fname}: {DOCUMENT} field 'spec': {e}") from None
        counters = doc.get("counters")
        if (
            not isinstance(counters, list)
            or len(counters) != 4
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < 2**62 for c in counters)
        ):
            raise SessionError(f"{fname}: {DOCUMENT} field 'counters' must be 4 non-negative integers")
        stride = doc.get("record_stride")
        if not isinstance(stride, int) or isinstance(stride, bool) or not 1 <= stride < 2**62:
            raise SessionError(f"{fname}: {DOCUMENT} field 'record_stride' must be a positive integer")
        jitter = doc.get("real_jitter")
        if (
            not isinstance(jitter, (int, float))
            or isinstance(jitter, bool)
            or not np.isfinite(jitter)
            or jitter < 0
        ):
            raise SessionError(f"{fname}: {DOCUMENT} field 'real_jitter' must be a number >= 0")
        base = _read(ar, doc, "real_base", "<f8", None)
        if base.ndim != 2 or base.shape[1] != 2 or len(base) == 0 or not np.isfinite(base).all():
            raise SessionError(f"{fname}: member 'real_base.npy' must hold finite (n, 2) points")
        real = (
            RealData(base, float(jitter), None, 0.0, "csv")
            if spec.data.kind == "csv"
            else build_real_data(spec.data)
        )
        tr = GanTrainer(spec, backend=backend or doc.get("backend", "numba"), real=real)
        dt = tr.dtype.str
        for name, target in (
            ("theta_g", tr.theta_g),
            ("theta_d", tr.theta_d),
            ("state_g", tr.state_g),
            ("state_d", tr.state_d),
        ):
            arr = _read(ar, doc, name, dt, target.shape)
            if not np.isfinite(arr).all():
                raise SessionError(f"{fname}: member '{name}.npy' holds values that are not finite")
            target[...] = arr
        records = _read(ar, doc, "records", "<f8", None)
        if records.ndim != 2 or records.shape[1] != K.REC_WIDTH:
            raise SessionError(f"{fname}: member 'records.npy' must have {K.REC_WIDTH} columns")
    tr.counters[:] = counters
    tr.records = records
    tr.record_stride = stride
    view = doc.get("view")
    return tr, view if isinstance(view, dict) else None


def _read(ar: Archive, doc: dict, name: str, dtype: str, shape) -> np.ndarray:
    decl = doc.get("arrays", {}).get(name) if isinstance(doc.get("arrays"), dict) else None
    if not (isinstance(decl, list) and len(decl) == 2 and isinstance(decl[1], list)):
        raise SessionError(f"{ar.fname}: {DOCUMENT} field 'arrays.{name}' is missing or malformed")
    if decl[0] != dtype:
        raise SessionError(f"{ar.fname}: member '{name}.npy' must be {dtype}, the manifest says {decl[0]}")
    declared = tuple(int(v) for v in decl[1] if isinstance(v, int) and v >= 0)
    if len(declared) != len(decl[1]) or (shape is not None and declared != tuple(shape)):
        raise SessionError(f"{ar.fname}: member '{name}.npy' has shape {tuple(decl[1])}, expected {shape}")
    return ar.read_array(f"{name}.npy", dtype, declared)


def is_gan_session(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a GAN session (by its suffix or its document member)."""
    p = Path(path)
    if p.suffix == SUFFIX:
        return True
    try:
        with zipfile.ZipFile(p) as zf:
            return DOCUMENT in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
