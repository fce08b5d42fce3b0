"""Layer blocks: the plan a network is laid out as, and block-by-block initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import codes as C
from playground.engine.blocks import BLOCKS, Layer, Plan
from playground.engine.blocks.registry import P_BOFF, P_END, P_IN, P_KIND, P_OUT, P_WOFF
from playground.engine.initializers import init_params
from playground.engine.trainer import Layout


def _dense_plan(sizes, acts=None):
    acts = acts or [C.TANH] * (len(sizes) - 2) + [C.SIGMOID]
    return Plan([Layer("dense", a, b, c) for a, b, c in zip(sizes[:-1], sizes[1:], acts, strict=True)])


def test_dense_plan_lays_out_weights_then_bias_layer_by_layer():
    plan = _dense_plan([2, 8, 8, 1])
    assert plan.n_params == (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    rows = plan.ints
    assert rows[:, P_KIND].tolist() == [C.BLOCK_DENSE] * 3
    assert rows[:, P_IN].tolist() == [2, 8, 8] and rows[:, P_OUT].tolist() == [8, 8, 1]
    assert rows[:, P_WOFF].tolist() == [0, 24, 96]
    assert rows[:, P_BOFF].tolist() == [16, 88, 104]
    assert rows[:, P_END].tolist() == [24, 96, 105]
    assert plan.units.tolist() == [2, 8, 8, 1] and plan.width() == 19 and plan.max_units() == 8
    assert plan.offsets(10).tolist() == [0, 20, 100, 180]
    assert [name for name, _ in BLOCKS["dense"].params(Layer("dense", 3, 4, C.RELU))] == ["weight", "bias"]


def test_plan_initialisation_draws_what_init_params_draws():
    """Block-by-block drawing keeps the draw order of the dense initialiser, so a seed gives
    the same network as before blocks existed (sessions and lessons depend on it)."""
    sizes = [3, 5, 4, 2]
    for init, bias in (("he_normal", "torch_default"), ("glorot_uniform", 0.1)):
        plan = _dense_plan(sizes)
        theta = plan.initial_theta(init, bias, np.random.default_rng(7), np.float64)
        expected = init_params(sizes, init, bias, np.random.default_rng(7))
        for (W, b), (eW, eb) in zip(Layout(plan).views(theta), expected, strict=True):
            np.testing.assert_array_equal(W, eW)
            np.testing.assert_array_equal(b, eb)


def test_plan_rejects_layers_that_do_not_chain_and_unknown_kinds():
    with pytest.raises(ValueError, match="takes 4 inputs, the layer before gives 3"):
        Plan([Layer("dense", 2, 3, C.RELU), Layer("dense", 4, 1, C.LINEAR)])
    with pytest.raises(KeyError, match="unknown layer kind 'conv9d'"):
        Plan([Layer("conv9d", 2, 3, C.RELU)])
    with pytest.raises(ValueError, match="at least one layer"):
        Plan([])
