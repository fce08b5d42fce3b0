"""Numba kernels of training and evaluation: many steps per call, ``nogil``, cached.

What a network computes is composed once, from its blocks (``blocks/network.py``); this
module adds what is the same for every network: the optimizers of the flat parameter
vector (torch.optim's updates), regularisation and clipping, the mini-batch loop, and the
history rows recorded inside the loop. Codes and the row layout are in ``codes.py``; every
kernel has a numpy twin in ``reference.py``, and tests hold the two to 1e-10.

Arguments are grouped in tuples (``params = (theta, spare, grad)``, ``opt_bufs = (state,
state_spare)``, ``data = (X, Y, perm)``, ``net``, ``bufs`` as in network.py, ``cfg = (loss,
opt, batch, step0, opt_t0)``, ``keys = (shuffle_key, drop_key)``, ``out = (batch_losses,
layer_sq)``), prepared contiguous by ``trainer.py``, the checked wrapper. ``gemm`` and
``nondense`` come first and alone: numba prunes branches on their None-ness (network.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from playground.engine.blocks import loss as loss_block
from playground.engine.blocks import network
from playground.engine.blocks.dense import _dot
from playground.engine.blocks.registry import P_ACT, P_BOFF, P_END, P_OUT, P_WOFF
from playground.engine.codes import (
    DIVERGED_GRAD,
    DIVERGED_LOSS,
    DIVERGED_PARAMS,
    HP_ALPHA,
    HP_AMSGRAD,
    HP_BETA1,
    HP_BETA2,
    HP_CENTERED,
    HP_CLIP,
    HP_DAMPENING,
    HP_EPS,
    HP_HUBER,
    HP_LR_DECAY,
    HP_MOMENTUM,
    HP_NESTEROV,
    HP_REG_KIND,
    HP_REG_RATE,
    HP_WD,
    OK,
    OPT_ADAGRAD,
    OPT_ADAMW,
    OPT_RMSPROP,
    OPT_SGD,
    REC_N_SCALARS,
    REC_STEP,
    REC_TEST_LOSS,
    REC_TEST_SCORE,
    REC_TRAIN_LOSS,
    REC_TRAIN_SCORE,
    REG_L1,
)
from playground.engine.jit import JIT
from playground.engine.rng import epoch_permutation

# --------------------------------------------------------------------------- optimizer


@njit(**JIT)
def _regularize_and_clip(theta, grad, plan, hp):
    """Add the L1/L2 penalty gradient to weights (not biases), then clip the global norm."""
    kind = hp[HP_REG_KIND]
    rate = hp[HP_REG_RATE]
    if kind > 0 and rate > 0:
        for l in range(plan.shape[0]):
            start = plan[l, P_WOFF]
            stop = plan[l, P_BOFF]
            if kind == REG_L1:
                for t in range(start, stop):
                    w = theta[t]
                    grad[t] += rate * (1.0 if w > 0 else (-1.0 if w < 0 else 0.0))
            else:
                for t in range(start, stop):
                    grad[t] += rate * theta[t]
    clip = hp[HP_CLIP]
    if clip > 0:
        sq = 0.0
        for t in range(grad.shape[0]):
            sq += grad[t] * grad[t]
        coef = clip / (math.sqrt(sq) + 1e-6)
        if coef < 1.0:
            for t in range(grad.shape[0]):
                grad[t] *= coef


@njit(**JIT)
def _optimizer_update(opt, theta, new, grad, state, t, lr, hp):
    """One torch.optim update of ``theta`` into ``new``, committing ``state`` on success
    (a convenience over ``_optimizer_update_into`` with a fresh scratch state)."""
    scratch = state.copy()
    ok = _optimizer_update_into(opt, theta, new, grad, state, scratch, t, lr, hp)
    if ok:
        _copy2(state, scratch)
    return ok


@njit(**JIT)
def _optimizer_update_into(opt, theta, new, grad, state, state_new, t, lr, hp):
    """One torch.optim update of ``theta`` into ``new``; ``t`` counts updates before this one.

    Reads ``theta`` and ``state``, writes only ``new`` and ``state_new`` (the rows this
    optimizer uses; the others are left as they are). Returns whether every new parameter and
    every new state value is finite *as stored* (a float32 array turns a large finite float64
    into inf): the caller commits the new values only then, so a divergence keeps the last
    finite parameters and optimizer state. The training kernels swap the two state buffers
    instead of copying.
    """
    n = theta.shape[0]
    wd = hp[HP_WD]
    # sum of (v - v) over stored values: 0 while all are finite, NaN otherwise (vectorises)
    chk = 0.0
    if opt == OPT_SGD:
        mom = hp[HP_MOMENTUM]
        damp = hp[HP_DAMPENING]
        nest = hp[HP_NESTEROV] > 0
        buf = state[0]
        nbuf = state_new[0]
        for i in range(n):
            g = grad[i] + wd * theta[i]
            if mom != 0.0:
                b = g if t == 0 else mom * buf[i] + (1.0 - damp) * g
                nbuf[i] = b
                chk += nbuf[i] - nbuf[i]
                g = g + mom * b if nest else b
            new[i] = theta[i] - lr * g
            chk += new[i] - new[i]
        return chk == 0.0
    if opt == OPT_ADAGRAD:
        clr = lr / (1.0 + t * hp[HP_LR_DECAY])
        eps = hp[HP_EPS]
        acc = state[0]
        nacc = state_new[0]
        for i in range(n):
            g = grad[i] + wd * theta[i]
            s = acc[i] + g * g
            nacc[i] = s
            chk += nacc[i] - nacc[i]
            new[i] = theta[i] - clr * g / (math.sqrt(nacc[i]) + eps)
            chk += new[i] - new[i]
        return chk == 0.0
    if opt == OPT_RMSPROP:
        alpha = hp[HP_ALPHA]
        eps = hp[HP_EPS]
        mom = hp[HP_MOMENTUM]
        centered = hp[HP_CENTERED] > 0
        sq = state[0]
        gavg = state[1]
        buf = state[2]
        nsq = state_new[0]
        ngavg = state_new[1]
        nbuf = state_new[2]
        for i in range(n):
            g = grad[i] + wd * theta[i]
            s = alpha * sq[i] + (1.0 - alpha) * g * g
            s = s if s >= 1e-300 else 0.0  # flush denormals: they slow the kernel (BENCHMARKS.md)
            nsq[i] = s
            chk += nsq[i] - nsq[i]
            if centered:
                ga = alpha * gavg[i] + (1.0 - alpha) * g
                ngavg[i] = ga
                chk += ngavg[i] - ngavg[i]
                avg = math.sqrt(s - ga * ga) + eps
            else:
                avg = math.sqrt(s) + eps
            if mom > 0:
                b = mom * buf[i] + g / avg
                nbuf[i] = b
                chk += nbuf[i] - nbuf[i]
                v = theta[i] - lr * b
            else:
                v = theta[i] - lr * g / avg
            new[i] = v
            chk += new[i] - new[i]
        return chk == 0.0
    # Adam / AdamW
    b1 = hp[HP_BETA1]
    b2 = hp[HP_BETA2]
    eps = hp[HP_EPS]
    ams = hp[HP_AMSGRAD] > 0
    step = t + 1
    bc1 = 1.0 - b1**step
    bc2 = 1.0 - b2**step
    step_size = lr / bc1
    sqrt_bc2 = math.sqrt(bc2)
    m1 = state[0]
    m2 = state[1]
    vmax = state[2]
    nm1 = state_new[0]
    nm2 = state_new[1]
    nvmax = state_new[2]
    decoupled = opt == OPT_ADAMW
    for i in range(n):
        p = theta[i]
        if decoupled:
            p = p * (1.0 - lr * wd)
            g = grad[i]
        else:
            g = grad[i] + wd * p
        mm = b1 * m1[i] + (1.0 - b1) * g
        vv = b2 * m2[i] + (1.0 - b2) * g * g
        mm = mm if abs(mm) >= 1e-300 else 0.0
        vv = vv if vv >= 1e-300 else 0.0
        nm1[i] = mm
        nm2[i] = vv
        chk += (nm1[i] - nm1[i]) + (nm2[i] - nm2[i])
        if ams:
            vm = vv if vv > vmax[i] else vmax[i]
            nvmax[i] = vm
            denom = math.sqrt(vm) / sqrt_bc2 + eps
        else:
            denom = math.sqrt(vv) / sqrt_bc2 + eps
        new[i] = p - step_size * mm / denom
        chk += new[i] - new[i]
    return chk == 0.0


@njit(**JIT)
def _copy1(dst, src):
    """dst[:] = src as a plain loop (a slice assignment compiles several times slower)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(**JIT)
