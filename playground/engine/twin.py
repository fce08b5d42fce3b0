"""The trainer's calls on the numpy twins, while the compiled kernels are not ready yet.

``Trainer`` calls these instead of its kernels when ``readiness.kernels_ready(dtype)`` is
False (a first launch, while a background process compiles; ``readiness.py``). They do
exactly what the kernels do, step for step: the same mini-batches (``rng`` shuffles), the
same dropout masks, loss and delta, regularisation and clipping, torch.optim updates that
commit only finite parameters and state, the same divergence statuses, ``layer_sq``, the
learning-rate schedule and step counters. Built on ``reference.py`` (the kernels' twins,
held to 1e-10 by tests), vectorised per layer, with the per-step Python kept small: a whole
epoch's batches are gathered once. Results agree with the kernels to ~1e-12 relative, not
bitwise (see ``readiness.py``).

No numba here: nothing in this module compiles.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from playground.engine import codes as C
from playground.engine import reference as R
from playground.engine.blocks.registry import P_BOFF, P_END, P_WOFF
from playground.engine.rng import dropout_uniform_np

EVAL_ROWS = 65_536  # rows per chunk of prediction / metrics: bounded memory on big sets

_M64 = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(x: int) -> int:
    """``rng.splitmix64`` on Python ints (several times faster than numpy scalars)."""
    z = (x + _GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * _MIX1) & _M64
    z = ((z ^ (z >> 27)) * _MIX2) & _M64
    return z ^ (z >> 31)


def epoch_permutation(key: int, epoch: int, n: int) -> np.ndarray:
    """``rng.epoch_permutation_np`` (the kernels' Fisher-Yates shuffle), faster."""
    perm = list(range(n))
    h = _mix(int(key) ^ _mix(int(epoch) & _M64))
    for i in range(n - 1, 0, -1):
        h = _mix(h)
        j = h % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


class _Epoch:
    """One epoch's training rows in batch order (gathered once, sliced per step)."""

    def __init__(self, trainer, epoch: int):
        n, B = trainer.n, trainer.batch_size
        self.key = (epoch, B, id(trainer.X), id(trainer.Y), int(trainer.shuffle_key))
        if B < n:
            perm = epoch_permutation(trainer.shuffle_key, epoch, n)
            trainer._perm[:] = perm  # as the kernel leaves it
            self.X, self.Y = trainer.X[perm], trainer.Y[perm]
        else:
            self.X, self.Y = trainer.X, trainer.Y


_epochs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _epoch(trainer, epoch: int) -> _Epoch:
    cached = _epochs.get(trainer)
    key = (epoch, trainer.batch_size, id(trainer.X), id(trainer.Y), int(trainer.shuffle_key))
    if cached is None or cached.key != key:
        cached = _Epoch(trainer, epoch)
        _epochs[trainer] = cached
    return cached


# --------------------------------------------------------------------------- one batch


def _forward(params, acts, slopes, X, dtype, masks=None):
    """(zs, activations before dropout, activations after) per layer; outs[0] is X."""
    zs, raw, outs = [], [X], [X]
    last = len(params) - 1
    for l, (W, b) in enumerate(params):
        z = outs[-1] @ W
        z += b
        a = R.act(int(acts[l]), z, slopes[l]).astype(dtype, copy=False)
        zs.append(z)
        raw.append(a)
        if masks is not None and l < last and masks[l] is not None:
            a = (a * masks[l]).astype(dtype, copy=False)
        outs.append(a)
    return zs, raw, outs


def _masks(trainer, step: int, rows: int):
    """The kernels' dropout masks of every hidden layer (None where no dropout), rows local."""
    drop, sizes = trainer.drop, trainer.layout.sizes
    if not any(p > 0 for p in drop[:-1]):
        return None
    out = []
    for l in range(len(sizes) - 2):
        p = float(drop[l])
        if p > 0:
            u = dropout_uniform_np(trainer.drop_key, step, l, rows, int(sizes[l + 1]))
            out.append(np.where(u >= p, 1.0 / (1.0 - p), 0.0).astype(trainer.dtype))
        else:
            out.append(None)
    return out


def _batch_grad(trainer, params, gviews, X, Y, masks, scale: float = 1.0, accumulate: bool = False):
    """Loss of the rows X (mean over them, times ``scale``) and its gradient into ``gviews``
    (added when ``accumulate``)."""
    acts, slopes, dtype = trainer.acts, trainer.slopes, trainer.dtype
    zs, raw, outs = _forward(params, acts, slopes, X, dtype, masks)
    L = len(params)
    lv, delta = R.loss_and_delta(
        trainer.loss, int(acts[-1]), zs[-1], outs[-1], Y, trainer.spec.training.huber_delta
    )
    delta = np.asarray(delta, dtype=dtype)
    if scale != 1.0:
        lv, delta = lv * scale, delta * scale
    for l in range(L - 1, -1, -1):
        gW, gb = gviews[l]
        if accumulate:
            gW += outs[l].T @ delta
            gb += np.add.reduce(delta, axis=0)
        else:
            np.matmul(outs[l].T, delta, out=gW)
            np.add.reduce(delta, axis=0, out=gb)
        if l > 0:
            da = delta @ params[l][0].T
            if masks is not None and masks[l - 1] is not None:
                da *= masks[l - 1]
            delta = (da * R.act_grad(int(acts[l - 1]), zs[l - 1], raw[l], slopes[l - 1])).astype(
                dtype, copy=False
            )
    return float(lv)


def _sq(x: np.ndarray) -> float:
    """Sum of squares as the kernels take it: products in the array's dtype, summed in float64
    (call under ``np.errstate(all="ignore")``: a huge gradient squares to inf)."""
    v = x.reshape(-1)
    if v.dtype == np.float64:
        return float(np.dot(v, v))
    return float(np.add.reduce(v * v, dtype=np.float64))


# --------------------------------------------------------------------------- the calls


def run(trainer, n_steps: int):
    """``Trainer.run`` on the twins: up to n_steps optimizer steps, a ``RunReport``."""
    from playground.engine.trainer import RunReport

    if trainer.spec.training.optimizer.name == "lbfgs":
        return trainer._run_lbfgs(n_steps)  # its gradients come from loss_and_grad below
    losses = np.zeros(n_steps)
    layer_sq = np.zeros((trainer.layout.n_layers, 2))
    with np.errstate(all="ignore"):
        done, status = _steps(trainer, n_steps, losses, layer_sq)
    trainer.step += done
    trainer.opt_t += done
    n_losses = done + (1 if status != C.OK else 0)
    return RunReport(done, status, losses[:n_losses], layer_sq)


def _steps(trainer, n_steps: int, losses: np.ndarray, layer_sq: np.ndarray) -> tuple[int, int]:
    """The step loop of ``run`` (under errstate "ignore"); returns (steps done, status)."""
    from playground.engine.trainer import OPT_CODES

    lay, dtype = trainer.layout, trainer.dtype
    theta, state = trainer.theta, trainer.opt_state
    params = lay.views(theta)
    grad = np.zeros(lay.n_params, dtype=dtype)
    gviews = lay.views(grad)
    spans = [(int(w), int(b), int(e)) for w, b, e in trainer.plan.ints[:, [P_WOFF, P_BOFF, P_END]]]
    wslices = [slice(w, b) for w, b, _ in spans]
    blocks = trainer._nondense is not None
    hp = trainer.hp_vector()
    opt = OPT_CODES[trainer.spec.training.optimizer.name]
    reg_kind, reg_rate, clip = int(hp[C.HP_REG_KIND]), float(hp[C.HP_REG_RATE]), float(hp[C.HP_CLIP])
    lrs = trainer.learning_rates(trainer.step, n_steps)
    B, spe = trainer.batch_size, trainer.steps_per_epoch
    step0, t0 = trainer.step, trainer.opt_t
    for s in range(n_steps):
        step = step0 + s
        epoch, k = divmod(step, spe)
        ep = _epoch(trainer, epoch)
        Xb, Yb = ep.X[k * B : (k + 1) * B], ep.Y[k * B : (k + 1) * B]
        if blocks:
            lv = _blocks_grad(trainer, theta, grad, Xb, Yb, step, True)
        else:
            lv = _batch_grad(trainer, params, gviews, Xb, Yb, _masks(trainer, step, Xb.shape[0]))
        losses[s] = lv
        if not math.isfinite(lv):
            return s, C.DIVERGED_LOSS
        gsq = 0.0
        for l, (w0, b0, e0) in enumerate(spans):
            sw, sb = _sq(grad[w0:b0]), _sq(grad[b0:e0])
            layer_sq[l, 0], layer_sq[l, 1] = sw, sb
            gsq += sw + sb
        if not math.isfinite(gsq):
            return s, C.DIVERGED_GRAD
        if reg_kind > 0 and reg_rate > 0:
            for w in wslices:
                grad[w] += reg_rate * (np.sign(theta[w]) if reg_kind == C.REG_L1 else theta[w])
        if clip > 0:
            coef = clip / (math.sqrt(_sq(grad)) + 1e-6)
            if coef < 1.0:
                grad *= coef
        new_state = state.copy()
        new = R.optimizer_update(opt, theta, grad, new_state, t0 + s, lrs[s], hp)
        new = np.asarray(new).astype(dtype)  # finite as stored: float32 turns 1e39 into inf
        new_state = new_state.astype(dtype, copy=False)
        if not (np.isfinite(new).all() and np.isfinite(new_state).all()):
            return s, C.DIVERGED_PARAMS  # neither the parameters nor the state change
        theta[...] = new
        state[...] = new_state
    return n_steps, C.OK


def predict(trainer, X: np.ndarray, hidden: bool = False, theta: np.ndarray | None = None):
    """``Trainer.predict`` on the twins: outputs (n, n_out), and with ``hidden`` every
    neuron's activation (n, sum of layer widths), layer by layer."""
    dtype = trainer.dtype
    theta = trainer.theta.copy() if theta is None else np.ascontiguousarray(theta, dtype=dtype)
    if trainer._nondense is not None:
        return _predict_blocks(trainer, X, hidden, theta)
    X = np.ascontiguousarray(X, dtype=dtype)
    lay = trainer.layout
    params = lay.views(theta)
    n = X.shape[0]
    out = np.empty((n, int(lay.sizes[-1])), dtype=dtype)
    hid = np.empty((n if hidden else 0, int(lay.sizes[1:].sum())), dtype=dtype)
    with np.errstate(all="ignore"):
        for start in range(0, n, EVAL_ROWS):
            stop = min(n, start + EVAL_ROWS)
            _, _, outs = _forward(params, trainer.acts, trainer.slopes, X[start:stop], dtype)
            out[start:stop] = outs[-1]
            if hidden:
                hid[start:stop] = np.concatenate(outs[1:], axis=1)
    return (out, hid) if hidden else out


def metrics(trainer, es, threshold: float) -> tuple[float, float]:
    """``Trainer.metrics`` on the twins: (mean loss, accuracy or sum of squared errors)."""
    if trainer._nondense is not None:
        return _metrics_blocks(trainer, es, threshold)
    dtype = trainer.dtype
    lay = trainer.layout
    params = lay.views(trainer.theta)
    n, m = es.X.shape[0], int(lay.sizes[-1])
    Y = es.Y.reshape(n, m)
    huber = trainer.spec.training.huber_delta
    total = score = 0.0
    with np.errstate(all="ignore"):
        for start in range(0, n, EVAL_ROWS):
            stop = min(n, start + EVAL_ROWS)
            zs, _, outs = _forward(params, trainer.acts, trainer.slopes, es.X[start:stop], dtype)
            lv, _ = R.loss_and_delta(
                trainer.loss, int(trainer.acts[-1]), zs[-1], outs[-1], Y[start:stop], huber
            )
            total += float(lv) * (stop - start)
            o = outs[-1]
            es.out[start:stop] = o
            es.out_z[start:stop] = zs[-1]
            if es.classify:
                score += float(np.sum(R.predicted_classes(o, threshold) == es.labels[start:stop]))
            else:
                score += float(np.sum((o.astype(np.float64) - Y[start:stop]) ** 2))
    return total / n, (score / n if es.classify else score)


def loss_and_grad(trainer, theta=None, X=None, Y=None, train: bool = False):
    """``Trainer.loss_and_grad`` on the twins: mean data loss over every row and its flat
    gradient, in the kernel's chunks (dropout masks are drawn per chunk, rows local)."""
    from playground.engine.trainer import EVAL_CHUNK

    dtype = trainer.dtype
    theta = trainer.theta if theta is None else np.ascontiguousarray(theta, dtype=dtype)
    X = trainer.X if X is None else np.ascontiguousarray(X, dtype=dtype)
    Y = trainer.Y if Y is None else np.ascontiguousarray(Y, dtype=dtype)
    lay = trainer.layout
    params = lay.views(theta)
    grad = np.zeros(lay.n_params, dtype=dtype)
    gviews = lay.views(grad)
    n = X.shape[0]
    chunk = max(trainer.batch_size, EVAL_CHUNK)
    total = 0.0
    with np.errstate(all="ignore"):
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            if trainer._nondense is not None:
                total += _blocks_grad(
                    trainer,
                    theta,
                    grad,
                    X[start:stop],
                    Y[start:stop],
                    trainer.step,
                    train,
                    (stop - start) / n,
                    True,
                )
                continue
            masks = _masks(trainer, trainer.step, stop - start) if train else None
            total += _batch_grad(
                trainer,
                params,
                gviews,
                X[start:stop],
                Y[start:stop],
                masks,
                (stop - start) / n,
                accumulate=True,
            )
    return float(total), grad


# --------------------------------------------------------------------------- any blocks
# Networks with convolution, pooling or recurrent blocks, composed from the blocks' own numpy
# twins (float64 inside): their batches' gradients for training and, through
# ``reference.forward_blocks``, their predictions and metrics, while their kernels compile
# (W4 ~245 and W5 ~270 steps/s here: slow, but training from the first second).


def _block_forward(layer, views, x):
    """One block's pre-activation z for inputs x (per-sample shaped), and what backward needs."""
    from playground.engine.blocks import conv, pool, recurrent

    if layer.kind == "dense":
        return x.reshape(len(x), -1) @ views[0] + views[1], None
    if layer.kind == "conv2d":
        bias = views[1] if len(views) > 1 else None
        return conv.forward_np(views[0], bias, x, layer.stride, layer.pad, layer.out_shape[1:]), None
    if layer.kind in ("maxpool2d", "avgpool2d"):
        return pool.forward_np(
            layer.kind == "maxpool2d", x, layer.kernel, layer.stride, layer.out_shape[1:]
        ), None
    if layer.kind == "flatten":
        return x.reshape(len(x), -1), None
    relu = layer.cell_activation == C.RELU
    hs, cache = recurrent.forward_steps_np(layer.kind, views, x, relu)
    z = hs[:, 1:].reshape(len(x), -1) if layer.return_sequences else hs[:, -1]
    return z, (hs, cache)


def _block_backward(layer, views, x, dz, saved, dh_steps=None):
    """(gradients of the block's arrays, dL/dx) for dL/dz = dz (a recurrent block's dL/dh of
    every step into the list ``dh_steps``, see ``recurrent.backward_np``)."""
    from playground.engine.blocks import conv, pool, recurrent

    if layer.kind == "dense":
        x2 = x.reshape(len(x), -1)
        return [x2.T @ dz, dz.sum(axis=0)], (dz @ views[0].T).reshape(x.shape)
    if layer.kind == "conv2d":
        dz = dz.reshape((len(x),) + tuple(layer.out_shape))
        dW, db, dx = conv.backward_np(views[0], x, dz, layer.stride, layer.pad)
        return ([dW, db] if len(views) > 1 else [dW]), dx
    if layer.kind in ("maxpool2d", "avgpool2d"):
        dz = dz.reshape((len(x),) + tuple(layer.out_shape))
        return [], pool.backward_np(layer.kind == "maxpool2d", x, dz, layer.kernel, layer.stride)
    if layer.kind == "flatten":
        return [], dz.reshape(x.shape)
    hs, cache = saved
    n, T = x.shape[0], x.shape[1]
    dh = np.zeros((n, T, layer.units), dtype=dz.dtype)
    if layer.return_sequences:
        dh[...] = dz.reshape(n, T, layer.units)
    else:
        dh[:, -1] = dz
    *grads, dx = recurrent.backward_np(
        layer.kind, views, x, hs, cache, dh, layer.bptt, layer.cell_activation == C.RELU, dh_steps
    )
    return grads, dx


RECURRENT_GATES = {"lstm": ("input", "forget", "cell", "output"), "gru": ("reset", "update", "new")}


def probe_recurrent(trainer, X, Y, theta=None) -> list[dict]:
    """What the sequence views show, for rows X (n, length, features) with targets Y (the
    loss's encoding) at ``theta``: for every recurrent block, a dict with ``layer`` (its
    index), ``kind``, ``hidden`` (n, T, units: h_1..h_T), ``gates`` (name -> (n, T, units):
    LSTM input/forget/cell/output, GRU reset/update/new) and ``grad_norm`` (T,): the mean
    over rows of |dL/dh_t|, how much the loss reaches back to each step (no dropout). numpy,
    float64, the same arithmetic as the twins' training gradient."""
    theta = trainer.theta if theta is None else theta
    probes: dict[int, list] = {}
    grad = np.zeros(trainer.layout.n_params)
    _blocks_grad(trainer, theta, grad, X, Y, 0, False, probes=probes)
    out = []
    for l, layer in enumerate(trainer.plan.layers):
        if l not in probes:
            continue
        (hs, (_cs, gates_)), dh_steps = probes[l]
        names = RECURRENT_GATES.get(layer.kind, ())
        gates = {
            name: np.stack([g[k] for g in gates_], axis=1) for k, name in enumerate(names)
        } if gates_ else {}  # fmt: skip
        d = np.stack(dh_steps, axis=1)  # (n, T, units)
        out.append(
            {
                "layer": l,
                "kind": layer.kind,
                "hidden": hs[:, 1:],
                "gates": gates,
                "grad_norm": np.sqrt((d * d).sum(axis=2)).mean(axis=0),
            }
        )
    return out


def _blocks_grad(trainer, theta, grad, X, Y, step, train, scale=1.0, accumulate=False, probes=None):
    """``_batch_grad`` for a network of any blocks (float64 inside, as the twins are): the loss
    of rows X (times ``scale``) and its gradient into the flat ``grad``, with the kernels'
    dropout masks."""
    plan = trainer.plan
    th = np.asarray(theta, dtype=np.float64)
    n = len(X)
    x = np.asarray(X, dtype=np.float64).reshape((n,) + tuple(trainer.input_shape))
    inputs, zs, raws, masks, saved = [], [], [], [], []
    last = plan.n_layers - 1
    for l, (layer, arrays) in enumerate(zip(plan.layers, plan.arrays, strict=True)):
        views = [th[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in arrays]
        if layer.in_shape:
            x = x.reshape((n,) + tuple(layer.in_shape))
        z, keep = _block_forward(layer, views, x)
        a = R.act(layer.activation, z.reshape(n, -1), layer.slope)
        mask = None
        if train and layer.dropout > 0 and l < last:
            u = dropout_uniform_np(trainer.drop_key, step, l, n, layer.n_out)
            mask = np.where(u >= layer.dropout, 1.0 / (1.0 - layer.dropout), 0.0)
        inputs.append(x)
        zs.append(z.reshape(n, -1))
        raws.append(a)
        masks.append(mask)
        saved.append(keep)
        x = a * mask if mask is not None else a
    Yf = np.asarray(Y, dtype=np.float64)
    lv, delta = R.loss_and_delta(
        trainer.loss, plan.layers[-1].activation, zs[-1], x, Yf, trainer.spec.training.huber_delta
    )
    lv, delta = lv * scale, delta * scale
    if not accumulate:
        grad[...] = 0.0
    for l in range(last, -1, -1):
        layer, arrays = plan.layers[l], plan.arrays[l]
        views = [th[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in arrays]
        steps = [] if probes is not None and layer.kind in ("rnn", "lstm", "gru") else None
        grads, dx = _block_backward(layer, views, inputs[l], delta, saved[l], steps)
        if steps is not None:
            probes[l] = (saved[l], steps)
        for (_, shape, off), g in zip(arrays, grads, strict=True):
            grad[off : off + int(np.prod(shape))] += np.asarray(g).reshape(-1)
        if l > 0:
            prev = plan.layers[l - 1]
            da = dx.reshape(n, -1)
            if masks[l - 1] is not None:
                da = da * masks[l - 1]
            delta = da * R.act_grad(prev.activation, zs[l - 1], raws[l - 1], prev.slope)
    return float(lv)


def _predict_blocks(trainer, X, hidden, theta):
    X = np.asarray(X, dtype=np.float64)
    outs = []
    with np.errstate(all="ignore"):
        for start in range(0, len(X), EVAL_ROWS):
            acts = R.forward_blocks(trainer.plan, theta.astype(np.float64), X[start : start + EVAL_ROWS])
            outs.append([a.reshape(len(a), -1) for a in acts])
    n_out = int(trainer.layout.sizes[-1])
    if not outs:
        out = np.empty((0, n_out), dtype=trainer.dtype)
        width = int(trainer.layout.sizes[1:].sum())
        return (out, np.empty((0, width), dtype=trainer.dtype)) if hidden else out
    out = np.concatenate([o[-1] for o in outs]).astype(trainer.dtype)
    if not hidden:
        return out
    return out, np.concatenate([np.concatenate(o, axis=1) for o in outs]).astype(trainer.dtype)


def _metrics_blocks(trainer, es, threshold):
    n, m = es.X.shape[0], int(trainer.layout.sizes[-1])
    theta = trainer.theta.astype(np.float64)
    Y = es.Y.reshape(n, m).astype(np.float64)
    huber = trainer.spec.training.huber_delta
    total = score = 0.0
    last = trainer.plan.layers[-1]
    with np.errstate(all="ignore"):
        for start in range(0, n, EVAL_ROWS):
            stop = min(n, start + EVAL_ROWS)
            acts = R.forward_blocks(trainer.plan, theta, es.X[start:stop].astype(np.float64))
            o = acts[-1]
            # the loss works on the output layer's pre-activation (logits): the last, dense block's
            W, b = trainer.layout.views(theta)[-1]
            z = acts[-2].reshape(stop - start, -1) @ W + b
            lv, _ = R.loss_and_delta(trainer.loss, last.activation, z, o, Y[start:stop], huber)
            total += float(lv) * (stop - start)
            if es.classify:
                score += float(np.sum(R.predicted_classes(o, threshold) == es.labels[start:stop]))
            else:
                score += float(((o - Y[start:stop]) ** 2).sum())
    return total / max(n, 1), (score / max(n, 1) if es.classify else score)
