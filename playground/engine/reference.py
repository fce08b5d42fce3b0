"""Plain-numpy twins of the kernels: readable, vectorised per layer, slow.

Tests hold ``kernels.py`` to these within 1e-10 relative (float64). They also document
the maths: forward is ``act(x @ W + b)``, losses are PyTorch's, updates are torch.optim's.
The network twins are composed from the blocks' own twins (``blocks/*.py``), as the
kernels are composed from the blocks' kernels.
"""

from __future__ import annotations

import math

import numpy as np

from playground.engine import codes as C
from playground.engine.blocks import dense, dropout
from playground.engine.blocks.activation import forward_np as act
from playground.engine.blocks.activation import grad_np as act_grad
from playground.engine.blocks.loss import loss_and_delta_np as loss_and_delta
from playground.engine.rng import epoch_permutation_np

__all__ = ["act", "act_grad", "loss_and_delta"]  # the blocks' twins, under their old names here


def forward(params, acts, slopes, X, drop=None, masks=None):
    """Returns (zs, as_) per layer; as_[0] is X. ``masks`` (hidden layers) apply dropout."""
    zs, outs = [], [X]
    for l, (W, b) in enumerate(params):
        z = dense.forward_np(W, b, outs[-1])
        a = act(acts[l], z, slopes[l])
        if masks is not None and l < len(params) - 1 and masks[l] is not None:
            a = a * masks[l]
        zs.append(z)
        outs.append(a)
    return zs, outs


def backward(params, acts, slopes, zs, outs, delta, masks=None):
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        W, _ = params[l]
        dW, db, da = dense.backward_np(W, outs[l], delta)
        grads[l] = (dW, db)
        if l > 0:
            a_prev = outs[l]
            if masks is not None and masks[l - 1] is not None:
                mk = masks[l - 1]
                da = da * mk
                a_prev = np.divide(a_prev, mk, out=np.zeros_like(a_prev), where=mk != 0)
            delta = da * act_grad(acts[l - 1], zs[l - 1], a_prev, slopes[l - 1])
    return grads


def regularize_and_clip(params, grads, hp):
    kind, rate = int(hp[C.HP_REG_KIND]), hp[C.HP_REG_RATE]
    out = []
    for (W, _), (gW, gb) in zip(params, grads, strict=True):
        if kind == 1 and rate > 0:
            gW = gW + rate * np.sign(W)
        elif kind == 2 and rate > 0:
            gW = gW + rate * W
        out.append((gW, gb))
    clip = hp[C.HP_CLIP]
    if clip > 0:
        total = math.sqrt(sum(float((g**2).sum()) for pair in out for g in pair))
        coef = clip / (total + 1e-6)
        if coef < 1.0:
            out = [(gW * coef, gb * coef) for gW, gb in out]
    return out


def optimizer_update(opt: int, p: np.ndarray, g: np.ndarray, state: np.ndarray, t: int, lr: float, hp):
    """torch.optim update of a flat vector; mutates ``state``; returns the new parameters."""
    wd = hp[C.HP_WD]
    if opt == C.OPT_SGD:
        g = g + wd * p
        mom, damp = hp[C.HP_MOMENTUM], hp[C.HP_DAMPENING]
        if mom != 0:
            buf = g.copy() if t == 0 else mom * state[0] + (1 - damp) * g
            state[0] = buf
            g = g + mom * buf if hp[C.HP_NESTEROV] > 0 else buf
        return p - lr * g
    if opt == C.OPT_ADAGRAD:
        g = g + wd * p
        clr = lr / (1 + t * hp[C.HP_LR_DECAY])
        state[0] += g * g
        return p - clr * g / (np.sqrt(state[0]) + hp[C.HP_EPS])
    if opt == C.OPT_RMSPROP:
        g = g + wd * p
        alpha = hp[C.HP_ALPHA]
        sq = alpha * state[0] + (1 - alpha) * g * g
        sq[sq < 1e-300] = 0.0
        state[0] = sq
        if hp[C.HP_CENTERED] > 0:
            state[1] = alpha * state[1] + (1 - alpha) * g
            avg = np.sqrt(sq - state[1] ** 2) + hp[C.HP_EPS]
        else:
            avg = np.sqrt(sq) + hp[C.HP_EPS]
        if hp[C.HP_MOMENTUM] > 0:
            state[2] = hp[C.HP_MOMENTUM] * state[2] + g / avg
            return p - lr * state[2]
        return p - lr * g / avg
    b1, b2, eps = hp[C.HP_BETA1], hp[C.HP_BETA2], hp[C.HP_EPS]
    if opt == C.OPT_ADAMW:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    m = b1 * state[0] + (1 - b1) * g
    v = b2 * state[1] + (1 - b2) * g * g
    m[np.abs(m) < 1e-300] = 0.0
    v[v < 1e-300] = 0.0
    state[0], state[1] = m, v
    step = t + 1
    bc1, bc2 = 1 - b1**step, 1 - b2**step
    if hp[C.HP_AMSGRAD] > 0:
        state[2] = np.maximum(state[2], v)
        v = state[2]
    return p - (lr / bc1) * m / (np.sqrt(v) / math.sqrt(bc2) + eps)


def unflatten(theta, sizes):
    params, off = [], 0
    for fin, fout in zip(sizes[:-1], sizes[1:], strict=True):
        W = theta[off : off + fin * fout].reshape(fin, fout)
        off += fin * fout
        b = theta[off : off + fout]
        off += fout
        params.append((W, b))
    return params


def flatten(pairs) -> np.ndarray:
    return np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in pairs])


