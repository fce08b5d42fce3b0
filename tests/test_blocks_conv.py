"""Convolution, pooling and flatten blocks: gradients against finite differences for every
option, the kernels against the blocks' numpy twins, training and prediction paths agree,
float32, determinism over any split of steps, both matrix backends."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import reference as R
from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec


def _trainer(hidden, shape=(2, 6, 6), n=11, n_out=3, dtype="float64", batch=5, opt="sgd", seed=0):
    spec = ExperimentSpec.from_dict(
        {
            "seed": seed,
            "data": {"kind": "image", "name": "digits"},
            "network": {"hidden": hidden, "output_activation": "softmax", "init": "he_uniform",
                        "bias_init": "torch_default"},
            "training": {"loss": "cce", "batch_size": batch, "dtype": dtype,
                         "optimizer": {"name": opt, "lr": 0.05}},
        }
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, *shape))
    Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    return Trainer(spec, shape, n_out, X, Y), X, Y


CONV = {"kind": "conv2d", "filters": 3, "kernel_size": 3, "activation": "tanh"}
STACKS = {
    "conv same + max pool": [{**CONV, "padding": "same"}, {"kind": "maxpool2d", "size": 2}],
    "conv valid stride 2 no bias": [{**CONV, "stride": 2, "bias": False}],
    "conv even kernel same": [{**CONV, "kernel_size": 2, "padding": "same", "activation": "relu"}],
    "avg pool overlapping": [
        {**CONV, "activation": "sigmoid"},
        {"kind": "avgpool2d", "size": 3, "stride": 1},
    ],
    "max pool stride > size": [{"kind": "maxpool2d", "size": 2, "stride": 3}, {**CONV, "kernel_size": 2}],
    "two convs, flatten, dense": [
        {**CONV, "padding": "same", "activation": "leaky_relu"},
        {"kind": "maxpool2d", "size": 2},
        {**CONV, "filters": 4, "kernel_size": 2, "activation": "elu"},
        {"kind": "flatten"},
        {"kind": "dense", "units": 5, "activation": "tanh"},
    ],
    "conv with dropout": [{**CONV, "padding": "same", "dropout": 0.3}],
}


def _fd(tr, theta, train=False, eps=1e-6):
    fd = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        fd[i] = (tr.loss_and_grad(tp, train=train)[0] - tr.loss_and_grad(tm, train=train)[0]) / (2 * eps)
    return fd


BACKEND_CASES = [(name, "gemm") for name in STACKS] + [
    ("two convs, flatten, dense", "loops"),
    ("conv valid stride 2 no bias", "loops"),
    ("avg pool overlapping", "loops"),
]  # the loops' convolution and pooling code is the same for every stack: three cover it


@pytest.mark.parametrize(("name", "backend"), BACKEND_CASES)
def test_gradient_matches_finite_differences(name, backend):
    tr, _, _ = _trainer(STACKS[name])
    tr.backend = backend
    theta = tr.theta.copy()
    train = any(layer.get("dropout") for layer in STACKS[name])  # the same masks every call
    _, g = tr.loss_and_grad(theta, train=train)
    np.testing.assert_allclose(g, _fd(tr, theta, train), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", list(STACKS))
def test_prediction_matches_the_blocks_numpy_twins(name):
    tr, X, _ = _trainer(STACKS[name])
    tr.run(3)
    outs = R.forward_blocks(tr.plan, tr.theta, X)
    np.testing.assert_allclose(tr.predict(X), outs[-1], rtol=1e-10, atol=1e-13)
    # the loss of the training path (row-major kernels) equals the twins' on the same data
    lv, _ = tr.loss_and_grad()
    twin_loss = -np.mean(np.sum(tr.Y * np.log(outs[-1]), axis=1))
    assert lv == pytest.approx(twin_loss, rel=1e-10)


def test_conv_and_pool_twins_match_the_kernels_layer_by_layer():
    """Every block's output, not only the last: hidden=True returns all activations."""
    tr, X, _ = _trainer(STACKS["two convs, flatten, dense"])
    out, hid = tr.predict(X, hidden=True)
    outs = R.forward_blocks(tr.plan, tr.theta, X)
    np.testing.assert_allclose(hid, np.concatenate([o.reshape(len(X), -1) for o in outs], axis=1), rtol=1e-10)


