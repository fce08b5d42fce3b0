"""Export an experiment as a PyTorch script: ``model.py``, ``model.npz`` and ``model_data.npz``.

``export_pytorch(experiment, "model.py")`` writes three files side by side:

* ``model.py``: one self-contained script (torch and numpy only). It defines ``model``, a
  ``torch.nn.Module`` with the trained weights loaded (float64 when the session is), and
  ``prepare(X)``, raw input columns as in the data file -> the tensor the model takes (the
  app's feature pipeline with its fitted constants). ``model(prepare(X))`` gives the app's
  outputs (after the output activation, as ``Experiment.predict``). Run as a program it
  continues training and prints the loss.
* ``model.npz``: the weights under the model's ``state_dict`` keys (a dense layer's W is
  stored as torch's ``Linear.weight``, its transpose), the optimizer state under
  ``optimizer/<slot>/<key>`` and ``counters`` = [step, optimizer step]. Plain arrays; the
  script reads them with ``np.load(allow_pickle=False)``.
* ``model_data.npz``: the rows the app trained and tested on, as in the data file (CSV
  columns as numbers or text, toy coordinates, image pixels) and their labels.

The network is built from the trainer's blocks (``Trainer.plan.layers``), not from the spec,
so every block kind the engine has is exported the same way, whatever built it. Training
continues exactly: the same batch order and dropout masks (ports of ``engine/rng.py``), the
torch.optim optimizer with the app's state, the schedule, the L1/L2 penalty and clipping.
Before anything is written the script's numpy half is run on the data and must give the
app's network inputs and targets (``ExportError`` otherwise).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from playground.data.toy import split_indices
from playground.engine import codes as C
from playground.engine.activations import BY_CODE
from playground.engine.rng import DROPOUT_TAG, SHUFFLE_TAG, derive_key
from playground.engine.trainer import EVAL_CHUNK
from playground.errors import PlaygroundError
from playground.export.script_parts import NUMPY_PART, RUN_PART, TORCH_PART, TRANSFORM_SOURCE

NUMPY_BEGIN, NUMPY_END = "# <numpy>", "# </numpy>"

# torch module of each activation (by the registry's name); None: nothing to apply
ACTIVATION_SOURCE = {
    "linear": None,
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU({slope!r})",
    "elu": "nn.ELU()",
    "gelu": "nn.GELU()",
    "softplus": "nn.Softplus()",
    "sine": "Sine()",
    "softmax": "nn.Softmax(dim=1)",
}
# the data loss of the outputs' pre-activations z and activations a ('mean' reductions)
LOSS_SOURCE = {
    "mse": "F.mse_loss(a, Y)",
    "mae": "F.l1_loss(a, Y)",
    "huber": "F.huber_loss(a, Y, delta=HUBER_DELTA)",
    "bce": "F.binary_cross_entropy_with_logits(z, Y)",
    "cce": "F.cross_entropy(z, Y)  # Y: class probabilities (one-hot)",
    "kl_div": 'F.kl_div(F.log_softmax(z, dim=1), Y, reduction="batchmean")',
    "hinge": (
        "torch.clamp(1 - Y * a, min=0).mean() if Y.shape[1] == 1 else F.multi_margin_loss(a, Y.argmax(dim=1))"
    ),
}
OPTIMIZER_CLASS = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "lbfgs": "LBFGS",
}
BLOCK_KINDS = ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn", "lstm", "gru")


class ExportError(PlaygroundError):
    """The experiment cannot be exported as asked (the message says why)."""


@dataclass
class TorchExport:
    """What ``export_pytorch`` writes, in memory: the script's text and the two archives."""

    script: str
    weights: dict[str, np.ndarray]
    data: dict[str, np.ndarray]
    weights_name: str
    data_name: str


@dataclass
class _Module:
    source: str  # the constructor, as written in the script
    comment: str = ""
    keys: tuple[str, ...] = ()  # state_dict keys of the block's arrays, in theta order


