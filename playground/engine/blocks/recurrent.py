"""Recurrent blocks: ``rnn``, ``lstm`` and ``gru`` as ``torch.nn.RNN`` / ``LSTM`` / ``GRU``
(one layer, batch_first, zero initial state; gate order i, f, g, o and r, z, n; arrays
weight_ih (G*units, features), weight_hh (G*units, units), bias_ih, bias_hh).

A sample's input is its sequence (length, features), row-major. The output is the last
hidden state (units,) or, with ``return_sequences``, every step's (length, units). The
forward pass keeps every step's hidden state, cell state and gate values in the block's
region of the ``rec`` scratch, where backpropagation through time reads them; with ``bptt``
= k > 0 the recurrent gradient is cut every k steps from the end (as training chunks of k
steps with ``h.detach()`` between them). Each step's products are batched over the rows:
one GEMM per product with BLAS (``gemm``), explicit loops without.

``forward`` also runs on the feature-major inference chunks (``columns``): the inputs are
then read, and the outputs written, with the other strides. numpy twins below.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.blocks.activation import tanh_fast
from playground.engine.blocks.registry import (
    P_BOFF,
    P_BPTT,
    P_CELL,
    P_F,
    P_H,
    P_KIND,
    P_RETSEQ,
    P_T,
    P_WOFF,
    BlockKind,
    register,
)
from playground.engine.codes import BLOCK_GRU, BLOCK_LSTM, BLOCK_RNN, RELU
from playground.engine.initializers import init_bias, init_weight_shaped
from playground.engine.jit import JIT_INLINE

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def gates(kind: str) -> int:
    return {"rnn": 1, "lstm": 4, "gru": 3}[kind]


def state_width(layer) -> int:
    """State scratch per sample: hidden states (length+1) x units (and cell states for an
    LSTM), gate values length x 4*units, and backward scratch."""
    T, H = layer.in_shape[0], layer.units
    hc = (T + 1) * H * (2 if layer.kind == "lstm" else 1)
    return hc + T * 4 * H + 4 * H + 3 * H + 3 * H


@njit(**JIT_INLINE)
def sigmoid(x):
    """1 / (1 + e^-x) as (1 + tanh(x/2)) / 2: no branch, so the gate loops vectorise."""
    return 0.5 + 0.5 * tanh_fast(0.5 * x)


@njit(**JIT_INLINE)
def _mm(gemm, ta, tb, M, N, K, A, ao, lda, B, bo, ldb, beta, C, co, ldc):
    """C[co:] (M x N, ldc) = op(A) @ op(B) + beta * C, row-major, op = transpose if t*."""
    if gemm is not None:
        isz = C.itemsize
        gemm(
            _ROW_MAJOR, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, M, N, K, 1.0,
            A.ctypes.data + ao * isz, lda, B.ctypes.data + bo * isz, ldb, beta, C.ctypes.data + co * isz, ldc,
        )  # fmt: skip
        return
    for m in range(M):
        for n in range(N):
            s = 0.0
            for k in range(K):
                x = A[ao + k * lda + m] if ta else A[ao + m * lda + k]
                y = B[bo + n * ldb + k] if tb else B[bo + k * ldb + n]
                s += x * y
            c = co + m * ldc + n
            C[c] = s + beta * C[c] if beta != 0.0 else s


@njit(**JIT_INLINE)
def _layout(row, rows, roff):
    """Where a block's arrays sit in theta and its state in ``rec`` (from ``roff``): gates G,
    G*units, weight_ih, weight_hh, bias_ih, bias_hh offsets, then the state regions."""
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G = 4 if kind == BLOCK_LSTM else (3 if kind == BLOCK_GRU else 1)
    GH = G * H
    hs = roff  # (T+1, rows, H) hidden states
    cs = hs + (T + 1) * rows * H  # (T+1, rows, H) cell states (LSTM)
    gs = cs + ((T + 1) * rows * H if kind == BLOCK_LSTM else 0)  # (T, rows, 4H) gate values
    da = gs + T * rows * 4 * H  # (rows, 4H) pre-activation gradients / forward pre-activations
    dgh = da + rows * 4 * H  # (rows, 3H) GRU: recurrent part / forward W_hh h + b_hh
    dh = dgh + rows * 3 * H  # (rows, H) x 3: dh, dc, scratch
    w = row[P_WOFF]
    b = row[P_BOFF]
    return G, GH, w, w + GH * F, b, b + GH, hs, cs, gs, da, dgh, dh


@njit(**JIT_INLINE)
def forward(gemm, theta, row, a, soff, z, doff, rows, rec, roff, columns):
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G, GH, wih, whh, bih, bhh, hs, cs, gs, pre, gh, _ = _layout(row, rows, roff)
    for t in range(rows * H):
        rec[hs + t] = 0.0
        if kind == BLOCK_LSTM:
            rec[cs + t] = 0.0
    relu = row[P_CELL] == RELU
    for t in range(T):
        # pre = x_t @ W_ih^T (+ h_{t-1} @ W_hh^T for rnn/lstm), biases below
        if columns:  # x_t is (F, rows) at soff + t*F*rows
            _mm(gemm, True, True, rows, GH, F, a, soff + t * F * rows, rows, theta, wih, F, 0.0, rec, pre, GH)
        else:  # x_t is (rows, F) with stride T*F
            _mm(gemm, False, True, rows, GH, F, a, soff + t * F, T * F, theta, wih, F, 0.0, rec, pre, GH)
        hp = hs + t * rows * H
        hn = hs + (t + 1) * rows * H
        if kind == BLOCK_GRU:
            _mm(gemm, False, True, rows, GH, H, rec, hp, H, theta, whh, H, 0.0, rec, gh, GH)
        else:
            _mm(gemm, False, True, rows, GH, H, rec, hp, H, theta, whh, H, 1.0, rec, pre, GH)
        g = gs + t * rows * 4 * H
        for i in range(rows):
            p = pre + i * GH
            gv = g + i * 4 * H
            if kind == BLOCK_LSTM:
                cp = cs + t * rows * H + i * H
                cn = cs + (t + 1) * rows * H + i * H
                for k in range(H):
                    ig = sigmoid(rec[p + k] + theta[bih + k] + theta[bhh + k])
                    fg = sigmoid(rec[p + H + k] + theta[bih + H + k] + theta[bhh + H + k])
                    gg = tanh_fast(rec[p + 2 * H + k] + theta[bih + 2 * H + k] + theta[bhh + 2 * H + k])
                    og = sigmoid(rec[p + 3 * H + k] + theta[bih + 3 * H + k] + theta[bhh + 3 * H + k])
                    c = fg * rec[cp + k] + ig * gg
                    rec[cn + k] = c
                    rec[hn + i * H + k] = og * tanh_fast(c)
                    rec[gv + k] = ig
                    rec[gv + H + k] = fg
                    rec[gv + 2 * H + k] = gg
                    rec[gv + 3 * H + k] = og
            elif kind == BLOCK_GRU:
                q = gh + i * GH
                for k in range(H):
                    r = sigmoid(rec[p + k] + theta[bih + k] + rec[q + k] + theta[bhh + k])
                    zg = sigmoid(rec[p + H + k] + theta[bih + H + k] + rec[q + H + k] + theta[bhh + H + k])
                    ghn = rec[q + 2 * H + k] + theta[bhh + 2 * H + k]
                    n = tanh_fast(rec[p + 2 * H + k] + theta[bih + 2 * H + k] + r * ghn)
                    rec[hn + i * H + k] = (1.0 - zg) * n + zg * rec[hp + i * H + k]
                    rec[gv + k] = r
                    rec[gv + H + k] = zg
                    rec[gv + 2 * H + k] = n
                    rec[gv + 3 * H + k] = ghn
            else:
                for k in range(H):
                    v = rec[p + k] + theta[bih + k] + theta[bhh + k]
                    rec[hn + i * H + k] = (v if v > 0.0 else 0.0) if relu else tanh_fast(v)
        if row[P_RETSEQ] or t == T - 1:
            for i in range(rows):
                for k in range(H):
                    u = t * H + k if row[P_RETSEQ] else k  # output unit
                    n_out = T * H if row[P_RETSEQ] else H
                    o = doff + u * rows + i if columns else doff + i * n_out + u
                    z[o] = rec[hn + i * H + k]


@njit(**JIT_INLINE)
def backward(gemm, theta, grad, row, a, soff, delta, doff, da, rows, want_input_grad, rec, roff):
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G, GH, wih, whh, bih, bhh, hs, cs, gs, dA, dgh, dh = _layout(row, rows, roff)
    dc = dh + rows * H
    tmp = dc + rows * H
    bptt = row[P_BPTT]
    relu = row[P_CELL] == RELU
    n_out = T * H if row[P_RETSEQ] else H
    for t in range(2 * rows * H):
        rec[dh + t] = 0.0
    for t in range(T - 1, -1, -1):
        if row[P_RETSEQ] or t == T - 1:
            for i in range(rows):
                for k in range(H):
                    rec[dh + i * H + k] += delta[doff + i * n_out + (t * H + k if row[P_RETSEQ] else k)]
        g = gs + t * rows * 4 * H
        hp = hs + t * rows * H
        hn = hs + (t + 1) * rows * H
        for i in range(rows):
            gv = g + i * 4 * H
            d = dA + i * GH
            for k in range(H):
                dhk = rec[dh + i * H + k]
                if kind == BLOCK_LSTM:
                    ig, fg, gg, og = rec[gv + k], rec[gv + H + k], rec[gv + 2 * H + k], rec[gv + 3 * H + k]
                    c = rec[cs + (t + 1) * rows * H + i * H + k]
                    tc = tanh_fast(c)
                    dct = rec[dc + i * H + k] + dhk * og * (1.0 - tc * tc)
                    rec[d + k] = dct * gg * ig * (1.0 - ig)
                    rec[d + H + k] = dct * rec[cs + t * rows * H + i * H + k] * fg * (1.0 - fg)
                    rec[d + 2 * H + k] = dct * ig * (1.0 - gg * gg)
                    rec[d + 3 * H + k] = dhk * tc * og * (1.0 - og)
                    rec[dc + i * H + k] = dct * fg
                elif kind == BLOCK_GRU:
                    r, zg, n, ghn = rec[gv + k], rec[gv + H + k], rec[gv + 2 * H + k], rec[gv + 3 * H + k]
                    dan = dhk * (1.0 - zg) * (1.0 - n * n)
                    dar = dan * ghn * r * (1.0 - r)
                    daz = dhk * (rec[hp + i * H + k] - n) * zg * (1.0 - zg)
                    rec[d + k] = dar
                    rec[d + H + k] = daz
                    rec[d + 2 * H + k] = dan
                    q = dgh + i * GH
                    rec[q + k] = dar
                    rec[q + H + k] = daz
                    rec[q + 2 * H + k] = dan * r
                    rec[tmp + i * H + k] = dhk * zg  # the direct path h_{t-1} -> h_t
                else:
                    h = rec[hn + i * H + k]
                    rec[d + k] = dhk * ((1.0 if h > 0.0 else 0.0) if relu else 1.0 - h * h)
        rg = dgh if kind == BLOCK_GRU else dA  # the gradient of the recurrent pre-activations
        # parameter gradients: dW_ih += dA^T x_t, dW_hh += dR^T h_{t-1}, biases the column sums
        _mm(gemm, True, False, GH, F, rows, rec, dA, GH, a, soff + t * F, T * F, 1.0, grad, wih, F)
        _mm(gemm, True, False, GH, H, rows, rec, rg, GH, rec, hp, H, 1.0, grad, whh, H)
        for i in range(rows):
            for j in range(GH):
                grad[bih + j] += rec[dA + i * GH + j]
                grad[bhh + j] += rec[rg + i * GH + j]
        if want_input_grad:
            _mm(gemm, False, False, rows, F, GH, rec, dA, GH, theta, wih, F, 0.0, da, t * F, T * F)
        if t == 0:
            break
        if bptt > 0 and (T - t) % bptt == 0:  # truncated: no gradient through h_{t-1}, c_{t-1}
            for q in range(2 * rows * H):
                rec[dh + q] = 0.0
            continue
        if kind == BLOCK_GRU:
            _mm(gemm, False, False, rows, H, GH, rec, rg, GH, theta, whh, H, 1.0, rec, tmp, H)
            for q in range(rows * H):
                rec[dh + q] = rec[tmp + q]
        else:
            _mm(gemm, False, False, rows, H, GH, rec, rg, GH, theta, whh, H, 0.0, rec, dh, H)


# --------------------------------------------------------------------------- numpy twins


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def forward_np(kind: str, arrays, x: np.ndarray, return_sequences: bool, relu: bool = False) -> np.ndarray:
    """x (n, T, F) -> (n, units) or (n, T, units), as torch's layers with zero initial state."""
    hs, _ = forward_steps_np(kind, arrays, x, relu)
    return hs[:, 1:] if return_sequences else hs[:, -1]


