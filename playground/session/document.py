"""Saving and loading ``*.playground`` session files (layout: docs/SESSION_FORMAT.md)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import stat
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from playground.engine import methods
from playground.errors import DataError, PlaygroundError, SessionError, SpecError
from playground.session.archive import (
    ZIP_MAGIC,
    Archive,
    atomic_write,
    portable,
    write_npy_member,
    write_text_member,
)
from playground.spec import check_memory, short_path

FORMAT = "neural-playground-session"
SESSION_SCHEMA_VERSION = 2  # 2: networks of any layer blocks (network_sizes are block widths)
DOCUMENT = "session.json"
MAX_SPEC_BYTES = 16 << 20
MAX_HISTORY_ROWS = 10_000_000
INT64_MAX = 2**63 - 1
# metrics every session has, and those that must be numbers (or null, saved for NaN)
REQUIRED_METRICS = ("step",)
NUMERIC_METRICS = (
    "train_loss", "test_loss", "train_accuracy", "test_accuracy", "train_r2", "test_r2",
    "grad_norm", "epoch",
)  # fmt: skip
SCALAR_FLOAT = ("t", "H_diag", "prev_loss")
LBFGS_VECTORS = ("d", "prev_flat_grad")
LBFGS_INTS = ("n_iter", "func_evals", "last_n_iter", "last_func_evals")
LBFGS_COUNT_MAX = 2**62  # far beyond any run (10**12 steps x 10**5 iterations), with room to count

# version -> function turning a session document (session.json as a dict) of that version
# into one of version + 1. Arrays may be renamed by editing doc["members"] only if the
# loader is taught the old name too; keep migrations to the JSON wherever possible.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def _from_v1(doc: dict) -> dict:
    """Format 1 held dense networks only; format 2 reads them unchanged (a layer without a
    ``kind`` is dense, its ``network_sizes`` are the same numbers)."""
    return {**doc, "schema_version": 2}


MIGRATIONS[1] = _from_v1


class SessionWarning(UserWarning):
    """A session loaded, but something about it is not exactly as saved."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _app_version() -> str:
    from playground import __version__

    return __version__


# =========================================================================== saving


def save(
    experiment,
    path: str | os.PathLike,
    view: dict | None = None,
    *,
    view_state: dict | None = None,
    remember: bool = True,
) -> Path:
    """Write ``experiment`` to ``path`` atomically (the previous file survives any crash).

    ``view`` (alias ``view_state``) is the app's JSON-able view state. With ``remember``
    the experiment's provenance (path, view state, created) is updated (a "Save", not an autosave).
    """
    path = Path(path)
    name = short_path(path.name)
    if view is None:
        view = view_state
    if view is not None:
        if not isinstance(view, dict):
            raise SessionError(f"{name}: the view state must be a dict, not {type(view).__name__}")
        try:
            view = json.loads(json.dumps(view, allow_nan=False))
        except (TypeError, ValueError) as e:
            raise SessionError(f"{name}: the view state is not plain JSON data ({e})") from None
    try:
        arrays, data_doc = _collect_arrays(experiment)
        doc = _build_document(experiment, arrays, data_doc, view)
    except SessionError as e:
        raise SessionError(f"{name}: {e}") from None
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False)

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            write_text_member(zf, DOCUMENT, text)
            for name, arr in arrays.items():
                write_npy_member(zf, name, arr)

    try:
        atomic_write(path, write)
    except OSError as e:
        raise SessionError(f"{name}: cannot save the session ({e.strerror or e})") from None
    except ValueError as e:  # a NUL byte in the name
        raise SessionError(f"{name}: cannot save the session ({e})") from None
    if remember:
        experiment.provenance.path = path.resolve()
        experiment.provenance.view_state = view
        experiment.provenance.created = doc["created"]
    return path