def _copy2(dst, src):
    """dst[:, :] = src for 2-D arrays, as a plain loop."""
    for r in range(src.shape[0]):
        for i in range(src.shape[1]):
            dst[r, i] = src[r, i]


# --------------------------------------------------------------------------- one step


@njit(**JIT)
def _finish_step(theta, spare, grad, state, state_spare, plan, hp, opt, t, lr, layer_sq):
    """Gradient norms, regularisation, clipping and the optimizer update of one step; the
    new optimizer state is left in state_spare (if OK: the loop then swaps the buffers).
    Nothing is committed unless the new parameters and optimizer state are all finite."""
    gsq = 0.0
    for l in range(plan.shape[0]):
        w0, b0, e0 = plan[l, P_WOFF], plan[l, P_BOFF], plan[l, P_END]
        sw = _dot(grad[w0:b0], grad[w0:b0])
        sb = _dot(grad[b0:e0], grad[b0:e0])
        layer_sq[l, 0] = sw
        layer_sq[l, 1] = sb
        gsq += sw + sb
    if not math.isfinite(gsq):
        return DIVERGED_GRAD
    _regularize_and_clip(theta, grad, plan, hp)
    if not _optimizer_update_into(opt, theta, spare, grad, state, state_spare, t, lr, hp):
        return DIVERGED_PARAMS
    _copy1(theta, spare)
    return OK


