"""Property-based tests of the GAN spec parser: any JSON-like input gives a valid GanSpec that
round-trips, or a SpecError naming the field; never another exception. A valid spec builds a
trainer that takes a step."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.errors import SpecError
from playground.gan import GanSpec, GanTrainer

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = sorted(
    {
        "schema_version", "seed", "name", "data", "noise", "generator", "discriminator", "training",
        "kind", "modes", "radius", "std", "points", "path", "x_column", "y_column", "dim",
        "distribution", "hidden", "units", "activation", "negative_slope", "init", "bias_init",
        "optimizer", "lr", "params", "betas", "eps", "momentum", "batch_size",
        "output_activation", "loss", "d_steps", "gp_weight", "clip_value", "dtype",
    }
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, 1, -1, 2**63, 10**400, 4, 9, 16]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["ring", "grid", "points", "csv", "adam", "sgd", "wgan_gp", "tanh", "uniform"]),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEY, inner, max_size=6)),
    max_leaves=30,
)


def parses_or_spec_error(d):
    try:
        spec = GanSpec.from_dict(d)
    except SpecError as e:
        assert isinstance(e.path, str) and e.message and "\n" not in str(e)
        return None
    assert GanSpec.from_dict(json.loads(spec.to_json())) == spec  # what it writes, it reads
    return spec


@FUZZ
@given(JSONISH)
def test_any_json_gives_a_spec_or_a_spec_error(d):
    parses_or_spec_error(d)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(KEYS), JSONISH), min_size=1, max_size=3))
def test_mutations_of_a_valid_spec(changes):
    d = GanSpec().to_dict()
    for key, value in changes:
        target = d
        for part in ("generator", "discriminator", "training", "data", "noise"):
            if isinstance(d.get(part), dict) and key in d[part]:
                target = d[part]
                break
        target[key] = copy.deepcopy(value)
    parses_or_spec_error(d)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["ring", "grid", "moons", "spiral", "line", "gaussian"]),
    st.integers(1, 3),
    st.sampled_from(["minimax", "non_saturating", "least_squares", "wgan_gp", "wgan_clip"]),
    st.integers(1, 40),
)
def test_valid_specs_train(kind, dim, loss, batch):
    d = {
        "data": {"kind": kind, "modes": 4 if kind == "grid" else 3},
        "noise": {"dim": dim},
        "generator": {"hidden": [{"units": 3}], "batch_size": batch},
        "discriminator": {"hidden": [{"units": 4}], "batch_size": batch},
        "training": {"loss": loss, "d_steps": 1, "dtype": "float64"},
    }
    tr = GanTrainer(GanSpec.from_dict(d))
    assert tr.run(2).iterations == 2