# --------------------------------------------------------------------------- the network


def _act_source(code: int, slope: float) -> str | None:
    name = BY_CODE[int(code)].name
    if name not in ACTIVATION_SOURCE:
        raise ExportError(f"the activation {name!r} has no PyTorch export yet")
    src = ACTIVATION_SOURCE[name]
    return None if src is None else src.format(slope=float(slope))


def _needs(layer) -> tuple[int, ...] | None:
    """The per-sample shape a block reads (None: a flat vector)."""
    if layer.kind in ("conv2d", "maxpool2d", "avgpool2d", "rnn", "lstm", "gru"):
        return tuple(int(v) for v in layer.in_shape)
    return None


def _gives(layer) -> tuple[int, ...]:
    if layer.kind in ("conv2d", "maxpool2d", "avgpool2d"):
        return tuple(int(v) for v in layer.out_shape)
    if layer.kind in ("rnn", "lstm", "gru") and layer.return_sequences:
        return (int(layer.in_shape[0]), int(layer.units))
    return (int(layer.n_out),)


def _reshape(cur: tuple[int, ...], need: tuple[int, ...] | None) -> list[_Module]:
    if need is None:
        return [_Module("nn.Flatten()")] if len(cur) > 1 else []
    if cur == need:
        return []
    mods = [_Module("nn.Flatten()")] if len(cur) > 1 else []
    return mods + [_Module(f"nn.Unflatten(1, {need!r})")]


def _block(layer, index: int) -> list[_Module]:
    """The torch module(s) of one engine block; ``index``: its position in nn.Sequential."""
    kind = layer.kind
    if kind == "dense":
        keys = (f"layers.{index}.weight", f"layers.{index}.bias")
        return [_Module(f"nn.Linear({layer.n_in}, {layer.n_out})", "dense", keys)]
    if kind == "conv2d":
        cin, h, w = layer.in_shape
        cout, ho, wo = layer.out_shape
        k, s, pad = int(layer.kernel), int(layer.stride), int(layer.pad)
        after_h = max(0, (ho - 1) * s + k - h - pad)  # torch's 'same' pads the extra one after
        after_w = max(0, (wo - 1) * s + k - w - pad)
        keys = (f"layers.{index}.weight",) + ((f"layers.{index}.bias",) if layer.bias else ())
        bias = "" if layer.bias else ", bias=False"
        if after_h == after_w == pad:
            return [
                _Module(f"nn.Conv2d({cin}, {cout}, {k}, stride={s}, padding={pad}{bias})", "conv2d", keys)
            ]
        keys = tuple(key.replace(f"layers.{index}.", f"layers.{index + 1}.") for key in keys)
        return [
            _Module(f"nn.ZeroPad2d(({pad}, {after_w}, {pad}, {after_h}))"),
            _Module(f"nn.Conv2d({cin}, {cout}, {k}, stride={s}{bias})", "conv2d", keys),
        ]
    if kind in ("maxpool2d", "avgpool2d"):
        cls = "MaxPool2d" if kind == "maxpool2d" else "AvgPool2d"
        return [_Module(f"nn.{cls}({int(layer.kernel)}, stride={int(layer.stride)})", kind)]
    if kind == "flatten":
        return [_Module("nn.Flatten()", "flatten")]
    if kind in ("rnn", "lstm", "gru"):
        T, feats = layer.in_shape
        args = f"{kind!r}, {feats}, {layer.units}"
        if layer.return_sequences:
            args += ", return_sequences=True"
        if layer.bptt:
            args += f", bptt={int(layer.bptt)}"
        if kind == "rnn":
            args += f", nonlinearity={'relu' if layer.cell_activation == C.RELU else 'tanh'!r}"
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [_Module(f"Recurrent({args})", kind, tuple(f"layers.{index}.cell.{n}_l0" for n in names))]
    raise ExportError(f"the layer kind {kind!r} has no PyTorch export yet")


