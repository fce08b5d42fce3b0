"""Export to PyTorch (playground.export): the generated script, its weights archive, its data
archive and the numpy half of the script, held to the engine without torch.

torch is not a dependency of the suite: the script is parsed and compiled, its numpy half
(prepare, targets, data, schedule, batch order, dropout masks) is executed and compared with
the engine, and the archives are compared with the trainer's arrays. What only torch can
run (the model's outputs and the continued training) is checked by
benchmarks/check_torch_export.py. Experiments here train on the engine's numpy twins (no
kernel compiles: the numbers of the export do not depend on which engine trained them).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from playground import Experiment
from playground.cli.export_pytorch import cmd_export_pytorch
from playground.data.toy import FEATURE_TRANSFORMS
from playground.engine import codes as C
from playground.engine.activations import ACTIVATIONS
from playground.engine.blocks import Layer
from playground.engine.blocks.dropout import mask_np
from playground.engine.blocks.registry import BLOCKS
from playground.engine.losses import LOSSES
from playground.engine.rng import DROPOUT_TAG, SHUFFLE_TAG, derive_key, epoch_permutation_np
from playground.engine.schedules import SCHEDULES, lr_at
from playground.engine.trainer import Trainer
from playground.export import ExportError, build_export, export_pytorch
from playground.export.network import ACTIVATION_SOURCE, BLOCK_KINDS, LOSS_SOURCE, OPTIMIZER_CLASS
from playground.export.pytorch import numpy_namespace
from playground.export.script_parts import TRANSFORM_SOURCE
from playground.spec import OPTIMIZERS


@pytest.fixture(autouse=True)
def _twins(monkeypatch):
    """Train and predict on the numpy twins: no numba compile in these tests."""
    monkeypatch.setattr(Trainer, "on_twins", lambda self: True)


def _spec(data, hidden, loss="bce", out="sigmoid", opt="adam", lr=0.01, batch=10, hp=None, **training):
    return {
        "data": data,
        "network": {"hidden": hidden, "output_activation": out},
        "training": {"loss": loss, "optimizer": {"name": opt, "lr": lr, "params": hp or {}},
                     "batch_size": batch, **training},
    }  # fmt: skip


SPIRAL = {"kind": "toy", "name": "spiral", "n_samples": 120}
TANH = [{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "tanh"}]
IRIS_TEXT = {"kind": "csv", "path": "iris.csv", "target": "petal_width", "task": "regression"}
CONV = {"kind": "conv2d", "activation": "relu", "filters": 3, "kernel_size": 3}


def _trained(spec: dict, steps: int = 7) -> Experiment:
    exp = Experiment.from_spec(spec)
    exp.train(steps=steps)
    return exp


def _recurrent(kind: str, shape=(4, 1), retseq=False, bptt=0, steps=5) -> Experiment:
    """An iris classifier whose network is one recurrent block (the 4 measurements as a
    sequence) built directly from blocks, as Trainer(layers=...) allows."""
    exp = Experiment.from_spec(
        _spec({"kind": "csv", "path": "iris.csv", "target": "species"}, TANH, "cce", "softmax", batch=16)
    )
    T, F = shape
    n = T * 3 if retseq else 3
    cell = C.RELU if kind == "rnn" else C.TANH
    layers = [Layer(kind, T * F, n, C.LINEAR, in_shape=(T, F), units=3, return_sequences=retseq, bptt=bptt,
                    cell_activation=cell)]  # fmt: skip
    layers += [Layer("flatten", n, n, C.LINEAR)] if retseq else []
    layers += [Layer("dense", n, exp.n_out, C.SOFTMAX)]
    ds = exp.dataset
    exp.trainer = Trainer(exp.spec, shape, exp.n_out, ds.X_train, exp.Y_train, layers=layers)
    exp.trainer.run(steps)
    return exp


def _cnn() -> Experiment:
    hidden = [
        {**CONV, "padding": "same"}, {"kind": "maxpool2d", "size": 2},
        {**CONV, "kernel_size": 2, "padding": "same", "bias": False, "dropout": 0.1},
        {"kind": "avgpool2d", "size": 2, "stride": 1}, {"units": 4, "activation": "elu"},
    ]  # fmt: skip
    data = {"kind": "image", "name": "bars", "n_samples": 40, "size": [6, 6]}
    return _trained(_spec(data, hidden, "cce", "softmax"), 3)


NETWORKS = {
    "mlp": lambda: _trained(_spec(SPIRAL, TANH)),
    "cnn": _cnn,
    "lstm": lambda: _recurrent("lstm"),
    "gru sequences bptt": lambda: _recurrent("gru", retseq=True, bptt=2),
    "rnn relu": lambda: _recurrent("rnn", shape=(2, 2)),
}


# --------------------------------------------------------------------------- the script


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_script_is_python_defining_model_and_prepare(name, tmp_path):
    exp = NETWORKS[name]()
    written = export_pytorch(exp, tmp_path / "net.py")
    assert [p.name for p in written] == ["net.py", "net.npz", "net_data.npz"]
    text = written[0].read_text(encoding="utf-8")
    tree = ast.parse(text)
    compile(text, "net.py", "exec")
    top = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
    top |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert {"model", "prepare", "prepare_array", "load_data", "train", "Network", "main"} <= top
    imported = {
        a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "argparse", "csv", "math", "os", "numpy", "torch"}
    assert "np.load(" in text and text.count("np.load(") == text.count("allow_pickle=False")
    assert "import pickle" not in text and "torch.load" not in text


def _sequential(script: str) -> list[str]:
    """The constructors listed in the script's nn.Sequential, as written."""
    tree = ast.parse(script)
    net = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Network")
    call = next(
        n for n in ast.walk(net) if isinstance(n, ast.Call) and ast.unparse(n.func) == "nn.Sequential"
    )
    return [ast.unparse(a) for a in call.args]


