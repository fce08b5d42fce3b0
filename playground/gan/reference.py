"""The numpy twin of the GAN kernels: the same draws, passes, losses and updates, row-major.

Written for clarity, not speed: tests hold it to ``kernels.py`` to 1e-10 (float64) and to
finite differences, and ``benchmarks/check_torch_gan.py`` to PyTorch's autograd. The state
it works on is a ``GanTrainer``'s (``model.py``): its flat parameter vectors, optimizer
states and counters, updated in place exactly as the kernels update them.
"""

from __future__ import annotations

import math

import numpy as np

from playground.engine.blocks.activation import forward_np, grad_np
from playground.engine.codes import (
    DIVERGED_LOSS,
    DIVERGED_PARAMS,
    ELU,
    GELU,
    OK,
    SIGMOID,
    SINE,
    SOFTPLUS,
    TANH,
)
from playground.engine.reference import optimizer_update
from playground.engine.rng import dropout_uniform_np
from playground.gan.kernels import (
    C_D,
    C_G,
    C_TD,
    C_TG,
    LOSS_LS,
    LOSS_MINIMAX,
    LOSS_WGAN_CLIP,
    LOSS_WGAN_GP,
    NOISE_UNIFORM,
    R_EPS,
    R_INDEX,
    R_JITTER,
    R_NOISE,
)


