"""Numba kernels of GAN training: many iterations per call, ``nogil``, cached.

Both networks are dense stacks over a flat parameter vector laid out by the engine's
``Plan`` (``engine/blocks/registry.py``), W stored (fan_in, fan_out). Activations are
*feature-major* (unit j of a slot holds ``rows`` contiguous values), so every inner loop runs
over the rows of a batch and vectorises even through the 2-unit input and 1-unit output
layers; the forward pass is the engine's own ``dense.forward_columns`` and
``activation.forward_columns``, updates are ``kernels._optimizer_update_into`` (torch.optim's
definitions, committed only when finite).

A net is the tuple ``(plan, slopes, starts, theta, grad, spare, state, state_spare, hp)``;
``starts[l] * rows`` is where activation slot l begins in buffers of ``rows`` rows; its
buffers ``(z, a, d, dx)``. Random numbers come from the counter-based RNG
(``engine/rng.py``): the draws of D step t are a pure function of (key, t, purpose, row,
column), so a run does not depend on how iterations are split into calls, and a resumed
session continues bit for bit. The numpy twin is ``reference.py`` (tests: 1e-10).

Losses on the discriminator's logit s (``LOSS_*``): minimax and non-saturating share D's
loss softplus(-s_real) + softplus(s_fake) (BCE with logits); G minimises -softplus(s_fake)
(minimax: log(1 - D)) or softplus(-s_fake) (non-saturating: -log D); least squares is
torch's MSELoss with targets 1 / 0 (G: 1); Wasserstein critics minimise mean s_fake -
mean s_real, G minimises -mean s_fake, with a gradient penalty lambda * mean((|grad_x s| -
1)^2) at random interpolates (WGAN-GP, double backpropagation below) or clamped parameters.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from playground.engine.blocks import activation, dense
from playground.engine.blocks.dense import _axpy, _dot
from playground.engine.blocks.registry import P_ACT, P_BOFF, P_IN, P_OUT, P_WOFF
from playground.engine.codes import (
    DIVERGED_LOSS,
    DIVERGED_PARAMS,
    ELU,
    GELU,
    LEAKY_RELU,
    OK,
    RELU,
    SIGMOID,
    SINE,
    SOFTPLUS,
    TANH,
)
from playground.engine.jit import JIT, JIT_INLINE
from playground.engine.kernels import _copy2, _optimizer_update_into
from playground.engine.rng import dropout_base, dropout_uniform

LOSS_MINIMAX, LOSS_NS, LOSS_LS, LOSS_WGAN_GP, LOSS_WGAN_CLIP = range(5)
NOISE_NORMAL, NOISE_UNIFORM = range(2)
# purposes of the random draws (the "layer" field of rng.dropout_uniform)
R_INDEX, R_JITTER, R_NOISE, R_EPS = range(1, 5)
# columns of the per-iteration record
REC_D_LOSS, REC_G_LOSS, REC_D_REAL, REC_D_FAKE, REC_GP = range(5)
REC_WIDTH = 5
# counters (int64[4], updated in place): D steps, G steps, D and G optimizer updates
C_D, C_G, C_TD, C_TG = range(4)
_TWO_PI = 2.0 * math.pi
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@njit(**JIT_INLINE)
def softplus(x):
    """log(1 + e^x) without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(**JIT_INLINE)
def act_grad2(code, z, a, slope):
    """d^2 act / d z^2 (0 for piecewise-linear activations), given z and a = act(z)."""
    if code == TANH:
        return -2.0 * a * (1.0 - a * a)
    if code == SIGMOID:
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    if code == ELU:
        return 0.0 if z > 0 else a + 1.0
    if code == GELU:
        return math.exp(-0.5 * z * z) * _INV_SQRT_2PI * (2.0 - z * z)
    if code == SOFTPLUS:
        if z > 20.0:
            return 0.0
        s = activation.sigmoid(z)
        return s * (1.0 - s)
    if code == SINE:
        return -math.sin(z)
    return 0.0


# --------------------------------------------------------------------------- random draws


@njit(**JIT_INLINE)
def _normal_pair(base, purpose, row, col):
    """Two N(0, 1) values (Box-Muller) from uniforms (row, col) and (row, col + 1)."""
    u1 = dropout_uniform(base, purpose, row, col)
    u2 = dropout_uniform(base, purpose, row, col + 1)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    return r * math.cos(_TWO_PI * u2), r * math.sin(_TWO_PI * u2)