def forward_steps_np(kind: str, arrays, x: np.ndarray, relu: bool = False):
    """Every step's hidden state (n, T+1, units) (h_0 = 0 first) and what backpropagation
    needs (cell states, gate values), as ``backward_np`` takes them."""
    W_ih, W_hh, b_ih, b_hh = arrays
    n, T, _ = x.shape
    H = W_hh.shape[1]
    hs, cs, gates_ = [np.zeros((n, H), dtype=x.dtype)], [np.zeros((n, H), dtype=x.dtype)], []
    for t in range(T):
        h = hs[-1]
        gx = x[:, t] @ W_ih.T + b_ih
        gh = h @ W_hh.T + b_hh
        if kind == "lstm":
            i, f, g, o = np.split(gx + gh, 4, axis=1)
            i, f, g, o = _sig(i), _sig(f), np.tanh(g), _sig(o)
            cs.append(f * cs[-1] + i * g)
            hs.append(o * np.tanh(cs[-1]))
            gates_.append((i, f, g, o))
        elif kind == "gru":
            r = _sig(gx[:, :H] + gh[:, :H])
            zg = _sig(gx[:, H : 2 * H] + gh[:, H : 2 * H])
            ghn = gh[:, 2 * H :]
            nn = np.tanh(gx[:, 2 * H :] + r * ghn)
            hs.append((1 - zg) * nn + zg * h)
            gates_.append((r, zg, nn, ghn))
        else:
            v = gx + gh
            hs.append(np.maximum(v, 0.0) if relu else np.tanh(v))
    return np.stack(hs, axis=1), (cs, gates_)