def test_training_is_deterministic_over_any_split_and_matches_loops():
    stack = STACKS["two convs, flatten, dense"]
    a, _, _ = _trainer(stack, opt="adam")
    b, _, _ = _trainer(stack, opt="adam")
    c, _, _ = _trainer(stack, opt="adam")
    c.backend = "loops"
    a.run(23)
    for k in (1, 7, 15):
        b.run(k)
    c.run(23)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.opt_state, b.opt_state)
    np.testing.assert_allclose(a.theta, c.theta, rtol=1e-10, atol=1e-13)


def test_float32_trains_and_follows_float64():
    stack = STACKS["conv same + max pool"]
    t64, _, _ = _trainer(stack)
    t32, _, _ = _trainer(stack, dtype="float32")
    r64, r32 = t64.run(10), t32.run(10)
    assert r32.status == 0 and t32.theta.dtype == np.float32
    np.testing.assert_allclose(r32.batch_losses, r64.batch_losses, rtol=1e-4)


def test_conv_parameters_have_pytorch_shapes_and_initialisation_bounds():
    tr, _, _ = _trainer([{**CONV, "filters": 8, "padding": "same"}], shape=(1, 8, 8))
    (name_w, shape_w, _), (name_b, shape_b, _) = tr.plan.arrays[0]
    assert (name_w, shape_w, name_b, shape_b) == ("weight", (8, 1, 3, 3), "bias", (8,))
    W, b = tr.layout.views(tr.theta)[0]
    # he_uniform: U(+-sqrt(6 / fan_in)), fan_in = in * k * k = 9; bias U(+-1 / sqrt(9))
    assert W.shape == (8, 1, 3, 3) and np.abs(W).max() <= np.sqrt(6 / 9) and np.abs(b).max() <= 1 / 3
    assert np.abs(W).max() > 0.5 * np.sqrt(6 / 9)


def test_quick_start_trains_a_cnn_on_the_blocks_twins_as_the_kernels_would(monkeypatch):
    """While the kernels of non-dense blocks compile in the background, the trainer runs on
    the blocks' numpy twins: the same batches, dropout masks, updates and numbers (float64)."""
    from playground.engine import readiness

    stack = [{**STACKS["two convs, flatten, dense"][0], "dropout": 0.2}] + STACKS[
        "two convs, flatten, dense"
    ][1:]
    kern, X, Y = _trainer(stack, opt="adam")
    twins, _, _ = _trainer(stack, opt="adam")
    assert kern.engine_key == "float64-blocks"
    r_kern = kern.run(9)
    labels = Y.argmax(axis=1)
    want = (
        kern.predict(X, hidden=True),
        kern.metrics(kern.eval_buffers(X, Y, labels), 0.5),
        kern.loss_and_grad(),
    )
    monkeypatch.setattr(readiness, "kernels_ready", lambda key: not readiness.split_key(key)[1])
    assert twins.on_twins()  # the kernels of dense networks are ready, those of blocks are not
    r_twin = twins.run(9)
    np.testing.assert_allclose(r_twin.batch_losses, r_kern.batch_losses, rtol=1e-12)
    np.testing.assert_allclose(r_twin.layer_grad_sq, r_kern.layer_grad_sq, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(twins.theta, kern.theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(twins.opt_state, kern.opt_state, rtol=1e-12, atol=1e-14)
    for got, exp in zip(twins.predict(X, hidden=True), want[0], strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(twins.metrics(twins.eval_buffers(X, Y, labels), 0.5), want[1], rtol=1e-10)
    lv, g = twins.loss_and_grad()
    assert lv == pytest.approx(want[2][0], rel=1e-12)
    np.testing.assert_allclose(g, want[2][1], rtol=1e-10, atol=1e-14)
