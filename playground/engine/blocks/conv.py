"""The 2-D convolution block (``torch.nn.Conv2d``: NCHW, cross-correlation, zero padding,
one stride for both axes, square kernels; weight (out, in, k, k) then bias (out,)).

Each sample's input (C_in, H, W) and output (C_out, H_out, W_out) are contiguous in the
row-major batch buffers, in NCHW order, so a following flatten is the identity and dense
layers see PyTorch's ``Flatten`` order. ``forward``/``backward`` run over a training batch;
``forward_columns`` over feature-major inference chunks (each pixel of each channel holds
``rows`` contiguous values, so every inner loop is an axpy over rows). numpy twins below.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.blocks.registry import (
    P_BOFF,
    P_CIN,
    P_COUT,
    P_END,
    P_HIN,
    P_HOUT,
    P_K,
    P_PAD,
    P_STRIDE,
    P_WIN,
    P_WOFF,
    P_WOUT,
    BlockKind,
    register,
)
from playground.engine.codes import BLOCK_CONV2D
from playground.engine.initializers import init_bias, init_weight_shaped
from playground.engine.jit import JIT_INLINE


@njit(**JIT_INLINE)
def geometry(row):
    """(C_in, H_in, W_in, C_out, H_out, W_out, kernel, stride, padding) of a plan row."""
    return (
        row[P_CIN], row[P_HIN], row[P_WIN], row[P_COUT], row[P_HOUT], row[P_WOUT], row[P_K], row[P_STRIDE],
        row[P_PAD],
    )  # fmt: skip


@njit(**JIT_INLINE)
def _span(kk, pad, s, n_in, n_out):
    """Output positions o with 0 <= o*s - pad + kk < n_in: range(lo, hi)."""
    lo = max(0, -((kk - pad) // s))
    hi = min(n_out, (n_in - 1 + pad - kk) // s + 1)
    return lo, max(lo, hi)


@njit(**JIT_INLINE)
def forward(theta, row, a, soff, z, doff, rows):
    cin, hin, win, cout, hout, wout, k, s, pad = geometry(row)
    woff, boff = row[P_WOFF], row[P_BOFF]
    has_bias = row[P_END] > boff
    nin = cin * hin * win
    hw = hout * wout
    nout = cout * hw
    for i in range(rows):
        src = soff + i * nin
        dst = doff + i * nout
        for co in range(cout):
            o = dst + co * hw
            bv = theta[boff + co] if has_bias else 0.0
            for t in range(hw):
                z[o + t] = bv
            for ci in range(cin):
                plane = src + ci * hin * win
                for kh in range(k):
                    oh_lo, oh_hi = _span(kh, pad, s, hin, hout)
                    for kw in range(k):
                        w = theta[woff + ((co * cin + ci) * k + kh) * k + kw]
                        ow_lo, ow_hi = _span(kw, pad, s, win, wout)
                        for oh in range(oh_lo, oh_hi):
                            ib = plane + (oh * s - pad + kh) * win - pad + kw
                            zr = o + oh * wout
                            for ow in range(ow_lo, ow_hi):
                                z[zr + ow] += w * a[ib + ow * s]


@njit(**JIT_INLINE)
def backward(theta, grad, row, a, soff, delta, doff, da, rows, want_input_grad):
    """grad(W), grad(b) += this batch's; da[:rows*n_in] = dL/d(input) if wanted."""
    cin, hin, win, cout, hout, wout, k, s, pad = geometry(row)
    woff, boff = row[P_WOFF], row[P_BOFF]
    has_bias = row[P_END] > boff
    nin = cin * hin * win
    hw = hout * wout
    nout = cout * hw
    if want_input_grad:
        for t in range(rows * nin):
            da[t] = 0.0
    for i in range(rows):
        src = soff + i * nin
        dst = doff + i * nout
        for co in range(cout):
            o = dst + co * hw
            if has_bias:
                sb = 0.0
                for t in range(hw):
                    sb += delta[o + t]
                grad[boff + co] += sb
            for ci in range(cin):
                plane = src + ci * hin * win
                gplane = i * nin + ci * hin * win
                for kh in range(k):
                    oh_lo, oh_hi = _span(kh, pad, s, hin, hout)
                    for kw in range(k):
                        widx = woff + ((co * cin + ci) * k + kh) * k + kw
                        w = theta[widx]
                        ow_lo, ow_hi = _span(kw, pad, s, win, wout)
                        acc = 0.0
                        for oh in range(oh_lo, oh_hi):
                            shift = (oh * s - pad + kh) * win - pad + kw
                            dr = o + oh * wout
                            for ow in range(ow_lo, ow_hi):
                                acc += delta[dr + ow] * a[plane + shift + ow * s]
                            if want_input_grad:
                                for ow in range(ow_lo, ow_hi):
                                    da[gplane + shift + ow * s] += w * delta[dr + ow]
                        grad[widx] += acc