def network_modules(layers, input_shape) -> tuple[list[_Module], list[tuple[int, tuple[str, ...]]], str]:
    """(modules of nn.Sequential, [(block index, its state_dict keys)] for blocks with
    arrays, the output activation's module) for the trainer's blocks."""
    mods: list[_Module] = []
    keyed: list[tuple[int, tuple[str, ...]]] = []
    cur = tuple(int(v) for v in input_shape)
    last = len(layers) - 1
    for l, layer in enumerate(layers):
        mods += _reshape(cur, _needs(layer)) if layer.kind != "flatten" else []
        block = _block(layer, len(mods))
        mods += block
        keys = tuple(k for m in block for k in m.keys)
        if keys:
            keyed.append((l, keys))
        cur = _gives(layer)
        if l == last:
            break
        act = _act_source(layer.activation, layer.slope)
        if act is not None:
            mods.append(_Module(act))
        if layer.dropout > 0:
            mods.append(_Module(f"StepDropout({float(layer.dropout)!r}, {l})"))
    if layers[last].kind != "dense":
        raise ExportError("the network must end with a dense output layer")
    out = _act_source(layers[last].activation, 0.0) or "nn.Identity()"
    return mods, keyed, out


def _weights(trainer, keyed) -> tuple[dict[str, np.ndarray], list[str], np.ndarray]:
    """The weights by state_dict key in torch's shapes, the names of the penalised weights
    (not biases), and ``order``: theta's index of each value of torch's flat parameter
    vector (what L-BFGS's state is laid out in)."""
    plan, theta = trainer.plan, trainer.theta
    out: dict[str, np.ndarray] = {}
    penalised: list[str] = []
    order = []
    for l, keys in keyed:
        arrays = plan.arrays[l]
        boff = int(plan.ints[l, 4])  # P_BOFF
        if len(keys) != len(arrays):
            raise ExportError(
                f"block {l} ({plan.layers[l].kind}) has {len(arrays)} arrays, expected {len(keys)}"
            )
        for key, (_, shape, off) in zip(keys, arrays, strict=True):
            size = int(np.prod(shape))
            idx = np.arange(off, off + size).reshape(shape)
            if plan.layers[l].kind == "dense" and len(shape) == 2:
                idx = idx.T  # our W is (fan_in, fan_out); torch's Linear.weight is (out, in)
            out[key] = np.ascontiguousarray(theta[idx])
            order.append(idx.ravel())
            if off < boff:
                penalised.append(key)
    order = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
    if sorted(order.tolist()) != list(range(trainer.layout.n_params)):
        raise ExportError("the exported arrays do not cover the network's parameters exactly once")
    return out, penalised, order


def _optimizer_state(trainer, order: np.ndarray, keys_idx) -> dict:
    """torch.optim's state of each parameter from the trainer's (empty before the first step)."""
    tr = trainer.spec.training
    name, r = tr.optimizer.name, tr.optimizer.resolved()
    out: dict[str, np.ndarray] = {}
    if trainer.opt_t == 0:
        return out
    if name == "lbfgs":
        s = trainer.lbfgs.to_arrays()
        for k, v in s.items():
            if k in ("old_dirs", "old_stps"):
                v = v[:, order] if v.shape[0] else np.zeros((0, len(order)))
            elif k in ("d", "prev_flat_grad") and v.size:
                v = v[order]
            out[f"optimizer/lbfgs/{k}"] = v
        return out
    slots = {
        "sgd": [(0, "momentum_buffer")] if r.get("momentum", 0.0) != 0.0 else [],
        "adagrad": [(0, "sum")],
        "rmsprop": [(0, "square_avg")]
        + ([(1, "grad_avg")] if r.get("centered") else [])
        + ([(2, "momentum_buffer")] if r.get("momentum", 0.0) > 0 else []),
        "adam": [(0, "exp_avg"), (1, "exp_avg_sq")] + ([(2, "max_exp_avg_sq")] if r.get("amsgrad") else []),
    }
    slots["momentum"] = slots["nesterov"] = slots["sgd"]
    slots["adamw"] = slots["adam"]
    for key, idx in keys_idx:
        for row, slot in slots[name]:
            out[f"optimizer/{slot}/{key}"] = np.ascontiguousarray(trainer.opt_state[row][idx])
        if name not in ("sgd", "momentum", "nesterov"):
            out[f"optimizer/step/{key}"] = np.array(float(trainer.opt_t))
    return out


