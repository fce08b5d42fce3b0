"""Session files: exact resume, fixtures of every format version, atomic save, recovery, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import playground
from playground import session
from playground.cli.session import cmd_export, cmd_info, cmd_train_session
from playground.errors import SessionError
from playground.experiment import Experiment
from playground.session import document

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sessions"
IRIS = ROOT / "resources" / "datasets" / "iris.csv"
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")


def toy_spec(optimizer="adam", lr=None, dropout=0.0, **training):
    lr = lr if lr is not None else (1.0 if optimizer == "lbfgs" else 0.03)
    return {
        "seed": 7,
        "data": {"kind": "toy", "name": "spiral", "n_samples": 48, "noise": 0.1},
        "network": {"hidden": [{"units": 5, "activation": "tanh", "dropout": dropout}, {"units": 3}]},
        "training": {
            "optimizer": {"name": optimizer, "lr": lr},
            "batch_size": 7,
            "record_every": 4,
            **training,
        },
    }


def iris_spec(path, optimizer="adam"):
    return {
        "data": {"kind": "csv", "path": str(path), "target": "species", "train_fraction": 0.7},
        "network": {
            "hidden": [{"units": 4, "activation": "relu", "dropout": 0.2}],
            "output_activation": "softmax",
        },
        "training": {
            "loss": "cce",
            "optimizer": {"name": optimizer, "lr": 0.05},
            "batch_size": 9,
            "record_every": 3,
        },
    }


def assert_same_run(a: Experiment, b: Experiment) -> None:
    assert a.step == b.step
    assert a.trainer.theta.dtype == b.trainer.theta.dtype
    assert np.array_equal(a.trainer.theta, b.trainer.theta)
    assert np.array_equal(a.trainer.opt_state, b.trainer.opt_state)
    assert len(a.history) == len(b.history)
    for col in a.history.columns():
        if col != "wall_time":
            assert np.array_equal(a.history[col], b.history[col], equal_nan=True), col
    assert a.events == b.events
    assert a.status == b.status


def straight_vs_resumed(spec, n: int, tmp_path: Path) -> tuple[Experiment, Experiment]:
    straight = Experiment.from_spec(spec)
    straight.train(steps=2 * n)
    first = Experiment.from_spec(spec)
    first.train(steps=n)
    path = first.save(tmp_path / "half.playground")
    resumed = playground.load(path)
    resumed.train(steps=n)
    return straight, resumed


# --------------------------------------------------------------------------- exact resume


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_exact_resume_every_optimizer(optimizer, tmp_path):
    n = 3 if optimizer == "lbfgs" else 11  # 11: mid-epoch and mid-record-interval
    straight, resumed = straight_vs_resumed(toy_spec(optimizer), n, tmp_path)
    assert_same_run(straight, resumed)


@pytest.mark.parametrize("optimizer", ["adam", "nesterov"])
def test_exact_resume_with_dropout(optimizer, tmp_path):
    straight, resumed = straight_vs_resumed(toy_spec(optimizer, dropout=0.3), 13, tmp_path)
    assert_same_run(straight, resumed)


def test_exact_resume_float32_and_schedule(tmp_path):
    spec = toy_spec("rmsprop", dtype="float32", schedule={"kind": "step", "unit": "step", "step_size": 5})
    straight, resumed = straight_vs_resumed(spec, 9, tmp_path)
    assert resumed.trainer.theta.dtype == np.float32
    assert_same_run(straight, resumed)


@pytest.mark.parametrize("optimizer", ["adamw", "lbfgs"])
def test_exact_resume_csv(optimizer, tmp_path):
    csv = tmp_path / "iris.csv"
    shutil.copy(IRIS, csv)
    straight, resumed = straight_vs_resumed(
        iris_spec(csv, optimizer), 4 if optimizer == "lbfgs" else 10, tmp_path
    )
    assert_same_run(straight, resumed)


def test_resume_keeps_live_changes_and_events(tmp_path):
    spec = toy_spec("sgd")

    def run(exp: Experiment, steps_before_save: int | None):
        exp.train(steps=6)
        tr = exp.spec.training
        exp.apply_training(replace(tr, optimizer=replace(tr.optimizer, name="adam", lr=0.01), batch_size=5))
        if steps_before_save is not None:
            exp.train(steps=steps_before_save)
            exp = playground.load(exp.save(tmp_path / "live.playground"))
            exp.train(steps=10 - steps_before_save)
        else:
            exp.train(steps=10)
        return exp

    straight = run(Experiment.from_spec(spec), None)
    resumed = run(Experiment.from_spec(spec), 3)
    assert_same_run(straight, resumed)
    assert resumed.events and "adam" in resumed.events[0][1]
    assert resumed.spec.training.optimizer.name == "adam"


def test_diverged_state_round_trip(tmp_path):
    spec = toy_spec("sgd", lr=1e6, loss="mse", record_every=None)
    spec["network"]["output_activation"] = "linear"
    exp = Experiment.from_spec(spec)
    with np.errstate(all="ignore"):  # the weight norms of the last finite step overflow
        exp.train(steps=200)
    assert exp.status == "diverged"
    back = playground.load(exp.save(tmp_path / "div.playground"))
    assert (back.status, back.diverged_step, back.message) == (exp.status, exp.diverged_step, exp.message)
    assert np.isfinite(back.trainer.theta).all()
    assert back.metrics()["status"] == "diverged"


def test_metadata_view_and_source_path(tmp_path):
    exp = Experiment.from_spec(toy_spec())
    exp.train(steps=5)
    path = tmp_path / "meta.playground"
    assert exp.save(path, view={"zoom": 2, "panels": ["loss"]}) == path
    assert exp.source_path == path.resolve()
    back = playground.load(path)
    assert back.view_state == {"zoom": 2, "panels": ["loss"]}
    assert back.source_path == path.resolve()
    assert back.wall_time == pytest.approx(exp.wall_time)
    got, want = back.metrics(), exp.metrics()
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == v or (v != v and got[k] != got[k]), k
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("session.json"))
        assert doc["format"] == "neural-playground-session"
        assert doc["schema_version"] == session.SESSION_SCHEMA_VERSION
        assert doc["app_version"] == playground.__version__
        assert {"created", "saved", "spec", "counters", "events", "status", "members", "view"} <= doc.keys()
        for name, m in doc["members"].items():
            arr = np.load(zf.open(name), allow_pickle=False)
            assert (arr.dtype.str, list(arr.shape)) == (m["dtype"], m["shape"])
            assert arr.dtype != object
    assert playground.load(path).session_created == doc["created"]
    # view must be JSON data
    with pytest.raises(SessionError, match="view"):
        exp.save(tmp_path / "bad.playground", view={"x": object()})


def test_csv_session_opens_after_the_csv_moved(tmp_path):
    csv = tmp_path / "data" / "iris.csv"
    csv.parent.mkdir()
    shutil.copy(IRIS, csv)
    exp = Experiment.from_spec(iris_spec(csv))
    exp.train(steps=7)
    path = exp.save(tmp_path / "iris.playground")
    shutil.rmtree(csv.parent)
    back = playground.load(path)
    assert back.spec.data.path == str(csv)  # original path kept
    assert back.dataset.info["path"] == str(csv)
    assert np.array_equal(back.dataset.X_train, exp.dataset.X_train)
    assert back.dataset.class_names == exp.dataset.class_names
    assert back.dataset.table.names == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "species",
    ]
    back.train(steps=3)
    back2 = playground.load(back.save(tmp_path / "again.playground"))  # re-saves from the embedded table
    assert back2.step == 10
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read("session.json"))
        kinds = [c["kind"] for c in doc["data"]["table"]["columns"]]
        assert kinds == ["numeric"] * 4 + ["text"]
        species = np.load(zf.open("data/c0004_values.npy"), allow_pickle=False)
        assert species.dtype.kind == "U" and species[0] == "setosa"


def test_csv_changed_or_deleted_before_first_save_keeps_the_imported_table(tmp_path):
    csv = tmp_path / "iris.csv"
    shutil.copy(IRIS, csv)
    exp = Experiment.from_spec(iris_spec(csv))
    exp.train(steps=5)
    csv.write_text(IRIS.read_text().replace("5.1,3.5", "9.9,3.5"))
    exp.save(tmp_path / "x.playground")
    csv.unlink()
    exp.save(tmp_path / "y.playground")
    for name in ("x", "y"):
        back = playground.load(tmp_path / f"{name}.playground")
        # the data the experiment was trained on, not the edited file
        assert np.array_equal(back.dataset.X_train, exp.dataset.X_train)
        assert np.array_equal(back.trainer.theta, exp.trainer.theta)


def test_spec_json_loads_as_template(tmp_path):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(toy_spec("adagrad")))
    exp = playground.load(p)
    assert isinstance(exp, Experiment)
    assert exp.step == 0 and exp.spec.training.optimizer.name == "adagrad"
    assert exp.view_state is None and exp.source_path is None
    p.write_text(json.dumps({"training": {"optimizer": {"lr": -1}}}))
    with pytest.raises(SessionError, match=r"spec\.json.*training\.optimizer\.lr"):
        playground.load(p)


# --------------------------------------------------------------------------- fixtures / migrations


FIXTURE_FILES = sorted(FIXTURES.glob("v*_*.playground"))


def test_fixtures_of_every_version_exist():
    names = {p.name for p in FIXTURE_FILES}
    for v in range(1, session.SESSION_SCHEMA_VERSION + 1):
        assert {
            f"v{v}_spiral_adam.playground",
            f"v{v}_iris_csv.playground",
            f"v{v}_lbfgs.playground",
        } <= names


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_loads_and_resumes(path):
    expected = json.loads(path.with_suffix(".expected.json").read_text())
    exp = playground.load(path)
    assert exp.spec.name == expected["name"]
    assert exp.step == expected["step"] and exp.trainer.opt_t == expected["opt_t"]
    assert len(exp.history) == expected["history_rows"]
    assert exp.status == expected["status"]
    assert [list(e) for e in exp.events] == expected["events"]
    assert exp.view_state == expected["view"]
    assert exp.trainer.theta.tolist() == expected["theta"]
    assert exp.history["train_loss"].tolist() == expected["train_loss"]
    exp.train(steps=3)
    assert exp.step == expected["step"] + 3 and np.isfinite(exp.trainer.theta).all()


def test_migration_functions_are_applied(monkeypatch):
    seen = []

    def v1_to_v2(doc):
        seen.append(doc["schema_version"])
        return {**doc, "schema_version": 2}

    monkeypatch.setattr(document, "SESSION_SCHEMA_VERSION", 2)
    monkeypatch.setitem(document.MIGRATIONS, 1, v1_to_v2)
    exp = playground.load(FIXTURES / "v1_spiral_adam.playground")
    assert seen == [1] and exp.step > 0
    monkeypatch.delitem(document.MIGRATIONS, 1)
    with pytest.raises(SessionError, match="no migration from session format 1"):
        playground.load(FIXTURES / "v1_spiral_adam.playground")


# --------------------------------------------------------------------------- atomic save


def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    exp = Experiment.from_spec(toy_spec())
    path = exp.save(tmp_path / "run.playground")
    before = path.read_bytes()
    exp.train(steps=5)
    calls = {"n": 0}
    real = document.write_npy_member

    def flaky(zf, name, arr, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(zf, name, arr, *a, **k)

    monkeypatch.setattr(document, "write_npy_member", flaky)
    with pytest.raises(SessionError, match="No space left"):
        exp.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.playground"]
    assert playground.load(path).step == 0

    def interrupted(zf, name, arr, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(document, "write_npy_member", interrupted)
    with pytest.raises(KeyboardInterrupt):
        exp.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.playground"]


KILL_SCRIPT = r"""
import sys, time
from playground.session.archive import atomic_write
def write(f):
    block = b"x" * (1 << 20)
    print("writing", flush=True)
    while True:
        f.write(block)
        time.sleep(0.01)