# --------------------------------------------------------------------------- the training loop


@njit(**JIT)
def train_steps(gemm, nondense, params, opt_bufs, data, net, bufs, cfg, hp, lrs, keys, out):
    """Run ``lrs.shape[0]`` optimizer steps from global step ``cfg[3]``.

    Returns (steps_done, status). On divergence the step that produced a non-finite loss,
    gradient or parameter is not applied: theta holds the last finite parameters.
    ``layer_sq[l] = (|dW|^2, |db|^2)`` of the last step's data-loss gradient.
    """
    theta, spare, grad = params
    state, state_spare = opt_bufs
    X, Y, perm = data
    loss, opt, batch, step0, opt_t0 = cfg
    shuffle_key, drop_key = keys
    batch_losses, layer_sq = out
    plan = net[0]
    n = perm.shape[0]
    spe = (n + batch - 1) // batch
    huber = hp[HP_HUBER]
    cur_epoch = -1
    status = OK
    done = 0
    # each step writes the new optimizer state into the other buffer (kept only if finite);
    # both start equal, so rows an optimizer does not use agree whichever holds the result
    _copy2(state_spare, state)
    cur = state
    nxt = state_spare
    for s in range(lrs.shape[0]):
        step = step0 + s
        epoch = step // spe
        k = step % spe
        if batch < n and epoch != cur_epoch:
            epoch_permutation(shuffle_key, epoch, perm)
            cur_epoch = epoch
        start = k * batch
        rows = min(batch, n - start)
        lval = network.loss_and_grad(
            gemm, nondense, theta, grad, X, Y, perm[start : start + rows], rows, net, bufs, loss, huber, True,
            drop_key, step, False,
        )  # fmt: skip
        batch_losses[s] = lval
        if not math.isfinite(lval):
            status = DIVERGED_LOSS
            break
        status = _finish_step(theta, spare, grad, cur, nxt, plan, hp, opt, opt_t0 + s, lrs[s], layer_sq)
        if status != OK:
            break
        cur, nxt = nxt, cur  # the new state is in nxt: swap roles instead of copying
        done += 1
    if done % 2 == 1:
        _copy2(state, cur)  # the newest state is in state_spare
    return done, status