def _optimizer_source(trainer) -> str:
    tr = trainer.spec.training
    name, r = tr.optimizer.name, dict(tr.optimizer.resolved())
    if name not in OPTIMIZER_CLASS:
        raise ExportError(f"the optimizer {name!r} has no PyTorch export yet")
    if "betas" in r:
        r["betas"] = tuple(float(b) for b in r["betas"])
    if name == "lbfgs":
        r["line_search_fn"] = "strong_wolfe"
    args = ", ".join(f"{k}={v!r}" for k, v in r.items())
    return f"torch.optim.{OPTIMIZER_CLASS[name]}(module.parameters(), {args})"


# --------------------------------------------------------------------------- the data


def _text_columns(ds, spec) -> tuple[list[str], list, list[np.ndarray], list[np.ndarray]] | None:
    """CSV data with text inputs: (column names, encoding, train columns, test columns) as in
    the file, from the embedded table (the split redone exactly as ``tabular.py`` does)."""
    table, info = ds.table, ds.info
    if table is None or not all(k in info for k in ("features", "target")):
        return None
    features = list(info["features"])
    cols = [table.column(f) for f in features]
    if all(c.kind == "numeric" for c in cols):
        return None
    miss = table.column(info["target"]).missing.copy()
    for c in cols:
        miss |= c.missing
    keep = ~miss
    seed = spec.data.seed if spec.data.seed is not None else spec.seed
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, 0x7AB1]))
    tr, te = split_indices(int(keep.sum()), float(spec.data.train_fraction), rng)
    encoding, train, test = [], [], []
    for c in cols:
        vals = c.values[keep]
        if c.kind == "numeric":
            encoding.append((c.name, None))
            vals = vals.astype(np.float64)
        else:
            encoding.append((c.name, sorted(set(vals.tolist()))))
            vals = vals.astype(str)
        train.append(vals[tr])
        test.append(vals[te])
    return features, encoding, train, test


def _data(experiment) -> tuple[dict, dict[str, np.ndarray]]:
    """(constants for the script's data half, the data archive's arrays)."""
    ds, spec = experiment.dataset, experiment.spec
    pipe = ds.pipeline
    k = int(np.prod(ds.input_shape)) if ds.is_image else None
    const = {
        "IMAGES": ds.is_image,
        "TRANSFORMS": list(pipe.transforms),
        "PIXEL_SCALE": float(ds.info.get("pixel_scale", 1.0)) if ds.is_image else 1.0,
        "CSV_DELIMITER": None,
        "CSV_HEADER": True,
        "CSV_SKIP_LINES": 0,
        "DATA_SOURCE": ds.info.get("path") or ds.info.get("source"),
    }
    if ds.table is not None:
        const["CSV_DELIMITER"] = ds.table.delimiter
        const["CSV_HEADER"] = bool(ds.table.has_header)
        const["CSV_SKIP_LINES"] = int(ds.table.info.get("skipped_lines", 0) or 0)
    arrays: dict[str, np.ndarray] = {"train/y": np.asarray(ds.y_train), "test/y": np.asarray(ds.y_test)}
    if ds.is_image:
        s = const["PIXEL_SCALE"]
        arrays["train/X"] = ds.X_train * s if s != 1.0 else ds.X_train
        arrays["test/X"] = ds.X_test * s if s != 1.0 else ds.X_test
        names, encoding = [], []
    else:
        text = _text_columns(ds, spec)
        if text is not None:
            names, encoding, train, test = text
        else:
            names = list(ds.input_names)
            encoding = [(n, None) for n in names]
            train = [ds.raw_train[:, j] for j in range(ds.raw_train.shape[1])]
            test = [ds.raw_test[:, j] for j in range(ds.raw_test.shape[1])]
        for j, (a, b) in enumerate(zip(train, test, strict=True)):
            arrays[f"train/{j}"], arrays[f"test/{j}"] = np.asarray(a), np.asarray(b)
        for t in pipe.transforms:
            if t not in TRANSFORM_SOURCE:
                raise ExportError(f"the input feature {t!r} has no PyTorch export yet")
        k = len(pipe.transforms) if pipe.transforms else sum(1 if c is None else len(c) for _, c in encoding)
    const["RAW_COLUMNS"], const["ENCODING"] = names, encoding
    const["OFFSET"] = np.zeros(k) if pipe.offset is None else np.asarray(pipe.offset, dtype=np.float64)
    const["SCALE"] = np.ones(k) if pipe.scale is None else np.asarray(pipe.scale, dtype=np.float64)
    return const, arrays


