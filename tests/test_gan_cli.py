"""`playground gan`: the parser, headless training of a spec, --json, --out and resuming it."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from playground.cli.gan import add_gan_parser
from playground.errors import PlaygroundError
from tests.test_gan import small_spec


def run(argv):
    p = argparse.ArgumentParser()
    add_gan_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    return args.func(args)


def test_train_save_resume(tmp_path, capsys):
    spec = tmp_path / "g.json"
    spec.write_text(small_spec().to_json())
    out = tmp_path / "g.playground-gan"
    assert run(["gan", str(spec), "--iterations", "30", "--json", "--out", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["iterations"] == 30 and res["status"] == "ok" and res["d_steps"] == 60
    assert 0 <= res["modes_covered"] <= res["modes"] == 8
    assert run(["gan", str(out), "--iterations", "10"]) == 0
    text = capsys.readouterr().out
    assert "Trained 10 iterations" in text and "(40 in all)" in text and "modes_covered" in text


def test_bad_spec_names_the_field(tmp_path):
    spec = tmp_path / "bad.json"
    spec.write_text('{"training": {"loss": "nope"}}')
    with pytest.raises(PlaygroundError, match=r"training\.loss.*bad\.json"):
        run(["gan", str(spec)])


def test_divergence_exits_1(tmp_path, capsys):
    s = small_spec("wgan_gp", "relu", opt="sgd").with_changes("discriminator.optimizer.lr", 1e30)
    spec = tmp_path / "d.json"
    spec.write_text(s.with_changes("training.gp_weight", 0.0).to_json())
    assert run(["gan", str(spec), "--iterations", "500", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "diverged"


def test_compare_races_variants_from_the_same_start(tmp_path, capsys):
    spec = tmp_path / "g.json"
    spec.write_text(small_spec().to_json())
    args = [
        "gan",
        str(spec),
        "--iterations",
        "40",
        "--every",
        "20",
        "--compare",
        "training.loss=minimax,wgan_gp",
    ]
    assert run(args + ["--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [e["label"] for e in res] == ["loss=minimax", "loss=wgan_gp"]
    assert [r["iteration"] for r in res[0]["rows"]] == [20, 40]
    assert run(args) == 0
    assert "loss=wgan_gp" in capsys.readouterr().out
    with pytest.raises(PlaygroundError, match="training.loss"):
        run(["gan", str(spec), "--compare", "training.loss=minimax,nope"])
    with pytest.raises(PlaygroundError, match="--compare"):
        run(["gan", str(spec), "--compare", "training.loss"])


def test_race_variants_share_the_start():
    from playground.gan import GanTrainer
    from playground.gan.race import race, variants

    pairs = variants(small_spec(), "generator.optimizer.lr", [0.01, 0.02])
    np.testing.assert_array_equal(GanTrainer(pairs[0][1]).theta_g, GanTrainer(pairs[1][1]).theta_g)
    a, b = (e.trainer for e in race(pairs, 10, 5))
    assert not np.array_equal(a.theta_g, b.theta_g)  # the learning rate made the difference
    alone = GanTrainer(pairs[0][1])
    alone.run(10)
    np.testing.assert_array_equal(alone.theta_g, a.theta_g)  # racing changes nothing