@njit(**JIT)
def train_record(
    gemm,
    nondense,
    params,
    opt_bufs,
    data,
    net,
    bufs,
    cfg,
    hp,
    lrs,
    keys,
    out,
    record_every,
    evals,
    snap,
    rows_out,
):
    """``train_steps`` for lrs.shape[0] steps, evaluating a history row at every multiple of
    ``record_every`` (columns ``codes.Record``). Many rows per call: the caller (a GUI worker
    thread) needs the GIL once per call, not once per row.

    ``evals = (train set, test set, eval net, (ez, ea), classify, threshold, chunk)`` with a
    set as ``metrics_kernel`` takes it. At every row whose training loss is finite, theta
    and state are copied to ``snap = (snap_theta, snap_state, snap_meta)`` with (step,
    optimizer step) in snap_meta: the point a recovery after a divergence goes back to.

    Returns (steps_done, status, rows written)."""
    theta = params[0]
    state = opt_bufs[0]
    loss, opt, batch, step0, opt_t0 = cfg
    batch_losses, layer_sq = out
    train_set, test_set, enet, ebufs, classify, threshold, chunk = evals
    snap_theta, snap_state, snap_meta = snap
    huber = hp[HP_HUBER]
    n_steps = lrs.shape[0]
    plan = net[0]
    n_layers = plan.shape[0]
    done = 0
    nrow = 0
    status = OK
    res = np.empty(2)
    wsq = np.empty(n_layers)
    while done < n_steps:
        step = step0 + done
        n = min(record_every - step % record_every, n_steps - done)
        d, status = train_steps(
            gemm, nondense, params, opt_bufs, data, net, bufs, (loss, opt, batch, step, opt_t0 + done), hp,
            lrs[done : done + n], keys, (batch_losses[done:], layer_sq),
        )  # fmt: skip
        done += d
        if status != OK:
            break
        if (step0 + done) % record_every == 0:
            row = rows_out[nrow]
            row[REC_STEP] = step0 + done
            metrics_kernel(
                nondense, theta, train_set, classify, threshold, enet, ebufs, loss, huber, chunk, res
            )
            row[REC_TRAIN_LOSS] = res[0]
            row[REC_TRAIN_SCORE] = res[1]
            if test_set[0].shape[0] > 0:
                metrics_kernel(
                    nondense, theta, test_set, classify, threshold, enet, ebufs, loss, huber, chunk, res
                )
                row[REC_TEST_LOSS] = res[0]
                row[REC_TEST_SCORE] = res[1]
            else:
                row[REC_TEST_LOSS] = np.nan
                row[REC_TEST_SCORE] = np.nan
            weight_sq_kernel(theta, plan, wsq)
            for l in range(n_layers):
                row[REC_N_SCALARS + l] = layer_sq[l, 0]
                row[REC_N_SCALARS + n_layers + l] = layer_sq[l, 1]
                row[REC_N_SCALARS + 2 * n_layers + l] = wsq[l]
            if math.isfinite(row[REC_TRAIN_LOSS]):
                _copy1(snap_theta, theta)
                _copy2(snap_state, state)
                snap_meta[0] = step0 + done
                snap_meta[1] = opt_t0 + done
            nrow += 1
    return done, status, nrow