def test_the_model_lists_every_block_as_a_torch_module():
    mods = _sequential(build_export(NETWORKS["cnn"]()).script)
    assert mods == [
        "nn.Conv2d(1, 3, 3, stride=1, padding=1)", "nn.ReLU()",
        "nn.MaxPool2d(2, stride=2)",
        # an even kernel's 'same' padding puts the extra zero after, as torch does
        "nn.ZeroPad2d((0, 1, 0, 1))", "nn.Conv2d(3, 3, 2, stride=1, bias=False)", "nn.ReLU()",
        "StepDropout(0.1, 2)",
        "nn.AvgPool2d(2, stride=1)",
        "nn.Flatten()",  # the implicit flatten before the dense layer
        "nn.Linear(12, 4)", "nn.ELU()",
        "nn.Linear(4, 2)",
    ]  # fmt: skip
    mods = _sequential(build_export(NETWORKS["gru sequences bptt"]()).script)
    assert mods == [
        "Recurrent('gru', 1, 3, return_sequences=True, bptt=2)",
        "nn.Flatten()",
        "nn.Linear(12, 3)",
    ]
    mods = _sequential(build_export(NETWORKS["rnn relu"]()).script)
    assert mods[0] == "Recurrent('rnn', 2, 3, nonlinearity='relu')"
    spec = _spec(SPIRAL, [{"units": 3, "activation": "leaky_relu", "negative_slope": 0.2, "dropout": 0.25}])
    script = build_export(_trained(spec)).script
    assert _sequential(script) == [
        "nn.Linear(2, 3)",
        "nn.LeakyReLU(0.2)",
        "StepDropout(0.25, 0)",
        "nn.Linear(3, 1)",
    ]
    assert "self.output = nn.Sigmoid()" in script