@njit(**JIT)
def draw_noise(base, dim, dist, out, rows):
    """Noise for ``rows`` rows into out[: dim * rows], feature-major."""
    for i in range(rows):
        if dist == NOISE_UNIFORM:
            for j in range(dim):
                out[j * rows + i] = 2.0 * dropout_uniform(base, R_NOISE, i, j) - 1.0
        else:
            for p in range(0, dim, 2):
                n0, n1 = _normal_pair(base, R_NOISE, i, p)
                out[p * rows + i] = n0
                if p + 1 < dim:
                    out[(p + 1) * rows + i] = n1


@njit(**JIT)
def draw_real(base, points, jitter, out, rows, stride):
    """``rows`` real points: a uniformly chosen base point + N(0, jitter^2) per coordinate;
    x at out[i], y at out[stride + i]."""
    n = points.shape[0]
    for i in range(rows):
        k = min(int(dropout_uniform(base, R_INDEX, i, 0) * n), n - 1)
        n0, n1 = _normal_pair(base, R_JITTER, i, 0)
        out[i] = points[k, 0] + jitter * n0
        out[stride + i] = points[k, 1] + jitter * n1


# --------------------------------------------------------------------------- passes


@njit(**JIT)
def forward(plan, slopes, theta, starts, z, a, rows):
    """All layers on ``rows`` rows whose input is a[: n_in * rows] (feature-major)."""
    for l in range(plan.shape[0]):
        doff = starts[l + 1] * rows
        dense.forward_columns(theta, plan[l], a, starts[l] * rows, z, doff, rows)
        if plan[l, P_ACT] == LEAKY_RELU:  # branch-free, so it vectorises (GAN's usual choice)
            n = rows * plan[l, P_OUT]
            zz = z[doff : doff + n]
            aa = a[doff : doff + n]
            s = slopes[l]
            for t in range(n):
                aa[t] = zz[t] if zz[t] > 0.0 else s * zz[t]
        else:
            activation.forward_columns(plan[l, P_ACT], slopes[l], z, a, doff, rows, plan[l, P_OUT])


@njit(**JIT_INLINE)
def _add_param_grad(grad, row, a, aoff, d, doff, rows):
    """A dense layer's weight and bias gradient from its inputs a[aoff:] and its dL/dz
    d[doff:] (feature-major, ``rows`` per feature), added into ``grad``."""
    fin, fout, woff, boff = row[P_IN], row[P_OUT], row[P_WOFF], row[P_BOFF]
    for j in range(fout):
        dj = d[doff + j * rows : doff + (j + 1) * rows]
        s = 0.0
        for i in range(rows):
            s += dj[i]
        grad[boff + j] += s
        for k in range(fin):
            grad[woff + k * fout + j] += _dot(a[aoff + k * rows : aoff + (k + 1) * rows], dj)


@njit(**JIT)
def backward(plan, slopes, theta, grad, starts, z, a, d, dx, rows, want_grad, want_dx):
    """From d at the output slot (dLoss/dz of the last layer): grad += dLoss/dtheta (with
    ``want_grad``) and dx[: n_in * rows] = dLoss/dinput (with ``want_dx``)."""
    for l in range(plan.shape[0] - 1, -1, -1):
        row = plan[l]
        fin, fout, woff = row[P_IN], row[P_OUT], row[P_WOFF]
        soff = starts[l] * rows
        doff = starts[l + 1] * rows
        if want_grad:
            _add_param_grad(grad, row, a, soff, d, doff, rows)
        if l == 0 and not want_dx:
            break
        for k in range(fin):
            if l > 0:
                tgt = d[soff + k * rows : soff + (k + 1) * rows]
            else:
                tgt = dx[k * rows : (k + 1) * rows]
            for i in range(rows):
                tgt[i] = 0.0
            for j in range(fout):
                _axpy(tgt, theta[woff + k * fout + j], d[doff + j * rows : doff + (j + 1) * rows])
            if l > 0:
                code = plan[l - 1, P_ACT]
                slope = slopes[l - 1]
                zz = z[soff + k * rows : soff + (k + 1) * rows]
                aa = a[soff + k * rows : soff + (k + 1) * rows]
                if code == RELU:  # the common cases, branch-free so they vectorise
                    for i in range(rows):
                        tgt[i] = tgt[i] if zz[i] > 0.0 else 0.0
                elif code == LEAKY_RELU:
                    for i in range(rows):
                        tgt[i] = tgt[i] if zz[i] > 0.0 else slope * tgt[i]
                else:
                    for i in range(rows):
                        tgt[i] *= activation.act_grad(code, zz[i], aa[i], slope)