def _collect_arrays(exp) -> tuple[dict[str, np.ndarray], dict]:
    arrays: dict[str, np.ndarray] = {}
    try:
        state_arrays = exp.trainer.state_arrays()
    except (OverflowError, ValueError) as e:  # a counter beyond int64, ...
        raise SessionError(f"cannot save the session: the optimizer state is out of range ({e})") from None
    for k, v in state_arrays.items():
        arrays[f"trainer/{k}.npy"] = portable(v)
    for k, v in exp.history.to_arrays().items():
        arrays[f"history/{k}.npy"] = portable(v)
    state = exp.session_state()
    arrays["experiment/interval_losses.npy"] = portable(
        np.asarray(state["interval_losses"], dtype=np.float64)
    )
    arrays["experiment/last_layer_sq.npy"] = portable(np.asarray(state["last_layer_sq"], dtype=np.float64))
    d = exp.spec.data
    data_doc: dict[str, Any] = {
        "kind": d.kind,
        "source_path": d.path,
        "fingerprint": fingerprint(exp.dataset),
        "table": None,
    }
    if d.kind == "csv":
        table = embedded_table(exp)
        cols = []
        arrays["data/row_numbers.npy"] = portable(np.asarray(table.row_numbers, dtype=np.int64))
        for i, c in enumerate(table.columns):
            base = f"data/c{i:04d}"
            if c.kind == "numeric":
                values = np.asarray(c.values, dtype=np.float64)
            else:
                values = np.asarray([str(v) for v in c.values.tolist()], dtype=str)
                if values.size == 0:
                    values = np.zeros(0, dtype="<U1")
            arrays[f"{base}_values.npy"] = portable(values)
            arrays[f"{base}_missing.npy"] = portable(np.asarray(c.missing, dtype=bool))
            cols.append(
                {
                    "name": c.name,
                    "kind": c.kind,
                    "values": f"{base}_values.npy",
                    "missing": f"{base}_missing.npy",
                    "n_numeric": int(c.n_numeric),
                    "first_text_row": None if c.first_text_row is None else int(c.first_text_row),
                    "first_text_value": c.first_text_value,
                }
            )
        data_doc["table"] = {
            "source": str(table.source),
            "delimiter": table.delimiter,
            "has_header": bool(table.has_header),
            "n_rows": int(table.n_rows),
            "row_numbers": "data/row_numbers.npy",
            "columns": cols,
        }
    elif d.kind == "image" and d.path:
        data_doc["images"] = _embed_images(exp.dataset, arrays)
    elif d.kind == "sequence" and d.name == "text" and d.path:
        raw = np.frombuffer(embedded_text(exp).encode("utf-8"), dtype=np.uint8)
        arrays[TEXT_MEMBER] = portable(raw)
        data_doc["text"] = {"source": str(d.path), "member": TEXT_MEMBER, "n_bytes": int(raw.size)}
    return arrays, data_doc


TEXT_MEMBER = "data/text.npy"  # a user's text (character models), UTF-8 bytes
IMAGE_MEMBERS = (
    "data/images_train.npy",
    "data/labels_train.npy",
    "data/images_test.npy",
    "data/labels_test.npy",
)


def _embed_images(ds, arrays: dict) -> dict:
    """A folder's images as trained on (resized, split): 8-bit pixels as ``|u1`` (exactly
    X * 255), others as ``<f8``; the folder may move after the session is saved."""
    X = (ds.X_train, ds.X_test)
    eight = [np.rint(x * 255.0).astype(np.uint8) for x in X]
    exact = all(np.array_equal(e / 255.0, x) for e, x in zip(eight, X, strict=True))
    pixels = eight if exact else [np.asarray(x, dtype=np.float64) for x in X]
    for name, a in zip(IMAGE_MEMBERS, (pixels[0], ds.y_train, pixels[1], ds.y_test), strict=True):
        arrays[name] = portable(
            np.asarray(a) if a.dtype == np.uint8 or a.dtype.kind == "f" else a.astype(np.int64)
        )
    info = {
        k: v
        for k, v in ds.info.items()
        if k in ("source", "classes", "color", "resize", "skipped_files", "seed")
    }
    return {
        "scale": 255 if exact else 1,
        "class_names": list(ds.class_names),
        "shape": [int(v) for v in ds.X_train.shape[1:]],
        "n_train": len(ds.X_train),
        "n_test": len(ds.X_test),
        "info": json.loads(json.dumps(info, default=str)),
    }


def embedded_text(exp) -> str:
    """The user's text behind a character model: kept by its Dataset, or read again from its
    file (a dataset built before texts were kept); gone: a SessionError, nothing written."""
    text = getattr(exp.dataset, "text", None)
    if text is not None:
        return text
    from playground.data.build import resolve_data_path
    from playground.data.text import read_text

    path = exp.spec.data.path
    try:
        return read_text(resolve_data_path(path), shown=short_path(path))
    except DataError as e:
        raise SessionError(f"cannot embed the text in the session: {e}") from None


def _jsonable_metrics(m: dict) -> dict:
    out = {}
    for k, v in m.items():
        if isinstance(v, (bool, str)) or v is None:
            out[k] = v
        elif isinstance(v, (int, np.integer)):
            out[k] = int(v)
        elif isinstance(v, (float, np.floating)):
            out[k] = float(v) if math.isfinite(v) else None
    return out


def _build_document(exp, arrays: dict[str, np.ndarray], data_doc: dict, view) -> dict:
    """session.json for ``exp``; raises SessionError (before anything is written) if the
    reader would refuse the session, so a save never writes a file that load refuses."""
    state = exp.session_state()
    now = _now()
    wall = float(state["wall_time"])
    doc = {
        "format": FORMAT,
        "schema_version": SESSION_SCHEMA_VERSION,
        "app_version": _app_version(),
        "created": exp.provenance.created or now,
        "saved": now,
        "spec": resolved_spec(exp.spec, exp.dataset).to_dict(),
        "network_sizes": [int(s) for s in exp.trainer.layout.sizes],
        "n_params": int(exp.trainer.layout.n_params),
        "counters": {
            "step": int(exp.trainer.step),
            "opt_t": int(exp.trainer.opt_t),
            "epoch": float(exp.epoch),
        },
        "status": state["status"],
        "diverged_step": state["diverged_step"],
        "message": state["message"],
        "wall_time": wall if math.isfinite(wall) else 0.0,
        "events": [[int(s), str(t)] for s, t in state["events"]],
        "metrics": _jsonable_metrics(state["last_metrics"]),
        "history": {"rows": len(exp.history), "n_layers": int(exp.trainer.layout.n_layers)},
        "data": data_doc,
        "view": view,
        "members": {name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in arrays.items()},
    }
    check_savable(doc, arrays)
    return doc