def act_grad2_np(code: int, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
    if code == TANH:
        return -2.0 * a * (1.0 - a * a)
    if code == SIGMOID:
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    if code == ELU:
        return np.where(z > 0, 0.0, a + 1.0)
    if code == GELU:
        return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * (2.0 - z * z)
    if code == SOFTPLUS:
        s = 1.0 / (1.0 + np.exp(-np.minimum(z, 20.0)))
        return np.where(z > 20.0, 0.0, s * (1.0 - s))
    if code == SINE:
        return -np.sin(z)
    return np.zeros_like(z)


# --------------------------------------------------------------------------- draws


def _normals(key: int, step: int, purpose: int, rows: int, dim: int) -> np.ndarray:
    pairs = (dim + 1) // 2
    u = dropout_uniform_np(key, step, purpose, rows, 2 * pairs)
    r = np.sqrt(-2.0 * np.log(1.0 - u[:, 0::2]))
    t = 2.0 * math.pi * u[:, 1::2]
    out = np.empty((rows, 2 * pairs))
    out[:, 0::2] = r * np.cos(t)
    out[:, 1::2] = r * np.sin(t)
    return out[:, :dim]


def noise_np(key: int, step: int, dim: int, dist: int, rows: int) -> np.ndarray:
    if dist == NOISE_UNIFORM:
        return 2.0 * dropout_uniform_np(key, step, R_NOISE, rows, dim) - 1.0
    return _normals(key, step, R_NOISE, rows, dim)


def real_np(key: int, step: int, points: np.ndarray, jitter: float, rows: int) -> np.ndarray:
    n = len(points)
    u = dropout_uniform_np(key, step, R_INDEX, rows, 1)[:, 0]
    k = np.minimum((u * n).astype(np.int64), n - 1)
    return points[k] + jitter * _normals(key, step, R_JITTER, rows, 2)


# --------------------------------------------------------------------------- passes


def forward(net, x):
    """(zs, hs) of every slot: hs[0] = x, hs[l + 1] = act(zs[l + 1]) of layer l."""
    zs, hs = [None], [x]
    for (W, b), code, slope in zip(net.params, net.codes, net.slopes, strict=True):
        z = hs[-1] @ W + b
        zs.append(z)
        hs.append(forward_np(code, z, slope))
    return zs, hs


def backward(net, zs, hs, delta):
    """([(dW, db)] per layer, dLoss/dx) from delta = dLoss/dz of the last layer."""
    grads = []
    L = len(net.params)
    for l in range(L - 1, -1, -1):
        W = net.params[l][0]
        grads.insert(0, (hs[l].T @ delta, delta.sum(0)))
        delta = delta @ W.T
        if l > 0:
            delta = delta * grad_np(net.codes[l - 1], zs[l], hs[l], net.slopes[l - 1])
    return grads, delta


def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def d_loss(loss: int, sr: np.ndarray, sf: np.ndarray):
    """(loss, dL/dsr, dL/dsf) of the discriminator (before any penalty)."""
    nr, nf = len(sr), len(sf)
    if loss in (LOSS_WGAN_GP, LOSS_WGAN_CLIP):
        return sf.mean() - sr.mean(), np.full_like(sr, -1.0 / nr), np.full_like(sf, 1.0 / nf)
    if loss == LOSS_LS:
        return ((sr - 1) ** 2).mean() + (sf**2).mean(), 2 * (sr - 1) / nr, 2 * sf / nf
    return softplus(-sr).mean() + softplus(sf).mean(), (sigmoid(sr) - 1) / nr, sigmoid(sf) / nf


def g_loss(loss: int, sf: np.ndarray):
    """(loss, dL/dsf) of the generator."""
    n = len(sf)
    if loss in (LOSS_WGAN_GP, LOSS_WGAN_CLIP):
        return -sf.mean(), np.full_like(sf, -1.0 / n)
    if loss == LOSS_LS:
        return ((sf - 1) ** 2).mean(), 2 * (sf - 1) / n
    if loss == LOSS_MINIMAX:
        return -softplus(sf).mean(), -sigmoid(sf) / n
    return softplus(-sf).mean(), (sigmoid(sf) - 1) / n


def gradient_penalty(net, xhat, lam):
    """(penalty, [(dW, db)]) of lam * mean((|d s / d xhat| - 1)^2) by double backpropagation."""
    L = len(net.params)
    zs, hs = forward(net, xhat)
    n = len(xhat)
    g = [None] * (L + 1)
    u = [None] * L
    g[L] = np.ones((n, 1))
    for l in range(L - 1, -1, -1):
        u[l] = g[l + 1] @ net.params[l][0].T
        if l > 0:
            g[l] = u[l] * grad_np(net.codes[l - 1], zs[l], hs[l], net.slopes[l - 1])
    nrm = np.sqrt((u[0] ** 2).sum(1))
    pen = lam * ((nrm - 1) ** 2).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(nrm > 0, 2 * lam / n * (nrm - 1) / nrm, 0.0)
    ub = [None] * L
    zb = [None] * (L + 1)
    ub[0] = c[:, None] * u[0]
    gW = [np.zeros_like(W) for W, _ in net.params]
    gb = [np.zeros_like(b) for _, b in net.params]
    for l in range(L):
        W = net.params[l][0]
        gW[l] += ub[l].T @ g[l + 1]
        if l == L - 1:
            break
        gbar = ub[l] @ W
        code, slope = net.codes[l], net.slopes[l]
        ub[l + 1] = gbar * grad_np(code, zs[l + 1], hs[l + 1], slope)
        zb[l + 1] = gbar * u[l + 1] * act_grad2_np(code, zs[l + 1], hs[l + 1], slope)
    for s in range(L - 1, 0, -1):
        gW[s - 1] += hs[s - 1].T @ zb[s]
        gb[s - 1] += zb[s].sum(0)
        if s - 1 > 0:
            zb[s - 1] = zb[s - 1] + (zb[s] @ net.params[s - 1][0].T) * grad_np(
                net.codes[s - 2], zs[s - 1], hs[s - 1], net.slopes[s - 2]
            )
    return pen, list(zip(gW, gb, strict=True))


def _flat(grads) -> np.ndarray:
    return np.concatenate([np.r_[gW.ravel(), gb.ravel()] for gW, gb in grads])


# --------------------------------------------------------------------------- steps


def d_step(tr, out=None) -> int:
    """One discriminator step of trainer ``tr`` (its arrays are updated in place)."""
    c = tr.counters
    key, step, bd = tr.keys[0], int(c[C_D]), tr.spec.discriminator.batch_size
    xr = real_np(key, step, tr.real.base, tr.real.jitter, bd)
    z = noise_np(key, step, tr.noise_dim, tr.noise_code, bd)
    G, D = tr.net_views("generator"), tr.net_views("discriminator")
    xf = forward(G, z)[1][-1]
    x = np.r_[xr, xf]
    zs, hs = forward(D, x)
    s = hs[-1][:, 0]
    val, dr, df = d_loss(tr.loss_code, s[:bd], s[bd:])
    grads, _ = backward(D, zs, hs, np.r_[dr, df][:, None])
    gflat = _flat(grads)
    pen = 0.0
    if tr.loss_code == LOSS_WGAN_GP and tr.spec.training.gp_weight > 0:
        e = dropout_uniform_np(key, step, R_EPS, bd, 1)
        pen, pg = gradient_penalty(D, e * xr + (1 - e) * xf, tr.spec.training.gp_weight)
        gflat = gflat + _flat(pg)
    if out is not None:
        out[:4] = (val + pen, s[:bd].mean(), s[bd:].mean(), pen)
    if not math.isfinite(val + pen):
        return DIVERGED_LOSS
    if not _update(tr, "discriminator", gflat, int(c[C_TD])):
        return DIVERGED_PARAMS
    if tr.loss_code == LOSS_WGAN_CLIP:
        v = tr.spec.training.clip_value
        np.clip(tr.theta_d, -v, v, out=tr.theta_d)
    c[C_D] += 1
    c[C_TD] += 1
    return OK


def g_step(tr, out=None) -> int:
    c = tr.counters
    key, step, bg = tr.keys[1], int(c[C_G]), tr.spec.generator.batch_size
    z = noise_np(key, step, tr.noise_dim, tr.noise_code, bg)
    G, D = tr.net_views("generator"), tr.net_views("discriminator")
    gz, gh = forward(G, z)
    dz, dh = forward(D, gh[-1])
    sf = dh[-1][:, 0]
    val, ds = g_loss(tr.loss_code, sf)
    _, dx = backward(D, dz, dh, ds[:, None])
    delta = dx * grad_np(G.codes[-1], gz[-1], gh[-1], G.slopes[-1])
    grads, _ = backward(G, gz, gh, delta)
    if out is not None:
        out[:2] = (val, sf.mean())
    if not math.isfinite(val):
        return DIVERGED_LOSS
    if not _update(tr, "generator", _flat(grads), int(c[C_TG])):
        return DIVERGED_PARAMS
    c[C_G] += 1
    c[C_TG] += 1
    return OK


def _update(tr, which: str, grad: np.ndarray, t: int) -> bool:
    theta, state = (tr.theta_g, tr.state_g) if which == "generator" else (tr.theta_d, tr.state_d)
    opt, lr, hp = tr.opt_args(which)
    trial = state.astype(np.float64)
    new = optimizer_update(opt, theta.astype(np.float64), grad.astype(np.float64), trial, t, lr, hp)
    new = new.astype(theta.dtype)
    trial = trial.astype(theta.dtype)
    if not (np.isfinite(new).all() and np.isfinite(trial).all()):
        return False
    theta[...] = new
    state[...] = trial
    return True


def train_iterations(tr, n_iters: int, rec: np.ndarray) -> tuple[int, int]:
    dout, gout = np.zeros(4), np.zeros(2)
    for it in range(n_iters):
        for _ in range(tr.spec.training.d_steps):
            st = d_step(tr, dout)
            if st != OK:
                return st, it
        st = g_step(tr, gout)
        if st != OK:
            return st, it
        rec[it, :5] = (dout[0], gout[0], dout[1], dout[2], dout[3])
    return OK, n_iters