@njit(**JIT)
def output_delta(loss, is_g, s, d, rows, real_rows):
    """dLoss/ds into d for logits s[:rows] (the first ``real_rows`` real, the rest fake for D;
    all fake for G); returns (loss, mean s of real rows, mean s of fake rows)."""
    tot = 0.0
    sr = 0.0
    sf = 0.0
    nr = real_rows
    nf = rows - real_rows
    for i in range(rows):
        x = s[i]
        real = i < real_rows
        inv = 1.0 / (nr if real else nf)
        if real:
            sr += x
        else:
            sf += x
        if loss == LOSS_WGAN_GP or loss == LOSS_WGAN_CLIP:
            if is_g:
                tot -= x * inv
                d[i] = -inv
            else:
                tot += (-x if real else x) * inv
                d[i] = -inv if real else inv
        elif loss == LOSS_LS:
            t = 1.0 if (real or is_g) else 0.0
            tot += (x - t) * (x - t) * inv
            d[i] = 2.0 * (x - t) * inv
        else:
            sg = activation.sigmoid(x)
            if is_g and loss == LOSS_MINIMAX:  # minimise log(1 - D) = -softplus(s)
                tot -= softplus(x) * inv
                d[i] = -sg * inv
            elif real or is_g:  # BCE(s, 1)
                tot += softplus(-x) * inv
                d[i] = (sg - 1.0) * inv
            else:  # BCE(s, 0)
                tot += softplus(x) * inv
                d[i] = sg * inv
    return tot, sr / max(nr, 1), sf / max(nf, 1)


@njit(**JIT)
def gradient_penalty(plan, slopes, theta, grad, starts, gp_bufs, x_real, x_fake, stride, base, rows, lam):
    """grad += d/dtheta of lam * mean_i (|d s / d x (xhat_i)| - 1)^2 at xhat = eps x_real +
    (1 - eps) x_fake (eps ~ U(0, 1) per row); returns the penalty.

    Double backpropagation: the input gradient is itself a network (u_{l-1} = g_l W_l^T,
    g_l = u_l * act'(z_l)), differentiated in reverse; act'' terms feed back through the
    forward pass (they vanish for relu / leaky relu)."""
    z, a, g, u, ub, zb, tmp = gp_bufs
    L = plan.shape[0]
    for i in range(rows):
        e = dropout_uniform(base, R_EPS, i, 0)
        a[i] = e * x_real[i] + (1.0 - e) * x_fake[i]
        a[rows + i] = e * x_real[stride + i] + (1.0 - e) * x_fake[stride + i]
    forward(plan, slopes, theta, starts, z, a, rows)
    # the input gradient: g at slot L is 1, then down the layers
    o = starts[L] * rows
    for i in range(rows):
        g[o + i] = 1.0
    for l in range(L - 1, -1, -1):
        row = plan[l]
        fin, fout, woff = row[P_IN], row[P_OUT], row[P_WOFF]
        so = starts[l] * rows
        do = starts[l + 1] * rows
        for k in range(fin):
            uk = u[so + k * rows : so + (k + 1) * rows]
            for i in range(rows):
                uk[i] = 0.0
            for j in range(fout):
                _axpy(uk, theta[woff + k * fout + j], g[do + j * rows : do + (j + 1) * rows])
            if l > 0:
                code, slope = plan[l - 1, P_ACT], slopes[l - 1]
                gk = g[so + k * rows : so + (k + 1) * rows]
                for i in range(rows):
                    idx = so + k * rows + i
                    gk[i] = uk[i] * activation.act_grad(code, z[idx], a[idx], slope)
    # the penalty and its adjoint at u_0
    pen = 0.0
    for i in range(rows):
        gx = u[i]
        gy = u[rows + i]
        nrm = math.sqrt(gx * gx + gy * gy)
        pen += (nrm - 1.0) * (nrm - 1.0)
        c = 2.0 * lam / rows * (nrm - 1.0) / nrm if nrm > 0.0 else 0.0
        ub[i] = c * gx
        ub[rows + i] = c * gy
    pen *= lam / rows
    curved = False
    for l in range(L):  # reverse of the input gradient, layer 0 upwards
        row = plan[l]
        fin, fout, woff = row[P_IN], row[P_OUT], row[P_WOFF]
        so = starts[l] * rows
        do = starts[l + 1] * rows
        for j in range(fout):
            gj = g[do + j * rows : do + (j + 1) * rows]
            for k in range(fin):
                grad[woff + k * fout + j] += _dot(ub[so + k * rows : so + (k + 1) * rows], gj)
        if l == L - 1:
            break
        code, slope = plan[l, P_ACT], slopes[l]
        for j in range(fout):
            t = tmp[:rows]
            for i in range(rows):
                t[i] = 0.0
            for k in range(fin):
                _axpy(t, theta[woff + k * fout + j], ub[so + k * rows : so + (k + 1) * rows])
            for i in range(rows):
                idx = do + j * rows + i
                ub[idx] = t[i] * activation.act_grad(code, z[idx], a[idx], slope)
                c2 = act_grad2(code, z[idx], a[idx], slope)
                zb[idx] = t[i] * u[idx] * c2
                if c2 != 0.0:
                    curved = True
    if curved:  # act'' terms: back through the forward pass, slot L-1 down to 1
        for s in range(L - 1, 0, -1):
            row = plan[s - 1]
            fin, fout, woff = row[P_IN], row[P_OUT], row[P_WOFF]
            so = starts[s - 1] * rows
            do = starts[s] * rows
            _add_param_grad(grad, row, a, so, zb, do, rows)
            if s - 1 > 0:
                code, slope = plan[s - 2, P_ACT], slopes[s - 2]
                for k in range(fin):
                    t = tmp[:rows]
                    for i in range(rows):
                        t[i] = 0.0
                    for j in range(fout):
                        _axpy(t, theta[woff + k * fout + j], zb[do + j * rows : do + (j + 1) * rows])
                    for i in range(rows):
                        idx = so + k * rows + i
                        zb[idx] += t[i] * activation.act_grad(code, z[idx], a[idx], slope)
    return pen