# --------------------------------------------------------------------------- the weights


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_weights_archive_holds_exactly_the_trainers_arrays(name, tmp_path):
    exp = NETWORKS[name]()
    tr = exp.trainer
    export_pytorch(exp, tmp_path / "model.py")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as w:
        files = {k: w[k] for k in w.files}
    weights = {k: v for k, v in files.items() if not k.startswith("optimizer/") and k != "counters"}
    rebuilt = np.full(tr.layout.n_params, np.nan)
    keys = iter(weights)
    for layer, arrays in zip(tr.plan.layers, tr.plan.arrays, strict=True):
        for _, shape, off in arrays:
            v = weights[next(keys)]
            if layer.kind == "dense":
                assert v.shape == shape[::-1]  # torch's Linear.weight is our W transposed
                v = v.T
            assert v.shape == tuple(shape)
            rebuilt[off : off + v.size] = v.ravel()
    assert next(keys, None) is None
    assert rebuilt.dtype == tr.theta.dtype and np.array_equal(rebuilt, tr.theta)
    assert files["counters"].tolist() == [tr.step, tr.opt_t]
    if name == "lstm":
        names = [f"layers.0.cell.{n}_l0" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        assert list(weights) == names + ["layers.1.weight", "layers.1.bias"]


OPTIMIZER_SLOTS = {
    "sgd": ({}, []),
    "momentum": ({}, ["momentum_buffer"]),
    "nesterov": ({}, ["momentum_buffer"]),
    "adagrad": ({}, ["sum"]),
    "rmsprop": ({"centered": True, "momentum": 0.5}, ["square_avg", "grad_avg", "momentum_buffer"]),
    "adam": ({}, ["exp_avg", "exp_avg_sq"]),
    "adamw": ({"amsgrad": True}, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
}


@pytest.mark.parametrize("opt", list(OPTIMIZER_SLOTS))
def test_the_optimizer_state_is_torchs_slots_of_the_trainers_state(opt):
    hp, slots = OPTIMIZER_SLOTS[opt]
    exp = _trained(_spec(SPIRAL, TANH, opt=opt, hp=hp), steps=4)
    tr = exp.trainer
    ex = build_export(exp)
    call = " ".join(ex.script.split("def make_optimizer(module):")[1].split(")\n")[0].split())
    assert (
        call.startswith(f"return torch.optim.{OPTIMIZER_CLASS[opt]}(")
        and "module.parameters(), lr=0.01," in call
    )
    W0, _ = tr.layout.views(tr.theta)[0]
    for row, slot in enumerate(slots):
        row = {"grad_avg": 1, "momentum_buffer": 2 if opt == "rmsprop" else 0}.get(slot, row)
        got = ex.weights[f"optimizer/{slot}/layers.0.weight"]
        want = tr.opt_state[row][: W0.size].reshape(W0.shape).T
        assert np.array_equal(got, want) and np.abs(want).max() > 0
    found = {k.split("/")[1] for k in ex.weights if k.startswith("optimizer/")}
    assert found == set(slots) | ({"step"} if opt not in ("sgd", "momentum", "nesterov") else set())
    if "step" in found:
        assert float(ex.weights["optimizer/step/layers.0.bias"]) == tr.opt_t == 4


def test_lbfgs_state_is_laid_out_in_torchs_parameter_order():
    exp = _trained(_spec(SPIRAL, TANH, opt="lbfgs", lr=1.0, batch=1000), steps=3)
    tr = exp.trainer
    ex = build_export(exp)
    assert 'line_search_fn="strong_wolfe"' in ex.script or "line_search_fn='strong_wolfe'" in ex.script
    keys = [f"layers.{i}.{n}" for i in (0, 2, 4) for n in ("weight", "bias")]
    flat = np.concatenate([ex.weights[k].ravel() for k in keys])
    order = [np.flatnonzero(tr.theta == v)[0] for v in flat]  # theta's values are distinct floats
    state = tr.lbfgs.to_arrays()
    assert np.array_equal(ex.weights["optimizer/lbfgs/d"], state["d"][order])
    assert np.array_equal(ex.weights["optimizer/lbfgs/old_dirs"], state["old_dirs"][:, order])
    assert int(ex.weights["optimizer/lbfgs/n_iter"]) == int(state["n_iter"]) == 3


def test_no_optimizer_state_before_the_first_step():
    ex = build_export(Experiment.from_spec(_spec(SPIRAL, TANH)))
    assert not [k for k in ex.weights if k.startswith("optimizer/")]
    assert ex.weights["counters"].tolist() == [0, 0]


# --------------------------------------------------------------------------- the numpy half


def _ns(exp, tmp_path) -> dict:
    """Export, then run the written script's numpy half beside its files."""
    path = export_pytorch(exp, tmp_path / "model.py")[0]
    return numpy_namespace(path.read_text(encoding="utf-8"), path)


DATA = {
    "toy features, minmax": {**SPIRAL, "features": list(FEATURE_TRANSFORMS.names()), "normalize": "minmax"},
    "toy standard": {"kind": "toy", "name": "sine", "n_samples": 50, "normalize": "standard"},
    "csv with a text column": IRIS_TEXT,
    "csv classification": {"kind": "csv", "path": "wine.csv", "target": "cultivar"},
    "digits": {"kind": "image", "name": "digits", "train_fraction": 0.2},
}  # fmt: skip


@pytest.mark.parametrize("name", list(DATA))
def test_prepare_gives_the_apps_inputs_from_the_data_file_columns(name, tmp_path):
    data = DATA[name]
    regression = name in ("toy standard", "csv with a text column")
    loss, out = ("mse", "linear") if regression else ("cce", "softmax")
    if name == "toy features, minmax":
        loss, out = "bce", "sigmoid"
    exp = Experiment.from_spec(_spec(data, [{"units": 3}], loss, out))
    ns = _ns(exp, tmp_path)
    ds = exp.dataset
    X_train, y_train, X_test, y_test = ns["load_data"]()
    for raw, X in ((X_train, ds.X_train), (X_test, ds.X_test)):
        got = ns["prepare_array"](raw)
        assert got.shape == X.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, X, rtol=1e-15, atol=1e-15)
    assert np.array_equal(ns["encode_targets"](y_train), exp.Y_train)
    assert np.array_equal(ns["encode_targets"](y_test), exp.Y_test)
    if name == "csv with a text column":
        assert ns["RAW_COLUMNS"] == ["sepal_length", "sepal_width", "petal_length", "species"]
        assert isinstance(X_test, dict) and X_test["species"].dtype.kind == "U"
        assert ns["ENCODING"][3] == ("species", ["setosa", "versicolor", "virginica"])


def test_prepare_takes_a_mapping_rows_of_text_or_a_csv_file_read_again(tmp_path):
    exp = Experiment.from_spec(_spec(IRIS_TEXT, [{"units": 3}], "mse", "linear"))
    ns = _ns(exp, tmp_path)
    row = {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4], "species": ["setosa"]}
    want = ns["prepare_array"](row)
    assert want.shape == (1, 6)
    assert np.array_equal(ns["prepare_array"]([["5.1", "3.5", "1.4", "setosa"]]), want)
    assert np.array_equal(ns["prepare_array"](np.array([[5.1, 3.5, 1.4, "setosa"]], dtype=object)), want)
    ds = exp.dataset
    mean_std = (want[0, :3] * ds.pipeline.scale[:3] + ds.pipeline.offset[:3]).round(12)
    assert mean_std.tolist() == [5.1, 3.5, 1.4]
    table = ns["read_csv"](Path(ds.info["source"]))
    assert len(table["species"]) == 150
    full = ns["prepare_array"](table)
    assert full.shape == (150, 6) and np.isfinite(full).all()


