"""The recurrent views' numbers: |dL/dh_t| per step (how far back the loss reaches), the
hidden states and the gates, from the twins' BPTT."""

from dataclasses import replace

import numpy as np
import pytest

from playground.engine import codes as C
from playground.engine.blocks.recurrent import forward_steps_np
from playground.engine.blocks.registry import Layer
from playground.engine.trainer import Trainer
from playground.engine.twin import _blocks_grad, probe_recurrent
from playground.spec import default_spec

T, F, H = 12, 2, 5


def _trainer(kind, bptt=0, rows=16):
    spec = default_spec()
    spec = replace(
        spec,
        training=replace(spec.training, loss="mse"),
        network=replace(spec.network, output_activation="linear"),
    )
    rng = np.random.default_rng(3)
    X = rng.standard_normal((rows, T, F))
    Y = X[:, 0, :1] + 0.5 * X[:, -1, 1:]
    layers = [
        Layer(kind, T * F, H, C.LINEAR, in_shape=(T, F), units=H, bptt=bptt),
        Layer("dense", H, 1, C.LINEAR),
    ]
    return Trainer(spec, (T, F), 1, X, Y, layers=layers), X, Y


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_last_step_gradient_is_the_output_layers_backprop(kind):
    tr, X, Y = _trainer(kind)
    p = probe_recurrent(tr, X, Y)[0]
    assert p["kind"] == kind and p["hidden"].shape == (len(X), T, H)
    W = tr.layout.views(tr.theta)[1][0]  # the dense output layer (fan_in, fan_out)
    out = tr.predict(X)
    d_out = 2.0 * (out - Y) / out.size  # torch's MSELoss(reduction="mean")
    expected = np.linalg.norm(d_out @ W.T, axis=1).mean()
    assert p["grad_norm"][-1] == pytest.approx(expected, rel=1e-12)
    hs, _ = forward_steps_np(kind, _arrays(tr), X)
    assert np.allclose(p["hidden"], hs[:, 1:], rtol=0, atol=1e-13)


def _arrays(tr):
    th = tr.theta
    return [th[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in tr.plan.arrays[0]]


def test_gradient_at_an_earlier_step_equals_finite_differences_of_its_input():
    """|dL/dh_t| at t = 0 for an rnn: h_1 = tanh(W_ih x_1 + b), so dL/dx_1 = W_ih^T (dL/dh_1 *
    (1 - h_1^2)): the input gradient by central differences gives dL/dh_1 back."""
    tr, X, Y = _trainer("rnn", rows=1)
    p = probe_recurrent(tr, X, Y)[0]
    W_ih = _arrays(tr)[0]
    h1 = p["hidden"][0, 0]

    def loss(x):
        return float(np.mean((tr.predict(x) - Y) ** 2))

    eps = 1e-6
    dx = np.zeros(F)
    for j in range(F):
        xp, xm = X.copy(), X.copy()
        xp[0, 0, j] += eps
        xm[0, 0, j] -= eps
        dx[j] = (loss(xp) - loss(xm)) / (2 * eps)
    # dx = W_ih^T (dh * (1 - h^2)); with H > F the system is underdetermined, so compare the
    # forward map instead: W_ih^T applied to the probe's dL/dh_1 gives the measured dL/dx_1
    probes = {}
    _blocks_grad(tr, tr.theta, np.zeros(tr.layout.n_params), X, Y, 0, False, probes=probes)
    dh1 = probes[0][1][0][0]
    assert np.allclose(W_ih.T @ (dh1 * (1 - h1 * h1)), dx, rtol=1e-6, atol=1e-9)
    assert np.linalg.norm(dh1) == pytest.approx(p["grad_norm"][0], rel=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_truncated_bptt_stops_the_gradient_k_steps_back(kind):
    tr, X, Y = _trainer(kind, bptt=4)
    g = probe_recurrent(tr, X, Y)[0]["grad_norm"]
    assert np.all(g[T - 4 :] > 0) and np.all(g[: T - 4] == 0.0)


def test_lstm_gates_are_sigmoids_and_tanh():
    tr, X, Y = _trainer("lstm")
    gates = probe_recurrent(tr, X, Y)[0]["gates"]
    assert list(gates) == ["input", "forget", "cell", "output"]
    for name in ("input", "forget", "output"):
        assert np.all((gates[name] > 0) & (gates[name] < 1))
    assert np.all(np.abs(gates["cell"]) < 1)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_twin_predictions_of_stacked_recurrent_networks_equal_the_kernels(kind):
    """The numpy engine (used until the kernels are compiled) predicts what the kernels do,
    through a stack: every-step output into a second recurrent layer, then dense."""
    from playground.engine import twin

    spec = default_spec()
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, T, F))
    Y = (X[:, -1, :1] > 0).astype(np.float64)
    layers = [
        Layer(kind, T * F, T * H, C.LINEAR, in_shape=(T, F), units=H, return_sequences=True),
        Layer("gru", T * H, 4, C.LINEAR, in_shape=(T, H), units=4, bptt=3),
        Layer("dense", 4, 1, C.SIGMOID),
    ]
    tr = Trainer(spec, (T, F), 1, X, Y, layers=layers)
    tr.run(5)
    assert np.allclose(twin.predict(tr, X, False, tr.theta), tr.predict(X), rtol=0, atol=1e-13)