@njit(**JIT)
def loss_and_grad_kernel(
    gemm, nondense, theta, grad, X, Y, rows_idx, net, bufs, loss, huber, chunk, train, drop_key, step
):
    """Mean loss over the given rows and its full gradient (for L-BFGS and landscapes),
    accumulated ``chunk`` rows at a time."""
    nrows = rows_idx.shape[0]
    for t in range(grad.shape[0]):
        grad[t] = 0.0
    total = 0.0
    for start in range(0, nrows, chunk):
        rows = min(chunk, nrows - start)
        total += network.loss_and_grad(
            gemm, nondense, theta, grad, X, Y, rows_idx[start : start + rows], nrows, net, bufs, loss, huber,
            train, drop_key, step, True,
        )  # fmt: skip
    return total


# --------------------------------------------------------------------------- evaluation


def predict_compiled(dtype=None) -> bool:
    """Whether the prediction kernel is compiled already (for parameters of ``dtype``, if
    given): a grid asked for now costs no compile (the GUI thread asks before drawing neuron
    pictures, and never compiles)."""
    sigs = predict_kernel.signatures
    if dtype is None:
        return bool(sigs)
    want = np.dtype(dtype).name  # numba names its array element types as numpy does
    return any(str(getattr(sig[1], "dtype", "")) == want for sig in sigs)  # sig[1]: theta


@njit(**JIT)
def predict_kernel(nondense, theta, X, out, net, ebufs, chunk, hidden_out):
    """Outputs of every row of X into out; every neuron's activation into hidden_out if it
    has X's rows (``network.predict``)."""
    network.predict(nondense, theta, X, out, out, False, net, ebufs, chunk, hidden_out)


@njit(**JIT)
def metrics_kernel(nondense, theta, es, classify, threshold, net, ebufs, loss, huber, chunk, result):
    """Mean loss over a whole set (no dropout) and accuracy (classify) or the sum of squared
    errors (regression) into result[0:2]; ``es = (X, Y flat, labels, out, out_z, delta)``,
    the outputs land in ``out``. One nogil call per set, so recording metrics barely holds
    the GIL.

    A point is right when its output is nearest to its own class's target code: with one
    output, class 1 above ``threshold`` = ``losses.decision_threshold`` (the midpoint of the
    two codes: 0.5 for 0/1 targets with any output activation, 0 for +-1 targets); with
    several, the largest output. Twin: ``reference.metrics``."""
    X, Y, labels, out, out_z, delta = es
    plan = net[0]
    n = X.shape[0]
    last = plan[plan.shape[0] - 1]
    m = last[P_OUT]
    network.predict(nondense, theta, X, out, out_z, True, net, ebufs, chunk, out[:0])
    of = out.ravel()
    zf = out_z.ravel()
    out_code = last[P_ACT]
    total = 0.0
    score = 0.0
    for i in range(n):
        # row_loss writes dL/dz into its delta argument: a scratch row here
        total += loss_block.row_loss(loss, out_code, zf, of, Y, i * m, i * m, m, delta, huber)
        if classify:
            if m == 1:
                pred = 1 if of[i] > threshold else 0
            else:
                pred = 0
                for j in range(1, m):
                    if of[i * m + j] > of[i * m + pred]:
                        pred = j
            if pred == labels[i]:
                score += 1.0
        else:
            for j in range(m):
                d = of[i * m + j] - Y[i * m + j]
                score += d * d
    result[0] = total * loss_block.scale(loss, m) / max(n, 1)
    result[1] = score / max(n, 1) if classify else score


@njit(**JIT)
def weight_sq_kernel(theta, plan, result):
    """|W|^2 of every block's weights (not its biases)."""
    for l in range(plan.shape[0]):
        s = 0.0
        for t in range(plan[l, P_WOFF], plan[l, P_BOFF]):
            s += theta[t] * theta[t]
        result[l] = s