def backward_np(kind: str, arrays, x, hs, cache, dh_out, bptt: int = 0, relu: bool = False, dh_steps=None):
    """Backpropagation through time: (d weight_ih, d weight_hh, d bias_ih, d bias_hh, dx) for
    dL/dh of every step ``dh_out`` (n, T, units) (zeros where a step is not an output); with
    ``bptt`` = k > 0 the recurrent gradient is cut every k steps from the end. A list
    ``dh_steps`` receives dL/dh_t (n, units) of every step, first step first: how much the
    loss reaches back to each step (the vanishing-gradient view)."""
    W_ih, W_hh, _, _ = arrays
    cs, gates_ = cache
    n, T, _ = x.shape
    H = W_hh.shape[1]
    dW_ih, dW_hh = np.zeros_like(W_ih), np.zeros_like(W_hh)
    db_ih, db_hh = np.zeros(W_ih.shape[0], dtype=x.dtype), np.zeros(W_ih.shape[0], dtype=x.dtype)
    dx = np.zeros_like(x)
    dh = np.zeros((n, H), dtype=x.dtype)
    dc = np.zeros((n, H), dtype=x.dtype)
    for t in range(T - 1, -1, -1):
        dh = dh + dh_out[:, t]
        if dh_steps is not None:
            dh_steps.insert(0, dh.copy())
        hp = hs[:, t]
        direct = 0.0
        if kind == "lstm":
            i, f, g, o = gates_[t]
            tc = np.tanh(cs[t + 1])
            dct = dc + dh * o * (1 - tc * tc)
            dA = np.concatenate(
                [
                    dct * g * i * (1 - i),
                    dct * cs[t] * f * (1 - f),
                    dct * i * (1 - g * g),
                    dh * tc * o * (1 - o),
                ],
                axis=1,
            )
            dR = dA
            dc = dct * f
        elif kind == "gru":
            r, zg, nn, ghn = gates_[t]
            dan = dh * (1 - zg) * (1 - nn * nn)
            dar = dan * ghn * r * (1 - r)
            daz = dh * (hp - nn) * zg * (1 - zg)
            dA = np.concatenate([dar, daz, dan], axis=1)
            dR = np.concatenate([dar, daz, dan * r], axis=1)
            direct = dh * zg
        else:
            h = hs[:, t + 1]
            dA = dh * ((h > 0).astype(x.dtype) if relu else 1 - h * h)
            dR = dA
        dW_ih += dA.T @ x[:, t]
        dW_hh += dR.T @ hp
        db_ih += dA.sum(axis=0)
        db_hh += dR.sum(axis=0)
        dx[:, t] = dA @ W_ih
        if bptt > 0 and (T - t) % bptt == 0:
            dh, dc = np.zeros_like(dh), np.zeros_like(dc)
        else:
            dh = dR @ W_hh + direct
    return dW_ih, dW_hh, db_ih, db_hh, dx


