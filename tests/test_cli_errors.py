"""The `playground` command on bad input: exit code 2 and one line naming the file and the
field, never a traceback (issue 9, "Bad input that still escapes")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground.cli import main
from playground.spec import DEFAULT_TRAIN_FRACTION, DataSpec, ExperimentSpec, default_spec

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "sessions" / "v1_spiral_adam.playground"
IRIS = ROOT / "resources" / "datasets" / "iris.csv"


def spec_file(tmp_path: Path, change=None, name: str = "spec.json") -> Path:
    d = default_spec().to_dict()
    if change is not None:
        change(d)
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return p


def fails(capsys, argv: list[str], *patterns: str) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for pat in patterns:
        assert pat in err, err
    return err


def test_huge_record_every_and_batch_size(tmp_path, capsys):
    p = spec_file(tmp_path, lambda d: d["training"].update(record_every=10**30))
    fails(capsys, ["train", str(p), "--steps", "5"], "training.record_every", "spec.json")
    p = spec_file(tmp_path, lambda d: d["training"].update(batch_size=2**64))
    fails(capsys, ["train", str(p)], "training.batch_size")
    p = spec_file(tmp_path, lambda d: d["training"].update(record_every=10**13))
    fails(capsys, ["train", str(p)], "training.record_every", "at most")


@pytest.mark.parametrize(
    "path",
    ["seed", "data.noise", "data.n_samples", "training.optimizer.lr", "training.schedule.t_max",
     "network.hidden.0.units", "training.clip_norm"],
)  # fmt: skip
def test_number_with_400_digits(tmp_path, capsys, path):
    def change(d):
        *parents, last = path.split(".")
        cur = d
        for k in parents:
            cur = cur[int(k)] if isinstance(cur, list) else cur[k]
        cur[int(last) if isinstance(cur, list) else last] = 10**400

    p = spec_file(tmp_path, change)
    field = path.replace("hidden.0", "hidden[0]")
    fails(capsys, ["train", str(p)], field)
    fails(capsys, ["info", str(p)], field)


def test_documented_maximum_width_is_refused_for_memory(tmp_path, capsys):
    """Two layers of 100,000 units pass the per-field limits but need hundreds of GB."""
    p = spec_file(tmp_path, lambda d: d["network"].update(hidden=[{"units": 100_000}, {"units": 100_000}]))
    err = fails(capsys, ["train", str(p), "--steps", "1"], "network.hidden", "memory", "available")
    assert "10,000,500,001 parameters" in err
    # float32 halves the need, but it is still far too much
    p = spec_file(
        tmp_path,
        lambda d: (
            d["network"].update(hidden=[{"units": 100_000}, {"units": 100_000}]),
            d["training"].update(dtype="float32"),
        ),
    )
    fails(capsys, ["info", str(p)], "network.hidden", "float32")


def test_memory_estimate_counts_dtype_and_optimizer_state():
    from playground.errors import SpecError
    from playground.spec import check_memory, estimate_memory

    spec = default_spec()
    n64, b64 = estimate_memory(spec, 2, 1)
    f32 = spec.with_changes("training.dtype", "float32")
    n32, b32 = estimate_memory(f32, 2, 1)
    assert n64 == n32 == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1
    assert b32 < b64
    lbfgs = spec.with_changes("training.optimizer", {"name": "lbfgs", "lr": 1.0})
    assert estimate_memory(lbfgs, 2, 1)[1] > b64 + 2 * 100 * n64 * 8  # history of 100 pairs
    check_memory(spec, 2, 1, available=b64)
    with pytest.raises(SpecError, match="network.hidden"):
        check_memory(spec, 2, 1, available=b64 - 1)
    # a batch larger than the data is clamped to the data by the trainer: not refused
    huge_batch = spec.with_changes("training.batch_size", 10**9)
    assert (
        estimate_memory(huge_batch, 2, 1)[1]
        == estimate_memory(spec.with_changes("training.batch_size", spec.data.n_samples), 2, 1)[1]
    )


def test_path_of_5000_characters(tmp_path, capsys):
    long = str(tmp_path / ("a" * 5000 + ".json"))
    err = fails(capsys, ["train", long], "too long")
    assert len(err) < 600
    fails(capsys, ["info", long + "x.playground"], "too long")
    fails(capsys, ["export", long, "--history", str(tmp_path / "h.csv")], "too long")
    p = spec_file(
        tmp_path,
        lambda d: d.update(data={"kind": "csv", "path": "b" * 5000 + ".csv", "target": "species"}),
    )
    err = fails(capsys, ["train", str(p)], "data.path")
    assert len(err) < 600
    p = spec_file(
        tmp_path, lambda d: d.update(data={"kind": "csv", "path": "b/" * 1000 + "x.csv", "target": "y"})
    )
    fails(capsys, ["train", str(p)], "x.csv")


def test_deeply_nested_json(tmp_path, capsys):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    fails(capsys, ["train", str(p)], "deep.json", "nested")
    p.write_text('{"data": ' * 50_000 + "1" + "}" * 50_000)
    fails(capsys, ["info", str(p)], "deep.json", "nested")


def test_bad_arguments_are_one_line(tmp_path, capsys):
    p = spec_file(tmp_path)
    fails(capsys, ["train", str(p), "--steps", "many"], "--steps")
    fails(capsys, ["train", str(p), "--steps", "-3"], "--steps")
    fails(capsys, ["train", str(p), "--steps", str(10**30)], "--steps", "at most")
    fails(capsys, ["train", str(p), "--epochs", "inf"], "--epochs")
    fails(capsys, ["train", str(p), "--epochs", "nan"], "--epochs")
    fails(capsys, ["train", str(p), "--epochs", "1e300"], "--epochs")
    fails(capsys, ["train"], "file")
    fails(capsys, ["nonsense"], "invalid choice")
    fails(capsys, ["train", str(tmp_path / "missing.json")], "missing.json")


def test_damaged_session_on_the_command_line(tmp_path, capsys):
    data = bytearray(FIXTURE.read_bytes())
    data[data.find(b"PK\x01\x02") + 6] = 0xFF  # "zip file version 25.5"
    p = tmp_path / "damaged.playground"
    p.write_bytes(bytes(data))
    fails(capsys, ["info", str(p)], "damaged.playground", "damaged")
    fails(capsys, ["train", str(p), "--steps", "1"], "damaged.playground")
    fails(capsys, ["export", str(p), "--weights", str(tmp_path / "w.npz")], "damaged.playground")


def test_a_real_process_prints_no_traceback(tmp_path):
    p = spec_file(tmp_path, lambda d: d["training"].update(record_every=10**400))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [sys.executable, "-m", "playground.cli", "train", str(p)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "training.record_every" in r.stderr


# --------------------------------------------------------------------------- CSV path and split


def test_relative_csv_path_is_looked_up_beside_the_spec_first(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    rows = IRIS.read_text().splitlines()
    (folder / "flowers.csv").write_text("\n".join(rows[:61]) + "\n")  # 60 rows beside the spec
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "flowers.csv").write_text("\n".join(rows) + "\n")  # 150 rows in the cwd
    monkeypatch.chdir(elsewhere)
    d = default_spec().to_dict()
    d["data"] = {"kind": "csv", "path": "flowers.csv", "target": "species"}
    d["network"]["output_activation"] = "softmax"
    d["training"]["loss"] = "cce"
    (folder / "spec.json").write_text(json.dumps(d))
    spec = ExperimentSpec.from_file(folder / "spec.json")
    assert Path(spec.data.path) == (folder / "flowers.csv").resolve()
    from playground.data.build import build_dataset

    ds = build_dataset(spec.data, spec.seed)
    assert ds.n_train + ds.n_test == 60
    # not beside the spec: the working directory, as before
    (folder / "flowers.csv").unlink()
    spec = ExperimentSpec.from_file(folder / "spec.json")
    assert spec.data.path == "flowers.csv"
    ds = build_dataset(spec.data, spec.seed)
    assert ds.n_train + ds.n_test == 150
    # playground.load of the spec finds it beside the spec too
    (folder / "flowers.csv").write_text("\n".join(rows[:61]) + "\n")
    import playground

    exp = playground.load(folder / "spec.json")
    assert exp.dataset.n_train + exp.dataset.n_test == 60


def test_train_fraction_default_is_one_constant():
    assert DataSpec().train_fraction == DEFAULT_TRAIN_FRACTION
    spec = ExperimentSpec.from_dict({"data": {"kind": "csv", "path": str(IRIS), "target": "species"},
                                     "network": {"output_activation": "softmax"},
                                     "training": {"loss": "cce"}})  # fmt: skip
    assert spec.data.train_fraction == DEFAULT_TRAIN_FRACTION
    from playground.data.build import build_dataset

    ds = build_dataset(spec.data, spec.seed)
    assert ds.n_train == round(DEFAULT_TRAIN_FRACTION * 150)


def test_memory_check_uses_the_inputs_the_data_gives():
    """A spec's own check assumes the fewest inputs; with the data's 1,000,000 columns one
    layer of 100,000 units needs terabytes, refused before the trainer allocates."""
    from types import SimpleNamespace

    import numpy as np

    from playground.errors import SpecError
    from playground.spec import check_memory_for_data

    spec = default_spec().with_changes("network.hidden", [{"units": 100_000}])
    wide = SimpleNamespace(X_train=np.empty((0, 1_000_000)), task="classification", n_classes=2)
    with pytest.raises(SpecError, match="network.hidden") as e:
        check_memory_for_data(spec, wide)
    assert "1000000-100000-2" in str(e.value)
    narrow = SimpleNamespace(X_train=np.empty((0, 2)), task="regression", y_train=np.empty((0,)))
    check_memory_for_data(spec, narrow)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_csv_path_to_a_device_or_folder_is_refused_not_read_forever(tmp_path, capsys):
    for target in ("/dev/zero", str(tmp_path)):
        p = spec_file(tmp_path, lambda d, t=target: d.update(data={"kind": "csv", "path": t, "target": "y"}))
        fails(capsys, ["train", str(p)], "not a regular file")
