"""Hostile or broken session files: each gives a clear SessionError naming what is wrong,
nothing is executed, memory stays bounded, nothing is written outside the target."""

from __future__ import annotations

import io
import json
import os
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import playground
from playground.errors import SessionError
from playground.experiment import Experiment
from playground.session import archive

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sessions" / "v1_spiral_adam.playground"


def members(path: Path = FIXTURE) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def doc_of(m: dict[str, bytes]) -> dict:
    return json.loads(m["session.json"])


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def write_zip(path: Path, m: dict[str, bytes], doc: dict | None = None) -> Path:
    if doc is not None:
        m = {**m, "session.json": json.dumps(doc).encode()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in m.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def load_fails(path: Path, *patterns: str) -> str:
    before = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(SessionError) as e:
        playground.load(path)
    msg = str(e.value)
    assert path.name in msg
    for pat in patterns:
        assert pat in msg, msg
    assert sorted(p.name for p in path.parent.iterdir()) == before  # nothing written
    assert "\n" not in msg
    return msg


def patch_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Make the local and central headers of member ``name`` declare ``size`` bytes."""
    out = bytearray(data)
    key = name.encode()
    i = out.find(key)
    while i != -1:
        if out[i - 30 : i - 26] == b"PK\x03\x04":
            out[i - 30 + 22 : i - 30 + 26] = struct.pack("<I", size)
        if out[i - 46 : i - 42] == b"PK\x01\x02":
            out[i - 46 + 24 : i - 46 + 28] = struct.pack("<I", size)
        i = out.find(key, i + 1)
    return bytes(out)


def test_fixture_is_valid():
    assert playground.load(FIXTURE).step > 0


def test_not_a_zip(tmp_path):
    p = tmp_path / "notes.playground"
    p.write_text("import os; os.system('echo pwned')\n")
    load_fails(p, "not a zip")


def test_truncated_file(tmp_path):
    p = tmp_path / "cut.playground"
    data = FIXTURE.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    load_fails(p, "truncated or damaged")


def test_corrupted_member_data(tmp_path):
    data = bytearray(FIXTURE.read_bytes())
    with zipfile.ZipFile(FIXTURE) as zf:
        info = zf.getinfo("trainer/theta.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 5, start + info.compress_size - 2):
        data[k] ^= 0x5A
    p = tmp_path / "flipped.playground"
    p.write_bytes(bytes(data))
    load_fails(p, "trainer/theta.npy", "damaged")


def test_member_missing(tmp_path):
    m = members()
    del m["trainer/theta.npy"]
    load_fails(write_zip(tmp_path / "nothe.playground", m), "'trainer/theta.npy'", "missing")


def test_document_missing(tmp_path):
    m = members()
    del m["session.json"]
    load_fails(write_zip(tmp_path / "nodoc.playground", m), "'session.json'", "missing")


def test_manifest_entry_missing(tmp_path):
    m = members()
    doc = doc_of(m)
    del doc["members"]["history/train_loss.npy"]
    load_fails(write_zip(tmp_path / "nomanifest.playground", m, doc), "history/train_loss.npy")


def test_future_schema_version(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["schema_version"] = 99
    doc["app_version"] = "9.0"
    msg = load_fails(write_zip(tmp_path / "future.playground", m, doc), "was saved by a newer version")
    assert "99" in msg and "update" in msg


def test_wrong_format_field(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["format"] = "something-else"
    load_fails(write_zip(tmp_path / "fmt.playground", m, doc), "'format'")


def test_invalid_json(tmp_path):
    m = members()
    m["session.json"] = b'{"format": "neural-playground-session", "schema_version": 1,'
    load_fails(write_zip(tmp_path / "json.playground", m), "session.json", "not valid JSON")


def test_json_nan_is_refused(tmp_path):
    m = members()
    m["session.json"] = m["session.json"].replace(b'"wall_time": ', b'"wall_time": NaN, "x": ', 1)
    load_fails(write_zip(tmp_path / "nan.playground", m), "session.json", "NaN")


def test_spec_failing_validation(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["spec"]["training"]["optimizer"]["lr"] = -1
    load_fails(write_zip(tmp_path / "spec.playground", m, doc), "spec.training.optimizer.lr", "must be > 0")


def test_field_of_wrong_type(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["counters"]["step"] = "lots"
    load_fails(write_zip(tmp_path / "type.playground", m, doc), "'counters.step'", "integer")


def test_theta_shape_disagrees_with_network(tmp_path):
    m = members()
    doc = doc_of(m)
    m["trainer/theta.npy"] = npy(np.zeros(5))
    doc["members"]["trainer/theta.npy"]["shape"] = [5]
    load_fails(write_zip(tmp_path / "shape.playground", m, doc), "trainer/theta.npy", "(5,)", "network")


def test_array_disagrees_with_its_manifest(tmp_path):
    m = members()
    m["trainer/theta.npy"] = npy(np.zeros(5))
    load_fails(write_zip(tmp_path / "liar.playground", m), "trainer/theta.npy", "manifest")


def test_network_sizes_disagree_with_spec(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["spec"]["network"]["hidden"][0]["units"] = 6
    load_fails(write_zip(tmp_path / "sizes.playground", m, doc), "network_sizes")


def test_pickled_object_array(tmp_path):
    m = members()
    n = doc_of(m)["members"]["trainer/theta.npy"]["shape"][0]
    evil = np.empty(n, dtype=object)
    evil[:] = [print] * n
    m["trainer/theta.npy"] = npy(evil)
    load_fails(write_zip(tmp_path / "pickle.playground", m), "trainer/theta.npy", "pickled")


def test_pickled_object_array_in_manifest(tmp_path):
    m = members()
    doc = doc_of(m)
    m["trainer/counters.npy"] = npy(np.array([1, 2], dtype=object))
    doc["members"]["trainer/counters.npy"]["dtype"] = "|O"
    load_fails(write_zip(tmp_path / "pickle2.playground", m, doc), "trainer/counters.npy")


def test_nonfinite_theta(tmp_path):
    m = members()
    theta = np.load(io.BytesIO(m["trainer/theta.npy"]))
    theta[3] = np.nan
    m["trainer/theta.npy"] = npy(theta)
    load_fails(write_zip(tmp_path / "nan_theta.playground", m), "trainer/theta.npy", "NaN")


def test_negative_counters(tmp_path):
    m = members()
    m["trainer/counters.npy"] = npy(np.array([-5, -5], dtype=np.int64))
    load_fails(write_zip(tmp_path / "neg.playground", m), "trainer/counters.npy")
    doc = doc_of(m)
    doc["counters"]["step"] = -1
    load_fails(write_zip(tmp_path / "neg2.playground", members(), doc), "'counters.step'", "negative")


def test_dot_dot_member_name(tmp_path):
    m = members()
    m["../evil.sh"] = b"rm -rf ~"
    (tmp_path / "inner").mkdir()
    load_fails(write_zip(tmp_path / "inner" / "dots.playground", m), "'../evil.sh'", "refusing")
    assert not (tmp_path / "evil.sh").exists()


def test_absolute_member_name(tmp_path):
    m = members()
    m["xetc/passwd"] = b"root::0:0"
    p = write_zip(tmp_path / "abs.playground", m)
    p.write_bytes(p.read_bytes().replace(b"xetc/passwd", b"/etc/passw"[:1] + b"etc/passwd"))
    load_fails(p, "'/etc/passwd'", "absolute")


def test_zip_bomb_declared_size_over_limit(tmp_path, monkeypatch):
    m = members()
    m["history/extra.bin"] = b"\0" * (4 << 20)  # deflates ~1000:1
    p = write_zip(tmp_path / "bomb.playground", m)
    monkeypatch.setattr(archive, "LIMITS", archive.Limits(max_member_bytes=1 << 20))
    load_fails(p, "history/extra.bin", "declares")
    monkeypatch.setattr(archive, "LIMITS", archive.Limits(max_total_bytes=2 << 20))
    load_fails(p, "in total")


def test_zip_bomb_huge_declared_size_refused_before_reading(tmp_path):
    p = tmp_path / "huge.playground"
    p.write_bytes(patch_declared_size(FIXTURE.read_bytes(), "session.json", 0xFFFFFFF0))
    load_fails(p, "session.json")


def test_zip_bomb_lying_small_declared_size(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["padding"] = " " * (2 << 20)  # 2 MiB that deflates to a few KiB
    p = write_zip(tmp_path / "liar.playground", m, doc)
    p.write_bytes(patch_declared_size(p.read_bytes(), "session.json", 1000))
    # zipfile stops at the declared size (then the CRC fails); our bounded reader would too
    msg = load_fails(p, "session.json")
    assert "more than its declared" in msg or "damaged" in msg


def test_bounded_reader_stops_at_declared_size(tmp_path, monkeypatch):
    p = write_zip(tmp_path / "grow.playground", members())
    real_open = zipfile.ZipFile.open

    class Endless(io.RawIOBase):  # a member that never ends, as a lying decompressor would
        def readable(self):
            return True

        def readinto(self, b):
            b[:] = b"x" * len(b)
            return len(b)

    def fake_open(self, name, mode="r", *a, **k):
        n = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return io.BufferedReader(Endless()) if n == "session.json" else real_open(self, name, mode, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", fake_open)
    load_fails(p, "session.json", "more than its declared")


def test_npy_header_claims_huge_shape(tmp_path):
    m = members()
    doc = doc_of(m)
    buf = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (99_999_999_999,)}
    np.lib.format.write_array_header_1_0(buf, header)
    m["history/step.npy"] = buf.getvalue() + b"\0" * 24  # 3 numbers, a header claiming 800 GB
    doc["members"]["history/step.npy"]["shape"] = [99_999_999_999]
    load_fails(write_zip(tmp_path / "shape_bomb.playground", m, doc), "history/step.npy")
    m2 = members()
    m2["history/step.npy"] = m["history/step.npy"]  # manifest unchanged: the header disagrees
    load_fails(write_zip(tmp_path / "shape_bomb2.playground", m2), "history/step.npy", "manifest")


def test_duplicate_member(tmp_path):
    p = tmp_path / "dup.playground"
    m = members()
    with zipfile.ZipFile(p, "w") as zf:
        for name, data in m.items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning):
            zf.writestr("trainer/theta.npy", m["trainer/theta.npy"])
    load_fails(p, "twice")


def test_hostile_view_is_only_data(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["view"] = {"__reduce__": "os.system", "cmd": "echo pwned"}
    exp = playground.load(write_zip(tmp_path / "view.playground", m, doc))
    assert exp.view_state == doc["view"]
    doc["view"] = ["not", "a", "dict"]
    load_fails(write_zip(tmp_path / "view2.playground", m, doc), "'view'")


def test_bad_csv_table_in_session(tmp_path):
    path = Path(__file__).resolve().parent / "fixtures" / "sessions" / "v1_iris_csv.playground"
    m = members(path)
    doc = doc_of(m)
    doc["data"]["table"]["n_rows"] = 151
    load_fails(write_zip(tmp_path / "rows.playground", m, doc), "data/")
    doc = doc_of(m)
    doc["data"]["table"]["columns"][0]["kind"] = "date"
    load_fails(write_zip(tmp_path / "kind.playground", m, doc), "data.table.columns[0].kind")


def test_save_refuses_nothing_sensible_but_fixture_loads_again():
    # after all the abuse above the module keeps no state: the fixture still loads
    exp = playground.load(FIXTURE)
    assert isinstance(exp, Experiment)


# --------------------------------------------------------------------------- found by fuzzing


def test_flipped_byte_in_zip_directory(tmp_path):
    """The central directory's 'version needed to extract' flipped to 25.5: zipfile raises
    NotImplementedError ("zip file version"), the reader says the file is damaged."""
    data = bytearray(FIXTURE.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 6] = 0xFF
    with pytest.raises(NotImplementedError, match="zip file version"):
        zipfile.ZipFile(io.BytesIO(bytes(data)))
    p = tmp_path / "flipped_directory.playground"
    p.write_bytes(bytes(data))
    load_fails(p, "damaged", "zip directory")


def test_damaged_npy_header(tmp_path):
    """A quote in place of the header's '{': numpy's header parser raises tokenize.TokenError."""
    import tokenize

    m = members()
    raw = bytearray(m["trainer/theta.npy"])
    brace = raw.find(b"{")
    raw[brace : brace + 1] = b"'"
    bio = io.BytesIO(bytes(raw))
    np.lib.format.read_magic(bio)
    with pytest.raises(tokenize.TokenError):
        np.lib.format.read_array_header_1_0(bio)
    m["trainer/theta.npy"] = bytes(raw)
    load_fails(write_zip(tmp_path / "header.playground", m), "trainer/theta.npy", "damaged .npy header")


@pytest.mark.parametrize(
    "field",
    ["wall_time", "counters.step", "counters.opt_t", "diverged_step", "history.rows",
     "metrics.train_loss", "metrics.step"],
)  # fmt: skip
def test_huge_integer_in_document(tmp_path, field, capsys):
    from playground.cli.session import cmd_info

    m = members()
    doc = doc_of(m)
    cur = doc
    *parents, last = field.split(".")
    for k in parents:
        cur = cur[k]
    cur[last] = 10**400
    p = write_zip(tmp_path / "huge.playground", m, doc)
    load_fails(p, field)
    assert cmd_info(p) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err and "Traceback" not in err


def test_huge_integer_in_event_is_refused(tmp_path):
    m = members()
    doc = doc_of(m)
    doc["events"] = [[10**400, "lr 0.01 -> 0.1"]]
    load_fails(write_zip(tmp_path / "event.playground", m, doc), "events[0]")


def test_session_without_metrics_step_is_refused_at_load(tmp_path):
    m = members()
    doc = doc_of(m)
    del doc["metrics"]["step"]
    load_fails(write_zip(tmp_path / "nostep.playground", m, doc), "metrics.step", "missing")
    doc["metrics"]["step"] = "twenty"
    load_fails(write_zip(tmp_path / "textstep.playground", m, doc), "metrics.step")
    doc["metrics"]["step"] = 20
    doc["metrics"]["train_loss"] = "low"
    load_fails(write_zip(tmp_path / "textloss.playground", m, doc), "metrics.train_loss")
    doc["metrics"]["train_loss"] = None  # NaN is saved as null: loads
    exp = playground.load(write_zip(tmp_path / "ok.playground", m, doc))
    exp.train(steps=2)
    assert exp.step == doc["counters"]["step"] + 2


def test_save_refuses_what_load_would_refuse(tmp_path):
    """Infinite weights (a float32 divergence) are refused before anything is written: the
    previous session stays as it was and still loads."""
    exp = playground.load(FIXTURE)
    path = exp.save(tmp_path / "run.playground")
    before = path.read_bytes()
    step = exp.step
    exp.trainer.theta[3] = np.inf
    with pytest.raises(SessionError) as e:
        exp.save(path)
    msg = str(e.value)
    assert "run.playground" in msg and "not finite" in msg and "\n" not in msg
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.playground"]
    with pytest.raises(SessionError, match="not finite"):
        exp.save(tmp_path / "new.playground")
    assert not (tmp_path / "new.playground").exists()
    exp.trainer.theta[3] = 0.0
    exp.trainer.opt_state[0, 0] = np.nan
    with pytest.raises(SessionError, match="optimizer state"):
        exp.save(path)
    exp.trainer.opt_state[0, 0] = 0.0
    exp.save(path)
    assert playground.load(path).step == step


def _stale_temp(folder: Path, name: str, size: int = 4096, age_s: float = 3600) -> Path:
    t = folder / name
    t.write_bytes(b"\0" * size)
    old = time.time() - age_s
    os.utime(t, (old, old))
    return t


def test_next_save_and_open_clean_temp_files_of_killed_saves(tmp_path):
    """Killed saves leave '.run.playground.XXXXXXXX.tmp' files (last written before this
    process started); the next save removes those of that session, and nothing else."""
    exp = playground.load(FIXTURE)
    path = exp.save(tmp_path / "run.playground")
    stale = [_stale_temp(tmp_path, f".run.playground.kill{i:04d}.tmp") for i in range(30)]
    keep = [
        _stale_temp(tmp_path, ".other.playground.abcd1234.tmp"),  # another session's
        _stale_temp(tmp_path, ".run.playground.notours.tmp.bak"),  # not our pattern
        _stale_temp(tmp_path, "run.playground.abcd1234.tmp"),  # not hidden: not ours
        _stale_temp(tmp_path, ".run.playground.fresh123.tmp", age_s=-60),  # written since start
    ]
    exp.save(path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["run.playground", *(p.name for p in keep)])
    assert not any(p.exists() for p in stale)

    again = [_stale_temp(tmp_path, f".run.playground.open{i:04d}.tmp") for i in range(3)]
    assert playground.load(path).step == exp.step  # opening cleans too
    assert not any(p.exists() for p in again)


@pytest.mark.skipif(os.name != "posix", reason="advisory locks")
def test_clean_skips_a_temp_file_a_writer_holds(tmp_path):
    import fcntl

    exp = playground.load(FIXTURE)
    held = _stale_temp(tmp_path, ".run.playground.writing1.tmp")
    fd = os.open(held, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        exp.save(tmp_path / "run.playground")
        assert held.exists()
    finally:
        os.close(fd)
    exp.save(tmp_path / "run.playground")
    assert not held.exists()


def test_recovery_folder_cleans_temp_files_of_killed_autosaves(tmp_path):
    from playground.session import recovery

    folder = recovery.recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stale = _stale_temp(folder, ".autosave--00000000000000000001-1-000000.playground.abcd1234.tmp")
    recovery.write_recovery(playground.load(FIXTURE))
    assert not stale.exists()
    assert len(recovery.list_recovery()) == 1


def test_save_to_impossible_paths_names_the_file(tmp_path):
    exp = playground.load(FIXTURE)
    for target, reason in (
        (tmp_path / "a\x00b.playground", "null"),
        (tmp_path / "missing" / "x.playground", "No such file"),
        (tmp_path / ("a" * 300 + ".playground"), "too long"),
        (tmp_path, "directory"),
    ):
        with pytest.raises(SessionError) as e:
            exp.save(target)
        msg = str(e.value)
        assert reason in msg and "cannot save" in msg and len(msg) < 400, msg
    assert list(tmp_path.iterdir()) == []


def test_load_of_impossible_paths(tmp_path):
    targets = [tmp_path / "a\x00b.playground", tmp_path / ("a" * 5000 + ".playground"), tmp_path]
    if hasattr(os, "mkfifo"):  # opening a pipe would wait for a writer for ever
        os.mkfifo(tmp_path / "pipe.json")
        targets.append(tmp_path / "pipe.json")
    if Path("/dev/zero").exists():  # reading it would never end
        targets.append(Path("/dev/zero"))
    for target in targets:
        with pytest.raises(SessionError) as e:
            playground.load(target)
        assert len(str(e.value)) < 400 and "\n" not in str(e.value)
    from playground.errors import SpecError
    from playground.spec import ExperimentSpec

    for target in targets:
        with pytest.raises(SpecError):
            ExperimentSpec.from_file(target)


@pytest.mark.parametrize("value", [-1, 2**63 - 1])
def test_lbfgs_counters_out_of_range(tmp_path, value):
    """A negative or int64-maximum L-BFGS iteration count is refused at load (the maximum
    used to load, then overflow past int64 so that the next save failed)."""
    path = Path(__file__).resolve().parent / "fixtures" / "sessions" / "v1_lbfgs.playground"
    m = members(path)
    m["trainer/lbfgs_n_iter.npy"] = npy(np.array(value, dtype=np.int64))
    load_fails(write_zip(tmp_path / "lbfgs.playground", m), "trainer/lbfgs_n_iter.npy")


def test_step_near_int64_maximum_is_refused(tmp_path):
    """Training on from step 2**63 - 1 would wrap the int64 step counter."""
    m = members()
    doc = doc_of(m)
    v = 2**63 - 1
    doc["counters"]["step"] = doc["counters"]["opt_t"] = v
    m["trainer/counters.npy"] = npy(np.array([v, v], dtype=np.int64))
    load_fails(write_zip(tmp_path / "step.playground", m, doc), "trainer/counters.npy", "impossible")