def test_prepare_says_what_is_wrong_with_its_input(tmp_path):
    ns = _ns(Experiment.from_spec(_spec(IRIS_TEXT, [{"units": 3}], "mse", "linear")), tmp_path)
    prepare = ns["prepare_array"]
    good = {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4], "species": ["setosa"]}
    cases = {
        "no column 'species'": {k: v for k, v in good.items() if k != "species"},
        "must be (n, 4)": np.zeros((2, 3)),
        "column 'sepal_width', row 1: 'wide' is not a number": {**good, "sepal_width": ["wide"]},
        "column 'sepal_length', row 1: nan is not a finite number": {**good, "sepal_length": [float("nan")]},
        "column 'species': 'daisy' was not seen in training; known values: 'setosa'": {
            **good,
            "species": ["daisy"],
        },
        "different lengths": {**good, "species": ["setosa", "setosa"]},
        "column 'petal_length', row 1: the value is missing ('NA')": {**good, "petal_length": ["NA"]},
    }
    for message, X in cases.items():
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            prepare(X)
    img = _ns(Experiment.from_spec(_spec(DATA["digits"], [{"units": 3}], "cce", "softmax")), tmp_path)
    assert img["prepare_array"](np.zeros((2, 64))).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"X must be \(n, 1, 8, 8\) arrays or \(n, 64\) rows"):
        img["prepare_array"](np.zeros((2, 63)))