def batch_gradient(theta, X, Y, sizes, acts, slopes, drop, loss, huber, step=0, drop_key=0, train=True):
    """Mean loss over the rows of X and its gradient (flat), with the kernel's dropout masks."""
    params = unflatten(theta, sizes)
    masks = None
    if train and any(p > 0 for p in drop[:-1]):
        masks = []
        for l in range(len(sizes) - 2):
            p = drop[l]
            if p > 0:
                masks.append(dropout.mask_np(drop_key, step, l, X.shape[0], sizes[l + 1], p))
            else:
                masks.append(None)
    zs, outs = forward(params, acts, slopes, X, drop, masks)
    lv, delta = loss_and_delta(loss, acts[-1], zs[-1], outs[-1], Y, huber)
    grads = backward(params, acts, slopes, zs, outs, delta, masks)
    return lv, grads


def train_steps(
    theta,
    state,
    X,
    Y,
    sizes,
    acts,
    slopes,
    drop,
    loss,
    huber,
    opt,
    hp,
    lrs,
    step0,
    opt_t0,
    batch,
    shuffle_key,
    drop_key,
):
    """Twin of ``kernels.train_steps``: returns (theta, state, batch_losses, steps_done, status)."""
    theta = theta.copy()
    state = state.copy()
    n = X.shape[0]
    spe = -(-n // batch)
    losses = []
    status = C.OK
    for s, lr in enumerate(lrs):
        step = step0 + s
        epoch, k = divmod(step, spe)
        perm = epoch_permutation_np(shuffle_key, epoch, n) if batch < n else np.arange(n)
        rows = perm[k * batch : (k + 1) * batch]
        lv, grads = batch_gradient(
            theta, X[rows], Y[rows], sizes, acts, slopes, drop, loss, huber, step, drop_key
        )
        losses.append(lv)
        if not np.isfinite(lv):
            status = C.DIVERGED_LOSS
            break
        # the kernel's check: squared norms of products in the parameters' dtype (a float32
        # gradient of 1e20 squares to inf), summed in float64
        with np.errstate(over="ignore", invalid="ignore"):
            gsq = sum(float(np.sum((g * g).astype(np.float64))) for pair in grads for g in pair)
        if not math.isfinite(gsq):
            status = C.DIVERGED_GRAD
            break
        params = unflatten(theta, sizes)
        grads = regularize_and_clip(params, grads, hp)
        new_state = state.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            new = optimizer_update(opt, theta, flatten(grads), new_state, opt_t0 + s, lr, hp)
            # finite as stored: a float32 array turns a large finite float64 into inf
            new = new.astype(theta.dtype)
            new_state = new_state.astype(state.dtype)
        if not (np.isfinite(new).all() and np.isfinite(new_state).all()):
            status = C.DIVERGED_PARAMS  # neither the parameters nor the state change
            break
        theta, state = new, new_state
    return theta, state, np.array(losses), len(losses) - (status != C.OK), status


def predicted_classes(out: np.ndarray, threshold: float) -> np.ndarray:
    """Twin of the class decision in ``kernels.metrics_kernel``: one output is class 1 when
    it is above ``threshold`` (the midpoint of the two target codes, so each point goes to
    the nearest code); several outputs: the largest (nearest one-hot or +-1 code)."""
    if out.shape[1] == 1:
        return (out[:, 0] > threshold).astype(np.int64)
    return np.argmax(out, axis=1)


def metrics(theta, X, Y, labels, classify, threshold, sizes, acts, slopes, loss, huber):
    """Twin of ``kernels.metrics_kernel``: (mean loss, accuracy) for classification or
    (mean loss, sum of squared errors) for regression over a whole set, no dropout."""
    params = unflatten(theta, sizes)
    zs, outs = forward(params, acts, slopes, X)
    lv, _ = loss_and_delta(loss, acts[-1], zs[-1], outs[-1], Y, huber)
    out = outs[-1]
    if classify:
        return lv, float(np.mean(predicted_classes(out, threshold) == np.asarray(labels)))
    return lv, float(((out - Y) ** 2).sum())


def forward_blocks(plan, theta: np.ndarray, X: np.ndarray) -> list[np.ndarray]:
    """Twin of the network forward for any blocks (no dropout): every block's activation,
    per sample shaped as the block's output ((c, h, w) for image blocks, flat otherwise;
    recurrent blocks: the last step's or every step's hidden state, flattened),
    composed from the blocks' own twins. ``plan`` is a ``blocks.Plan``."""
    from playground.engine import codes
    from playground.engine.blocks import conv, pool, recurrent

    n = X.shape[0]
    x = X.reshape((n,) + (tuple(plan.layers[0].in_shape) or (plan.layers[0].n_in,)))
    outs = []
    for layer, arrays in zip(plan.layers, plan.arrays, strict=True):
        views = [theta[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in arrays]
        if layer.in_shape:
            x = x.reshape((n,) + tuple(layer.in_shape))
        if layer.kind == "dense":
            z = dense.forward_np(views[0], views[1], x.reshape(x.shape[0], -1))
        elif layer.kind == "conv2d":
            bias = views[1] if len(views) > 1 else None
            z = conv.forward_np(views[0], bias, x, layer.stride, layer.pad, layer.out_shape[1:])
        elif layer.kind in ("maxpool2d", "avgpool2d"):
            z = pool.forward_np(layer.kind == "maxpool2d", x, layer.kernel, layer.stride, layer.out_shape[1:])
        elif layer.kind in ("rnn", "lstm", "gru"):
            relu = layer.cell_activation == codes.RELU
            z = recurrent.forward_np(layer.kind, views, x, layer.return_sequences, relu).reshape(n, -1)
        else:  # flatten
            z = x.reshape(x.shape[0], -1)
        x = act(layer.activation, z, layer.slope)
        outs.append(x)
    return outs
