"""Race sessions: several experiments in one *.playground file (no Qt)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from playground import session
from playground.errors import SessionError
from playground.experiment import Experiment
from playground.spec import default_spec


def _members():
    base = default_spec()
    base = replace(base, data=replace(base.data, n_samples=60))
    exps = []
    for lr, units in ((0.001, 8), (0.1, 8), (0.01, 5)):
        spec = replace(
            base, training=replace(base.training, optimizer=replace(base.training.optimizer, lr=lr))
        )
        spec = replace(
            spec,
            network=replace(spec.network, hidden=tuple(replace(h, units=units) for h in spec.network.hidden)),
        )
        exp = Experiment(spec)
        exp.train(steps=25 + int(lr * 1000) % 7)
        exps.append(exp)
    return exps


LABELS = ["lr 0.001", "lr 0.1", "lr 0.01, units 5"]
OVERRIDES = [
    {"training.optimizer.lr": 0.001},
    {"training.optimizer.lr": 0.1},
    {"training.optimizer.lr": 0.01},
]


def test_round_trip_restores_every_member_bitwise(tmp_path):
    exps = _members()
    path = session.save_race(exps, tmp_path / "r.playground", LABELS, OVERRIDES, view={"race_target": 0.5})
    assert session.is_race_file(path)
    loaded = session.load_race(path)
    assert [e.race_label for e in loaded] == LABELS
    assert [e.race_overrides for e in loaded] == OVERRIDES
    for a, b in zip(exps, loaded):
        assert a.spec == b.spec
        assert a.step == b.step
        assert np.array_equal(a.trainer.theta, b.trainer.theta)
        assert np.array_equal(a.history["train_loss"], b.history["train_loss"], equal_nan=True)
        assert b.view_state == {"race_target": 0.5}
    # exact resume: both continue identically
    for a, b in zip(exps, loaded):
        a.train(steps=40)
        b.train(steps=40)
        assert np.array_equal(a.trainer.theta, b.trainer.theta)


def test_members_live_under_race_prefixes_and_plain_load_opens_the_first(tmp_path):
    exps = _members()
    path = session.save_race(exps, tmp_path / "r.playground", LABELS, OVERRIDES)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        doc = json.loads(zf.read("session.json"))
    assert names[:3] == ["session.json", "race/1/session.json", "race/2/session.json"]
    assert "race/2/trainer/theta.npy" in names and "trainer/theta.npy" in names
    assert [m["prefix"] for m in doc["race"]] == ["", "race/1/", "race/2/"]
    first = session.load(path)  # an older reader sees the first member as a normal session
    assert np.array_equal(first.trainer.theta, exps[0].trainer.theta)


def test_single_sessions_load_as_a_list_of_one_and_are_unchanged(tmp_path):
    exp = _members()[0]
    path = session.save(exp, tmp_path / "one.playground")
    assert not session.is_race_file(path)
    with zipfile.ZipFile(path) as zf:
        assert "race" not in json.loads(zf.read("session.json"))
    (only,) = session.load_race(path)
    assert only.race_label is None and np.array_equal(only.trainer.theta, exp.trainer.theta)


def _rewrite(path, out, edit):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "session.json":
                doc = json.loads(data)
                edit(doc)
                data = json.dumps(doc).encode()
            zout.writestr(info.filename, data)
    return out


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda d: d["race"][1].update(prefix="../"), "race[1]"),
        (lambda d: d["race"][2].update(prefix="race/1/"), "race[2]"),
        (lambda d: d.update(race="x"), "'race'"),
        (lambda d: d["race"][0].update(label=7), "label"),
    ],
)
def test_damaged_race_lists_are_refused_with_the_field_named(tmp_path, edit, words):
    path = session.save_race(_members(), tmp_path / "r.playground", LABELS, OVERRIDES)
    bad = _rewrite(path, tmp_path / "bad.playground", edit)
    with pytest.raises(SessionError, match=words.replace("[", r"\[").replace("]", r"\]")):
        session.load_race(bad)


def test_a_missing_member_names_it(tmp_path):
    path = session.save_race(_members(), tmp_path / "r.playground", LABELS, OVERRIDES)
    out = tmp_path / "cut.playground"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename != "race/2/trainer/theta.npy":
                zout.writestr(info.filename, zin.read(info))
    with pytest.raises(SessionError, match="race/2"):
        session.load_race(out)


def test_save_race_checks_its_arguments(tmp_path):
    exps = _members()
    with pytest.raises(SessionError, match="one label"):
        session.save_race(exps, tmp_path / "r.playground", LABELS[:2])
    with pytest.raises(SessionError, match="1 to"):
        session.save_race([], tmp_path / "r.playground")