def test_a_pixel_csv_is_prepared_from_the_pixel_values_in_the_file(tmp_path):
    rng = np.random.default_rng(3)
    rows = ["p1,p2,p3,p4,label"] + [
        ",".join(map(str, rng.integers(0, 256, 4))) + f",{k % 2}" for k in range(40)
    ]
    (tmp_path / "pixels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = {"kind": "csv", "path": str(tmp_path / "pixels.csv"), "target": "label", "image_shape": [1, 2, 2]}
    exp = Experiment.from_spec(_spec(data, [{"units": 3}], "cce", "softmax"))
    out = tmp_path / "out"
    out.mkdir()
    ns = _ns(exp, out)
    X_train, *_ = ns["load_data"]()
    assert ns["PIXEL_SCALE"] == exp.dataset.info["pixel_scale"] > 1
    assert X_train.max() == exp.dataset.info["pixel_scale"]  # the counts as in the file
    np.testing.assert_allclose(ns["prepare_array"](X_train), exp.dataset.X_train, rtol=0, atol=1e-15)


def test_batch_order_dropout_masks_and_schedules_are_the_engines(tmp_path):
    exp = Experiment.from_spec({**_spec(SPIRAL, [{"units": 3, "dropout": 0.3}], batch=16), "seed": 7})
    ns = _ns(exp, tmp_path)
    seed = exp.spec.seed
    assert ns["SHUFFLE_KEY"] == derive_key(seed, SHUFFLE_TAG) and ns["DROPOUT_KEY"] == derive_key(
        seed, DROPOUT_TAG
    )
    n = exp.dataset.n_train
    for epoch in (0, 1, 17):
        assert np.array_equal(ns["epoch_order"](epoch, n), epoch_permutation_np(ns["SHUFFLE_KEY"], epoch, n))
    spe = -(-n // 16)
    rows = np.concatenate([ns["batch_rows"](s, n) for s in range(spe, 2 * spe)])
    assert np.array_equal(rows, epoch_permutation_np(ns["SHUFFLE_KEY"], 1, n))
    assert np.array_equal(ns["batch_rows"](5, 10), np.arange(10))  # one batch holds them all: in order
    for step, layer, units in ((0, 0, 3), (123, 2, 40)):
        got = ns["dropout_mask"](step, layer, np.arange(16), units, 0.3)
        assert np.array_equal(got, mask_np(ns["DROPOUT_KEY"], step, layer, 16, units, 0.3))
    steps = np.arange(0, 300, 7)
    for kind in SCHEDULES:
        for unit, warmup in (("epoch", 0), ("step", 5)):
            sched = {"kind": kind, "unit": unit, "step_size": 3, "gamma": 0.7, "t_max": 40, "eta_min": 0.001,
                     "warmup": warmup}  # fmt: skip
            ns["SCHEDULE"] = sched
            want = lr_at(sched, ns["LR"], steps, ns["STEPS_PER_EPOCH"])
            got = [ns["learning_rate"](int(s)) for s in steps]
            np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_every_registry_entry_has_an_export():
    assert set(ACTIVATIONS.names()) <= set(ACTIVATION_SOURCE)
    assert set(LOSSES.names()) <= set(LOSS_SOURCE)
    from playground.engine.methods import METHODS

    assert set(OPTIMIZERS) - set(METHODS) <= set(OPTIMIZER_CLASS)  # the methods: no torch.optim counterpart
    assert set(BLOCKS.names()) <= set(BLOCK_KINDS)
    assert set(FEATURE_TRANSFORMS.names()) <= set(TRANSFORM_SOURCE)
    R = np.random.default_rng(0).normal(size=(9, 2))
    for name in FEATURE_TRANSFORMS.names():
        fn = eval(TRANSFORM_SOURCE[name], {"np": np})  # noqa: S307 - our own table
        assert np.array_equal(fn(R), FEATURE_TRANSFORMS[name].fn(R)), name


@pytest.mark.parametrize(
    "loss,out", [("mae", "tanh"), ("hinge", "linear"), ("kl_div", "softmax"), ("huber", "sigmoid")]
)
def test_every_loss_writes_its_torch_call(loss, out):
    data = {"kind": "toy", "name": "spiral3", "n_samples": 60} if loss == "kl_div" else SPIRAL
    ex = build_export(Experiment.from_spec(_spec(data, TANH, loss, out, huber_delta=0.5)))
    assert f"    return {LOSS_SOURCE[loss]}\n" in ex.script
    ns = numpy_namespace(ex.script)
    assert ns["LOSS"] == loss and ns["OUTPUT"] == out and ns["HUBER_DELTA"] == 0.5


def test_a_float32_session_exports_a_float32_model():
    ex = build_export(_trained({**_spec(SPIRAL, TANH), "training": {**_spec(SPIRAL, TANH)["training"],
                                                                   "dtype": "float32"}}, 3))  # fmt: skip
    assert "DTYPE_NAME = 'float32'" in ex.script
    assert ex.weights["layers.0.weight"].dtype == np.float32


# --------------------------------------------------------------------------- files and the CLI


def test_bad_script_names_are_refused_and_nothing_is_written(tmp_path):
    exp = Experiment.from_spec(_spec(SPIRAL, TANH))
    for name, message in (("net.txt", "must end in .py"), ("my-net.py", "Python module name"),
                          ("class.py", "Python module name"), ("torch.py", "would import itself"),
                          ("missing/net.py", "no such folder")):  # fmt: skip
        with pytest.raises(ExportError, match=message):
            export_pytorch(exp, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_leaves_the_previous_files_whole(tmp_path, monkeypatch):
    exp = _trained(_spec(SPIRAL, TANH), 3)
    export_pytorch(exp, tmp_path / "model.py")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    import playground.export.pytorch as P

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    exp.train(steps=3)
    monkeypatch.setattr(P, "_npz_bytes", broken)
    with pytest.raises(OSError):
        export_pytorch(exp, tmp_path / "model.py")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_cli_exports_a_saved_session(tmp_path, capsys):
    exp = _trained(_spec(IRIS_TEXT, [{"units": 3}], "mse", "linear"), 5)
    exp.save(tmp_path / "run.playground")
    assert cmd_export_pytorch(tmp_path / "run.playground", tmp_path / "iris_model.py") == 0
    assert "wrote" in capsys.readouterr().out
    ns = numpy_namespace((tmp_path / "iris_model.py").read_text(encoding="utf-8"), tmp_path / "iris_model.py")
    with np.load(tmp_path / "iris_model.npz", allow_pickle=False) as w:
        assert w["counters"].tolist() == [5, 5]
    assert ns["DATA_SOURCE"].endswith("iris.csv")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(_spec(SPIRAL, TANH)), encoding="utf-8")
    assert cmd_export_pytorch(spec_file, tmp_path / "fresh.py") == 0
    assert cmd_export_pytorch(tmp_path / "nope.playground", tmp_path / "x.py") == 2
    assert "nope.playground" in capsys.readouterr().err
    assert cmd_export_pytorch(tmp_path / "run.playground", tmp_path / "x.txt") == 2
    assert "must end in .py" in capsys.readouterr().err


def test_csv_rows_the_app_dropped_are_not_exported_and_the_split_is_the_apps(tmp_path):
    rng = np.random.default_rng(5)
    lines = ["size,colour,weight,price"]
    for i in range(60):
        colour = "NA" if i % 11 == 3 else ["red", "green", "blue"][i % 3]
        weight = "" if i % 13 == 5 else f"{rng.normal(3, 1):.3f}"
        lines.append(f"{rng.uniform(1, 9):.3f},{colour},{weight},{rng.normal(10, 2):.3f}")
    (tmp_path / "shop.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = {"kind": "csv", "path": str(tmp_path / "shop.csv"), "target": "price", "train_fraction": 0.6}
    exp = Experiment.from_spec({**_spec(data, [{"units": 3}], "mse", "linear"), "seed": 11})
    out = tmp_path / "out"
    out.mkdir()
    ns = _ns(exp, out)
    X_train, y_train, X_test, y_test = ns["load_data"]()
    ds = exp.dataset
    assert ds.info["rows_dropped"] > 0 and len(y_train) + len(y_test) == 60 - ds.info["rows_dropped"]
    assert ns["ENCODING"][1] == ("colour", ["blue", "green", "red"])
    assert np.array_equal(y_train.ravel(), ds.y_train.ravel()) and np.array_equal(
        y_test.ravel(), ds.y_test.ravel()
    )
    np.testing.assert_allclose(ns["prepare_array"](X_train), ds.X_train, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(ns["prepare_array"](X_test), ds.X_test, rtol=1e-15, atol=1e-15)
    assert ns["CSV_DELIMITER"] == "," and ns["CSV_HEADER"] is True


def test_sequence_data_is_exported_as_arrays_through_its_pipeline(tmp_path):
    """Data whose samples are sequences (n, length, features), as issue 13's sequence data
    gives: stored as arrays before the pipeline, prepared to the network's input shape."""
    from playground.data.dataset import Dataset

    flat = Experiment.from_spec(
        _spec({"kind": "csv", "path": "iris.csv", "target": "species"}, [], "cce", "softmax")
    )
    ds = flat.dataset
    seq = Dataset(
        X_train=ds.X_train.reshape(-1, 4, 1), y_train=ds.y_train, X_test=ds.X_test.reshape(-1, 4, 1),
        y_test=ds.y_test, raw_train=ds.raw_train, raw_test=ds.raw_test, input_names=ds.input_names,
        feature_names=ds.feature_names, task=ds.task, class_names=ds.class_names,
        target_names=ds.target_names, pipeline=ds.pipeline, info=dict(ds.info),
    )  # fmt: skip
    exp = Experiment(flat.spec, dataset=seq)
    layers = [
        Layer("lstm", 4, 3, C.LINEAR, in_shape=(4, 1), units=3),
        Layer("dense", 3, exp.n_out, C.SOFTMAX),
    ]
    exp.trainer = Trainer(exp.spec, (4, 1), exp.n_out, seq.X_train, exp.Y_train, layers=layers)
    ns = _ns(exp, tmp_path)
    assert ns["ARRAYS"] and ns["INPUT_SHAPE"] == (4, 1)
    X_train, _, X_test, _ = ns["load_data"]()
    assert X_train.shape == seq.X_train.shape
    assert np.allclose(X_train[:, :, 0], ds.raw_train)  # the measurements before standardisation
    np.testing.assert_allclose(ns["prepare_array"](X_test), seq.X_test, rtol=1e-15, atol=1e-15)
    assert _sequential((tmp_path / "model.py").read_text(encoding="utf-8")) == [
        "Recurrent('lstm', 1, 3)", "nn.Linear(3, 3)"
    ]  # fmt: skip
