"""Property-based tests of the spec parser: any JSON-like input either gives a valid spec or a
SpecError naming the field, never another exception (issue 9)."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.errors import SpecError
from playground.spec import ExperimentSpec, default_spec

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# keys the parser knows, so random objects reach deep into the schema, not only "unknown key"
KEYS = sorted(
    {
        "schema_version", "seed", "name", "data", "network", "training", "kind", "n_samples",
        "noise", "train_fraction", "n_classes", "features", "path", "target", "task", "normalize",
        "missing", "delimiter", "header", "hidden", "units", "activation", "dropout",
        "negative_slope", "output_activation", "init", "bias_init", "loss", "optimizer", "lr",
        "params", "betas", "eps", "momentum", "nesterov", "history_size", "max_iter",
        "batch_size", "regularization", "rate", "schedule", "step_size", "gamma", "t_max",
        "warmup", "unit", "clip_norm", "huber_delta", "dtype", "record_every",
    }
)  # fmt: skip

NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, -(2**63), 10**400, -(10**400), 100_000, 10**12 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 0.5, 1.0, 0.999999]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=20),
    st.sampled_from(["toy", "csv", "adam", "lbfgs", "sigmoid", "softmax", "bce", "cce", "float32", "x1"]),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEY, inner, max_size=6)),
    max_leaves=30,
)


def parses_or_spec_error(d) -> ExperimentSpec | None:
    try:
        spec = ExperimentSpec.from_dict(d)
    except SpecError as e:
        assert isinstance(e.path, str) and isinstance(e.message, str) and e.message
        assert "\n" not in str(e)
        return None
    again = ExperimentSpec.from_dict(json.loads(spec.to_json()))  # what it writes, it reads
    assert again == spec
    return spec


@FUZZ
@given(JSONISH)
def test_random_structures(d):
    parses_or_spec_error(d)


@FUZZ
@given(st.dictionaries(st.sampled_from(["data", "network", "training", "seed", "name"]), JSONISH))
def test_random_top_level_objects(d):
    parses_or_spec_error(d)


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        ExperimentSpec.from_json(text)
    except SpecError:
        pass


def _valid_bases() -> list[dict]:
    base = default_spec().to_dict()
    csv = copy.deepcopy(base)
    csv["data"] = {"kind": "csv", "path": "iris.csv", "target": "species", "features": ["petal_length"]}
    csv["network"]["output_activation"] = "softmax"
    csv["training"]["loss"] = "cce"
    lbfgs = copy.deepcopy(base)
    lbfgs["training"]["optimizer"] = {"name": "lbfgs", "lr": 1.0, "params": {"history_size": 10}}
    sched = copy.deepcopy(base)
    sched["training"]["schedule"] = {"kind": "cosine", "t_max": 50, "warmup": 5}
    sched["training"]["record_every"] = 25
    sched["training"]["optimizer"] = {"name": "adam", "lr": 0.01, "params": {"betas": [0.9, 0.99]}}
    return [base, csv, lbfgs, sched]


BASES = _valid_bases()


def _paths(node, prefix=()):
    """Every (container path, key) in a plain JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix, k
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix, i
            yield from _paths(v, (*prefix, i))


def _at(d, path):
    for k in path:
        d = d[k]
    return d


@st.composite
def mutated_specs(draw):
    d = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        where = list(_paths(d))
        if not where:
            break
        parent_path, key = draw(st.sampled_from(where))
        parent = _at(d, parent_path)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(JSONISH)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(KEY)] = draw(JSONISH)
        else:
            parent.append(draw(JSONISH))
    return d


@FUZZ
@given(mutated_specs())
def test_mutated_valid_specs(d):
    parses_or_spec_error(d)


@FUZZ
@given(mutated_specs())
def test_mutated_specs_through_json_text(d):
    try:
        text = json.dumps(d)
    except ValueError:  # an int beyond Python's digit limit: not JSON anyone can write
        return
    try:
        ExperimentSpec.from_json(text)
    except SpecError:
        pass


@pytest.mark.parametrize("base", range(len(BASES)))
def test_bases_are_valid(base):
    assert parses_or_spec_error(BASES[base]) is not None


@FUZZ
@given(
    st.sampled_from(BASES), st.sampled_from(["seed", "batch_size", "record_every", "lr", "noise"]), NUMBERS
)
def test_any_number_in_a_number_field(base, field, value):
    d = copy.deepcopy(base)
    target = {
        "seed": d,
        "batch_size": d["training"],
        "record_every": d["training"],
        "lr": d["training"]["optimizer"],
        "noise": d["data"],
    }[field]
    target[field] = value
    spec = parses_or_spec_error(d)
    if spec is None:
        return
    got = {
        "seed": spec.seed,
        "batch_size": spec.training.batch_size,
        "record_every": spec.training.record_every,
        "lr": spec.training.optimizer.lr,
        "noise": spec.data.noise,
    }[field]
    assert math.isfinite(got)
    if isinstance(got, int):  # what reaches numba fits an int64
        assert abs(got) < 2**63
