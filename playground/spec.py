"""The experiment spec: one frozen dataclass tree, stored as JSON.

The GUI edits it (``dataclasses.replace``), the CLI reads it, sessions store it.
``ExperimentSpec.from_dict`` validates everything and names the field path of any
problem (``training.optimizer.lr: must be > 0``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from playground.errors import SpecError

SCHEMA_VERSION = 1

ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "sine")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear", "tanh")
LOSSES = ("mse", "mae", "huber", "bce", "cce", "hinge", "kl_div")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
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
}


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class DataSpec:
    kind: str = "toy"
    name: str = "spiral"
    n_samples: int = 500
    noise: float = 0.0
    train_fraction: float = 0.5
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


@dataclass(frozen=True)
class LayerSpec:
    units: int = 8
    activation: str = "tanh"
    dropout: float = 0.0
    kind: str = "dense"
    negative_slope: float = 0.01


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
        if not isinstance(version, int) or isinstance(version, bool):
            raise SpecError("schema_version", "must be an integer")
        if version > SCHEMA_VERSION:
            raise SpecError(
                "schema_version",
                f"{version} is newer than this version of Neural Playground understands ({SCHEMA_VERSION});"
                " please update the app",
            )
        d = migrate(d)
        spec = _build(cls, d, "")
        validate(spec)
        return spec

    @classmethod
    def from_json(cls, text: str) -> ExperimentSpec:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError("", f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
        return cls.from_dict(d)

    @classmethod
    def from_file(cls, path: str | Path) -> ExperimentSpec:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise SpecError("", f"cannot read spec file {p}: {e}") from None
        try:
            return cls.from_json(text)
        except SpecError as e:
            raise SpecError(e.path, f"{e.message} (in {p})") from None

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


# --------------------------------------------------------------------------- generic building


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _build(cls, value: Any, path: str):
    if not isinstance(value, dict):
        raise SpecError(path, f"must be an object, not {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in value:
        if key not in known:
            raise SpecError(_join(path, key), f"unknown key; expected one of: {', '.join(sorted(known))}")
    kwargs = {}
    for f in fields(cls):
        if f.name in value:
            kwargs[f.name] = _coerce(hints[f.name], value[f.name], _join(path, f.name))
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _coerce(tp, value: Any, path: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except SpecError as e:
                errors.append(e.message)
        allowed = " or ".join(_type_name(a) for a in args if a is not type(None))
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
                return int(value)
            raise SpecError(path, "must be an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(path, "must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise SpecError(path, "must be a finite number")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, "must be a string")
        return value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise SpecError(path, "must be an object")
        return dict(value)
    raise SpecError(path, f"unsupported type {tp}")  # pragma: no cover - programming error


def _to_plain(obj):
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
        raise SpecError(path, f"unknown value {value!r}; choose one of: {', '.join(options)}")


def _positive(path: str, value, strict: bool = True) -> None:
    if (value <= 0) if strict else (value < 0):
        raise SpecError(path, "must be > 0" if strict else "must be >= 0")


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
    loss, out = spec.training.loss, spec.network.output_activation
    if out not in LOSS_OUTPUTS[loss]:
        raise SpecError(
            "network.output_activation",
            f"{out!r} does not go with loss {loss!r}; use {' or '.join(LOSS_OUTPUTS[loss])}",
        )


def _validate_data(d: DataSpec) -> None:
    _choice("data.kind", d.kind, ("toy", "csv"))
    _fraction("data.train_fraction", d.train_fraction)
    if d.normalize is not None:
        _choice("data.normalize", d.normalize, ("standard", "minmax", "none"))
    _choice("data.missing", d.missing, ("drop", "error"))
    if d.task is not None:
        _choice("data.task", d.task, ("classification", "regression"))
    if d.seed is not None and d.seed < 0:
        raise SpecError("data.seed", "must be >= 0")
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
    else:
        if not d.path:
            raise SpecError("data.path", "is required for CSV data")
        if not d.target:
            raise SpecError("data.target", "is required for CSV data")
    if d.delimiter is not None and len(d.delimiter) != 1:
        raise SpecError("data.delimiter", "must be a single character")


def _validate_network(n: NetworkSpec) -> None:
    for i, layer in enumerate(n.hidden):
        p = f"network.hidden[{i}]"
        _choice(f"{p}.kind", layer.kind, ("dense",))
        if not 1 <= layer.units <= 100_000:
            raise SpecError(f"{p}.units", "must be between 1 and 100000")
        _choice(f"{p}.activation", layer.activation, ACTIVATIONS)
        if not 0.0 <= layer.dropout < 1.0:
            raise SpecError(f"{p}.dropout", "must be in [0, 1)")
        _positive(f"{p}.negative_slope", layer.negative_slope, strict=False)
    _choice("network.output_activation", n.output_activation, OUTPUT_ACTIVATIONS)
    _choice("network.init", n.init, INITIALIZERS)
    if isinstance(n.bias_init, str):
        _choice("network.bias_init", n.bias_init, ("torch_default",))


def _validate_training(t: TrainingSpec) -> None:
    _choice("training.loss", t.loss, LOSSES)
    _validate_optimizer(t.optimizer)
    if t.batch_size < 1:
        raise SpecError("training.batch_size", "must be >= 1")
    _choice("training.regularization.kind", t.regularization.kind, REGULARIZATIONS)
    _positive("training.regularization.rate", t.regularization.rate, strict=False)
    s = t.schedule
    _choice("training.schedule.kind", s.kind, SCHEDULES)
    _choice("training.schedule.unit", s.unit, ("epoch", "step"))
    _positive("training.schedule.step_size", s.step_size)
    _positive("training.schedule.gamma", s.gamma)
    _positive("training.schedule.t_max", s.t_max)
    _positive("training.schedule.eta_min", s.eta_min, strict=False)
    _positive("training.schedule.warmup", s.warmup, strict=False)
    if t.clip_norm is not None:
        _positive("training.clip_norm", t.clip_norm)
    _positive("training.huber_delta", t.huber_delta)
    _choice("training.dtype", t.dtype, ("float64", "float32"))
    if t.record_every is not None:
        _positive("training.record_every", t.record_every)


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
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(p, "must be a positive integer")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise SpecError(p, "must be a finite number")
            if value < 0:
                raise SpecError(p, "must be >= 0")
            if key in ("momentum", "alpha", "dampening") and value >= 1 and key != "momentum":
                raise SpecError(p, "must be < 1")
            if key == "eps" and value <= 0:
                raise SpecError(p, "must be > 0")
    r = o.resolved()
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
