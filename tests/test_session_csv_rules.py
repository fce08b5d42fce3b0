"""CSV sessions keep their network when the detection rules change: a save writes what task
"auto" and "every column" chose, and sessions from before that are read with the old rules.
Reader options of the data spec (skip_rows) travel from the spec to the reader."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import playground
from playground.errors import SpecError
from playground.experiment import Experiment
from playground.spec import ExperimentSpec


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def labelled(tmp_path: Path) -> Path:
    """An id column, two measurements and a 0/1/2 integer label (auto: classification)."""
    rng = np.random.default_rng(0)
    rows = [f"{i},{rng.normal():.4f},{rng.normal():.4f},{i % 3}" for i in range(60)]
    return write_csv(tmp_path / "labels.csv", ["id,a,b,label", *rows])


def spec_for(path: Path, **data) -> dict:
    return {
        "data": {"kind": "csv", "path": str(path), "target": "label", **data},
        "network": {"hidden": [{"units": 4}], "output_activation": "linear"},
        "training": {"loss": "mse", "batch_size": 10},
    }


def rewrite_spec(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        m = {i.filename: zf.read(i) for i in zf.infolist()}
    doc = json.loads(m["session.json"])
    edit(doc["spec"]["data"])
    m["session.json"] = json.dumps(doc).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in m.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(buf.getvalue())


def test_save_writes_what_auto_chose(tmp_path):
    exp = Experiment.from_spec(spec_for(labelled(tmp_path)))
    assert exp.dataset.task == "classification" and exp.dataset.info["features"] == ["a", "b"]
    exp.train(steps=5)
    out = exp.save(tmp_path / "s.playground")
    with zipfile.ZipFile(out) as zf:
        saved = json.loads(zf.read("session.json"))["spec"]["data"]
    assert saved["task"] == "classification" and saved["features"] == ["a", "b"]
    back = playground.load(out)
    assert list(back.trainer.layout.sizes) == list(exp.trainer.layout.sizes) == [2, 4, 3]
    np.testing.assert_array_equal(back.predict(exp.dataset.X_test), exp.predict(exp.dataset.X_test))


def test_session_from_before_resolved_specs_reads_with_the_old_rules(tmp_path):
    """A first-wave session: task auto on a numeric target was regression, every column an input."""
    spec = spec_for(labelled(tmp_path), task="regression", features=["id", "a", "b"])
    exp = Experiment.from_spec(spec)
    exp.train(steps=5)
    out = exp.save(tmp_path / "old.playground")

    def as_first_wave(data):
        data["task"] = None
        data["features"] = []

    rewrite_spec(out, as_first_wave)
    back = playground.load(out)
    assert back.dataset.task == "regression"
    assert back.dataset.info["features"] == ["id", "a", "b"]
    assert back.step == exp.step
    np.testing.assert_array_equal(back.predict(exp.dataset.X_test), exp.predict(exp.dataset.X_test))
    back.train(steps=2)  # and it trains on


def test_skip_rows_travels_from_the_spec_to_the_reader(tmp_path):
    path = write_csv(tmp_path / "notes.csv", ["measured on monday", "by hand", "a,b,label"])
    with path.open("a") as f:
        f.writelines(f"{i * 0.1:.2f},{(i * 7) % 5},{i % 2}\n" for i in range(40))
    exp = Experiment.from_spec(spec_for(path, skip_rows=2))
    assert exp.dataset.info["features"] == ["a", "b"] and exp.dataset.n_inputs == 2
    assert ExperimentSpec.from_dict(spec_for(path, skip_rows=2)).data.skip_rows == 2


@pytest.mark.parametrize("bad", [-1, 10**7, 10**400, "two", 1.5])
def test_bad_skip_rows_names_the_field(tmp_path, bad):
    with pytest.raises(SpecError, match="skip_rows"):
        ExperimentSpec.from_dict(spec_for(tmp_path / "x.csv", skip_rows=bad))
