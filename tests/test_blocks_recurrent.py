"""Recurrent blocks (rnn, lstm, gru): gradients through time against finite differences for
every option and both matrix backends, truncated backpropagation, the inference path
against the numpy twins, determinism over any split of steps, float32."""

from __future__ import annotations

import numpy as np
import pytest

from playground.engine import codes as C
from playground.engine.blocks import Layer, recurrent
from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec


def _trainer(kind, retseq=False, bptt=0, relu=False, T=5, F=2, H=3, n=7, dtype="float64", opt="sgd", seed=1):
    rec = Layer(
        kind, T * F, T * H if retseq else H, C.LINEAR, in_shape=(T, F), units=H, return_sequences=retseq,
        bptt=bptt, cell_activation=C.RELU if relu else C.TANH,
    )  # fmt: skip
    layers = [rec] + ([Layer("flatten", T * H, T * H, C.LINEAR)] if retseq else [])
    layers.append(Layer("dense", layers[-1].n_out, 2, C.LINEAR))
    spec = ExperimentSpec.from_dict(
        {
            "seed": seed,
            "network": {"output_activation": "linear", "init": "torch_default", "bias_init": "torch_default"},
            "training": {
                "loss": "mse",
                "batch_size": 4,
                "dtype": dtype,
                "optimizer": {"name": opt, "lr": 0.05},
            },
        }
    )
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, T, F)), rng.normal(size=(n, 2))
    return Trainer(spec, (T, F), 2, X, Y, layers=layers), X


def _fd(tr, theta, eps=1e-6):
    fd = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        fd[i] = (tr.loss_and_grad(tp)[0] - tr.loss_and_grad(tm)[0]) / (2 * eps)
    return fd


CASES = [(k, r, relu) for k in ("rnn", "lstm", "gru") for r in (False, True) for relu in (False,)]
CASES.append(("rnn", False, True))


