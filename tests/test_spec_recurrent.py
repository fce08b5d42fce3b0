"""Recurrent layers in the spec: names and defaults as issue 13 pins them, PyTorch's arrays in
Experiment.params, the forget-gate bias, errors naming the field, sessions and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest

from playground.errors import SpecError
from playground.experiment import Experiment
from playground.session.document import load
from playground.spec import ExperimentSpec, LayerSpec

W5 = {
    "data": {"kind": "sequence", "name": "sines", "length": 20, "n_samples": 400},
    "network": {"hidden": [{"kind": "lstm", "units": 8}], "output_activation": "linear"},
    "training": {"loss": "mse", "optimizer": {"name": "adam", "lr": 0.003}, "batch_size": 32},
}


def spec_with(hidden, **data):
    return ExperimentSpec.from_dict(
        {**W5, "data": {**W5["data"], **data}, "network": {**W5["network"], "hidden": hidden}}
    )


def test_to_dict_writes_the_fields_of_each_kind():
    assert LayerSpec(kind="rnn", units=4, activation="relu").to_dict() == {
        "kind": "rnn", "units": 4, "activation": "relu", "return_sequences": False,
    }  # fmt: skip
    assert LayerSpec(kind="gru", units=4, bptt=5, return_sequences=True).to_dict() == {
        "kind": "gru", "units": 4, "return_sequences": True, "bptt": 5,
    }  # fmt: skip
    assert LayerSpec(kind="lstm", units=4, forget_bias=1.0).to_dict()["forget_bias"] == 1.0
    spec = spec_with(
        [
            {"kind": "lstm", "units": 8, "return_sequences": True, "forget_bias": 1.0},
            {"kind": "gru", "units": 4},
        ]
    )
    assert ExperimentSpec.from_dict(spec.to_dict()) == spec


def test_params_are_torch_arrays_in_torch_order():
    exp = Experiment(
        spec_with([{"kind": "lstm", "units": 8, "return_sequences": True}, {"kind": "gru", "units": 4}])
    )
    lstm, gru, out = exp.params
    assert [a.shape for a in lstm] == [
        (32, 1),
        (32, 8),
        (32,),
        (32,),
    ]  # weight_ih, weight_hh, bias_ih, bias_hh
    assert [a.shape for a in gru] == [(12, 8), (12, 4), (12,), (12,)]
    assert [a.shape for a in out] == [(4, 1), (1,)]  # dense: (fan_in, fan_out)
    assert exp.trainer.layout.names()[:2] == [("weight_ih", "weight_hh", "bias_ih", "bias_hh")] * 2
    exp.train(steps=3)
    before = exp.params
    other = Experiment(exp.spec)
    other.set_params(before)  # round trip through the flat vector
    assert np.array_equal(other.trainer.theta, exp.trainer.theta)


def test_forget_bias_starts_the_forget_gate_open():
    exp = Experiment(spec_with([{"kind": "lstm", "units": 8, "forget_bias": 1.0}]))
    _w_ih, _w_hh, b_ih, b_hh = exp.params[0]
    assert np.all(b_ih[8:16] == 1.0) and np.all(b_hh[8:16] == 0.0)  # gates i, f, g, o
    plain = Experiment(spec_with([{"kind": "lstm", "units": 8}]))
    assert np.array_equal(plain.params[0][2][:8], b_ih[:8])  # the other gates as without it
    with pytest.raises(SpecError) as e:
        spec_with([{"kind": "lstm", "units": 8, "forget_bias": 50}])
    assert e.value.path == "network.hidden[0].forget_bias"


@pytest.mark.parametrize(
    "hidden, path, words",
    [
        ([{"kind": "rnn", "units": 8, "activation": "gelu"}], "network.hidden[0].activation", "tanh"),
        ([{"kind": "lstm", "units": 0}], "network.hidden[0].units", ""),
        ([{"kind": "lstm", "units": 8, "bptt": 0}], "network.hidden[0].bptt", ""),
        (
            [{"kind": "lstm", "units": 8}, {"kind": "gru", "units": 4}],
            "network.hidden[0].return_sequences",
            "every step",
        ),
        ([{"units": 8}, {"kind": "gru", "units": 4}], "network.hidden[1].kind", "cannot follow"),
        ([{"kind": "conv2d", "filters": 2}], "network.hidden[0].kind", "image data"),
    ],
)
def test_bad_stacks_name_the_field(hidden, path, words):
    with pytest.raises(SpecError) as e:
        spec_with(hidden)
    assert e.value.path == path and words in e.value.message


def test_recurrent_layers_need_sequences():
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict({"network": {"hidden": [{"kind": "gru", "units": 4}]}})
    assert e.value.path == "network.hidden[0].kind" and "sequence data" in e.value.message


def test_session_resumes_an_lstm_exactly(tmp_path):
    spec = spec_with([{"kind": "lstm", "units": 8, "bptt": 5}])
    a = Experiment(spec)
    a.train(steps=40)
    b = Experiment(spec)
    b.train(steps=20)
    path = b.save(tmp_path / "lstm.playground")
    c = load(path)
    c.train(steps=20)
    assert np.array_equal(a.trainer.theta, c.trainer.theta)
    assert a.metrics()["train_loss"] == c.metrics()["train_loss"]


def test_cli_trains_and_describes_a_recurrent_spec(tmp_path):
    f = tmp_path / "w5.json"
    f.write_text(json.dumps(W5))
    out = tmp_path / "w5.playground"
    run = [sys.executable, "-m", "playground"]
    r = subprocess.run(
        [*run, "train", str(f), "--steps", "30", "--out", str(out)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    info = subprocess.run([*run, "info", str(out)], capture_output=True, text=True)
    assert info.returncode == 0 and "lstm" in info.stdout and "20x1" in info.stdout
    w = tmp_path / "w.npz"
    r = subprocess.run([*run, "export", str(out), "--weights", str(w)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    z = np.load(w)
    assert z["weight_ih1"].shape == (32, 1) and z["bias_hh1"].shape == (32,) and z["W2"].shape == (8, 1)


def test_race_shares_initial_weights_only_between_equal_blocks():
    from playground.variants import build_race

    base = spec_with([{"kind": "lstm", "units": 8}])
    rnn = spec_with([{"kind": "rnn", "units": 8}])  # same widths, other arrays
    exps, shared = build_race(
        base, [rnn, base, spec_with([{"kind": "lstm", "units": 8, "forget_bias": 1.0}])]
    )
    assert shared == [False, True, False]  # a forget bias of its own: its own start
    assert np.array_equal(exps[1].trainer.theta, Experiment(base).trainer.theta)
    assert exps[2].params[0][2][8:16].tolist() == [1.0] * 8
