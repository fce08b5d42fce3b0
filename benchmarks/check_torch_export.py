"""Check exported PyTorch scripts against the app (a script, not a test: the product and its
suite never need torch).

Two steps, because torch lives in its own venv:

    .venv/bin/python benchmarks/check_torch_export.py dump /tmp/torch_export
    ~/torch-venv/bin/python benchmarks/check_torch_export.py check /tmp/torch_export

``dump`` builds each case (a spiral MLP, CSV regressions, CSV classification, a CNN on
digits, an LSTM and GRU, optimizers, dropout, penalties, schedules), trains it a few steps so
the optimizer state is not empty, exports it with ``export_pytorch``, then keeps training it
in the app for N more steps and saves the app's test-set predictions (at export time) and
those N batch losses. ``check`` imports every exported script, compares
``model(prepare(X_test_raw))`` with the app's predictions and its ``train(N)`` losses with
the app's, and prints the largest differences (float64 cases must agree to 1e-6).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

N_STEPS = int(os.environ.get("CHECK_EXPORT_STEPS", 30))  # steps compared after the export
WARM_STEPS = 20  # steps trained before the export


def _spec(data, hidden, loss, out, opt="adam", lr=0.01, batch=10, hp=None, **training):
    return {
        "data": data,
        "network": {"hidden": hidden, "output_activation": out},
        "training": {"loss": loss, "optimizer": {"name": opt, "lr": lr, "params": hp or {}},
                     "batch_size": batch, **training},
    }  # fmt: skip


SPIRAL = {"kind": "toy", "name": "spiral", "n_samples": 300}
TANH8 = [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}]
IRIS_REG = {"kind": "csv", "path": "iris.csv", "target": "petal_width", "task": "regression"}
CONV = {"kind": "conv2d", "activation": "relu", "filters": 4, "kernel_size": 3}

CASES = {
    "spiral MLP, adam, batch 10": _spec(SPIRAL, TANH8, "bce", "sigmoid"),
    "spiral MLP, adam, full batch": _spec(SPIRAL, TANH8, "bce", "sigmoid", batch=1000),
    "spiral, all 7 features, minmax, sgd momentum, step schedule, clip": _spec(
        {
            **SPIRAL,
            "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
            "normalize": "minmax",
        },
        [{"units": 6, "activation": "leaky_relu", "negative_slope": 0.2}],
        "bce",
        "sigmoid",
        opt="momentum",
        lr=0.05,
        clip_norm=0.5,
        schedule={"kind": "step", "unit": "step", "step_size": 7, "gamma": 0.5},
    ),  # fmt: skip
    "spiral3 softmax cce, dropout 0.2, rmsprop centered, l2": _spec(
        {"kind": "toy", "name": "spiral3", "n_samples": 300},
        [{"units": 16, "activation": "relu", "dropout": 0.2}, {"units": 8, "activation": "elu"}],
        "cce",
        "softmax",
        opt="rmsprop",
        lr=0.005,
        hp={"centered": True, "momentum": 0.5},
        regularization={"kind": "l2", "rate": 0.01},
    ),  # fmt: skip
    "csv regression (engel), mse, adamw amsgrad, cosine + warmup": _spec(
        {"kind": "csv", "path": "engel.csv", "target": "food_expenditure"},
        [{"units": 8, "activation": "gelu"}],
        "mse",
        "linear",
        opt="adamw",
        hp={"amsgrad": True},
        batch=16,
        schedule={"kind": "cosine", "unit": "step", "t_max": 40, "warmup": 5},
    ),  # fmt: skip
    "csv regression (iris, text input one-hot), huber, adagrad, l1": _spec(
        IRIS_REG,
        [{"units": 8, "activation": "softplus"}],
        "huber",
        "linear",
        opt="adagrad",
        lr=0.05,
        batch=150,
        regularization={"kind": "l1", "rate": 0.001},
    ),  # fmt: skip
    "csv classification (wine), kl_div, nesterov": _spec(
        {"kind": "csv", "path": "wine.csv", "target": "cultivar"},
        [{"units": 10, "activation": "sine"}],
        "kl_div",
        "softmax",
        opt="nesterov",
        lr=0.02,
        batch=32,
    ),  # fmt: skip
    "xor tanh hinge, sgd, exponential": _spec(
        {"kind": "toy", "name": "xor", "n_samples": 200},
        TANH8,
        "hinge",
        "tanh",
        opt="sgd",
        lr=0.05,
        schedule={"kind": "exponential", "unit": "epoch", "gamma": 0.9},
    ),  # fmt: skip
    "spiral3 multi-class hinge (multi_margin_loss), linear output": _spec(
        {"kind": "toy", "name": "spiral3", "n_samples": 300}, TANH8, "hinge", "linear", batch=25
    ),
    "circle mae sigmoid, lbfgs full batch": _spec(
        {"kind": "toy", "name": "circle", "n_samples": 200},
        TANH8,
        "mae",
        "sigmoid",
        opt="lbfgs",
        lr=1.0,
        batch=1000,
    ),  # fmt: skip
    "CNN on digits, adam, batch 64": _spec(
        {"kind": "image", "name": "digits"},
        [
            {**CONV, "padding": "same"},
            {"kind": "maxpool2d", "size": 2},
            {**CONV, "filters": 6, "kernel_size": 2, "padding": "same", "activation": "tanh", "dropout": 0.1},
            {"kind": "avgpool2d", "size": 2, "stride": 1},
            {"kind": "flatten"},
            {"units": 16, "activation": "relu"},
        ],
        "cce",
        "softmax",
        lr=0.003,
        batch=64,
    ),  # fmt: skip
    "CNN on digits, strided valid no bias, full batch": _spec(
        {"kind": "image", "name": "digits", "train_fraction": 0.3},
        [{**CONV, "stride": 2, "bias": False, "activation": "tanh"}],
        "cce",
        "softmax",
        lr=0.01,
        batch=100000,
    ),  # fmt: skip
    "spiral MLP float32": {
        **_spec(SPIRAL, TANH8, "bce", "sigmoid"),
        "training": {**_spec(SPIRAL, TANH8, "bce", "sigmoid")["training"], "dtype": "float32"},
    },
}
# recurrent networks on the 4 iris measurements as sequences (length 4, 1 feature; or 2 x 2)
RECURRENT = {
    "LSTM (iris as sequences), adam, batch 16": ("lstm", (4, 1), False, 0, 16),
    "GRU every step + truncated BPTT 2, full batch": ("gru", (4, 1), True, 2, 1000),
    "RNN relu (2 x 2 sequences), batch 32": ("rnn", (2, 2), False, 0, 32),
    "LSTM truncated BPTT 3, every step, batch 16": ("lstm", (4, 1), True, 3, 16),
}


SEQ = {"kind": "sequence", "name": "sine", "length": 12, "n_samples": 300}
SPEC_RECURRENT = {
    "spec: LSTM on sine sequences, adam, batch 32": _spec(
        SEQ, [{"kind": "lstm", "units": 8}], "mse", "linear", batch=32, clip_norm=1.0
    ),
    "spec: GRU every step -> RNN relu, rmsprop": _spec(
        SEQ,
        [
            {"kind": "gru", "units": 6, "return_sequences": True},
            {"kind": "rnn", "units": 4, "activation": "relu"},
        ],
        "mse",
        "linear",
        opt="rmsprop",
        lr=0.003,
        batch=64,
    ),  # fmt: skip
}


def _recurrent_experiment(kind, shape, retseq, bptt, batch):
    from playground import Experiment
    from playground.engine import codes as C
    from playground.engine.blocks import Layer
    from playground.engine.trainer import Trainer

    iris = {"kind": "csv", "path": "iris.csv", "target": "species"}
    spec = _spec(iris, TANH8, "cce", "softmax", batch=batch, lr=0.01)
    exp = Experiment.from_spec(spec)
    T, F = shape
    H = 6
    n = T * H if retseq else H
    cell = C.RELU if kind == "rnn" else C.TANH
    layers = [Layer(kind, T * F, n, C.LINEAR, in_shape=(T, F), units=H, return_sequences=retseq, bptt=bptt,
                    cell_activation=cell)]  # fmt: skip
    layers += [Layer("flatten", n, n, C.LINEAR)] if retseq else []
    layers += [Layer("dense", n, exp.n_out, C.SOFTMAX)]
    ds = exp.dataset
    exp.trainer = Trainer(exp.spec, (T, F), exp.n_out, ds.X_train, exp.Y_train, layers=layers)
    return exp


def dump(folder: str) -> None:
    from playground import Experiment
    from playground.engine import readiness
    from playground.errors import PlaygroundError
    from playground.export import export_pytorch

    readiness.set_start_mode("compiled")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    index = []
    cases = [(name, lambda s=s: Experiment.from_spec(s)) for name, s in CASES.items()]
    for name, s in SPEC_RECURRENT.items():  # recurrent layers and sequence data in the spec (issue 13)
        try:
            Experiment.from_spec(s)
        except PlaygroundError as e:
            print(f"skipped {name}: {e}")
            continue
        cases.append((name, lambda s=s: Experiment.from_spec(s)))
    cases += [(name, lambda a=a: _recurrent_experiment(*a)) for name, a in RECURRENT.items()]
    for i, (name, build) in enumerate(cases):
        exp = build()
        exp.trainer.run(WARM_STEPS)
        d = root / f"case{i}"
        d.mkdir(exist_ok=True)
        export_pytorch(exp, d / "model.py")
        pred = exp.trainer.predict(exp.dataset.X_test)
        report = exp.trainer.run(N_STEPS)
        np.savez(d / "app.npz", pred=pred, losses=report.batch_losses)
        index.append({"name": name, "dir": str(d), "dtype": str(exp.trainer.dtype)})
        print(f"dumped {name} ({report.steps_done} steps after the export)")
    (root / "index.json").write_text(json.dumps(index, indent=1))


def check(folder: str) -> int:
    import importlib.util

    import torch

    torch.set_num_threads(1)
    index = json.loads((Path(folder) / "index.json").read_text())
    worst = {"float64": [0.0, 0.0], "float32": [0.0, 0.0]}
    print(f"{N_STEPS} steps; predictions: max abs diff; losses: max abs diff / max(1, |loss|)")
    print(f"{'case':68s} {'predictions':>11s} {'losses':>9s}")
    for i, case in enumerate(index):
        spec = importlib.util.spec_from_file_location(f"exported_{i}", Path(case["dir"]) / "model.py")
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        app = np.load(Path(case["dir"]) / "app.npz")
        _, _, X_test, _ = m.load_data()
        with torch.no_grad():
            out = m.model(m.prepare(X_test)).numpy()
        dp = float(np.abs(out - app["pred"]).max())
        losses = np.asarray(m.train(N_STEPS, log=lambda s: None))
        same = len(losses) == len(app["losses"])
        # relative to the loss's size (a regression on raw targets has losses of 1e5)
        dl = (
            float((np.abs(losses - app["losses"]) / np.maximum(1.0, np.abs(app["losses"]))).max())
            if same
            else np.inf
        )
        w = worst[case["dtype"]]
        w[0], w[1] = max(w[0], dp), max(w[1], dl)
        print(f"{case['name'][:68]:68s} {dp:11.1e} {dl:9.1e}")
    for dtype, (dp, dl) in worst.items():
        print(f"worst {dtype}: predictions {dp:.1e}, losses {dl:.1e}")
    ok = worst["float64"][0] <= 1e-6 and worst["float64"][1] <= 1e-6
    print("OK" if ok else "FAILED: float64 differences above 1e-6")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "check"):
        sys.exit(__doc__)
    sys.exit(dump(sys.argv[2]) if sys.argv[1] == "dump" else check(sys.argv[2]))