# --------------------------------------------------------------------------- steps


@njit(**JIT)
def _update(net, opt, lr, t):
    plan, slopes, starts, theta, grad, spare, state, state_spare, hp = net
    if not _optimizer_update_into(opt, theta, spare, grad, state, state_spare, t, lr, hp):
        return False
    for i in range(theta.shape[0]):
        theta[i] = spare[i]
    _copy2(state, state_spare)
    return True


@njit(**JIT)
def d_step(gnet, dnet, gbufs, dbufs, gp_bufs, real, cfg, keys, counters, out):
    """One discriminator step on a fresh real batch and a fresh fake batch (both of D's
    batch size); writes (loss, mean s real, mean s fake, penalty) into out; returns a status."""
    loss, dim, dist, bd, opt_d, lr_d, lam, clip = (
        cfg[0],
        cfg[1],
        cfg[2],
        cfg[3],
        cfg[5],
        cfg[7],
        cfg[9],
        cfg[10],
    )
    points, jitter = real
    gplan, gslopes, gstarts, gtheta = gnet[0], gnet[1], gnet[2], gnet[3]
    dplan, dslopes, dstarts, dtheta, dgrad = dnet[0], dnet[1], dnet[2], dnet[3], dnet[4]
    gz, ga = gbufs[0], gbufs[1]
    dz, da, dd, ddx = dbufs
    rows = 2 * bd
    base = dropout_base(keys[0], counters[C_D])
    draw_real(base, points, jitter, da, bd, rows)
    draw_noise(base, dim, dist, ga, bd)
    forward(gplan, gslopes, gtheta, gstarts, gz, ga, bd)
    go = gstarts[gplan.shape[0]] * bd
    for i in range(bd):
        da[bd + i] = ga[go + i]
        da[rows + bd + i] = ga[go + bd + i]
    forward(dplan, dslopes, dtheta, dstarts, dz, da, rows)
    so = dstarts[dplan.shape[0]] * rows
    val, sr, sf = output_delta(loss, False, da[so : so + rows], dd[so : so + rows], rows, bd)
    for i in range(dgrad.shape[0]):
        dgrad[i] = 0.0
    backward(dplan, dslopes, dtheta, dgrad, dstarts, dz, da, dd, ddx, rows, True, False)
    pen = 0.0
    if loss == LOSS_WGAN_GP and lam > 0:
        pen = gradient_penalty(
            dplan, dslopes, dtheta, dgrad, dstarts, gp_bufs, da[:], da[bd:], rows, base, bd, lam
        )
    out[0] = val + pen
    out[1] = sr
    out[2] = sf
    out[3] = pen
    if not math.isfinite(out[0]):
        return DIVERGED_LOSS
    if not _update(dnet, opt_d, lr_d, counters[C_TD]):
        return DIVERGED_PARAMS
    if loss == LOSS_WGAN_CLIP:
        for i in range(dtheta.shape[0]):
            dtheta[i] = min(max(dtheta[i], -clip), clip)
    counters[C_D] += 1
    counters[C_TD] += 1
    return OK


