"""Recurrent blocks: ``rnn``, ``lstm`` and ``gru`` as ``torch.nn.RNN`` / ``LSTM`` / ``GRU``
(one layer, batch_first, zero initial state; gate order i, f, g, o and r, z, n; arrays
weight_ih (G*units, features), weight_hh (G*units, units), bias_ih, bias_hh).

A sample's input is its sequence (length, features), row-major. The output is the last
hidden state (units,) or, with ``return_sequences``, every step's (length, units). The
forward pass keeps every step's hidden state, cell state and gate values in the block's
region of the ``rec`` scratch, where backpropagation through time reads them; with ``bptt``
= k > 0 the recurrent gradient is cut every k steps from the end (as training chunks of k
steps with ``h.detach()`` between them).

Speed (W5: 20 steps x 32 rows x 32 units; benchmarks/bench_lstm.py): only the recurrence
is sequential. So the state is time-major (step t's rows contiguous) and the input is copied
time-major once; every step's input projection x_t @ W_ih^T is then ONE product over all
length x rows before the recurrence, each step does one product h_{t-1} @ W_hh^T (forward)
or dA_t @ W_hh (backward) for the whole batch, and the parameter gradients dW_ih = dA^T X,
dW_hh = dR^T H_prev and the input gradient are one product each over the whole sequence
after it. Products go through BLAS (``gemm``), split into pieces OpenBLAS keeps on the
calling thread (its threads collapse on a busy machine), or, without BLAS, loops with
contiguous inner loops (``_mm``). The elementwise gate loops run over row views
(``rec[a:b]``, so LLVM sees non-negative indices and vectorises them) in the data's
precision: ``tanh_fast`` in float64 (1e-15, the gradient tests' 1e-10), a float32 rational
tanh with float32 constants in float32 (``_th``/``_sg`` pick one at compile time). The
gate values are computed in place over the pre-activations, and backpropagation overwrites
them with the pre-activation gradients dA (no per-step allocation).

``forward`` also runs on the feature-major inference chunks (``columns``): the inputs are
then read, and the outputs written, with the other strides. numpy twins below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

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
_ONE_THREAD = 262144  # multiply-adds per product that OpenBLAS keeps on the calling thread


def gates(kind: str) -> int:
    return {"rnn": 1, "lstm": 4, "gru": 3}[kind]


def _slot(kind: str, H: int) -> int:
    """Values per row and step in the gate region: 4*units for an LSTM (i, f, g, o) and a GRU
    (r, z, n and W_hn h + b_hn), units for an RNN (its pre-activation)."""
    return H if kind == "rnn" else 4 * H


def state_width(layer) -> int:
    """State scratch per sample (``_layout``): hidden states (length+1) x units (and cell
    states for an LSTM), the gate region length x slot, the time-major input length x
    features, a GRU's recurrent products 3*units, and dh, dc, scratch 3*units."""
    T, F, H = layer.in_shape[0], layer.in_shape[1], layer.units
    hc = (T + 1) * H * (2 if layer.kind == "lstm" else 1)
    return hc + T * _slot(layer.kind, H) + T * F + (3 * H if layer.kind == "gru" else 0) + 3 * H


@njit(**JIT_INLINE)
def sigmoid(x):
    """1 / (1 + e^-x) as (1 + tanh(x/2)) / 2: no branch, so the gate loops vectorise."""
    return 0.5 + 0.5 * tanh_fast(0.5 * x)


@njit(**JIT_INLINE)
def _tanh32(x):
    """tanh of a float32 in float32 (16 lanes a vector instead of 8, and a third of
    ``tanh_fast``'s work; max relative error 2.7e-7, 4.5 ulp): Eigen's rational
    approximation (generic_fast_tanh_float), odd degree 13 over even degree 6 on +-7.9."""
    x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


def _th(x):
    """tanh in the precision of x (the gate loops; resolved at compile time, below)."""
    return np.tanh(x)