# --------------------------------------------------------------------------- the blocks


def _params(layer):
    G, F, H = gates(layer.kind), layer.in_shape[1], layer.units
    return (
        ("weight_ih", (G * H, F)),
        ("weight_hh", (G * H, H)),
        ("bias_ih", (G * H,)),
        ("bias_hh", (G * H,)),
    )


def _init(layer, init, bias_init, rng):
    """As torch initialises recurrent layers when ``init`` is torch_default (every array
    U(+-1/sqrt(units))); other initialisers use the input (or units) as fan_in."""
    G, F, H = gates(layer.kind), layer.in_shape[1], layer.units
    if init == "torch_default":
        fans_ih = fans_hh = (H, G * H)  # torch: bound 1/sqrt(hidden_size) for every array
    else:
        fans_ih, fans_hh = (F, G * H), (H, G * H)
    arrays = [
        init_weight_shaped(init, (G * H, F), *fans_ih, rng),
        init_weight_shaped(init, (G * H, H), *fans_hh, rng),
        init_bias(bias_init, H, G * H, rng),
        init_bias(bias_init, H, G * H, rng),
    ]
    fb = float(getattr(layer, "forget_bias", 0.0))
    if layer.kind == "lstm" and fb:  # gates i, f, g, o: the forget gate's sum of biases = fb
        arrays[2][H : 2 * H] = fb
        arrays[3][H : 2 * H] = 0.0
    return arrays


for _name, _code, _what in (
    ("rnn", BLOCK_RNN, "simple recurrent layer (torch.nn.RNN): h = act(W_ih x + W_hh h + b)"),
    ("lstm", BLOCK_LSTM, "long short-term memory (torch.nn.LSTM): gates i, f, g, o and a cell state"),
    ("gru", BLOCK_GRU, "gated recurrent unit (torch.nn.GRU): gates r, z, n"),
):
    register(BlockKind(_name, _code, _what, _params, _init, state_width=state_width))
