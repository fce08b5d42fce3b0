"""Sessions of convolutional networks: save, open, and resume exactly (format 2)."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from playground.experiment import Experiment
from playground.session import document

SPEC = {
    "data": {"kind": "image", "name": "bars", "n_samples": 120},
    "network": {
        "hidden": [
            {"kind": "conv2d", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
            {"kind": "maxpool2d", "size": 2},
            {"kind": "flatten"},
            {"kind": "dense", "units": 6, "activation": "tanh", "dropout": 0.2},
        ],
        "output_activation": "softmax",
    },
    "training": {"loss": "cce", "batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}},
}


def test_a_cnn_session_resumes_exactly_and_says_its_format(tmp_path):
    a = Experiment.from_spec(SPEC)
    a.train(steps=37)
    path = a.save(tmp_path / "cnn.playground")
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("session.json"))
    assert doc["schema_version"] == document.SESSION_SCHEMA_VERSION == 2
    assert doc["n_params"] == a.trainer.layout.n_params
    b = document.load(path)
    assert b.dataset.X_train.shape[1:] == a.dataset.X_train.shape[1:] and b.dataset.X_train.ndim == 4
    np.testing.assert_array_equal(b.trainer.theta, a.trainer.theta)
    a.train(steps=45)
    b.train(steps=45)
    np.testing.assert_array_equal(b.trainer.theta, a.trainer.theta)
    np.testing.assert_array_equal(b.trainer.opt_state, a.trainer.opt_state)
    assert b.metrics()["test_accuracy"] == a.metrics()["test_accuracy"]


def test_cli_trains_saves_and_describes_a_cnn(tmp_path, capsys):
    from playground.cli import main

    spec = tmp_path / "cnn.json"
    spec.write_text(json.dumps(SPEC), encoding="utf-8")
    out = tmp_path / "cnn.playground"
    assert main(["train", str(spec), "--steps", "30", "--out", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    shape = document.load(out).trainer.input_shape
    assert len(shape) == 3 and f"input {'x'.join(map(str, shape))}, " in text
    assert "conv2d 3@3x3 stride 1 relu -> 3x" in text and "maxpool2d 2x2 stride 2" in text
    assert "dense 6 tanh -> 6" in text
    assert document.load(out).step == 30