@njit(**JIT)
def g_step(gnet, dnet, gbufs, dbufs, cfg, keys, counters, out):
    """One generator step on fresh noise (G's batch size) through the current D."""
    loss, dim, dist, bg, opt_g, lr_g = cfg[0], cfg[1], cfg[2], cfg[4], cfg[6], cfg[8]
    gplan, gslopes, gstarts, gtheta, ggrad = gnet[0], gnet[1], gnet[2], gnet[3], gnet[4]
    dplan, dslopes, dstarts, dtheta, dgrad = dnet[0], dnet[1], dnet[2], dnet[3], dnet[4]
    gz, ga, gd, gdx = gbufs
    dz, da, dd, ddx = dbufs
    base = dropout_base(keys[1], counters[C_G])
    draw_noise(base, dim, dist, ga, bg)
    forward(gplan, gslopes, gtheta, gstarts, gz, ga, bg)
    Lg = gplan.shape[0]
    go = gstarts[Lg] * bg
    for i in range(2 * bg):
        da[i] = ga[go + i]
    forward(dplan, dslopes, dtheta, dstarts, dz, da, bg)
    so = dstarts[dplan.shape[0]] * bg
    val, _, sf = output_delta(loss, True, da[so : so + bg], dd[so : so + bg], bg, 0)
    backward(dplan, dslopes, dtheta, dgrad, dstarts, dz, da, dd, ddx, bg, False, True)
    code, slope = gplan[Lg - 1, P_ACT], gslopes[Lg - 1]
    for i in range(2 * bg):
        gd[go + i] = ddx[i] * activation.act_grad(code, gz[go + i], ga[go + i], slope)
    for i in range(ggrad.shape[0]):
        ggrad[i] = 0.0
    backward(gplan, gslopes, gtheta, ggrad, gstarts, gz, ga, gd, gdx, bg, True, False)
    out[0] = val
    out[1] = sf
    if not math.isfinite(val):
        return DIVERGED_LOSS
    if not _update(gnet, opt_g, lr_g, counters[C_TG]):
        return DIVERGED_PARAMS
    counters[C_G] += 1
    counters[C_TG] += 1
    return OK


@njit(**JIT)
def train_iterations(gnet, dnet, gbufs, dbufs, gp_bufs, real, cfg, keys, counters, rec, n_iters, d_steps):
    """``n_iters`` iterations of ``d_steps`` D steps then one G step; rec[it] gets the
    iteration's losses. Returns (status, iterations completed)."""
    dout = np.zeros(4)
    gout = np.zeros(2)
    for it in range(n_iters):
        for _ in range(d_steps):
            st = d_step(gnet, dnet, gbufs, dbufs, gp_bufs, real, cfg, keys, counters, dout)
            if st != OK:
                return st, it
        st = g_step(gnet, dnet, gbufs, dbufs, cfg, keys, counters, gout)
        if st != OK:
            return st, it
        rec[it, REC_D_LOSS] = dout[0]
        rec[it, REC_G_LOSS] = gout[0]
        rec[it, REC_D_REAL] = dout[1]
        rec[it, REC_D_FAKE] = dout[2]
        rec[it, REC_GP] = dout[3]
    return OK, n_iters


# --------------------------------------------------------------------------- evaluation


@njit(**JIT)
def predict(plan, slopes, theta, starts, X, out, z, a, chunk):
    """out = the network on the rows of X (row-major (n, n_in)), in chunks of ``chunk``."""
    n, fin = X.shape
    L = plan.shape[0]
    fout = out.shape[1]
    for c0 in range(0, n, chunk):
        rows = min(chunk, n - c0)
        for k in range(fin):
            for i in range(rows):
                a[k * rows + i] = X[c0 + i, k]
        forward(plan, slopes, theta, starts, z, a, rows)
        o = starts[L] * rows
        for j in range(fout):
            for i in range(rows):
                out[c0 + i, j] = a[o + j * rows + i]


@njit(**JIT)
def g_loss_input_grad(dplan, dslopes, dtheta, dstarts, loss, X, out, z, a, d, dx, grad, chunk):
    """out[i] = d (generator loss of one sample) / d x at the points X (no 1/n): the
    direction opposite to which G pushes each generated point."""
    n = X.shape[0]
    L = dplan.shape[0]
    for c0 in range(0, n, chunk):
        rows = min(chunk, n - c0)
        for k in range(2):
            for i in range(rows):
                a[k * rows + i] = X[c0 + i, k]
        forward(dplan, dslopes, dtheta, dstarts, z, a, rows)
        o = dstarts[L] * rows
        output_delta(loss, True, a[o : o + rows], d[o : o + rows], rows, 0)
        for i in range(rows):
            d[o + i] *= rows
        backward(dplan, dslopes, dtheta, grad, dstarts, z, a, d, dx, rows, False, True)
        for k in range(2):
            for i in range(rows):
                out[c0 + i, k] = dx[k * rows + i]
