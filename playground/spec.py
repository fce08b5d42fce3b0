"""The experiment spec: one frozen dataclass tree, stored as JSON.

The GUI edits it (``dataclasses.replace``), the CLI reads it, sessions store it.
``ExperimentSpec.from_dict`` validates everything and names the field path of any
problem (``training.optimizer.lr: must be > 0``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from playground.errors import DataError, SpecError
from playground.shapes import ShapeError, check_order, layer_shapes

SCHEMA_VERSION = 1

# The share of rows used for training when a spec does not say (the CLI, the app's data
# panel and the CSV import dialog all start from this one value).
DEFAULT_TRAIN_FRACTION = 0.5

INT64_MAX = 2**63 - 1
MAX_STEPS = 10**12  # step counts (record_every, schedule lengths): far beyond any run, far below int64
MAX_BATCH = 10**9
MAX_LAYERS = 1000
MAX_JSON_DEPTH = 64  # a spec is at most ~5 levels deep; deeper JSON is refused before parsing
MAX_SPEC_FILE_BYTES = 16 << 20
MAX_NAME_CHARS = 4096  # paths and names longer than any file system accepts are refused here

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "sine")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear", "tanh")
LOSSES = ("mse", "mae", "huber", "bce", "cce", "hinge", "kl_div")
OPTIMIZERS = (
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs",
    "newton", "levenberg_marquardt", "bfgs", "simulated_annealing", "genetic", "cmaes",
)  # fmt: skip
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "uniform",
    "zeros",
    "torch_default",
)
SCHEDULES = ("constant", "step", "exponential", "cosine")
REGULARIZATIONS = ("none", "l1", "l2")
TOY_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")

# Output activations each loss accepts (the fused, numerically stable pairs first).
LOSS_OUTPUTS = {
    "bce": ("sigmoid",),
    "cce": ("softmax",),
    "kl_div": ("softmax",),
    "mse": ("sigmoid", "tanh", "linear"),
    "mae": ("sigmoid", "tanh", "linear"),
    "huber": ("sigmoid", "tanh", "linear"),
    "hinge": ("linear", "tanh"),
}
CLASSIFICATION_ONLY_LOSSES = ("bce", "cce", "kl_div", "hinge")

# torch.optim names and defaults; "momentum" and "nesterov" are SGD presets.
OPTIMIZER_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "momentum": {"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
    "nesterov": {"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0},
    "adagrad": {
        "lr": 0.01,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    },
    "rmsprop": {
        "lr": 0.01,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
    },
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
    "adamw": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False},
    "lbfgs": {
        "lr": 1.0,
        "max_iter": 1,
        "max_eval": 25,
        "history_size": 100,
        "tolerance_grad": 1e-7,
        "tolerance_change": 1e-9,
    },
    # methods beyond first-order gradient descent (engine/methods, docs/METHODS.md); lr unused
    "newton": {
        "damping": 1e-3,
        "damping_dec": 0.1,
        "damping_inc": 10.0,
        "damping_max": 1e10,
        "max_trials": 20,
    },
    "levenberg_marquardt": {"mu": 1e-3, "mu_dec": 0.1, "mu_inc": 10.0, "mu_max": 1e10},  # MATLAB trainlm's
    "bfgs": {"gtol": 1e-5, "c1": 1e-4, "c2": 0.9},  # scipy.optimize.minimize(method="BFGS")'s
    "simulated_annealing": {"step_size": 0.05, "temperature": 0.01, "cooling": 0.999, "proposals": 10},
    "genetic": {
        "population": 50,
        "elite": 2,
        "tournament": 3,
        "crossover": 0.9,
        "mutation_rate": 0.1,
        "mutation_sigma": 0.1,
        "init_sigma": 0.1,
    },
    "cmaes": {"sigma": 0.1, "population": 0},  # population 0: Hansen's 4 + floor(3 ln P)
}
# settings of the methods that must lie in (0, 1) / (0, 1] / above 1 (the others are >= 0)
_OPEN_UNIT = ("damping_dec", "mu_dec", "c1", "c2")
_HALF_OPEN_UNIT = ("cooling", "crossover", "mutation_rate")
_ABOVE_ONE = ("damping_inc", "mu_inc")


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class DataSpec:
    kind: str = "toy"
    name: str = "spiral"
    n_samples: int = 500
    noise: float = 0.0
    train_fraction: float = DEFAULT_TRAIN_FRACTION
    n_classes: int = 3
    features: tuple[str, ...] = ()
    seed: int | None = None
    path: str | None = None
    target: str | None = None
    task: str | None = None
    normalize: str | None = None
    missing: str = "drop"
    delimiter: str | None = None
    header: bool | None = None
    skip_rows: int | None = None  # lines before the header; None skips a count row / title line
    # image data (written by to_dict only when set, so the specs of before read the same):
    size: tuple[int, ...] = ()  # [height, width]: an image folder's resize, a toy image's size
    color: str | None = None  # image folder: "gray" | "rgb"; None: rgb if any image has colour
    image_shape: tuple[int, ...] = ()  # CSV of pixel columns: [channels, height, width]
    # sequence data (kind "sequence": the toy generators and text; a CSV time series: window)
    length: int | None = None  # steps per sequence (None: the generator's default)
    lag: int | None = None  # the copy (memory) task: steps between the symbol and its recall
    window: int | None = None  # CSV time series: steps of history per sample
    horizon: int = 1  # CSV time series: how many steps ahead the target is
    columns: tuple[str, ...] = ()  # CSV time series: the input series (empty: the target's)
    # kind "points": data painted on the plane, one (x1, x2, label or value) per point
    points: tuple[tuple[float, ...], ...] = ()


# DataSpec fields that to_dict writes only when they differ from their defaults.
DATA_OPTIONAL_FIELDS = (
    "size", "color", "image_shape", "length", "lag", "window", "horizon", "columns", "points",
)  # fmt: skip
MAX_PAINTED_POINTS = 100_000
SEQUENCE_FIELDS = ("length", "lag")  # kind "sequence" only
TIMESERIES_FIELDS = ("window", "horizon", "columns")  # a CSV time series only

# The fields of each layer kind, in the order to_dict writes them (dense: as always).
LAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "dense": ("units", "activation", "dropout", "kind", "negative_slope"),
    "conv2d": (
        "kind",
        "filters",
        "kernel_size",
        "stride",
        "padding",
        "activation",
        "bias",
        "dropout",
        "negative_slope",
    ),
    "maxpool2d": ("kind", "size", "stride"),
    "avgpool2d": ("kind", "size", "stride"),
    "flatten": ("kind",),
    "rnn": ("kind", "units", "activation", "return_sequences", "bptt"),
    "lstm": ("kind", "units", "return_sequences", "bptt", "forget_bias"),
    "gru": ("kind", "units", "return_sequences", "bptt"),
}
RECURRENT_KINDS = ("rnn", "lstm", "gru")
RNN_ACTIVATIONS = ("tanh", "relu")  # torch.nn.RNN's nonlinearity
MAX_RECURRENT_UNITS = 4096
LAYER_KINDS = tuple(LAYER_FIELDS)
PADDINGS = ("valid", "same")
MAX_FILTERS = 100_000
MAX_WINDOW = 1024  # kernel_size, pooling size and stride


@dataclass(frozen=True)
class LayerSpec:
    """One entry of ``network.hidden``; ``kind`` says which fields apply (``LAYER_FIELDS``).

    - ``dense`` (the default, so every older spec keeps its meaning): ``units``,
      ``activation``, ``dropout``, ``negative_slope``.
    - ``conv2d`` (``torch.nn.Conv2d``): ``filters`` (out_channels), ``kernel_size``
      (square), ``stride`` (None: 1), ``padding`` ``"valid"`` (none) or ``"same"`` (stride 1
      only, as in PyTorch), ``bias``, then ``activation``, ``dropout`` (element-wise, after
      the activation) and ``negative_slope`` as for dense layers.
    - ``maxpool2d`` / ``avgpool2d``: ``size`` (square window), ``stride`` (None: ``size``);
      no padding, floor mode.
    - ``flatten``: no fields.
    - ``rnn`` / ``lstm`` / ``gru`` (``torch.nn.RNN`` / ``LSTM`` / ``GRU``, batch_first, one
      layer each; stack entries for more): ``units`` (hidden_size), ``activation`` (rnn
      only: ``"tanh"`` or ``"relu"``), ``return_sequences`` (False: the last step's hidden
      state, ``(units,)``; True: every step's, ``(length, units)``, for a recurrent layer
      above or a dense one, which sees the steps flattened), ``bptt`` (None: full
      backpropagation through time; k: truncated, cut every k steps from the end);
      ``forget_bias`` (lstm: the forget gate's bias starts at this value, in ``bias_ih``,
      after the initialiser: torch's default is 0; 1, as Keras' ``unit_forget_bias``, lets
      an LSTM remember from the first step, Jozefowicz et al. 2015).

    When the last hidden layer gives images (conv or pooling), the output layer flattens
    them first, as if a ``flatten`` layer ended the stack; so does a dense hidden layer that
    follows one (``playground.shapes`` lists these implicit flattens). ``to_dict`` writes
    only the fields of the layer's kind (``stride`` only when set).
    """

    units: int = 8
    activation: str = "tanh"
    dropout: float = 0.0
    kind: str = "dense"
    negative_slope: float = 0.01
    filters: int = 8
    kernel_size: int = 3
    stride: int | None = None  # conv2d: None = 1; pooling: None = size
    padding: str = "valid"
    bias: bool = True
    size: int = 2
    return_sequences: bool = False
    bptt: int | None = None  # rnn/lstm/gru: None = full BPTT; k = truncated to k steps
    forget_bias: float = 0.0  # lstm: the forget gate's initial bias (torch: 0; Keras' unit_forget_bias: 1)

    def to_dict(self) -> dict:
        names = LAYER_FIELDS.get(self.kind, tuple(f.name for f in fields(self)))
        unset = {"stride": self.stride is None, "bptt": self.bptt is None}
        unset["forget_bias"] = not self.forget_bias
        return {n: getattr(self, n) for n in names if not unset.get(n, False)}


@dataclass(frozen=True)
class NetworkSpec:
    hidden: tuple[LayerSpec, ...] = (LayerSpec(), LayerSpec())
    output_activation: str = "sigmoid"
    init: str = "glorot_uniform"
    bias_init: float | str = 0.0


@dataclass(frozen=True)
class OptimizerSpec:
    name: str = "adam"
    lr: float = 0.01
    params: dict = field(default_factory=dict)  # further torch.optim hyper-parameters

    def resolved(self) -> dict[str, Any]:
        """All hyper-parameters: torch defaults overridden by ours."""
        merged = dict(OPTIMIZER_DEFAULTS[self.name])
        merged.update(self.params)
        merged["lr"] = self.lr
        if "betas" in merged:
            merged["betas"] = tuple(float(b) for b in merged["betas"])
        return merged


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str = "constant"
    unit: str = "epoch"
    step_size: int = 30
    gamma: float = 0.1
    t_max: int = 100
    eta_min: float = 0.0
    warmup: int = 0


@dataclass(frozen=True)
class RegularizationSpec:
    kind: str = "none"
    rate: float = 0.0


@dataclass(frozen=True)
class TrainingSpec:
    loss: str = "bce"
    optimizer: OptimizerSpec = OptimizerSpec()
    batch_size: int = 10
    regularization: RegularizationSpec = RegularizationSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    clip_norm: float | None = None
    huber_delta: float = 1.0
    dtype: str = "float64"
    record_every: int | None = None  # steps between history rows; None = whole epochs, >= 100 steps


@dataclass(frozen=True)
class ExperimentSpec:
    schema_version: int = SCHEMA_VERSION
    seed: int = 42
    name: str = ""
    data: DataSpec = DataSpec()
    network: NetworkSpec = NetworkSpec()
    training: TrainingSpec = TrainingSpec()

    # -- conversion -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> ExperimentSpec:
        if not isinstance(d, dict):
            raise SpecError("", "the spec must be a JSON object")
        version = d.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SpecError("schema_version", "must be a positive integer")
        if version > SCHEMA_VERSION:
            shown = version if version < 10**6 else "a version number"
            raise SpecError(
                "schema_version",
                f"{shown} is newer than this version of Neural Playground understands ({SCHEMA_VERSION});"
                " please update the app",
            )
        d = migrate(d)
        spec = _build(cls, d, "")
        validate(spec)
        return spec

    @classmethod
    def from_json(cls, text: str, base_dir: str | Path | None = None) -> ExperimentSpec:
        """Parse and validate; a relative CSV path is looked up in ``base_dir`` first
        (the spec file's folder), then the working directory, then the shipped data sets."""
        d = parse_json(text)
        spec = cls.from_dict(d)
        return spec.beside(base_dir) if base_dir is not None else spec

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentSpec:
        p = Path(path)
        try:
            if not p.is_file():  # a folder, /dev/zero or a pipe: never read
                raise SpecError("", f"{short_path(p)} is not a spec file (not a regular file)")
            if p.stat().st_size > MAX_SPEC_FILE_BYTES:
                raise SpecError("", f"{short_path(p)} is too large for a spec file")
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SpecError("", f"cannot read spec file {short_path(p)}: {_reason(e)}") from None
        try:
            return cls.from_json(text, base_dir=p.parent)
        except SpecError as e:
            raise SpecError(e.path, f"{e.message} (in {short_path(p)})") from None

    def beside(self, folder: str | Path) -> ExperimentSpec:
        """This spec with a relative CSV (or image folder) ``data.path`` made absolute when
        the file (folder) exists in ``folder`` (where the spec file lives); otherwise unchanged."""
        d = self.data
        if d.kind not in ("csv", "image") or not d.path:
            return self
        try:
            p = Path(d.path).expanduser()
            if p.is_absolute():
                return self
            candidate = Path(folder) / p
            if not (candidate.is_file() if d.kind == "csv" else candidate.is_dir()):
                return self
            return replace(self, data=replace(d, path=str(candidate.resolve())))
        except (OSError, ValueError, RuntimeError):  # a name too long, a symlink loop: left as given
            return self

    def to_dict(self) -> dict:
        return _to_plain(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def with_changes(self, path: str, value: Any) -> ExperimentSpec:
        """A copy with the dotted field ``path`` set to ``value`` (validated)."""
        d = self.to_dict()
        set_path(d, path, value)
        return ExperimentSpec.from_dict(d)


# --------------------------------------------------------------------------- migrations

# version -> function turning a dict of that version into one of version + 1.
MIGRATIONS: dict[int, typing.Callable[[dict], dict]] = {}


def migrate(d: dict) -> dict:
    version = d.get("schema_version", SCHEMA_VERSION)
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise SpecError("schema_version", f"no migration from version {version}")
        d = MIGRATIONS[version](dict(d))
        version = d["schema_version"]
    return d


# --------------------------------------------------------------------------- parsing helpers


def short_path(p: str | Path, limit: int = 120) -> str:
    """A path for a one-line message: long ones keep their start and end."""
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(p))
    return s if len(s) <= limit else f"{s[: limit // 2]}...{s[-limit // 2 :]} ({len(s):,} characters)"


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or str(e)
    return str(e)


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if brackets outside strings nest deeper than ``limit`` (one linear pass before
    ``json.loads``, which would hit Python's recursion limit on deep input)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if m.group() in "[{" else -1
        if depth > limit:
            return True
    return False


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed (use a finite number)")


def parse_json(text: str) -> Any:
    """``json.loads`` that raises SpecError for anything it cannot read: bad syntax, NaN or
    Infinity, integers with thousands of digits, nesting deeper than a spec can be."""
    if not isinstance(text, str):
        raise SpecError("", f"the spec must be JSON text, not {type(text).__name__}")
    if json_depth_exceeds(text):
        raise SpecError("", f"not a spec: JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise SpecError("", f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except (ValueError, RecursionError, OverflowError) as e:  # NaN, a 5000-digit integer, ...
        raise SpecError("", f"not valid JSON ({e})") from None


# --------------------------------------------------------------------------- generic building


def _type_name(tp) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _build(cls, value: Any, path: str):
    if not isinstance(value, dict):
        raise SpecError(path, f"must be an object, not {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in value:
        if key not in known:
            raise SpecError(_join(path, key), f"unknown key; expected one of: {', '.join(sorted(known))}")
    if cls is LayerSpec:
        _check_layer_keys(value, path)
    kwargs = {}
    for f in fields(cls):
        if f.name in value:
            kwargs[f.name] = _coerce(hints[f.name], value[f.name], _join(path, f.name))
    return cls(**kwargs)


def _check_layer_keys(value: dict, path: str) -> None:
    """A layer's keys must belong to its kind (a ``units`` on a pooling layer is a mistake
    that would otherwise pass silently)."""
    kind = value.get("kind", "dense")
    if not isinstance(kind, str):
        raise SpecError(_join(path, "kind"), "must be a string")
    _choice(_join(path, "kind"), kind, LAYER_KINDS)
    allowed = LAYER_FIELDS[kind]
    for key in value:
        if key not in allowed:
            raise SpecError(
                _join(path, key), f"does not apply to {kind} layers; their fields are: {', '.join(allowed)}"
            )


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _join(path: str, key: str) -> str:
    """``path.key``, or ``path['odd key']`` for a key a message could not show plainly."""
    if _PLAIN_KEY.fullmatch(str(key)):
        return f"{path}.{key}" if path else str(key)
    shown = repr(str(key)) if len(str(key)) <= 40 else repr(str(key)[:40]) + "..."
    return f"{path}[{shown}]"


def _coerce(tp, value: Any, path: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for arg in options:
            try:
                return _coerce(arg, value, path)
            except SpecError as e:
                errors.append(e.message)
        if len(options) == 1:  # int | None: the int's own reason ("is far too large"), or null
            nullable = " or null" if type(None) in args and errors[0].startswith("must be") else ""
            raise SpecError(path, errors[0] + nullable)
        allowed = " or ".join(_type_name(a) for a in options)
        raise SpecError(path, f"must be {allowed}" + (" or null" if type(None) in args else ""))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(path, "must be a list")
        inner = args[0]
        return tuple(_coerce(inner, v, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(path, "must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SpecError(path, "must be an integer")
        if not -INT64_MAX <= value <= INT64_MAX:
            raise SpecError(path, "is far too large (an integer here is at most 2**63 - 1)")
        return value
    if tp is float:
        return _finite_float(value, path)
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, "must be a string")
        if len(value) > MAX_NAME_CHARS:
            raise SpecError(path, f"is {len(value):,} characters long; at most {MAX_NAME_CHARS:,} allowed")
        if "\x00" in value:
            raise SpecError(path, "must not contain a NUL character")
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise SpecError(path, "must be an object")
        return dict(value)
    raise SpecError(path, f"unsupported type {tp}")  # pragma: no cover - programming error


def _finite_float(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(path, "must be a number")
    try:
        value = float(value)
    except OverflowError:  # an integer like 10**400
        raise SpecError(path, "must be a finite number (this one is too large)") from None
    if not math.isfinite(value):
        raise SpecError(path, "must be a finite number")
    return value


def _to_plain(obj):
    if isinstance(obj, LayerSpec):
        return obj.to_dict()
    if isinstance(obj, DataSpec):
        return {
            f.name: _to_plain(getattr(obj, f.name))
            for f in fields(obj)
            if f.name not in DATA_OPTIONAL_FIELDS or getattr(obj, f.name) != f.default
        }
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj


def set_path(d: dict, path: str, value: Any) -> None:
    """Set a dotted path (``training.optimizer.lr``, ``network.hidden.0.units``) in a plain dict."""
    keys = path.split(".")
    cur: Any = d
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur.setdefault(k, {})
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


def get_path(d: dict, path: str) -> Any:
    cur: Any = d
    for k in path.split("."):
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    return cur


# --------------------------------------------------------------------------- validation


def _choice(path: str, value: str, options) -> None:
    if value not in options:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise SpecError(path, f"unknown value {shown}; choose one of: {', '.join(options)}")


def _positive(path: str, value, strict: bool = True) -> None:
    if (value <= 0) if strict else (value < 0):
        raise SpecError(path, "must be > 0" if strict else "must be >= 0")


def _count(path: str, value: int, maximum: int, minimum: int = 1) -> None:
    if value < minimum:
        raise SpecError(path, f"must be >= {minimum}")
    if value > maximum:
        raise SpecError(path, f"must be at most {maximum:,}")


# Upper bounds of the integer optimizer settings (each step costs up to max_eval evaluations;
# L-BFGS keeps history_size pairs of parameter-sized vectors).
INT_PARAM_MAX = {
    "max_iter": 100_000, "max_eval": 1_000_000, "history_size": 100_000,
    "max_trials": 1000, "proposals": 100_000, "population": 100_000, "tournament": 100_000,
}  # fmt: skip


def _fraction(path: str, value: float, lo_open: bool = True, hi_open: bool = True) -> None:
    ok = (value > 0 if lo_open else value >= 0) and (value < 1 if hi_open else value <= 1)
    if not ok:
        lo, hi = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise SpecError(path, f"must be in {lo}0, 1{hi}")


def validate(spec: ExperimentSpec) -> None:
    """Check values that types alone do not catch; raises SpecError naming the field."""
    if spec.seed < 0 or spec.seed >= 2**63:
        raise SpecError("seed", "must be between 0 and 2**63 - 1")
    _validate_data(spec.data)
    _validate_network(spec.network)
    _validate_training(spec.training)
    input_shape = data_input_shape(spec.data)
    check_stack(spec, input_shape)
    loss, out = spec.training.loss, spec.network.output_activation
    if out not in LOSS_OUTPUTS[loss]:
        raise SpecError(
            "network.output_activation",
            f"{out!r} does not go with loss {loss!r}; use {' or '.join(LOSS_OUTPUTS[loss])}",
        )
    # The smallest network the spec can make (the data may add inputs and outputs, which
    # Experiment checks again with check_memory once it knows them).
    if input_shape is not None:
        check_memory(spec, math.prod(input_shape), 1, input_shape=input_shape)


def adapt_training(spec: ExperimentSpec, task: str, n_classes: int) -> ExperimentSpec:
    """Loss and output activation that suit the task (only changed when they must or when the
    usual pairing changes: bce/sigmoid for 2 classes, cce/softmax for more, mse/linear for
    regression)."""
    loss, out = spec.training.loss, spec.network.output_activation
    if task == "regression":
        if loss in CLASSIFICATION_ONLY_LOSSES or out == "softmax":
            loss, out = "mse", "linear"
    elif loss not in CLASSIFICATION_ONLY_LOSSES and out == "linear":
        loss, out = ("bce", "sigmoid") if n_classes == 2 else ("cce", "softmax")
    elif n_classes > 2 and (loss, out) == ("bce", "sigmoid"):
        loss, out = "cce", "softmax"
    elif n_classes == 2 and (loss, out) == ("cce", "softmax"):
        loss, out = "bce", "sigmoid"
    if (loss, out) == (spec.training.loss, spec.network.output_activation):
        return spec
    return replace(
        spec,
        training=replace(spec.training, loss=loss),
        network=replace(spec.network, output_activation=out),
    )


# --------------------------------------------------------------------------- memory

# Parameter-sized vectors the trainer keeps in the chosen dtype: theta, gradient, a spare
# buffer, three optimizer-state rows, and one copy of the last finite parameters.
PARAM_VECTORS = 7
MEMORY_CHECK_FLOOR = 256 << 20  # below this a network is never refused (no meminfo read)


def _stack(spec: ExperimentSpec, n_in: int, n_out: int, input_shape=None) -> tuple[list[int], int]:
    """(values per sample of the input and of each layer's output, parameter count)."""
    shape = tuple(input_shape) if input_shape else (int(n_in),)
    rows = layer_shapes(shape, spec.network.hidden, int(n_out))
    sizes = [math.prod(shape), *(r.size for r in rows if not r.implicit)]
    return sizes, sum(r.n_params for r in rows)


def network_sizes(spec: ExperimentSpec, n_in: int, n_out: int, input_shape=None) -> list[int]:
    """Values per sample of the input, each hidden layer's output and the output (``units``
    for dense layers; ``channels * height * width`` of conv and pooling layers)."""
    if input_shape is None and all(h.kind == "dense" for h in spec.network.hidden):
        return [int(n_in), *(int(h.units) for h in spec.network.hidden), int(n_out)]
    return _stack(spec, n_in, n_out, input_shape)[0]


def estimate_memory(
    spec: ExperimentSpec, n_in: int, n_out: int, n_rows: int | None = None, input_shape=None
) -> tuple[int, int]:
    """(parameter count, bytes the trainer needs) for this spec with ``n_in`` inputs (of
    ``input_shape`` for images) and ``n_out`` outputs: parameter-sized vectors in the spec's
    dtype, L-BFGS history in float64, and the activations of one batch (at most ``n_rows``
    training rows; for toy data the spec's n_samples, else one row when the data is not
    known yet)."""
    if input_shape is None and all(h.kind == "dense" for h in spec.network.hidden):
        sizes = network_sizes(spec, n_in, n_out)
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    else:
        sizes, n_params = _stack(spec, n_in, n_out, input_shape)
    itemsize = 4 if spec.training.dtype == "float32" else 8
    need = PARAM_VECTORS * n_params * itemsize
    opt = spec.training.optimizer
    if opt.name == "lbfgs":
        hist = int(opt.params.get("history_size", OPTIMIZER_DEFAULTS["lbfgs"]["history_size"]))
        need += (2 * hist + 4) * n_params * 8
    if n_rows is None:
        n_rows = spec.data.n_samples if spec.data.kind == "toy" else 1
    need += 4 * min(spec.training.batch_size, max(int(n_rows), 1)) * sum(sizes) * itemsize
    return n_params, need


def _bytes(n: int) -> str:
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


def check_memory_for_data(spec: ExperimentSpec, dataset, available: int | None = None) -> None:
    """check_memory with the inputs and outputs of ``dataset`` (the classes bound the outputs),
    then a DataError if the buffers its rows need for training cannot fit (``data_memory``)."""
    input_shape = tuple(int(s) for s in dataset.X_train.shape[1:])
    n_in = math.prod(input_shape)
    image_shape = input_shape if len(input_shape) > 1 else None  # images, sequences
    check_stack(spec, input_shape)  # an image folder's size is only known now
    if dataset.task == "classification":
        n_out = max(int(dataset.n_classes or 1), 1)
    else:
        n_out = int(np.prod(np.shape(dataset.y_train)[1:], dtype=np.int64)) or 1
    check_memory(spec, n_in, n_out, available, n_rows=len(dataset.X_train), input_shape=image_shape)
    n_train, n_test = len(dataset.X_train), len(getattr(dataset, "X_test", ()))
    need = data_memory(spec, n_in, n_out, n_train, n_test)
    available = _short_of(need, available)
    if available is not None:
        raise DataError(
            f"its {n_train + n_test:,} rows x {n_out} network outputs need about {_bytes(need)} "
            f"of memory for training and evaluation in {spec.training.dtype}, but only "
            f"{_bytes(available)} are available; use fewer rows (or fewer classes)",
            file=getattr(dataset, "info", {}).get("source"),
        )


def _short_of(need: int, available: int | None) -> int | None:
    """The memory available (measured now unless given) when ``need`` exceeds it, else None.
    Needs below MEMORY_CHECK_FLOOR are not measured."""
    if need < MEMORY_CHECK_FLOOR and available is None:
        return None
    if available is None:
        from playground.data.csv_reader import available_memory

        available = available_memory()
    return available if available is not None and need > available else None


def data_memory(spec: ExperimentSpec, n_in: int, n_out: int, n_train: int, n_test: int) -> int:
    """Bytes an experiment allocates per data row beyond the data set: the metrics sets'
    outputs, pre-activations and deltas (3 x rows x outputs) and, in float32, the float32
    copies of the inputs (the trainer's and the metrics sets')."""
    itemsize = 4 if spec.training.dtype == "float32" else 8
    need = 3 * (n_train + n_test) * n_out * itemsize
    if itemsize != 8:
        need += (2 * n_train + n_test) * n_in * itemsize
    return need


def check_memory(
    spec: ExperimentSpec,
    n_in: int,
    n_out: int,
    available: int | None = None,
    n_rows: int | None = None,
    input_shape=None,
) -> None:
    """SpecError naming ``network.hidden`` if the network's parameters and optimizer state
    cannot fit in the memory available now (before any allocation is tried)."""
    n_params, need = estimate_memory(spec, n_in, n_out, n_rows, input_shape)
    available = _short_of(need, available)
    if available is not None:
        sizes = "-".join(str(s) for s in network_sizes(spec, n_in, n_out, input_shape))
        raise SpecError(
            "network.hidden",
            f"a {sizes} network has {n_params:,} parameters and needs about {_bytes(need)} of memory "
            f"for them and the {spec.training.optimizer.name} state in {spec.training.dtype}, "
            f"but only {_bytes(available)} are available; use fewer or smaller layers",
        )


def _validate_data(d: DataSpec) -> None:
    _choice("data.kind", d.kind, ("toy", "csv", "image", "sequence", "points"))
    _fraction("data.train_fraction", d.train_fraction)
    if d.normalize is not None:
        _choice("data.normalize", d.normalize, ("standard", "minmax", "none"))
    _choice("data.missing", d.missing, ("drop", "error"))
    if d.task is not None:
        _choice("data.task", d.task, ("classification", "regression"))
    if d.seed is not None and not 0 <= d.seed <= INT64_MAX:
        raise SpecError("data.seed", "must be between 0 and 2**63 - 1")
    if d.kind == "toy":
        from playground.data.toy import TOY_DATASETS  # data layer owns the generator names

        _choice("data.name", d.name, TOY_DATASETS.names())
        if d.n_samples < 4:
            raise SpecError("data.n_samples", "must be at least 4")
        if d.n_samples > 10_000_000:
            raise SpecError("data.n_samples", "must be at most 10,000,000")
        if not 0.0 <= d.noise <= 1.0:
            raise SpecError("data.noise", "must be in [0, 1]")
        if not 2 <= d.n_classes <= 50:
            raise SpecError("data.n_classes", "must be between 2 and 50")
        for i, f in enumerate(d.features):
            _choice(f"data.features[{i}]", f, TOY_FEATURES)
        if len(set(d.features)) != len(d.features):
            raise SpecError("data.features", "lists a feature twice")
    elif d.kind == "image":
        _validate_image_data(d)
    elif d.kind == "points":
        validate_points(d)
    elif d.kind == "sequence":
        from playground.data.sequences import validate_sequence_spec  # the data layer owns the names

        validate_sequence_spec(d)
    else:
        if not d.path:
            raise SpecError("data.path", "is required for CSV data")
        if d.image_shape:
            _validate_image_shape(d)
        elif d.window is not None:
            from playground.data.sequences import validate_timeseries_spec

            validate_timeseries_spec(d)
        elif not d.target:
            raise SpecError("data.target", "is required for CSV data")
    if d.kind != "points" and d.points:
        raise SpecError("data.points", "applies to painted data only (data.kind 'points')")
    if d.kind != "sequence":
        for name in SEQUENCE_FIELDS:
            if getattr(d, name) is not None:
                raise SpecError(f"data.{name}", "applies to sequence data only (data.kind 'sequence')")
    if not (d.kind == "csv" and d.window is not None):
        for name in TIMESERIES_FIELDS:
            f = DataSpec.__dataclass_fields__[name]
            if getattr(d, name) != f.default:
                raise SpecError(
                    f"data.{name}", "applies to a CSV time series only (data.kind 'csv' with window)"
                )
    if d.kind != "image":
        for name in ("size", "color"):
            if getattr(d, name):
                raise SpecError(f"data.{name}", "applies to image data only (data.kind 'image')")
    if d.kind != "csv" and d.image_shape:
        raise SpecError("data.image_shape", "applies to CSV data only (images stored as pixel columns)")
    if d.delimiter is not None and len(d.delimiter) != 1:
        raise SpecError("data.delimiter", "must be a single character (a space means any whitespace)")
    if d.skip_rows is not None and not 0 <= d.skip_rows <= 1_000_000:
        raise SpecError("data.skip_rows", "must be between 0 and 1,000,000 (or null: detect)")


def validate_points(d: DataSpec) -> None:
    """Painted data: (x1, x2, label) per point for classification (labels 0..49, two classes
    at least), (x1, x2, value) for regression; the toy data's input features apply."""
    task = d.task or "classification"
    n = len(d.points)
    if n < 4:
        raise SpecError("data.points", f"paint at least 4 points (2 of each class); there are {n}")
    if n > MAX_PAINTED_POINTS:
        raise SpecError("data.points", f"at most {MAX_PAINTED_POINTS:,} points; there are {n:,}")
    for i, p in enumerate(d.points):
        if len(p) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
            raise SpecError(f"data.points[{i}]", "must be [x1, x2, label or value]")
        if not all(math.isfinite(float(v)) for v in p):
            raise SpecError(f"data.points[{i}]", "must hold finite numbers")
        if task == "classification" and (float(p[2]) != int(p[2]) or not 0 <= int(p[2]) < 50):
            raise SpecError(f"data.points[{i}]", "the label must be a class number 0..49")
    if task == "classification" and len({int(p[2]) for p in d.points}) < 2:
        raise SpecError("data.points", "paint points of at least two classes")
    for i, f in enumerate(d.features):
        _choice(f"data.features[{i}]", f, TOY_FEATURES)


MAX_IMAGE_SIDE = 4096
MAX_IMAGE_VALUES = 10**8  # channels x height x width of one image
MAX_IMAGE_SAMPLES = 1_000_000  # generated toy images


def _pixels_scaled(d: DataSpec) -> None:
    """Image data is scaled to [0, 1] and is classification: no other normalization or task."""
    if d.normalize is not None:
        raise SpecError("data.normalize", "image pixels are scaled to [0, 1]; leave normalize unset (null)")
    if d.task not in (None, "classification"):
        raise SpecError("data.task", "image data is classification (one class per folder or label)")


def _validate_image_data(d: DataSpec) -> None:
    _pixels_scaled(d)
    if d.features:
        raise SpecError("data.features", "does not apply to image data (every pixel is an input)")
    if d.target:
        raise SpecError("data.target", "does not apply to image data (the classes are the sub-folders)")
    if d.color is not None:
        _choice("data.color", d.color, ("gray", "rgb"))
    if d.size:
        if len(d.size) != 2:
            raise SpecError("data.size", "must be [height, width]")
        for i, side in enumerate(d.size):
            _count(f"data.size[{i}]", side, MAX_IMAGE_SIDE)
    if d.path:  # a folder of images; the name, samples and noise do not apply
        return
    if d.color is not None:
        raise SpecError("data.color", "applies to an image folder (data.path) only")
    from playground.data.images import IMAGE_DATASETS  # the data layer owns the names

    _choice("data.name", d.name, IMAGE_DATASETS.names())
    source = IMAGE_DATASETS[d.name]
    if d.size:
        if source.fixed_size:
            h, w = source.default_size
            raise SpecError("data.size", f"the {d.name} images are {h}x{w}; leave size unset")
        for i, side in enumerate(d.size):
            _count(f"data.size[{i}]", side, source.max_side, minimum=source.min_side)
    if not source.fixed_size:
        _count("data.n_samples", d.n_samples, MAX_IMAGE_SAMPLES, minimum=4)
        if not 0.0 <= d.noise <= 1.0:
            raise SpecError("data.noise", "must be in [0, 1]")


def _validate_image_shape(d: DataSpec) -> None:
    _pixels_scaled(d)
    if len(d.image_shape) != 3:
        raise SpecError("data.image_shape", "must be [channels, height, width] (e.g. [1, 28, 28])")
    for i, side in enumerate(d.image_shape):
        _count(f"data.image_shape[{i}]", side, MAX_IMAGE_SIDE)
    if math.prod(d.image_shape) > MAX_IMAGE_VALUES:
        raise SpecError("data.image_shape", f"has more than {MAX_IMAGE_VALUES:,} values per image")


def _validate_network(n: NetworkSpec) -> None:
    if len(n.hidden) > MAX_LAYERS:
        raise SpecError("network.hidden", f"has {len(n.hidden):,} layers; at most {MAX_LAYERS:,} are allowed")
    for i, layer in enumerate(n.hidden):
        _validate_layer(f"network.hidden[{i}]", layer)
    _choice("network.output_activation", n.output_activation, OUTPUT_ACTIVATIONS)
    _choice("network.init", n.init, INITIALIZERS)
    if isinstance(n.bias_init, str):
        _choice("network.bias_init", n.bias_init, ("torch_default",))


def _validate_layer(p: str, layer: LayerSpec) -> None:
    _choice(f"{p}.kind", layer.kind, LAYER_KINDS)
    kind = layer.kind
    if kind == "dense":
        if not 1 <= layer.units <= 100_000:
            raise SpecError(f"{p}.units", "must be between 1 and 100000")
    if kind == "conv2d":
        _count(f"{p}.filters", layer.filters, MAX_FILTERS)
        _count(f"{p}.kernel_size", layer.kernel_size, MAX_WINDOW)
        _choice(f"{p}.padding", layer.padding, PADDINGS)
    if kind in ("maxpool2d", "avgpool2d"):
        _count(f"{p}.size", layer.size, MAX_WINDOW)
    if kind in ("conv2d", "maxpool2d", "avgpool2d") and layer.stride is not None:
        _count(f"{p}.stride", layer.stride, MAX_WINDOW)
    if kind in RECURRENT_KINDS:
        _count(f"{p}.units", layer.units, MAX_RECURRENT_UNITS)
        if kind == "rnn":
            _choice(f"{p}.activation", layer.activation, RNN_ACTIVATIONS)
        if not isinstance(layer.return_sequences, bool):
            raise SpecError(f"{p}.return_sequences", "must be true or false")
        if layer.bptt is not None:
            _count(f"{p}.bptt", layer.bptt, MAX_STEPS)
        fb = _finite_float(layer.forget_bias, f"{p}.forget_bias")
        if abs(fb) > 10.0:
            raise SpecError(f"{p}.forget_bias", "must be between -10 and 10")
    if kind in ("dense", "conv2d"):
        _choice(f"{p}.activation", layer.activation, ACTIVATIONS)
        if not 0.0 <= layer.dropout < 1.0:
            raise SpecError(f"{p}.dropout", "must be in [0, 1)")
        _positive(f"{p}.negative_slope", layer.negative_slope, strict=False)


def data_input_shape(d: DataSpec) -> tuple[int, ...] | None:
    """The per-sample input shape the data of ``d`` gives, as far as the spec alone tells:
    ``(channels, height, width)`` for images (an image folder without ``size``: None, known
    once it is read; ``color`` unset counts one channel), ``(n,)`` for flat data (CSV
    columns unknown: 1)."""
    if d.kind == "image":
        if d.path:
            return ((3 if d.color == "rgb" else 1), *d.size) if d.size else None
        from playground.data.images import IMAGE_DATASETS  # the data layer owns the names

        return IMAGE_DATASETS[d.name].shape(d.size)
    if d.kind == "csv" and d.image_shape:
        return tuple(d.image_shape)
    if d.kind == "sequence" or (d.kind == "csv" and d.window is not None):
        from playground.data.sequences import sequence_input_shape

        return sequence_input_shape(d)  # (length, features), None when known only once read
    return (len(d.features) or (2 if d.kind in ("toy", "points") else 1),)


def check_stack(spec: ExperimentSpec, input_shape: tuple[int, ...] | None) -> None:
    """SpecError naming the layer field if ``network.hidden`` cannot be built on inputs of
    ``input_shape`` (None: images of a size not known yet, so only the order is checked)."""
    hidden = spec.network.hidden
    try:
        if input_shape is None:
            check_order(hidden, "sequence" if spec.data.kind in ("sequence", "csv") else "image")
        else:
            layer_shapes(input_shape, hidden)
    except ShapeError as e:
        raise SpecError(e.path, e.message) from None


def _validate_training(t: TrainingSpec) -> None:
    _choice("training.loss", t.loss, LOSSES)
    _validate_optimizer(t.optimizer)
    _count("training.batch_size", t.batch_size, MAX_BATCH)
    _choice("training.regularization.kind", t.regularization.kind, REGULARIZATIONS)
    _positive("training.regularization.rate", t.regularization.rate, strict=False)
    s = t.schedule
    _choice("training.schedule.kind", s.kind, SCHEDULES)
    _choice("training.schedule.unit", s.unit, ("epoch", "step"))
    _count("training.schedule.step_size", s.step_size, MAX_STEPS)
    _positive("training.schedule.gamma", s.gamma)
    _count("training.schedule.t_max", s.t_max, MAX_STEPS)
    _positive("training.schedule.eta_min", s.eta_min, strict=False)
    _count("training.schedule.warmup", s.warmup, MAX_STEPS, minimum=0)
    if t.clip_norm is not None:
        _positive("training.clip_norm", t.clip_norm)
    _positive("training.huber_delta", t.huber_delta)
    _choice("training.dtype", t.dtype, ("float64", "float32"))
    if t.record_every is not None:
        _count("training.record_every", t.record_every, MAX_STEPS)


def _validate_optimizer(o: OptimizerSpec) -> None:
    base = "training.optimizer"
    _choice(f"{base}.name", o.name, OPTIMIZERS)
    _positive(f"{base}.lr", o.lr)
    defaults = OPTIMIZER_DEFAULTS[o.name]
    for key, value in o.params.items():
        p = f"{base}.{key}"
        if key == "lr":
            raise SpecError(p, "set the learning rate as training.optimizer.lr")
        if key not in defaults:
            raise SpecError(
                p, f"unknown hyper-parameter for {o.name}; expected one of: {', '.join(defaults)}"
            )
        default = defaults[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise SpecError(p, "must be true or false")
        elif isinstance(default, tuple):
            if (
                not isinstance(value, (list, tuple))
                or len(value) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in value)
            ):
                raise SpecError(p, "must be a list of two numbers")
            for j, b in enumerate(value):
                if not 0.0 <= b < 1.0:
                    raise SpecError(f"{p}[{j}]", "must be in [0, 1)")
        elif isinstance(default, int):
            least = 0 if (o.name, key) == ("cmaes", "population") else 1  # 0: the default size
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SpecError(p, "must be a positive integer" if least else "must be an integer >= 0")
            _count(p, value, INT_PARAM_MAX.get(key, MAX_STEPS), least)
        else:
            value = _finite_float(value, p)
            if value < 0:
                raise SpecError(p, "must be >= 0")
            if key in ("momentum", "alpha", "dampening") and value >= 1 and key != "momentum":
                raise SpecError(p, "must be < 1")
            if key == "eps" and value <= 0:
                raise SpecError(p, "must be > 0")
            if key in _OPEN_UNIT and not 0 < value < 1:
                raise SpecError(p, "must be in (0, 1)")
            if key in _HALF_OPEN_UNIT and not 0 < value <= 1:
                raise SpecError(p, "must be in (0, 1]")
            if key in _ABOVE_ONE and value <= 1:
                raise SpecError(p, "must be > 1")
    r = o.resolved()
    if o.name == "bfgs" and not r["c1"] < r["c2"]:
        raise SpecError(f"{base}.c2", "must be greater than c1 (0 < c1 < c2 < 1)")
    if r.get("nesterov") and (r.get("momentum", 0) <= 0 or r.get("dampening", 0) != 0):
        raise SpecError(f"{base}.nesterov", "needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")


def default_spec() -> ExperimentSpec:
    """The demo the app opens on: 2-class spiral, 2-8-8-1 tanh, Adam."""
    return ExperimentSpec(
        data=DataSpec(kind="toy", name="spiral", n_samples=500, noise=0.0, train_fraction=0.5),
        network=NetworkSpec(hidden=(LayerSpec(8, "tanh"), LayerSpec(8, "tanh")), output_activation="sigmoid"),
        training=TrainingSpec(loss="bce", optimizer=OptimizerSpec("adam", lr=0.01), batch_size=10),
    )


__all__ = [
    "SCHEMA_VERSION",
    "DataSpec",
    "LayerSpec",
    "NetworkSpec",
    "OptimizerSpec",
    "ScheduleSpec",
    "RegularizationSpec",
    "TrainingSpec",
    "ExperimentSpec",
    "default_spec",
    "replace",
]