@pytest.mark.parametrize("backend", ["gemm", "loops"])
@pytest.mark.parametrize(("kind", "retseq", "relu"), CASES)
def test_gradient_through_time_matches_finite_differences(kind, retseq, relu, backend):
    tr, _ = _trainer(kind, retseq, relu=relu)
    tr.backend = backend
    theta = tr.theta.copy()
    _, g = tr.loss_and_grad(theta)
    np.testing.assert_allclose(g, _fd(tr, theta), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("bptt", [1, 2, 3, 5])
def test_truncated_bptt_is_backpropagation_cut_every_k_steps_from_the_end(bptt):
    """The simple RNN's gradient with bptt=k equals a numpy backpropagation through time that
    stops the recurrent gradient every k steps counted from the last (k >= length: full)."""
    tr, X = _trainer("rnn", bptt=bptt)
    _, g = tr.loss_and_grad()
    (_, s_ih, o_ih), (_, s_hh, o_hh), (_, s_b, o_bi), (_, _, o_bh) = tr.plan.arrays[0]
    W_ih = tr.theta[o_ih : o_ih + np.prod(s_ih)].reshape(s_ih)
    W_hh = tr.theta[o_hh : o_hh + np.prod(s_hh)].reshape(s_hh)
    b = tr.theta[o_bi : o_bi + s_b[0]] + tr.theta[o_bh : o_bh + s_b[0]]
    W_out, b_out = tr.layout.views(tr.theta)[-1]
    n, T, _ = X.shape
    hs = [np.zeros((n, s_hh[1]))]
    for t in range(T):
        hs.append(np.tanh(X[:, t] @ W_ih.T + hs[-1] @ W_hh.T + b))
    dout = 2 * (hs[-1] @ W_out + b_out - tr.Y) / tr.Y.size  # mse
    dh = dout @ W_out.T
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b)
    for t in range(T - 1, -1, -1):
        dA = dh * (1 - hs[t + 1] ** 2)
        dW_ih += dA.T @ X[:, t]
        dW_hh += dA.T @ hs[t]
        db += dA.sum(axis=0)
        dh = np.zeros_like(dh) if (T - t) % bptt == 0 else dA @ W_hh
    np.testing.assert_allclose(g[o_ih : o_ih + dW_ih.size], dW_ih.ravel(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g[o_hh : o_hh + dW_hh.size], dW_hh.ravel(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g[o_bi : o_bi + db.size], db, rtol=1e-10, atol=1e-14)
    if bptt < T:
        full, _ = _trainer("rnn")
        assert not np.allclose(full.loss_and_grad()[1], g)  # the cut changes the gradient


@pytest.mark.parametrize(("kind", "retseq", "relu"), CASES)
def test_prediction_matches_the_numpy_twin(kind, retseq, relu):
    tr, X = _trainer(kind, retseq, relu=relu)
    tr.run(5)
    arrays = [tr.theta[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in tr.plan.arrays[0]]
    h = recurrent.forward_np(kind, arrays, X, retseq, relu)
    W, b = tr.layout.views(tr.theta)[-1]
    np.testing.assert_allclose(tr.predict(X), h.reshape(len(X), -1) @ W + b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_deterministic_over_any_split_and_float32_follows(kind):
    a, _ = _trainer(kind, retseq=True, opt="adam")
    b, _ = _trainer(kind, retseq=True, opt="adam")
    a.run(21)
    for k in (2, 9, 10):
        b.run(k)
    np.testing.assert_array_equal(a.theta, b.theta)
    f32, _ = _trainer(kind, retseq=True, opt="adam", dtype="float32")
    f64, _ = _trainer(kind, retseq=True, opt="adam")
    np.testing.assert_allclose(f32.run(21).batch_losses, f64.run(21).batch_losses, rtol=1e-4)


def test_lstm_parameters_have_pytorch_names_shapes_and_init():
    tr, _ = _trainer("lstm", H=8, F=3)
    names = [(n, s) for n, s, _ in tr.plan.arrays[0]]
    assert names == [("weight_ih", (32, 3)), ("weight_hh", (32, 8)), ("bias_ih", (32,)), ("bias_hh", (32,))]
    bound = 1 / np.sqrt(8)  # torch: every array U(+-1/sqrt(hidden_size))
    lo, hi = tr.plan.arrays[0][0][2], tr.plan.ints[0, 5]
    assert np.abs(tr.theta[lo:hi]).max() <= bound and np.abs(tr.theta[lo:hi]).max() > 0.8 * bound


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_quick_start_trains_recurrent_networks_on_the_blocks_twins(kind, monkeypatch):
    """Before their kernels are compiled, recurrent networks train on the numpy twins with the
    kernels' numbers (every step output, truncated backpropagation, Adam)."""
    from playground.engine import readiness

    kern, _ = _trainer(kind, retseq=True, bptt=2, opt="adam")
    twins, _ = _trainer(kind, retseq=True, bptt=2, opt="adam")
    r_kern = kern.run(11)
    monkeypatch.setattr(readiness, "kernels_ready", lambda key: not readiness.split_key(key)[1])
    assert twins.on_twins()
    r_twin = twins.run(11)
    np.testing.assert_allclose(r_twin.batch_losses, r_kern.batch_losses, rtol=1e-12)
    np.testing.assert_allclose(twins.theta, kern.theta, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["gemm", "loops"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_large_batches_match_the_numpy_twins(kind, backend):
    """Batches whose whole-sequence products are split into single-threaded BLAS pieces (more
    than 2.6e5 multiply-adds: along K for the weight gradients, along M for the input
    projection), every step output and truncated: the loss and gradient equal the twins'."""
    from playground.engine import twin

    T, F, H, n = 9, 40, 16, 96
    rec = Layer(kind, T * F, T * H, C.LINEAR, in_shape=(T, F), units=H, return_sequences=True, bptt=4)
    layers = [rec, Layer("flatten", T * H, T * H, C.LINEAR), Layer("dense", T * H, 3, C.LINEAR)]
    spec = ExperimentSpec.from_dict(
        {
            "seed": 3,
            "network": {"output_activation": "linear", "init": "torch_default", "bias_init": "torch_default"},
            "training": {"loss": "mse", "batch_size": n, "optimizer": {"name": "sgd", "lr": 0.05}},
        }
    )
    rng = np.random.default_rng(3)
    tr = Trainer(spec, (T, F), 3, rng.normal(size=(n, T, F)), rng.normal(size=(n, 3)), layers=layers)
    tr.backend = backend
    assert 4 * H * F * T * n > recurrent._ONE_THREAD  # the input projection is split
    lv, g = tr.loss_and_grad()
    lv_twin, g_twin = twin.loss_and_grad(tr)
    assert lv == pytest.approx(lv_twin, rel=1e-12)
    np.testing.assert_allclose(g, g_twin, rtol=1e-10, atol=1e-14)