# --------------------------------------------------------------------------- the script


def _array_source(v: np.ndarray) -> str:
    v = np.asarray(v, dtype=np.float64).ravel()
    if v.size and not v.any():
        return f"np.zeros({v.size})"
    if v.size and (v == 1.0).all():
        return f"np.ones({v.size})"
    return "np.array([" + ", ".join(repr(float(x)) for x in v) + "])"


def _constants(experiment, trainer, data_const: dict, penalised, stem: str) -> str:
    spec, ds = experiment.spec, experiment.dataset
    tr = spec.training
    sch = tr.schedule
    last = trainer.plan.layers[-1]
    from playground.engine.losses import decision_threshold

    values = {
        "DTYPE_NAME": str(trainer.dtype),
        "INPUT_SHAPE": tuple(int(v) for v in trainer.input_shape),
        "IMAGES": data_const["IMAGES"],
        "RAW_COLUMNS": data_const["RAW_COLUMNS"],
        "ENCODING": data_const["ENCODING"],
        "TRANSFORMS": data_const["TRANSFORMS"],
        "PIXEL_SCALE": data_const["PIXEL_SCALE"],
        "TASK": ds.task,
        "CLASS_NAMES": list(ds.class_names) if ds.class_names else None,
        "LOSS": tr.loss,
        "OUTPUT": BY_CODE[int(last.activation)].name,
        "N_OUT": int(last.n_out),
        "THRESHOLD": float(decision_threshold(tr.loss, spec.network.output_activation)),
        "HUBER_DELTA": float(tr.huber_delta),
        "OPTIMIZER": tr.optimizer.name,
        "LR": float(tr.optimizer.lr),
        "SCHEDULE": {
            "kind": sch.kind,
            "unit": sch.unit,
            "step_size": int(sch.step_size),
            "gamma": float(sch.gamma),
            "t_max": int(sch.t_max),
            "eta_min": float(sch.eta_min),
            "warmup": int(sch.warmup),
        },  # fmt: skip
        "BATCH_SIZE": int(tr.batch_size),
        "STEPS_PER_EPOCH": int(trainer.steps_per_epoch),
        "CHUNK": int(max(trainer.batch_size, EVAL_CHUNK)),
        "CLIP_NORM": float(tr.clip_norm) if tr.clip_norm else None,
        "REGULARIZATION": tr.regularization.kind,
        "RATE": float(tr.regularization.rate),
        "PENALISED": list(penalised),
        "SHUFFLE_KEY": int(derive_key(spec.seed, SHUFFLE_TAG)),
        "DROPOUT_KEY": int(derive_key(spec.seed, DROPOUT_TAG)),
        "STEP": int(trainer.step),
        "DEFAULT_STEPS": 1000,
        "DATA_SOURCE": None if data_const["DATA_SOURCE"] is None else str(data_const["DATA_SOURCE"]),
        "CSV_DELIMITER": data_const["CSV_DELIMITER"],
        "CSV_HEADER": data_const["CSV_HEADER"],
        "CSV_SKIP_LINES": data_const["CSV_SKIP_LINES"],
    }
    lines = [
        f'WEIGHTS_FILE = os.path.join(HERE, "{stem}.npz")',
        f'DATA_FILE = os.path.join(HERE, "{stem}_data.npz")',
    ]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    lines.append(f"OFFSET = {_array_source(data_const['OFFSET'])}")
    lines.append(f"SCALE = {_array_source(data_const['SCALE'])}")
    used = [t for t in TRANSFORM_SOURCE if t in data_const["TRANSFORMS"]]
    lines.append("FEATURES = {" + ", ".join(f"{t!r}: {TRANSFORM_SOURCE[t]}" for t in used) + "}")
    return "\n".join(lines) + "\n"


