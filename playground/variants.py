"""A variant of a spec: the base spec with a few dotted-path settings changed.

Race mode, sweeps and lessons all train variants of one base spec and compare them. The
rules they share live here:

- :func:`apply_overrides` sets dotted paths (``training.optimizer.lr``,
  ``network.hidden.0.units``) and validates the result; a :class:`SpecError` names the
  path and the variant.
- :func:`pin_data_seed`: a variant that changes the run seed keeps the base's data (the data
  seed stops following the run seed), so seeds vary the weights, not the points.
- :func:`target_loss` and :func:`reach`: "steps to a target loss", with the default target
  ``TARGET_FACTOR`` x the best final train loss.
- :func:`describe_overrides` / :func:`flat_diff`: legend labels ("lr 0.1") and what differs;
  :func:`setting_name`: a setting as the app names it ("learning rate").
- :func:`build_race`: fresh experiments of several variants on one data set and, where the
  layer sizes allow, the same initial weights.

>>> spec = ExperimentSpec.from_dict({})
>>> variant_spec(spec, {"training.optimizer.lr": 0.1}).training.optimizer.lr
0.1
>>> describe_overrides({"training.optimizer.lr": 0.1, "network.hidden.0.units": 1})
'lr 0.1, layer 1: 1 neuron'
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from playground.errors import SpecError
from playground.formatting import fmt
from playground.spec import DataSpec, ExperimentSpec, set_path

if TYPE_CHECKING:
    from playground.experiment import Experiment

MIN_VARIANTS, MAX_VARIANTS = 2, 8  # a race or a lesson compares 2 to 8 variants
TARGET_FACTOR = 1.1  # default target loss = 1.1 x the best final train loss ...
START_FRACTION = 0.9  # ... and (in a race) below every starting loss: an untrained race has reached nothing

# short names for legend labels ("lr 0.1", "optimizer sgd")
SHORT_NAMES = {
    "training.optimizer.lr": "lr",
    "training.optimizer.name": "optimizer",
    "training.batch_size": "batch",
    "training.loss": "loss",
    "training.regularization.kind": "reg",
    "training.regularization.rate": "reg rate",
    "training.schedule.kind": "schedule",
    "training.clip_norm": "clip",
    "training.dtype": "dtype",
    "network.init": "init",
    "network.bias_init": "bias init",
    "network.output_activation": "output",
    "seed": "seed",
}
# the names the app shows for settings (axes, table headers): "learning rate"
SETTING_NAMES = {
    "training.optimizer.lr": "learning rate",
    "training.batch_size": "batch size",
    "training.optimizer.name": "optimizer",
    "network.init": "initialization",
    "network.hidden.0.units": "neurons in layer 1",
    "network.hidden.0.activation": "activation of layer 1",
    "training.regularization.rate": "regularization rate",
    "training.regularization.kind": "regularization",
    "training.loss": "loss",
    "network.output_activation": "output activation",
    "data.noise": "noise",
    "data.n_samples": "points",
    "seed": "seed",
}
_HIDDEN = re.compile(r"network\.hidden\.(\d+)\.(units|activation|dropout)$")


# --------------------------------------------------------------------------- building specs


def apply_overrides(
    base: ExperimentSpec | Mapping, overrides: Mapping[str, Any], variant: str = "", spec_type=ExperimentSpec
) -> ExperimentSpec:
    """``base`` (a spec or a spec dict, not modified) with each dotted path set, validated.

    A bad path or value raises :class:`SpecError` naming the path and, when given, the
    ``variant`` ("in the combination lr=0.1", "lesson x.json, variant fast"). ``spec_type``:
    the spec class (``ExperimentSpec``, or GAN mode's ``GanSpec``) with ``to_dict``/``from_dict``.
    """
    d = base.to_dict() if isinstance(base, spec_type) else copy.deepcopy(dict(base))
    where = f" ({variant})" if variant else ""
    noun = "GAN spec" if spec_type is not ExperimentSpec else "spec"
    for path, value in overrides.items():
        try:
            set_path(d, path, value)
        except (IndexError, KeyError, TypeError, ValueError):
            raise SpecError(path, f"no such setting in the {noun}{where}") from None
    try:
        return spec_type.from_dict(d)
    except SpecError as e:
        if not variant:
            raise
        raise SpecError(e.path, f"{e.message}{where}") from None


def pin_data_seed(spec_dict: dict) -> dict:
    """Make the data seed explicit where it follows the run seed (``data.seed`` null), so a
    variant with another run seed draws the same data. Changes and returns ``spec_dict``."""
    data = spec_dict.setdefault("data", {})
    if data.get("seed") is None:
        data["seed"] = spec_dict["seed"]
    return spec_dict


def variant_spec(base: ExperimentSpec, overrides: Mapping[str, Any], variant: str = "") -> ExperimentSpec:
    """The base spec with dotted-path overrides (validated; SpecError names the path).
    A variant with another seed keeps the base's data (its data seed is pinned)."""
    d = base.to_dict()
    if "seed" in overrides:
        pin_data_seed(d)
    return apply_overrides(d, overrides, variant)


def data_key(spec: ExperimentSpec) -> DataSpec:
    """What decides the data a spec builds: equal keys, equal data sets."""
    return replace(spec.data, seed=spec.data.seed if spec.data.seed is not None else spec.seed)


# --------------------------------------------------------------------------- building experiments


def adopt_initial_theta(exp: Experiment, theta: np.ndarray) -> None:
    """Make an untrained experiment start from ``theta``; its first history row is redone."""
    exp.set_initial_params(exp.trainer.layout.views(np.asarray(theta, dtype=np.float64)))


def _network_shape(exp: Experiment) -> list:
    """What must match to share initial weights: every block's kind and parameter arrays
    (an RNN and an LSTM of 32 units have the same widths, not the same weights) and how it
    starts (an LSTM's forget bias)."""
    return [(layer.kind, tuple(s for _n, s, _o in arrays), layer.forget_bias) for layer, arrays in zip(
        exp.trainer.plan.layers, exp.trainer.plan.arrays, strict=True
    )]  # fmt: skip


def build_race(
    base: ExperimentSpec, specs: list[ExperimentSpec], dataset=None
) -> tuple[list[Experiment], list[bool]]:
    """Fresh experiments for ``specs`` on the base's data, sharing the base's initial weights
    where the layer sizes match and neither the seed nor the initializer differ.
    Returns (experiments, shared flags)."""
    from playground.experiment import Experiment  # numba loads when a race is built, not on import

    base_exp = Experiment(base, dataset)
    theta0 = base_exp.trainer.theta.copy()
    shape0 = _network_shape(base_exp)
    exps, shared = [], []
    for spec in specs:
        ds = base_exp.dataset if data_key(spec) == data_key(base) else None
        exp = Experiment(spec, ds)
        same_init = spec.seed == base.seed and spec.network.init == base.network.init
        same_init = same_init and spec.network.bias_init == base.network.bias_init
        share = same_init and _network_shape(exp) == shape0
        if share and not np.array_equal(exp.trainer.theta, theta0.astype(exp.trainer.dtype)):
            adopt_initial_theta(exp, theta0)
        exps.append(exp)
        shared.append(share)
    return exps, shared


# --------------------------------------------------------------------------- comparing


def target_loss(finals: Sequence[float], starts: Sequence[float] = ()) -> float | None:
    """The default target train loss: TARGET_FACTOR x the best of ``finals`` (the final
    losses of the runs that did not diverge); with ``starts`` (each run's first loss) also
    below START_FRACTION x the lowest, so that before any training no run has reached it."""
    if not finals:
        return None
    target = TARGET_FACTOR * min(finals)
    return min(target, START_FRACTION * min(starts)) if starts else target


def reach(steps, walls, losses, target: float | None) -> tuple[int | None, float | None]:
    """(step, wall seconds) of the first recorded point with loss <= target, or (None, None)."""
    losses = np.asarray(losses, dtype=np.float64)
    if target is None or not len(losses):
        return None, None
    with np.errstate(invalid="ignore"):
        hit = np.flatnonzero(losses <= target)
    if not len(hit):
        return None, None
    return int(steps[hit[0]]), float(walls[hit[0]])


# --------------------------------------------------------------------------- labels


def setting_name(path: str) -> str:
    """The name the app shows for a spec path ("learning rate", not training.optimizer.lr)."""
    if path in SETTING_NAMES:
        return SETTING_NAMES[path]
    m = _HIDDEN.match(path)
    if m:
        what = {"units": "neurons", "activation": "activation", "dropout": "dropout"}[m.group(2)]
        return (
            f"{what} in layer {int(m.group(1)) + 1}"
            if what == "neurons"
            else f"{what} of layer {int(m.group(1)) + 1}"
        )
    return path.rsplit(".", 1)[-1].replace("_", " ")


def short_name(path: str) -> str:
    """The legend name of a spec path: "lr", "units 2", "activation"."""
    if path in SHORT_NAMES:
        return SHORT_NAMES[path]
    parts = path.split(".")
    if len(parts) == 4 and parts[:2] == ["network", "hidden"]:
        return f"{parts[3]} {int(parts[2]) + 1}" if parts[3] != "activation" else "activation"
    return parts[-1].replace("_", " ")


def describe_overrides(overrides: dict) -> str:
    """Legend text naming what differs: {"training.optimizer.lr": 0.1} -> "lr 0.1"."""
    if not overrides:
        return "base"
    seen: dict[str, str] = {}
    for path, value in overrides.items():
        name = short_name(path)
        text = fmt(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        parts = path.split(".")
        if len(parts) == 4 and parts[:2] == ["network", "hidden"] and parts[3] == "units":
            name, text = f"layer {int(parts[2]) + 1}:", f"{text} neuron{'' if value == 1 else 's'}"
        if seen.get(name) != text:  # all hidden layers' activation set alike: say it once
            seen[name] = text if name not in seen else seen[name] + "/" + text
    return ", ".join(f"{k} {v}" for k, v in seen.items())


def flat_diff(base, other, prefix: str = "") -> dict:
    """Dotted paths whose leaf values differ between two spec dicts (lists by index)."""
    out: dict = {}
    if isinstance(base, dict) and isinstance(other, dict):
        for k in sorted(set(base) | set(other)):
            if not (prefix == "" and k == "name"):
                out.update(flat_diff(base.get(k), other.get(k), f"{prefix}{k}."))
    elif isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        for i, (a, b) in enumerate(zip(base, other)):
            out.update(flat_diff(a, b, f"{prefix}{i}."))
    elif base != other:
        out[prefix[:-1]] = other
    return out