# --------------------------------------------------------------------------- with BLAS
# im2col: the receptive fields of the whole batch as one (C_in*k*k, rows*H_out*W_out) matrix
# in the ``col`` scratch, so each pass is one GEMM; the scratch also holds the GEMM's
# (C_out, rows*H_out*W_out) result and, backwards, the fields' gradient (``col_size``).

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@njit(**JIT_INLINE)
def _im2col(row, a, soff, rows, cols):
    cin, hin, win = row[P_CIN], row[P_HIN], row[P_WIN]
    hout, wout = row[P_HOUT], row[P_WOUT]
    k, s, pad = row[P_K], row[P_STRIDE], row[P_PAD]
    nin = cin * hin * win
    hw = hout * wout
    n = rows * hw
    for ci in range(cin):
        for kh in range(k):
            oh_lo, oh_hi = _span(kh, pad, s, hin, hout)
            for kw in range(k):
                ow_lo, ow_hi = _span(kw, pad, s, win, wout)
                r = ((ci * k + kh) * k + kw) * n
                for t in range(r, r + n):
                    cols[t] = 0.0
                for i in range(rows):
                    plane = soff + i * nin + ci * hin * win
                    for oh in range(oh_lo, oh_hi):
                        ib = plane + (oh * s - pad + kh) * win - pad + kw
                        cb = r + i * hw + oh * wout
                        for ow in range(ow_lo, ow_hi):
                            cols[cb + ow] = a[ib + ow * s]


@njit(**JIT_INLINE)
def forward_gemm(gemm, theta, row, a, soff, z, doff, rows, col):
    cin, cout, k = row[P_CIN], row[P_COUT], row[P_K]
    hw = row[P_HOUT] * row[P_WOUT]
    ckk = cin * k * k
    n = rows * hw
    woff, boff = row[P_WOFF], row[P_BOFF]
    has_bias = row[P_END] > boff
    _im2col(row, a, soff, rows, col)
    out = ckk * n  # the GEMM's (C_out, rows*hw) result
    isz = theta.itemsize
    gemm(
        _ROW_MAJOR, _NO_TRANS, _NO_TRANS, cout, n, ckk, 1.0,
        theta.ctypes.data + woff * isz, ckk, col.ctypes.data, n,
        0.0, col.ctypes.data + out * isz, n,
    )  # fmt: skip
    nout = cout * hw
    for i in range(rows):
        for co in range(cout):
            bv = theta[boff + co] if has_bias else 0.0
            src = out + co * n + i * hw
            dst = doff + i * nout + co * hw
            for p in range(hw):
                z[dst + p] = col[src + p] + bv


@njit(**JIT_INLINE)
def backward_gemm(gemm, theta, grad, row, a, soff, delta, doff, da, rows, want_input_grad, col):
    cin, hin, win, cout, hout, wout, k, s, pad = geometry(row)
    hw = hout * wout
    ckk = cin * k * k
    n = rows * hw
    woff, boff = row[P_WOFF], row[P_BOFF]
    has_bias = row[P_END] > boff
    nout = cout * hw
    _im2col(row, a, soff, rows, col)
    dz = ckk * n  # delta as (C_out, rows*hw)
    for i in range(rows):
        for co in range(cout):
            src = doff + i * nout + co * hw
            dst = dz + co * n + i * hw
            for p in range(hw):
                col[dst + p] = delta[src + p]
    if has_bias:
        for co in range(cout):
            sb = 0.0
            for t in range(dz + co * n, dz + (co + 1) * n):
                sb += col[t]
            grad[boff + co] += sb
    isz = theta.itemsize
    cp = col.ctypes.data
    gemm(
        _ROW_MAJOR, _NO_TRANS, _TRANS, cout, ckk, n, 1.0,
        cp + dz * isz, n, cp, n, 1.0, grad.ctypes.data + woff * isz, ckk,
    )  # fmt: skip
    if not want_input_grad:
        return
    dcols = dz + cout * n
    gemm(
        _ROW_MAJOR, _TRANS, _NO_TRANS, ckk, n, cout, 1.0,
        theta.ctypes.data + woff * isz, ckk, cp + dz * isz, n, 0.0, cp + dcols * isz, n,
    )  # fmt: skip
    nin = cin * hin * win
    for t in range(rows * nin):
        da[t] = 0.0
    for ci in range(cin):
        for kh in range(k):
            oh_lo, oh_hi = _span(kh, pad, s, hin, hout)
            for kw in range(k):
                ow_lo, ow_hi = _span(kw, pad, s, win, wout)
                r = dcols + ((ci * k + kh) * k + kw) * n
                for i in range(rows):
                    plane = i * nin + ci * hin * win
                    for oh in range(oh_lo, oh_hi):
                        ib = plane + (oh * s - pad + kh) * win - pad + kw
                        cb = r + i * hw + oh * wout
                        for ow in range(ow_lo, ow_hi):
                            da[ib + ow * s] += col[cb + ow]