def _doc_text(text: str) -> str:
    """Text safe inside the script's docstring (a name may hold quotes or backslashes)."""
    return " ".join(str(text).split()).replace("\\", "/").replace('"', "'")


def _describe(experiment, trainer, stem: str) -> str:
    from playground import __version__

    spec, ds = experiment.spec, experiment.dataset
    name = _doc_text(spec.name or "experiment")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'"""{name}: a network exported from Neural Playground {__version__} ({when}),\n'
        f"trained {trainer.step} steps.\n\n"
        f"Data: {_doc_text(ds.summary())}.\n"
        "Needs only torch and numpy. Import it, or run it to continue training:\n\n"
        f"    from {stem} import model, prepare, load_data\n"
        "    X_train, y_train, X_test, y_test = load_data()\n"
        "    outputs = model(prepare(X_test))   # the app's predictions\n\n"
        f"    python {stem}.py --steps 1000 --every 100\n\n"
        "prepare(X) takes the raw input columns as in the data file (RAW_COLUMNS; a mapping of\n"
        "column names to values, or rows of those columns; images as (n, channels, height, width)).\n"
        '"""\n'
    )


def _network_source(mods: list[_Module], out: str) -> str:
    body = "\n".join(f"            {m.source},{'  # ' + m.comment if m.comment else ''}" for m in mods)
    return (
        "\n\nclass Network(nn.Module):\n"
        '    """The app\'s network: ``logits`` gives the output layer\'s pre-activations (what\n'
        '    the fused losses take), ``forward`` the outputs after the output activation."""\n\n'
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.layers = nn.Sequential(\n"
        f"{body}\n"
        "        )\n"
        f"        self.output = {out}\n\n"
        "    def logits(self, x):\n"
        "        return self.layers(x)\n\n"
        "    def forward(self, x):\n"
        "        return self.output(self.layers(x))\n"
    )


def build_export(experiment, stem: str = "model") -> TorchExport:
    """Everything ``export_pytorch`` writes, in memory (nothing touches the disk)."""
    trainer = experiment.trainer
    for layer in trainer.plan.layers:
        if layer.kind not in BLOCK_KINDS:
            raise ExportError(f"the layer kind {layer.kind!r} has no PyTorch export yet")
    loss = trainer.spec.training.loss
    if loss not in LOSS_SOURCE:
        raise ExportError(f"the loss {loss!r} has no PyTorch export yet")
    mods, keyed, out = network_modules(trainer.plan.layers, trainer.input_shape)
    weights, penalised, order = _weights(trainer, keyed)
    keys_idx = []
    for l, keys in keyed:
        for key, (_, shape, off) in zip(keys, trainer.plan.arrays[l], strict=True):
            idx = np.arange(off, off + int(np.prod(shape))).reshape(shape)
            keys_idx.append(
                (key, idx.T if trainer.plan.layers[l].kind == "dense" and len(shape) == 2 else idx)
            )
    weights.update(_optimizer_state(trainer, order, keys_idx))
    weights["counters"] = np.array([trainer.step, trainer.opt_t], dtype=np.int64)
    data_const, data = _data(experiment)
    script = (
        _describe(experiment, trainer, stem)
        + f"{NUMPY_BEGIN}  everything down to the closing marker needs numpy only\n"
        + "from __future__ import annotations\n\nimport math\nimport os\n\nimport numpy as np\n\n"
        + "HERE = os.path.dirname(os.path.abspath(__file__))\n"
        + _constants(experiment, trainer, data_const, penalised, stem)
        + NUMPY_PART
        + f"{NUMPY_END}\n"
        + TORCH_PART
        + _network_source(mods, out)
        + "\n\ndef data_loss(z, a, Y):\n"
        + f'    """The app\'s loss ({loss}, mean over the batch)."""\n'
        + f"    return {LOSS_SOURCE[loss]}\n"
        + "\n\ndef make_optimizer(module):\n"
        + f"    return {_optimizer_source(trainer)}\n"
        + RUN_PART
    )
    export = TorchExport(script, weights, data, f"{stem}.npz", f"{stem}_data.npz")
    check_numpy_half(export, experiment)
    return export


def numpy_namespace(script: str, file: str = "model.py") -> dict:
    """Run the script's numpy half (down to the ``# </numpy>`` marker) and return its names."""
    end = script.index("\n" + NUMPY_END) + 1
    ns: dict = {"__file__": str(file), "__name__": "exported_model_numpy"}
    exec(compile(script[:end], str(file), "exec"), ns)  # noqa: S102 - our own generated code
    return ns


def check_numpy_half(export: TorchExport, experiment) -> None:
    """The script's prepare() and encode_targets() on the exported data must give the app's
    network inputs and targets; ExportError if not (a bug, never the user's doing)."""
    ns = numpy_namespace(export.script)
    ds = experiment.dataset
    for part, X, Y in (("train", ds.X_train, experiment.Y_train), ("test", ds.X_test, experiment.Y_test)):
        if ns["IMAGES"]:
            raw = export.data[f"{part}/X"]
        else:
            cols = [export.data[f"{part}/{j}"] for j in range(len(ns["RAW_COLUMNS"]))]
            raw = dict(zip(ns["RAW_COLUMNS"], cols, strict=True))
        got = ns["prepare_array"](raw) if len(X) else np.zeros_like(X)
        want = np.asarray(X, dtype=np.float64).reshape(got.shape)
        tol = 1e-12 * max(1.0, float(np.abs(want).max(initial=0.0)))
        if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=tol):
            raise ExportError(
                f"the exported prepare() does not reproduce the {part} inputs (please report this)"
            )
        if not np.array_equal(ns["encode_targets"](export.data[f"{part}/y"]), Y):
            raise ExportError(
                f"the exported targets differ from the app's on the {part} split (please report this)"
            )


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def export_pytorch(experiment, path: str | Path) -> list[Path]:
    """Write ``path`` (the script), ``<stem>.npz`` (weights, optimizer state) and
    ``<stem>_data.npz`` (the data) beside it; returns the three paths. Each file is written
    to a temporary file and renamed, the script last, so no file is ever half-written."""
    from playground.session import atomic_write

    path = Path(path)
    if path.suffix.lower() != ".py":
        raise ExportError(f"{path.name}: a PyTorch script must end in .py")
    stem = path.stem
    if not stem.isidentifier():
        raise ExportError(f"{path.name}: the name must be a Python module name (letters, digits, _)")
    export = build_export(experiment, stem)
    weights_path, data_path = path.with_name(export.weights_name), path.with_name(export.data_name)
    data_bytes, weight_bytes = _npz_bytes(export.data), _npz_bytes(export.weights)
    atomic_write(data_path, lambda f: f.write(data_bytes))
    atomic_write(weights_path, lambda f: f.write(weight_bytes))
    text = export.script.encode("utf-8")
    atomic_write(path, lambda f: f.write(text))
    return [path, weights_path, data_path]
