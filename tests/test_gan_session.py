"""GAN sessions: exact resume (train 2N == train N, save, load, train N, bitwise) and
refusal of broken files with messages naming the file and field."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from playground.errors import SessionError
from playground.gan import GanTrainer
from playground.gan import session as S
from playground.gan.spec import GanDataSpec
from tests.test_gan import assert_same_state, small_spec


@pytest.mark.parametrize(
    "loss,dtype", [("non_saturating", "float64"), ("wgan_gp", "float64"), ("least_squares", "float32")]
)
def test_exact_resume(tmp_path, loss, dtype):
    spec = small_spec(loss, "relu")
    spec = replace(spec, training=replace(spec.training, dtype=dtype))
    whole = GanTrainer(spec)
    whole.run(40)
    half = GanTrainer(spec)
    half.run(20)
    path = S.save(half, tmp_path / "g.playground-gan", view={"zoom": 2})
    back, view = S.load(path)
    assert view == {"zoom": 2}
    back.run(20)
    assert_same_state(whole, back, 0.0)
    np.testing.assert_array_equal(whole.records, back.records)
    np.testing.assert_array_equal(whole.samples(100), back.samples(100))


def test_painted_and_csv_data_survive(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("x,y\n0,0\n1,1\n2,0\n")
    spec = replace(small_spec(), data=GanDataSpec(kind="csv", path=str(f), std=0.05))
    tr = GanTrainer(spec)
    tr.run(3)
    path = S.save(tr, tmp_path / "c.playground-gan")
    f.unlink()  # the session holds the points
    back, _ = S.load(path)
    np.testing.assert_array_equal(back.real.base, tr.real.base)
    painted = replace(small_spec(), data=GanDataSpec(kind="points", points=((0.0, 1.0), (1.0, 0.0))))
    tr = GanTrainer(painted)
    S.save(tr, tmp_path / "p.playground-gan")
    assert S.load(tmp_path / "p.playground-gan")[0].spec.data.points == ((0.0, 1.0), (1.0, 0.0))
    assert S.is_gan_session(tmp_path / "p.playground-gan")


def _rewrite(path, out, edit_doc=None, drop=None, replace_member=None):
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if info.filename == S.DOCUMENT and edit_doc is not None:
                doc = json.loads(data)
                edit_doc(doc)
                data = json.dumps(doc).encode()
            if replace_member and info.filename == replace_member[0]:
                data = replace_member[1]
            zout.writestr(info.filename, data)


@pytest.mark.parametrize(
    "how,needle",
    [
        (dict(edit_doc=lambda d: d.update(format="x")), "'format'"),
        (dict(edit_doc=lambda d: d.update(schema_version=99)), "newer version"),
        (dict(edit_doc=lambda d: d["spec"]["training"].update(loss="nope")), "training.loss"),
        (dict(edit_doc=lambda d: d.update(counters=[1, 2, -3, 4])), "'counters'"),
        (dict(edit_doc=lambda d: d["arrays"].update(theta_g=["<f8", [3]])), "theta_g.npy"),
        (dict(drop="state_d.npy"), "state_d.npy"),
        (dict(replace_member=("theta_d.npy", b"garbage")), "theta_d.npy"),
    ],
)
def test_broken_sessions_are_refused_by_name(tmp_path, how, needle):
    tr = GanTrainer(small_spec())
    good = S.save(tr, tmp_path / "good.playground-gan")
    bad = tmp_path / "bad.playground-gan"
    _rewrite(good, bad, **how)
    with pytest.raises(SessionError) as e:
        S.load(bad)
    assert "bad.playground-gan" in str(e.value) and needle in str(e.value)


def test_non_finite_weights_are_refused(tmp_path):
    tr = GanTrainer(small_spec())
    tr.theta_g[0] = np.nan
    S.save(tr, tmp_path / "n.playground-gan")
    with pytest.raises(SessionError, match="not finite"):
        S.load(tmp_path / "n.playground-gan")