def col_size(layer, rows: int) -> int:
    """Scratch values ``forward_gemm``/``backward_gemm`` need for a batch of ``rows``."""
    ckk = layer.in_shape[0] * layer.kernel * layer.kernel
    n = rows * layer.out_shape[1] * layer.out_shape[2]
    return (2 * ckk + layer.out_shape[0]) * n


@njit(**JIT_INLINE)
def forward_columns(theta, row, a, soff, z, doff, rows):
    cin, hin, win, cout, hout, wout, k, s, pad = geometry(row)
    woff, boff = row[P_WOFF], row[P_BOFF]
    has_bias = row[P_END] > boff
    hw = hout * wout
    for co in range(cout):
        bv = theta[boff + co] if has_bias else 0.0
        for t in range((co * hw) * rows, (co + 1) * hw * rows):
            z[doff + t] = bv
        for ci in range(cin):
            for kh in range(k):
                oh_lo, oh_hi = _span(kh, pad, s, hin, hout)
                for kw in range(k):
                    w = theta[woff + ((co * cin + ci) * k + kh) * k + kw]
                    ow_lo, ow_hi = _span(kw, pad, s, win, wout)
                    for oh in range(oh_lo, oh_hi):
                        ih = oh * s - pad + kh
                        for ow in range(ow_lo, ow_hi):
                            iw = ow * s - pad + kw
                            zc = doff + (co * hw + oh * wout + ow) * rows
                            ac = soff + ((ci * hin + ih) * win + iw) * rows
                            for r in range(rows):
                                z[zc + r] += w * a[ac + r]


# --------------------------------------------------------------------------- numpy twins


def _padded(x: np.ndarray, pad: int, h_out: int, w_out: int, k: int, s: int) -> np.ndarray:
    """x (n, c, h, w) with ``pad`` zeros before and enough after for the output size."""
    n, c, h, w = x.shape
    hp = max(h + pad, (h_out - 1) * s + k)
    wp = max(w + pad, (w_out - 1) * s + k)
    out = np.zeros((n, c, hp, wp), dtype=x.dtype)
    out[:, :, pad : pad + h, pad : pad + w] = x
    return out


def forward_np(
    W: np.ndarray, b: np.ndarray | None, x: np.ndarray, stride: int, pad: int, out_hw
) -> np.ndarray:
    """x (n, c_in, h, w), W (c_out, c_in, k, k) -> (n, c_out, h_out, w_out), as torch conv2d."""
    k = W.shape[2]
    h_out, w_out = out_hw
    xp = _padded(x, pad, h_out, w_out, k, stride)
    out = np.zeros((x.shape[0], W.shape[0], h_out, w_out), dtype=np.result_type(x, W))
    for kh in range(k):
        for kw in range(k):
            patch = xp[:, :, kh : kh + stride * h_out : stride, kw : kw + stride * w_out : stride]
            out += np.einsum("nchw,oc->nohw", patch, W[:, :, kh, kw])
    if b is not None:
        out += b[None, :, None, None]
    return out


def backward_np(W: np.ndarray, x: np.ndarray, delta: np.ndarray, stride: int, pad: int):
    """(dW, db, dx) of ``forward_np`` for dL/d(out) = delta."""
    k = W.shape[2]
    h_out, w_out = delta.shape[2:]
    xp = _padded(x, pad, h_out, w_out, k, stride)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for kh in range(k):
        for kw in range(k):
            sl = (
                slice(None),
                slice(None),
                slice(kh, kh + stride * h_out, stride),
                slice(kw, kw + stride * w_out, stride),
            )
            dW[:, :, kh, kw] = np.einsum("nohw,nchw->oc", delta, xp[sl])
            dxp[sl] += np.einsum("nohw,oc->nchw", delta, W[:, :, kh, kw])
    h, w = x.shape[2:]
    return dW, delta.sum(axis=(0, 2, 3)), dxp[:, :, pad : pad + h, pad : pad + w]


# --------------------------------------------------------------------------- the block


def _params(layer):
    cin, cout, k = layer.in_shape[0], layer.out_shape[0], layer.kernel
    arrays = (("weight", (cout, cin, k, k)),)
    return arrays + ((("bias", (cout,)),) if layer.bias else ())


def _init(layer, init, bias_init, rng):
    cin, cout, k = layer.in_shape[0], layer.out_shape[0], layer.kernel
    fan_in, fan_out = cin * k * k, cout * k * k  # torch.nn.init._calculate_fan_in_and_fan_out
    W = init_weight_shaped(init, (cout, cin, k, k), fan_in, fan_out, rng)
    return [W, init_bias(bias_init, fan_in, cout, rng)] if layer.bias else [W]


CONV2D = register(
    BlockKind(
        name="conv2d",
        code=BLOCK_CONV2D,
        description="2-D convolution (torch.nn.Conv2d): filters slide over each input image",
        params=_params,
        init=_init,
    )
)