def check_savable(doc: dict, arrays: dict[str, np.ndarray]) -> None:
    """The reader's own checks, run on what is about to be written."""
    theta = arrays["trainer/theta.npy"]
    if not np.isfinite(theta).all():
        raise SessionError(
            "cannot save the session: the network's parameters are not finite (NaN or infinite, "
            "after a divergence); reset the network or go back to finite weights first"
        )
    if np.isnan(arrays["trainer/opt_state.npy"]).any():
        raise SessionError(
            "cannot save the session: the optimizer state contains NaN (after a divergence); "
            "reset the network first"
        )
    where = "cannot save the session"
    try:
        plain = json.loads(json.dumps(doc, allow_nan=False))  # as the reader will see it
    except (TypeError, ValueError) as e:
        raise SessionError(f"{where}: its description is not plain JSON data ({e})") from None
    d = _Doc(where, plain)
    state = _check_state_fields(d)
    trainer = {n[len("trainer/") : -4]: a for n, a in arrays.items() if n.startswith("trainer/")}
    hist = {n[len("history/") : -4]: a for n, a in arrays.items() if n.startswith("history/")}
    _check_values(where, state, trainer, hist)


# ----------------------------------------------------------------------------- data


def fingerprint(ds) -> str:
    """blake2b of what the network trains and is tested on (cached on the Dataset)."""
    cached = ds.__dict__.get("_session_fingerprint")
    if cached is not None:
        return cached
    h = hashlib.blake2b(digest_size=16)
    for arr in (ds.X_train, ds.y_train, ds.X_test, ds.y_test):
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    ds.__dict__["_session_fingerprint"] = fp = h.hexdigest()
    return fp


def dataset_from_table(table, spec):
    """The Dataset ``build_csv_dataset`` makes, from an already read table."""
    from playground.data.build import dataset_from_table as build

    return build(table, spec.data, spec.seed)


def embedded_table(exp):
    """The CSV table behind a CSV experiment: attached to its Dataset (``dataset.table``),
    or read again from the file and checked to still give exactly the same data."""
    ds = exp.dataset
    table = getattr(ds, "table", None)
    if table is not None:
        return table
    from playground.data.build import resolve_data_path
    from playground.data.csv_reader import read_csv_table

    d = exp.spec.data
    resolved = resolve_data_path(d.path)
    if not resolved.exists():
        raise SessionError(
            f"cannot embed the data in the session: {d.path} no longer exists (it was moved or deleted)"
        )
    try:
        table = read_csv_table(resolved, delimiter=d.delimiter, header=d.header, skip_rows=d.skip_rows)
        rebuilt = dataset_from_table(table, exp.spec)
    except PlaygroundError as e:
        raise SessionError(f"cannot embed the data in the session: {e}") from None
    if fingerprint(rebuilt) != fingerprint(ds):
        raise SessionError(
            f"cannot embed the data in the session: {d.path} changed on disk since it was imported; "
            "reload the data first"
        )
    ds.table = table
    return table


# =========================================================================== loading


def load(path: str | os.PathLike):
    """Open a ``*.playground`` session (exact resume) or a spec ``*.json`` (a fresh
    experiment from the template). Raises SessionError naming the file and what is wrong."""
    p = Path(path)
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):  # a folder, /dev/zero or a pipe: never read
            raise SessionError(f"{short_path(p)}: not a regular file (a folder, device or pipe)")
        with open(p, "rb") as f:
            head = f.read(4)
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise SessionError(f"{short_path(p)}: cannot open ({reason})") from None
    if head.startswith(b"PK") or p.suffix.lower() == ".playground":
        return _load_session(p)
    return _load_spec(p)


