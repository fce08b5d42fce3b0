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
import keyword
import pprint
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from playground.engine.activations import BY_CODE
from playground.engine.losses import decision_threshold
from playground.engine.rng import DROPOUT_TAG, SHUFFLE_TAG, derive_key
from playground.engine.trainer import EVAL_CHUNK
from playground.export.data import data_parts
from playground.export.network import (
    BLOCK_KINDS,
    LOSS_SOURCE,
    ExportError,
    Module,
    network_modules,
    optimizer_source,
    optimizer_state,
    torch_arrays,
)
from playground.export.script_parts import NUMPY_PART, RUN_PART, TORCH_PART, TRANSFORM_SOURCE

NUMPY_BEGIN, NUMPY_END = "# <numpy>", "# </numpy>"


@dataclass
class TorchExport:
    """What ``export_pytorch`` writes, in memory: the script's text and the two archives."""

    script: str
    weights: dict[str, np.ndarray]
    data: dict[str, np.ndarray]
    weights_name: str
    data_name: str


# --------------------------------------------------------------------------- the script


def _array_source(v: np.ndarray) -> str:
    v = np.asarray(v, dtype=np.float64).ravel()
    if v.size and not v.any():
        return f"np.zeros({v.size})"
    if v.size and (v == 1.0).all():
        return f"np.ones({v.size})"
    return "np.array(" + pprint.pformat([float(x) for x in v], width=100, compact=True) + ")"


def _constants(experiment, trainer, data_const: dict, penalised, stem: str) -> str:
    spec, ds = experiment.spec, experiment.dataset
    tr = spec.training
    sch = tr.schedule
    last = trainer.plan.layers[-1]
    values = {
        "DTYPE_NAME": str(trainer.dtype),
        "INPUT_SHAPE": tuple(int(v) for v in trainer.input_shape),
        "ARRAYS": data_const["ARRAYS"],
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
    lines += [
        f"{k} = {pprint.pformat(v, width=100, compact=True, sort_dicts=False)}" for k, v in values.items()
    ]
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


def _network_source(mods: list[Module], out: str) -> str:
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
    weights, penalised, where, order = torch_arrays(trainer, keyed)
    weights.update(optimizer_state(trainer, where, order))
    weights["counters"] = np.array([trainer.step, trainer.opt_t], dtype=np.int64)
    data_const, data = data_parts(experiment)
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
        + f"    return {optimizer_source(trainer)}\n"
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
        if ns["ARRAYS"]:
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


def script_stem(path: str | Path) -> str:
    """The module name of a script path (``model`` for ``model.py``); ExportError if the path
    cannot be an importable script in an existing folder."""
    path = Path(path)
    if path.suffix.lower() != ".py":
        raise ExportError(f"{path.name}: a PyTorch script must end in .py")
    stem = path.stem
    if not stem.isidentifier() or keyword.iskeyword(stem):
        raise ExportError(f"{path.name}: the name must be a Python module name (letters, digits and _)")
    if stem in ("torch", "numpy", "np", "math", "os"):
        raise ExportError(
            f"{path.name}: the script would import itself instead of {stem}; choose another name"
        )
    if not path.parent.is_dir():
        raise ExportError(f"{path.parent}: no such folder")
    return stem


def write_export(export: TorchExport, path: str | Path) -> list[Path]:
    """Write a built export: the data and the weights beside ``path``, then the script. Each
    file goes to a temporary file that is renamed, so none is ever half-written."""
    from playground.session import atomic_write

    path = Path(path)
    weights_path, data_path = path.with_name(export.weights_name), path.with_name(export.data_name)
    data_bytes, weight_bytes = _npz_bytes(export.data), _npz_bytes(export.weights)
    text = export.script.encode("utf-8")
    atomic_write(data_path, lambda f: f.write(data_bytes))
    atomic_write(weights_path, lambda f: f.write(weight_bytes))
    atomic_write(path, lambda f: f.write(text))
    return [path, weights_path, data_path]


def export_pytorch(experiment, path: str | Path) -> list[Path]:
    """Write ``path`` (the script), ``<stem>.npz`` (weights, optimizer state) and
    ``<stem>_data.npz`` (the data) beside it; returns the three paths."""
    return write_export(build_export(experiment, script_stem(path)), path)