atomic_write(sys.argv[1], write)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_writer_leaves_previous_file_intact(tmp_path):
    exp = Experiment.from_spec(toy_spec())
    exp.train(steps=3)
    path = exp.save(tmp_path / "run.playground")
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"writing"
        deadline = time.time() + 10
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()) and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert path.read_bytes() == before
    assert playground.load(path).step == 3


SAVE_SCRIPT = r"""
import sys
from playground.session.archive import atomic_write
atomic_write(sys.argv[1], lambda f: f.write(b"saved"))
"""


def _kill_a_writer(path: Path, env: dict) -> None:
    folder = path.parent
    before = {p.name for p in folder.iterdir()}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"writing"
        deadline = time.time() + 60
        while time.time() < deadline:
            new = [p for p in folder.iterdir() if p.name not in before and p.stat().st_size > 0]
            if new:
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    """Kill three saves mid-write, each a new process as when the app is killed and started
    again: each leaves a hidden temp file of a megabyte or more, and the next save removes
    the one before. A clean save from a new process leaves only the session."""
    path = tmp_path / "run.playground"
    path.write_bytes(b"previous")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        _kill_a_writer(path, env)
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and temps[0].name.startswith(".run.playground.")  # not 3
    assert path.read_bytes() == b"previous"
    subprocess.run([sys.executable, "-c", SAVE_SCRIPT, str(path)], env=env, check=True, timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.playground"]
    assert path.read_bytes() == b"saved"


# --------------------------------------------------------------------------- recovery


def test_recovery_dir_per_platform(monkeypatch, tmp_path):
    from playground.session import recovery

    monkeypatch.delenv("PLAYGROUND_RECOVERY_DIR", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setattr(recovery.sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert recovery_dir_is(tmp_path / "state" / "neural-playground" / "recovery")
    monkeypatch.delenv("XDG_STATE_HOME")
    assert recovery_dir_is(tmp_path / "home" / ".local" / "state" / "neural-playground" / "recovery")
    monkeypatch.setattr(recovery.sys, "platform", "darwin")
    assert recovery_dir_is(
        tmp_path / "home" / "Library" / "Application Support" / "NeuralPlayground" / "recovery"
    )
    monkeypatch.setattr(recovery.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert recovery_dir_is(tmp_path / "local" / "NeuralPlayground" / "recovery")
    monkeypatch.setenv("PLAYGROUND_RECOVERY_DIR", str(tmp_path / "override"))
    assert recovery_dir_is(tmp_path / "override")


def recovery_dir_is(p: Path) -> bool:
    return session.recovery_dir() == p


def test_write_recovery_keeps_newest_and_clears(monkeypatch, tmp_path):
    rdir = tmp_path / "recovery"
    monkeypatch.setenv("PLAYGROUND_RECOVERY_DIR", str(rdir))
    assert session.newest_recovery() is None
    exp = Experiment.from_spec(toy_spec())
    exp.source_path = None
    paths = []
    for i in range(5):
        exp.train(steps=1)
        paths.append(session.write_recovery(exp, view={"i": i}))
        time.sleep(0.01)
    other = session.write_recovery(exp, name="race 2")
    assert exp.source_path is None  # an autosave is not a "Save"
    kept = sorted(p.name for p in rdir.glob("*.playground"))
    assert len(kept) == session.recovery.KEEP_PER_NAME + 1
    assert paths[-1].name in kept and paths[0].name not in kept
    assert session.newest_recovery() == other
    other.unlink()
    newest = session.newest_recovery()
    assert newest == paths[-1]
    back = playground.load(newest)
    assert back.view_state == {"i": 4} and back.step == 5
    (rdir / ".x.playground.abc.tmp").write_bytes(b"partial")
    session.clear_recovery()
    assert list(rdir.iterdir()) == []
    assert session.newest_recovery() is None


# --------------------------------------------------------------------------- command line


def test_cli_train_info_export(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(toy_spec("adam")))
    assert cmd_train_session(spec, steps=8, epochs=None, out=None, as_json=True) == 0
    out = json.loads(capsys.readouterr().out)
    sess = tmp_path / "spec.playground"
    assert out["step"] == 8 and out["saved"] == str(sess) and sess.exists()
    # resume in place, then into another file
    assert cmd_train_session(sess, steps=4, epochs=None, out=None, as_json=False) == 0
    text = capsys.readouterr().out
    assert "step 12" in text and "adam" in text
    assert cmd_train_session(sess, steps=None, epochs=1, out=tmp_path / "more.playground", as_json=False) == 0
    capsys.readouterr()
    assert playground.load(tmp_path / "more.playground").step == 12 + 4  # 24 train rows / batch 7

    assert cmd_info(sess, as_json=True) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["network"] == [2, 5, 3, 1] and info["optimizer"]["name"] == "adam" and info["loss"] == "bce"
    assert info["step"] == 12 and info["status"] == "ready" and "train_loss" in info["metrics"]
    assert cmd_info(sess, as_json=False) == 0
    text = capsys.readouterr().out
    assert "2-5-3-1" in text and "spiral" in text and "status:     ready" in text

    csv_out, npz, js = tmp_path / "h.csv", tmp_path / "w.npz", tmp_path / "w.json"
    assert cmd_export(sess, history_csv=csv_out, weights=npz) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("step,epoch,wall_time,lr,") and "weight_norm_3" in lines[0]
    exp = playground.load(sess)
    assert len(lines) == 1 + len(exp.history)
    # step and epoch are written as integers (100, not 1.0e+02), and equal the history's
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [int(v) for v in exp.history["step"]]
    assert all(r[0].isdigit() and r[1].isdigit() for r in rows)
    with np.load(npz) as z:
        assert sorted(z.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
        assert np.array_equal(z["W2"], exp.params[1][0])
    assert cmd_export(sess, weights=js) == 0
    layers = json.loads(js.read_text())
    assert [np.asarray(l["W"]).shape for l in layers] == [(2, 5), (5, 3), (3, 1)]
    assert layers[2]["b"] == exp.params[2][1].tolist()


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.playground"
    bad.write_text("hello")
    for call in (
        lambda: cmd_info(bad),
        lambda: cmd_train_session(bad, 1, None, None, False),
        lambda: cmd_export(bad, history_csv=tmp_path / "h.csv"),
        lambda: cmd_info(tmp_path / "missing.playground"),
        lambda: cmd_export(FIXTURES / "v1_lbfgs.playground", weights=tmp_path / "w.txt"),
        lambda: cmd_export(FIXTURES / "v1_lbfgs.playground"),
    ):
        assert call() == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("playground: error:")
    assert not (tmp_path / "h.csv").exists()