def _load_spec(p: Path):
    from playground.data.build import build_dataset
    from playground.experiment import Experiment
    from playground.spec import ExperimentSpec, check_memory_for_data

    name = short_path(p.name)
    try:
        if p.stat().st_size > MAX_SPEC_BYTES:
            raise SessionError(f"{name}: too large for an experiment spec")
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise SessionError(f"{name}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise SessionError(f"{name}: neither a session nor a spec (not UTF-8 text)") from None
    try:
        spec = ExperimentSpec.from_json(text, base_dir=p.parent)
        dataset = build_dataset(spec.data, spec.seed)
        check_memory_for_data(spec, dataset)  # before the trainer allocates anything
    except SpecError as e:
        raise SessionError(f"{name}: {e}") from None
    return Experiment(spec, dataset=dataset)  # a fresh provenance: no session file, no view


class _Doc:
    """Typed access to session.json fields with errors that name the field."""

    def __init__(self, fname: str, doc: dict):
        self.fname = fname
        self.doc = doc

    def fail(self, field: str, what: str):
        raise SessionError(f"{self.fname}: {DOCUMENT} field {field!r} {what}")

    def get(self, field: str, kinds, *, optional: bool = False):
        cur: Any = self.doc
        for k in field.split("."):
            if not isinstance(cur, dict) or k not in cur:
                if optional:
                    return None
                self.fail(field, "is missing")
            cur = cur[k]
        if cur is None and optional:
            return None
        if isinstance(cur, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            self.fail(field, f"must be {_kind_names(kinds)}")
        if not isinstance(cur, kinds):
            self.fail(field, f"must be {_kind_names(kinds)}")
        if isinstance(cur, int) and not isinstance(cur, bool) and not -INT64_MAX <= cur <= INT64_MAX:
            self.fail(field, "is far too large")
        return cur

    def count(self, field: str, *, optional: bool = False) -> int | None:
        v = self.get(field, int, optional=optional)
        if v is not None and v < 0:
            self.fail(field, "must not be negative")
        return v


def _kind_names(kinds) -> str:
    names = {
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        bool: "true or false",
    }
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def read_document(ar: Archive) -> dict:
    """session.json: parsed, format- and version-checked, migrated to the current version."""
    fname = ar.fname
    if not ar.has(DOCUMENT):
        raise SessionError(f"{fname}: member {DOCUMENT!r} is missing (not a Neural Playground session?)")
    raw = ar.read_bytes(DOCUMENT, max_bytes=ar.limits.max_json_bytes)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise SessionError(f"{fname}: {DOCUMENT} is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise SessionError(
            f"{fname}: {DOCUMENT} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    except (ValueError, RecursionError) as e:
        raise SessionError(f"{fname}: {DOCUMENT} is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise SessionError(f"{fname}: {DOCUMENT} must hold a JSON object")
    if doc.get("format") != FORMAT:
        raise SessionError(
            f"{fname}: {DOCUMENT} field 'format' is {doc.get('format')!r}, expected {FORMAT!r}"
        )
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionError(f"{fname}: {DOCUMENT} field 'schema_version' must be a positive integer")
    if version > SESSION_SCHEMA_VERSION:
        by = doc.get("app_version")
        by = f" ({by})" if isinstance(by, str) else ""
        raise SessionError(
            f"{fname}: was saved by a newer version of Neural Playground{by} (session format {version}; "
            f"this version reads up to {SESSION_SCHEMA_VERSION}); please update the app"
        )
    return migrate_document(doc, fname)


def migrate_document(doc: dict, fname: str = "session") -> dict:
    version = doc["schema_version"]
    while version < SESSION_SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise SessionError(f"{fname}: no migration from session format {version}")
        doc = MIGRATIONS[version](dict(doc))
        version = doc["schema_version"]
    return doc


def _spec_of(d: _Doc):
    from playground.spec import ExperimentSpec

    spec_dict = d.get("spec", dict)
    try:
        return ExperimentSpec.from_dict(spec_dict)
    except SpecError as e:
        where = f"spec.{e.path}" if e.path else "spec"
        raise SessionError(f"{d.fname}: {DOCUMENT} field {where!r}: {e.message}") from None


def _shown(text: str) -> str:
    """A value from the file as a message shows it: as is, or quoted when it holds line
    breaks or other unprintable characters (a message is one line)."""
    return text if text.isprintable() else repr(text)


def _manifest(d: _Doc) -> dict[str, tuple[str, tuple[int, ...]]]:
    members = d.get("members", dict)
    out = {}
    for name, m in members.items():
        if (
            not isinstance(m, dict)
            or not isinstance(m.get("dtype"), str)
            or not isinstance(m.get("shape"), list)
        ):
            d.fail(f"members.{name}", "must be an object with 'dtype' and 'shape'")
        shape = m["shape"]
        if not all(_is_count(s) for s in shape) or len(shape) > 4:
            d.fail(f"members.{name}.shape", "must be a list of non-negative integers")
        out[name] = (m["dtype"], tuple(shape))
    return out


def _expected_members(d: _Doc, spec, manifest) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape) every member must have, from the spec and the counts in the doc."""
    fname = d.fname
    sizes = d.get("network_sizes", list)
    if len(sizes) < 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 10**7 for s in sizes
    ):
        d.fail("network_sizes", "must list at least 2 positive layer sizes")
    if all(h.kind == "dense" for h in spec.network.hidden):
        hidden = [h.units for h in spec.network.hidden]
        # images and sequences reach a dense layer through an implicit flatten row, whose
        # size is the input's (the parameter count checked below catches any other mismatch)
        flattened = len(sizes) >= 3 and sizes[1] == sizes[0] and sizes[2:-1] == hidden
        if sizes[1:-1] != hidden and not flattened:
            d.fail("network_sizes", f"{sizes} does not match the spec's hidden layers {hidden}")
        dense = sizes[1:] if sizes[1:-1] != hidden else sizes  # a flatten row has no parameters
        P = sum(a * b + b for a, b in zip(dense[:-1], dense[1:]))
    else:  # image blocks: their parameters follow from the data's image shape, checked on load
        P = d.get("n_params", int)
        if not 1 <= P <= 10**9:
            d.fail("n_params", "must be a positive number of parameters")
    L = len(sizes) - 1
    fdt = np.dtype(spec.training.dtype).newbyteorder("<").str
    exp: dict[str, tuple[str, tuple[int, ...]]] = {
        "trainer/theta.npy": (fdt, (P,)),
        "trainer/opt_state.npy": (fdt, (3, P)),
        "trainer/counters.npy": ("<i8", (2,)),
    }
    if spec.training.optimizer.name == "lbfgs":
        hist = int(spec.training.optimizer.resolved()["history_size"])
        k_shape = manifest.get("trainer/lbfgs_old_dirs.npy", ("", (0, P)))[1]
        k = k_shape[0] if len(k_shape) == 2 and k_shape[0] <= hist else 0
        exp["trainer/lbfgs_old_dirs.npy"] = ("<f8", (k, P))
        exp["trainer/lbfgs_old_stps.npy"] = ("<f8", (k, P))
        exp["trainer/lbfgs_ro.npy"] = ("<f8", (k,))
        for v in LBFGS_VECTORS:
            got = manifest.get(f"trainer/lbfgs_{v}.npy", ("", (P,)))[1]
            exp[f"trainer/lbfgs_{v}.npy"] = ("<f8", (0,) if got == (0,) else (P,))
        for v in SCALAR_FLOAT:
            got = manifest.get(f"trainer/lbfgs_{v}.npy", ("", ()))[1]
            exp[f"trainer/lbfgs_{v}.npy"] = ("<f8", (0,) if got == (0,) else ())
        for v in LBFGS_INTS:
            exp[f"trainer/lbfgs_{v}.npy"] = ("<i8", ())
    if methods.is_method(spec.training.optimizer.name):  # engine/methods: declared state shapes
        try:
            methods.check(spec, P)
        except SpecError as e:
            raise SessionError(f"{d.fname}: the saved spec cannot be trained: {e}") from None
        for k, (dt, shape) in methods.state_shapes(spec, P).items():
            exp[f"trainer/method_{k}.npy"] = (dt, shape)
    if "trainer/counts.npy" in manifest:  # evaluation counts (sessions before them lack it)
        exp["trainer/counts.npy"] = ("<i8", (2,))
    rows = d.count("history.rows")
    if rows > MAX_HISTORY_ROWS:
        d.fail("history.rows", "is impossibly large")
    from playground.history import LAYER_COLUMNS, SCALAR_COLUMNS

    for c in SCALAR_COLUMNS:
        exp[f"history/{c}.npy"] = ("<f8", (rows,))
    for c in LAYER_COLUMNS:
        exp[f"history/{c}.npy"] = ("<f8", (rows, L))
    exp["history/_meta.npy"] = ("<i8", (3,))
    n_int = manifest.get("experiment/interval_losses.npy", ("", (0,)))[1]
    exp["experiment/interval_losses.npy"] = ("<f8", n_int if len(n_int) == 1 else (0,))
    exp["experiment/last_layer_sq.npy"] = ("<f8", (L, 2))
    if spec.data.kind == "csv":
        exp.update(_expected_table_members(d, manifest))
    elif d.get("data.images", dict, optional=True) is not None:
        exp.update(_expected_image_members(d))
    elif d.get("data.text", dict, optional=True) is not None:
        if d.get("data.text.member", str) != TEXT_MEMBER:
            d.fail("data.text.member", f"must be {TEXT_MEMBER!r}")
        exp[TEXT_MEMBER] = ("|u1", (d.count("data.text.n_bytes"),))
    for name in manifest:
        if name not in exp:
            raise SessionError(f"{fname}: {DOCUMENT} lists an unexpected member {name!r}")
    for name, (dt, shape) in exp.items():
        if name not in manifest:
            raise SessionError(f"{fname}: {DOCUMENT} does not list member {name!r} (it is required)")
        mdt, mshape = manifest[name]
        if mdt != dt or mshape != shape:
            raise SessionError(
                f"{fname}: member {name!r} is listed as {_shown(mdt)} {mshape}, "
                f"but this session needs {dt} {shape}"
                + (" (it does not match the network in the spec)" if name.startswith("trainer/") else "")
            )
        if not d_has(d, name):
            raise SessionError(f"{fname}: member {name!r} is missing")
    return exp


def _expected_image_members(d: _Doc) -> dict:
    scale = d.get("data.images.scale", int)
    if scale not in (1, 255):
        d.fail("data.images.scale", "must be 1 or 255")
    shape = d.get("data.images.shape", list)
    if len(shape) != 3 or not all(_is_count(v) and v > 0 for v in shape):
        d.fail("data.images.shape", "must be [channels, height, width]")
    names = d.get("data.images.class_names", list)
    if len(names) < 2 or not all(isinstance(v, str) for v in names):
        d.fail("data.images.class_names", "must list at least 2 class names")
    d.get("data.images.info", dict)
    pixels = "|u1" if scale == 255 else "<f8"
    n_train, n_test = d.count("data.images.n_train"), d.count("data.images.n_test")
    return {
        IMAGE_MEMBERS[0]: (pixels, (n_train, *shape)),
        IMAGE_MEMBERS[1]: ("<i8", (n_train,)),
        IMAGE_MEMBERS[2]: (pixels, (n_test, *shape)),
        IMAGE_MEMBERS[3]: ("<i8", (n_test,)),
    }


def _read_images(d: _Doc, ar: Archive):
    from playground.data.images import split_image_dataset

    a = [ar.read_array(name, *d.expected[name]) for name in IMAGE_MEMBERS]
    doc = d.doc["data"]["images"]
    names = doc["class_names"]
    for labels, part in ((a[1], "train"), (a[3], "test")):
        if labels.size and not (0 <= labels.min() and labels.max() < len(names)):
            d.fail(f"data.images (labels_{part})", f"holds class numbers beyond the {len(names)} classes")
    X_train, X_test = (x / 255.0 if doc["scale"] == 255 else x for x in (a[0], a[2]))
    if not (np.isfinite(X_train).all() and np.isfinite(X_test).all()):
        d.fail("data.images", "holds pixels that are not finite")
    info = {
        "n_rows": len(a[1]) + len(a[3]),
        "rows_dropped": 0,
        "image_shape": list(doc["shape"]),
        **doc["info"],
    }
    return split_image_dataset(X_train, a[1], X_test, a[3], list(names), info)


def d_has(d: _Doc, name: str) -> bool:
    return name in d.archive_names


def _expected_table_members(d: _Doc, manifest) -> dict:
    t = d.get("data.table", dict)
    n = d.count("data.table.n_rows")
    cols = d.get("data.table.columns", list)
    if not cols:
        d.fail("data.table.columns", "must list at least one column")
    exp = {"data/row_numbers.npy": ("<i8", (n,))}
    if t.get("row_numbers") != "data/row_numbers.npy":
        d.fail("data.table.row_numbers", "must be 'data/row_numbers.npy'")
    for i, c in enumerate(cols):
        f = f"data.table.columns[{i}]"
        if not isinstance(c, dict):
            d.fail(f, "must be an object")
        if not isinstance(c.get("name"), str):
            d.fail(f"{f}.name", "must be a string")
        if c.get("kind") not in ("numeric", "text"):
            d.fail(f"{f}.kind", "must be 'numeric' or 'text'")
        base = f"data/c{i:04d}"
        if c.get("values") != f"{base}_values.npy" or c.get("missing") != f"{base}_missing.npy":
            d.fail(f, f"must refer to members {base}_values.npy and {base}_missing.npy")
        if c["kind"] == "numeric":
            exp[f"{base}_values.npy"] = ("<f8", (n,))
        else:
            got = manifest.get(f"{base}_values.npy", ("<U1", (n,)))[0]
            exp[f"{base}_values.npy"] = (got if got.startswith("<U") else "<U1", (n,))
        exp[f"{base}_missing.npy"] = ("|b1", (n,))
    return exp


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64_MAX


def _read_table(d: _Doc, ar: Archive):
    from playground.data.csv_reader import Column, Table

    t = d.doc["data"]["table"]
    columns = []
    for i, c in enumerate(t["columns"]):
        values = ar.read_array(c["values"], *d.expected[c["values"]])
        missing = ar.read_array(c["missing"], *d.expected[c["missing"]])
        if c["kind"] == "text":
            values = values.astype(object)
        ftr = c.get("first_text_row")
        ftv = c.get("first_text_value")
        nn = c.get("n_numeric", 0)
        if not (ftr is None or _is_count(ftr)) or not (ftv is None or isinstance(ftv, str)):
            d.fail(f"data.table.columns[{i}]", "has an invalid first_text_row/first_text_value")
        if not _is_count(nn) or nn > len(values):
            d.fail(f"data.table.columns[{i}].n_numeric", "must be an integer between 0 and the row count")
        columns.append(Column(c["name"], c["kind"], values, missing, nn, ftr, ftv))
    rows = ar.read_array("data/row_numbers.npy", *d.expected["data/row_numbers.npy"])
    delim = t.get("delimiter", ",")
    return Table(
        source=str(t.get("source", d.doc["data"].get("source_path") or "")),
        columns=columns,
        row_numbers=rows,
        delimiter=delim if isinstance(delim, str) else ",",
        has_header=bool(t.get("has_header", True)),
    )


def _check_state_fields(d: _Doc) -> dict:
    step = d.count("counters.step")
    opt_t = d.count("counters.opt_t")
    status = d.get("status", str)
    if status not in ("ready", "diverged"):
        d.fail("status", "must be 'ready' or 'diverged'")
    div = d.count("diverged_step", optional=True)
    message = d.get("message", str)
    wall = d.get("wall_time", (int, float))
    if not math.isfinite(wall) or wall < 0:
        d.fail("wall_time", "must be a finite number >= 0")
    if div is not None and div > step + 1:  # the step that failed: one past the last good one
        d.fail("diverged_step", f"is beyond the current step {step}")
    events = []
    for i, ev in enumerate(d.get("events", list)):
        if (
            not isinstance(ev, list)
            or len(ev) != 2
            or not isinstance(ev[0], int)
            or isinstance(ev[0], bool)
            or not 0 <= ev[0] <= step
            or not isinstance(ev[1], str)
        ):
            d.fail(f"events[{i}]", "must be [step, text] with a step between 0 and the current step")
        events.append((ev[0], ev[1]))
    metrics = d.get("metrics", dict)
    for k in REQUIRED_METRICS:
        if k not in metrics:
            d.fail(f"metrics.{k}", "is missing (every session records the step of its metrics)")
    clean = {}
    for k, v in metrics.items():
        if k == "step":
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= step:
                d.fail("metrics.step", f"must be an integer between 0 and the current step {step}")
            clean[k] = v
        elif v is None:
            clean[k] = float("nan")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                clean[k] = float(v)
            except OverflowError:
                d.fail(f"metrics.{k}", "is far too large")
            if not math.isfinite(clean[k]):  # pragma: no cover - JSON constants are refused earlier
                d.fail(f"metrics.{k}", "must be a finite number or null")
        elif isinstance(v, str) and k not in NUMERIC_METRICS:
            clean[k] = v
        else:
            what = "a number or null" if k in NUMERIC_METRICS else "a number, a string or null"
            d.fail(f"metrics.{k}", f"must be {what}")
    view = d.get("view", dict, optional=True)
    return {
        "step": step,
        "opt_t": opt_t,
        "status": status,
        "diverged_step": div,
        "message": message,
        "wall_time": float(wall),
        "events": events,
        "last_metrics": clean,
        "view": view,
    }


def _load_session(p: Path):
    with Archive(p) as ar:
        return experiment_from_document(ar, read_document(ar), p)


def experiment_from_document(ar, doc: dict, p: Path):
    """The Experiment a (read, migrated) session document describes, its arrays read from
    ``ar`` (an Archive, or a view of one under a prefix: race members, see session/race.py)."""
    from playground.experiment import Experiment
    from playground.history import History

    fname = ar.fname
    d = _Doc(fname, doc)
    d.archive_names = set(ar.infos)
    spec = _spec_of(d)
    state = _check_state_fields(d)
    d.get("data", dict)
    kind = d.get("data.kind", str)
    if kind != spec.data.kind:
        d.fail("data.kind", f"is {kind!r} but the spec says {spec.data.kind!r}")
    manifest = _manifest(d)
    d.expected = _expected_members(d, spec, manifest)
    sizes = doc["network_sizes"]
    try:
        if all(h.kind == "dense" for h in spec.network.hidden):  # image networks: once the data is read
            check_memory(spec, sizes[0], sizes[-1])
    except SpecError as e:
        raise SessionError(f"{fname}: cannot open this session here: {e.message}") from None

    # data, then the experiment it defines
    try:
        spec, dataset = _read_dataset(d, ar, spec)
        exp = Experiment(spec, dataset=dataset)
    except SessionError:
        raise
    except (SpecError, DataError) as e:
        raise SessionError(f"{fname}: the saved data and spec do not fit together: {e}") from None
    except ValueError as e:
        raise SessionError(f"{fname}: the saved data and spec do not fit together: {e}") from None
    sizes = [int(s) for s in exp.trainer.layout.sizes]
    if sizes != doc["network_sizes"]:
        d.fail("network_sizes", f"is {doc['network_sizes']} but the data and spec give a network {sizes}")
    if exp.trainer.layout.n_params != d.expected["trainer/theta.npy"][1][0]:
        d.fail("n_params", f"the data and spec give a network of {exp.trainer.layout.n_params} parameters")

    def arr(name: str) -> np.ndarray:
        return ar.read_array(name, *d.expected[name])

    trainer = {n[len("trainer/") : -4]: arr(n) for n in d.expected if n.startswith("trainer/")}
    hist = {n[len("history/") : -4]: arr(n) for n in d.expected if n.startswith("history/")}
    state["interval_losses"] = arr("experiment/interval_losses.npy")
    state["last_layer_sq"] = arr("experiment/last_layer_sq.npy")

    _check_values(fname, state, trainer, hist)
    try:
        history = History.from_arrays(hist, exp.trainer.layout.n_layers)
        exp.restore_session_state(trainer, history, state)
    except (ValueError, KeyError, TypeError) as e:
        raise SessionError(f"{fname}: cannot restore the saved state: {e}") from None
    saved_fp = doc["data"].get("fingerprint")
    if isinstance(saved_fp, str) and saved_fp != fingerprint(exp.dataset):
        msg = (
            f"{fname}: the data rebuilt from the session differs from the data it was trained on "
            "(a different version of the data generator?); training continues but will not match exactly"
        )
        exp.provenance.load_warnings.append(msg)
        warnings.warn(msg, SessionWarning, stacklevel=2)
    exp.provenance.view_state = state["view"]
    exp.provenance.path = p.resolve()
    created = doc.get("created")
    exp.provenance.created = created if isinstance(created, str) else None
    return exp


def resolved_spec(spec, dataset):
    """The spec as saved: for CSV data, task "auto" and "every column" are written as what
    they chose for this table, so a later app with other detection rules rebuilds the same
    network from the session."""
    if spec.data.kind != "csv" or dataset is None or "features" not in dataset.info:
        return spec
    data = replace(spec.data, task=dataset.task, features=tuple(dataset.info["features"]))
    return replace(spec, data=data)


def _legacy_resolved(spec, table):
    """Sessions saved before :func:`resolved_spec` existed left task and features to the
    rules of their day: a numeric target was regression, and every other column an input."""
    d = spec.data
    if (d.task is not None and d.features) or d.window is not None:  # a time series: columns, no features
        return spec
    task = d.task
    if task is None:
        target = next((c for c in table.columns if c.name == d.target), None)
        task = "classification" if target is not None and target.kind == "text" else "regression"
    features = d.features or tuple(c.name for c in table.columns if c.name != d.target)
    return replace(spec, data=replace(d, task=task, features=features))


def _read_dataset(d: _Doc, ar: Archive, spec):
    """(spec, dataset) of a session: toy data regenerated, CSV data from the embedded table,
    a user's text or image folder from what is embedded (sessions saved before those were
    embedded read the file or folder again)."""
    if IMAGE_MEMBERS[0] in d.expected:
        return spec, _read_images(d, ar)
    if TEXT_MEMBER in d.expected:
        from playground.data.sequences import build_sequence_dataset

        raw = ar.read_array(TEXT_MEMBER, *d.expected[TEXT_MEMBER])
        try:
            text = raw.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            d.fail("data.text", "refers to bytes that are not UTF-8 text")
        return spec, build_sequence_dataset(spec.data, spec.seed, text=text)
    if spec.data.kind != "csv":
        from playground.data.build import build_dataset

        return spec, build_dataset(spec.data, spec.seed)
    table = _read_table(d, ar)
    spec = _legacy_resolved(spec, table)
    return spec, dataset_from_table(table, spec)


def _check_values(fname: str, state: dict, trainer: dict, hist: dict) -> None:
    def bad(member: str, what: str):
        raise SessionError(f"{fname}: member {member!r} {what}")

    if not np.isfinite(trainer["theta"]).all():
        bad("trainer/theta.npy", "contains NaN or infinite parameters (saved parameters are always finite)")
    step, opt_t = (int(v) for v in trainer["counters"])
    if step < 0 or opt_t < 0 or opt_t > step or step > LBFGS_COUNT_MAX:
        bad("trainer/counters.npy", f"holds impossible counters (step {step}, optimizer step {opt_t})")
    if (step, opt_t) != (state["step"], state["opt_t"]):
        raise SessionError(
            f"{fname}: {DOCUMENT} field 'counters' says step {state['step']}, "
            f"but the trainer state says {step}"
        )
    if np.isnan(trainer["opt_state"]).any():
        bad("trainer/opt_state.npy", "contains NaN values")
    for k in LBFGS_INTS:
        v = trainer.get(f"lbfgs_{k}")
        if v is not None and not 0 <= int(v) <= LBFGS_COUNT_MAX:
            bad(f"trainer/lbfgs_{k}.npy", f"must be between 0 and {LBFGS_COUNT_MAX:,}")
    for k, v in trainer.items():
        if (k == "counts" or k.startswith("method_")) and v.dtype.kind == "i":
            if v.size and not ((v >= 0) & (v <= LBFGS_COUNT_MAX)).all():
                bad(f"trainer/{k}.npy", f"holds counts outside 0 .. {LBFGS_COUNT_MAX:,}")
    stride, candidates, max_rows = (int(v) for v in hist["_meta"])
    n = len(hist["step"])
    if stride < 1 or max_rows < 2 or max_rows > MAX_HISTORY_ROWS or n > max_rows or candidates < n:
        bad(
            "history/_meta.npy",
            f"holds impossible values (stride {stride}, offered {candidates}, limit {max_rows}, rows {n})",
        )
    steps = hist["step"]
    if not np.isfinite(steps).all() or (steps < 0).any() or (n and steps.max() > step):
        bad("history/step.npy", "holds steps that are negative, not finite or beyond the current step")
    if state["status"] == "diverged" and state["diverged_step"] is None:
        raise SessionError(f"{fname}: {DOCUMENT} field 'diverged_step' is missing for a diverged run")


def is_session_file(path: str | os.PathLike) -> bool:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a pipe (it would block)
            return False
        with open(path, "rb") as f:
            return f.read(4) == ZIP_MAGIC
    except (OSError, ValueError):
        return False
