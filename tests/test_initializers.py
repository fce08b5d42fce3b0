"""Weight initializers: shapes, distributions against their formulas, determinism, draw order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.engine.initializers import INITIALIZERS, init_bias, init_params, init_weight
from playground.spec import INITIALIZERS as SPEC_INITIALIZERS

FAN_IN, FAN_OUT = 800, 1200  # ~1e6 draws: the sample std is within ~0.1% of the true one

# name -> ("uniform", bound) or ("normal", std) for (FAN_IN, FAN_OUT)
EXPECTED = {
    "glorot_uniform": ("uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "glorot_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": ("uniform", math.sqrt(6 / FAN_IN)),
    "he_normal": ("normal", math.sqrt(2 / FAN_IN)),
    "lecun_normal": ("normal", math.sqrt(1 / FAN_IN)),
    "uniform": ("uniform", 0.5),
    "torch_default": ("uniform", 1 / math.sqrt(FAN_IN)),
}


def test_registry_matches_spec_and_has_descriptions():
    assert INITIALIZERS.names() == list(SPEC_INITIALIZERS)
    for name, entry in INITIALIZERS.items():
        assert entry.name == name and entry.description and "\n" not in entry.description


@pytest.mark.parametrize("name", list(EXPECTED))
def test_distribution_matches_formula(name):
    W = init_weight(name, FAN_IN, FAN_OUT, np.random.default_rng(1))
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == np.float64
    kind, scale = EXPECTED[name]
    std = scale / math.sqrt(3) if kind == "uniform" else scale
    assert abs(W.std() / std - 1) < 0.01
    assert abs(W.mean()) < 0.01 * std
    if kind == "uniform":
        assert np.abs(W).max() <= scale
        assert np.abs(W).max() > 0.999 * scale  # fills the whole interval
    else:
        # normal, not truncated: about 0.27% of draws lie beyond 3 std
        assert 0.002 < np.mean(np.abs(W) > 3 * std) < 0.0035


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_shapes_and_determinism(name):
    a = init_weight(name, 3, 5, np.random.default_rng(7))
    b = init_weight(name, 3, 5, np.random.default_rng(7))
    assert a.shape == (3, 5)
    np.testing.assert_array_equal(a, b)
    if name != "zeros":
        assert not np.array_equal(a, init_weight(name, 3, 5, np.random.default_rng(8)))


def test_zeros_gives_zeros_and_draws_nothing():
    rng = np.random.default_rng(3)
    W = init_weight("zeros", 4, 6, rng)
    np.testing.assert_array_equal(W, np.zeros((4, 6)))
    assert rng.random() == np.random.default_rng(3).random()


def test_init_params_shapes_and_constant_bias():
    params = init_params([2, 8, 4, 1], "glorot_uniform", 0.1, np.random.default_rng(0))
    assert [(W.shape, b.shape) for W, b in params] == [((2, 8), (8,)), ((8, 4), (4,)), ((4, 1), (1,))]
    for _, b in params:
        np.testing.assert_array_equal(b, np.full(b.shape, 0.1))


def test_init_params_draw_order_w_then_b():
    sizes = [3, 5, 2]
    params = init_params(sizes, "he_normal", "torch_default", np.random.default_rng(42))
    rng = np.random.default_rng(42)
    for (W, b), (fan_in, fan_out) in zip(params, zip(sizes[:-1], sizes[1:])):
        np.testing.assert_array_equal(W, rng.normal(0.0, math.sqrt(2 / fan_in), size=(fan_in, fan_out)))
        bound = 1 / math.sqrt(fan_in)
        np.testing.assert_array_equal(b, rng.uniform(-bound, bound, size=fan_out))


def test_torch_default_bias_bounds():
    b = init_bias("torch_default", 400, 100_000, np.random.default_rng(5))
    assert np.abs(b).max() <= 1 / 20 and np.abs(b).max() > 0.999 / 20
    assert abs(b.std() / (1 / 20 / math.sqrt(3)) - 1) < 0.01


def test_errors():
    with pytest.raises(KeyError, match="unknown initializer"):
        init_params([2, 1], "orthogonal", 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError):
        init_params([2, 1], "zeros", "ones", np.random.default_rng(0))
    with pytest.raises(ValueError):
        init_params([2], "zeros", 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError):
        init_weight("zeros", 0, 3, np.random.default_rng(0))