@overload(_th, jit_options=JIT_INLINE)
def _th_typed(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: _tanh32(x)
    return lambda x: tanh_fast(x)


def _sg(x):
    """sigmoid in the precision of x (the gate loops; resolved at compile time, below)."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


@overload(_sg, jit_options=JIT_INLINE)
def _sg_typed(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: np.float32(0.5) + np.float32(0.5) * _tanh32(np.float32(0.5) * x)
    return lambda x: sigmoid(x)


@njit(**JIT_INLINE)
def _mm(gemm, ta, tb, M, N, K, A, ao, lda, B, bo, ldb, beta, C, co, ldc):
    """C[co:] (M x N, ldc) = op(A) @ op(B) + beta * C, row-major, op = transpose if t*.

    Without BLAS, loops over views whose inner loop is contiguous: dot products over k when
    B is transposed (rows of A and B contiguous), otherwise rows of B scaled into rows of C."""
    if gemm is not None:
        # OpenBLAS runs products of more than ~2.6e5 multiply-adds on its threads, which
        # collapses (10x slower measured) when another process keeps the cores busy: split
        # into single-threaded pieces, along M (independent) and K (accumulated)
        mc = M if M * N * K <= _ONE_THREAD else max(1, _ONE_THREAD // max(1, N * K))
        kc = K if mc * N * K <= _ONE_THREAD else max(1, _ONE_THREAD // max(1, mc * N))
        isz = C.itemsize
        a0, b0, c0 = A.ctypes.data + ao * isz, B.ctypes.data + bo * isz, C.ctypes.data + co * isz
        for m in range(0, M, mc):
            mm = min(mc, M - m)
            for k in range(0, K, kc):
                pa = a0 + ((k * lda + m) if ta else (m * lda + k)) * isz
                pb = b0 + (k if tb else k * ldb) * isz
                kk = min(kc, K - k)
                gemm(
                    _ROW_MAJOR, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, mm, N, kk, 1.0,
                    pa, lda, pb, ldb, beta if k == 0 else 1.0, c0 + m * ldc * isz, ldc,
                )  # fmt: skip
        return
    for m in range(M):
        c = C[co + m * ldc : co + m * ldc + N]
        if beta == 0.0:
            for n in range(N):
                c[n] = 0.0
        if tb and not ta:
            x = A[ao + m * lda : ao + m * lda + K]
            for n in range(N):
                y = B[bo + n * ldb : bo + n * ldb + K]
                s = 0.0
                for k in range(K):
                    s += x[k] * y[k]
                c[n] += s
        elif not tb:
            for k in range(K):
                s = A[ao + k * lda + m] if ta else A[ao + m * lda + k]
                y = B[bo + k * ldb : bo + k * ldb + N]
                for n in range(N):
                    c[n] += s * y[n]
        else:
            for n in range(N):
                s = 0.0
                for k in range(K):
                    s += A[ao + k * lda + m] * B[bo + n * ldb + k]
                c[n] += s


@njit(**JIT_INLINE)
def _layout(row, rows, roff):
    """Where a block's arrays sit in theta and its state in ``rec`` (from ``roff``), every
    region time-major: gates G, G*units, the slot width S, weight_ih, weight_hh, bias_ih,
    bias_hh offsets, then the state regions (``state_width``)."""
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G = 4 if kind == BLOCK_LSTM else (3 if kind == BLOCK_GRU else 1)
    GH = G * H
    S = H if kind == BLOCK_RNN else 4 * H
    hs = roff  # (T+1, rows, H) hidden states, h_0 = 0 first
    cs = hs + (T + 1) * rows * H  # (T+1, rows, H) cell states (LSTM)
    gs = cs + ((T + 1) * rows * H if kind == BLOCK_LSTM else 0)  # (T, rows, S) gates; backward: dA
    xs = gs + T * rows * S  # (T, rows, F) the input, time-major; backward: dx
    gh = xs + T * rows * F  # (rows, 3H) GRU: W_hh h + b_hh of one step
    dh = gh + (rows * 3 * H if kind == BLOCK_GRU else 0)  # (rows, H) x 3: dh, dc, scratch
    w = row[P_WOFF]
    b = row[P_BOFF]
    return G, GH, S, w, w + GH * F, b, b + GH, hs, cs, gs, xs, gh, dh


@njit(**JIT_INLINE)
def _lstm_cell(s, cp, cn, h):
    """The slot s of one row holds the pre-activations of i, f, g, o and receives the gate
    values; then the new cell state cn and hidden state h (cp: the cell state before)."""
    H = h.shape[0]
    i, f, g, o = s[:H], s[H : 2 * H], s[2 * H : 3 * H], s[3 * H : 4 * H]
    for k in range(H):
        ig, fg, gg, og = _sg(i[k]), _sg(f[k]), _th(g[k]), _sg(o[k])
        c = fg * cp[k] + ig * gg
        cn[k] = c
        h[k] = og * _th(c)
        i[k] = ig
        f[k] = fg
        g[k] = gg
        o[k] = og


@njit(**JIT_INLINE)
def _gru_cell(s, q, bn, hp, h):
    """The slot's r, z, n hold the input projections (with the biases but b_hn) and receive
    the gate values; q the recurrent products W_hh h (r, z, n parts), bn = b_hn; the slot's
    last quarter gets W_hn h + b_hn."""
    H = h.shape[0]
    one = s.dtype.type(1.0)
    r, zg, n, ghn = s[:H], s[H : 2 * H], s[2 * H : 3 * H], s[3 * H : 4 * H]
    for k in range(H):
        rk = _sg(r[k] + q[k])
        zk = _sg(zg[k] + q[H + k])
        gk = q[2 * H + k] + bn[k]
        nk = _th(n[k] + rk * gk)
        h[k] = (one - zk) * nk + zk * hp[k]
        r[k] = rk
        zg[k] = zk
        n[k] = nk
        ghn[k] = gk


@njit(**JIT_INLINE)
def _rnn_cell(v, h, relu):
    zero = v.dtype.type(0.0)
    for k in range(h.shape[0]):
        x = v[k]
        h[k] = (x if x > zero else zero) if relu else _th(x)


@njit(**JIT_INLINE)
def _lstm_back(s, c, cp, dh, dc):
    """The slot's gate values i, f, g, o are replaced by the pre-activation gradients; dc
    becomes the cell gradient of the step before."""
    H = dh.shape[0]
    one = s.dtype.type(1.0)
    i, f, g, o = s[:H], s[H : 2 * H], s[2 * H : 3 * H], s[3 * H : 4 * H]
    for k in range(H):
        ig, fg, gg, og, d = i[k], f[k], g[k], o[k], dh[k]
        tc = _th(c[k])
        dct = dc[k] + d * og * (one - tc * tc)
        i[k] = dct * gg * ig * (one - ig)
        f[k] = dct * cp[k] * fg * (one - fg)
        g[k] = dct * ig * (one - gg * gg)
        o[k] = d * tc * og * (one - og)
        dc[k] = dct * fg


@njit(**JIT_INLINE)
def _gru_back(s, hp, dh, direct):
    """The slot's gate values r, z, n, ghn are replaced by d(r), d(z), d(n) pre-activations and
    d(n)*r (the recurrent n part); ``direct`` gets dh * z (the path h_{t-1} -> h_t)."""
    H = dh.shape[0]
    one = s.dtype.type(1.0)
    r, zg, n, ghn = s[:H], s[H : 2 * H], s[2 * H : 3 * H], s[3 * H : 4 * H]
    for k in range(H):
        rk, zk, nk, d = r[k], zg[k], n[k], dh[k]
        dan = d * (one - zk) * (one - nk * nk)
        r[k] = dan * ghn[k] * rk * (one - rk)
        zg[k] = d * (hp[k] - nk) * zk * (one - zk)
        n[k] = dan
        ghn[k] = dan * rk
        direct[k] = d * zk


@njit(**JIT_INLINE)
def _rnn_back(v, h, dh, relu):
    one, zero = v.dtype.type(1.0), v.dtype.type(0.0)
    for k in range(dh.shape[0]):
        x = h[k]
        v[k] = dh[k] * ((one if x > zero else zero) if relu else one - x * x)


@njit(**JIT_INLINE)
def forward(gemm, theta, row, a, soff, z, doff, rows, rec, roff, columns):
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G, GH, S, wih, whh, bih, bhh, hs, cs, gs, xs, gh, _ = _layout(row, rows, roff)
    relu = row[P_CELL] == RELU
    # the input time-major, then every step's input projection x_t @ W_ih^T in one product
    for t in range(T):
        for i in range(rows):
            x = rec[xs + (t * rows + i) * F : xs + (t * rows + i + 1) * F]
            for f in range(F):
                x[f] = a[soff + t * F * rows + f * rows + i] if columns else a[soff + i * T * F + t * F + f]
    for q in range(rows * H):
        rec[hs + q] = 0.0
        if kind == BLOCK_LSTM:
            rec[cs + q] = 0.0
    _mm(gemm, False, True, T * rows, GH, F, rec, xs, F, theta, wih, F, 0.0, rec, gs, S)
    # the biases: b_ih + b_hh (a GRU's b_hn is added inside r * (W_hn h + b_hn), below)
    nb = 2 * H if kind == BLOCK_GRU else GH
    bi = theta[bih : bih + GH]
    bh = theta[bhh : bhh + GH]
    for q in range(T * rows):
        v = rec[gs + q * S : gs + q * S + GH]
        for j in range(nb):
            v[j] += bi[j] + bh[j]
        for j in range(nb, GH):
            v[j] += bi[j]
    bn = theta[bhh + 2 * H : bhh + 3 * H]
    for t in range(T):
        hp = hs + t * rows * H
        hn = hp + rows * H
        g = gs + t * rows * S
        # the recurrent products h_{t-1} @ W_hh^T of the whole batch
        if kind == BLOCK_GRU:
            _mm(gemm, False, True, rows, GH, H, rec, hp, H, theta, whh, H, 0.0, rec, gh, GH)
        else:
            _mm(gemm, False, True, rows, GH, H, rec, hp, H, theta, whh, H, 1.0, rec, g, S)
        for i in range(rows):
            v = g + i * S
            h = rec[hn + i * H : hn + (i + 1) * H]
            if kind == BLOCK_LSTM:
                c = cs + t * rows * H + i * H
                _lstm_cell(rec[v : v + S], rec[c : c + H], rec[c + rows * H : c + rows * H + H], h)
            elif kind == BLOCK_GRU:
                q = gh + i * GH
                _gru_cell(rec[v : v + S], rec[q : q + GH], bn, rec[hp + i * H : hp + (i + 1) * H], h)
            else:
                _rnn_cell(rec[v : v + H], h, relu)
        if row[P_RETSEQ] or t == T - 1:
            n_out = T * H if row[P_RETSEQ] else H
            u0 = t * H if row[P_RETSEQ] else 0  # the step's first output unit
            for i in range(rows):
                h = rec[hn + i * H : hn + (i + 1) * H]
                if columns:
                    for k in range(H):
                        z[doff + (u0 + k) * rows + i] = h[k]
                else:
                    o = z[doff + i * n_out + u0 : doff + i * n_out + u0 + H]
                    for k in range(H):
                        o[k] = h[k]


@njit(**JIT_INLINE)
def backward(gemm, theta, grad, row, a, soff, delta, doff, da, rows, want_input_grad, rec, roff):
    """Backpropagation through time over the state ``forward`` left: each step's
    pre-activation gradients replace its gate values (the recurrent gradient dh_{t-1} =
    dA_t @ W_hh is the only product per step); the parameter gradients and the input
    gradient are then one product each over all steps."""
    T, F, H = row[P_T], row[P_F], row[P_H]
    kind = row[P_KIND]
    G, GH, S, wih, whh, bih, bhh, hs, cs, gs, xs, _, dh = _layout(row, rows, roff)
    dc = dh + rows * H
    tmp = dc + rows * H
    bptt = row[P_BPTT]
    relu = row[P_CELL] == RELU
    n_out = T * H if row[P_RETSEQ] else H
    for q in range(2 * rows * H):
        rec[dh + q] = 0.0
    for t in range(T - 1, -1, -1):
        if row[P_RETSEQ] or t == T - 1:
            u0 = t * H if row[P_RETSEQ] else 0
            for i in range(rows):
                d = rec[dh + i * H : dh + (i + 1) * H]
                e = delta[doff + i * n_out + u0 : doff + i * n_out + u0 + H]
                for k in range(H):
                    d[k] += e[k]
        g = gs + t * rows * S
        hp = hs + t * rows * H
        for i in range(rows):
            v = g + i * S
            d = rec[dh + i * H : dh + (i + 1) * H]
            e = i * H  # the row's offset in (rows, H) regions
            if kind == BLOCK_LSTM:
                c = cs + (t + 1) * rows * H + e
                cp = c - rows * H
                _lstm_back(rec[v : v + S], rec[c : c + H], rec[cp : cp + H], d, rec[dc + e : dc + e + H])
            elif kind == BLOCK_GRU:
                _gru_back(rec[v : v + S], rec[hp + e : hp + e + H], d, rec[tmp + e : tmp + e + H])
            else:
                hn = hp + rows * H + i * H
                _rnn_back(rec[v : v + H], rec[hn : hn + H], d, relu)
        if t == 0:
            break
        if bptt > 0 and (T - t) % bptt == 0:  # truncated: no gradient through h_{t-1}, c_{t-1}
            for q in range(2 * rows * H):
                rec[dh + q] = 0.0
            continue
        if kind == BLOCK_GRU:  # dR = (d r, d z, d n * r): slot columns [0, 2H) and [3H, 4H)
            for q in range(rows * H):
                rec[dh + q] = rec[tmp + q]
            _mm(gemm, False, False, rows, H, 2 * H, rec, g, S, theta, whh, H, 1.0, rec, dh, H)
            _mm(gemm, False, False, rows, H, H, rec, g + 3 * H, S, theta, whh + 2 * H * H, H, 1.0, rec, dh, H)
        else:
            _mm(gemm, False, False, rows, H, GH, rec, g, S, theta, whh, H, 0.0, rec, dh, H)
    # parameter gradients over all steps: dW_ih += dA^T X, dW_hh += dR^T H_prev, biases the
    # column sums (a GRU's recurrent n part is slot column 3H on)
    TB = T * rows
    _mm(gemm, True, False, GH, F, TB, rec, gs, S, rec, xs, F, 1.0, grad, wih, F)
    if kind == BLOCK_GRU:
        _mm(gemm, True, False, 2 * H, H, TB, rec, gs, S, rec, hs, H, 1.0, grad, whh, H)
        _mm(gemm, True, False, H, H, TB, rec, gs + 3 * H, S, rec, hs, H, 1.0, grad, whh + 2 * H * H, H)
    else:
        _mm(gemm, True, False, GH, H, TB, rec, gs, S, rec, hs, H, 1.0, grad, whh, H)
    nb = 2 * H if kind == BLOCK_GRU else GH
    gi = grad[bih : bih + GH]
    gb = grad[bhh : bhh + GH]
    for q in range(TB):
        v = rec[gs + q * S : gs + q * S + GH]
        for j in range(GH):
            gi[j] += v[j]
        for j in range(nb):
            gb[j] += v[j]
        if kind == BLOCK_GRU:
            w = rec[gs + q * S + 3 * H : gs + q * S + 4 * H]
            for j in range(H):
                gb[2 * H + j] += w[j]
    if want_input_grad:
        _mm(gemm, False, False, TB, F, GH, rec, gs, S, theta, wih, F, 0.0, rec, xs, F)
        for t in range(T):
            for i in range(rows):
                x = rec[xs + (t * rows + i) * F : xs + (t * rows + i + 1) * F]
                o = da[i * T * F + t * F : i * T * F + (t + 1) * F]
                for f in range(F):
                    o[f] = x[f]


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
