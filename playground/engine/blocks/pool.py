"""Pooling and flatten blocks: no parameters.

``maxpool2d`` / ``avgpool2d`` follow ``torch.nn.MaxPool2d`` / ``AvgPool2d`` with no padding
and floor mode (a window never leaves the image); the max's gradient goes to the first
largest value of its window, as PyTorch's CPU kernel does. ``flatten`` is the identity on
the buffers (each sample's NCHW values are already contiguous). numpy twins below.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.blocks.conv import geometry
from playground.engine.blocks.registry import (
    P_IN,
    BlockKind,
    register,
)
from playground.engine.codes import BLOCK_AVGPOOL2D, BLOCK_FLATTEN, BLOCK_MAXPOOL2D
from playground.engine.jit import JIT_INLINE


@njit(**JIT_INLINE)
def _argmax(a, base, win, k):
    """Offset (from base) of the first largest value of a k x k window."""
    best = 0
    m = a[base]
    for kh in range(k):
        for kw in range(k):
            v = a[base + kh * win + kw]
            if v > m:
                m = v
                best = kh * win + kw
    return best


@njit(**JIT_INLINE)
def forward(is_max, row, a, soff, z, doff, rows):
    c, hin, win, _, hout, wout, k, s, _ = geometry(row)
    nin = c * hin * win
    nout = c * hout * wout
    inv = 1.0 / (k * k)
    for i in range(rows):
        for ch in range(c):
            src = soff + i * nin + ch * hin * win
            dst = doff + i * nout + ch * hout * wout
            for oh in range(hout):
                for ow in range(wout):
                    base = src + oh * s * win + ow * s
                    if is_max:
                        z[dst + oh * wout + ow] = a[base + _argmax(a, base, win, k)]
                    else:
                        t = 0.0
                        for kh in range(k):
                            for kw in range(k):
                                t += a[base + kh * win + kw]
                        z[dst + oh * wout + ow] = t * inv


@njit(**JIT_INLINE)
def backward(is_max, row, a, soff, delta, doff, da, rows):
    """da[:rows*n_in] = dL/d(input) (the window's argmax gets it all, or an equal share)."""
    c, hin, win, _, hout, wout, k, s, _ = geometry(row)
    nin = c * hin * win
    nout = c * hout * wout
    inv = 1.0 / (k * k)
    for t in range(rows * nin):
        da[t] = 0.0
    for i in range(rows):
        for ch in range(c):
            src = soff + i * nin + ch * hin * win
            gsrc = i * nin + ch * hin * win
            dst = doff + i * nout + ch * hout * wout
            for oh in range(hout):
                for ow in range(wout):
                    d = delta[dst + oh * wout + ow]
                    shift = oh * s * win + ow * s
                    if is_max:
                        da[gsrc + shift + _argmax(a, src + shift, win, k)] += d
                    else:
                        for kh in range(k):
                            for kw in range(k):
                                da[gsrc + shift + kh * win + kw] += d * inv


@njit(**JIT_INLINE)
def forward_columns(is_max, row, a, soff, z, doff, rows):
    c, hin, win, _, hout, wout, k, s, _ = geometry(row)
    inv = 1.0 / (k * k)
    for ch in range(c):
        for oh in range(hout):
            for ow in range(wout):
                zc = doff + ((ch * hout + oh) * wout + ow) * rows
                first = soff + ((ch * hin + oh * s) * win + ow * s) * rows
                for r in range(rows):
                    z[zc + r] = a[first + r] if is_max else 0.0
                for kh in range(k):
                    for kw in range(k):
                        ac = soff + ((ch * hin + oh * s + kh) * win + ow * s + kw) * rows
                        if is_max:
                            for r in range(rows):
                                v = a[ac + r]
                                if v > z[zc + r]:
                                    z[zc + r] = v
                        else:
                            for r in range(rows):
                                z[zc + r] += a[ac + r] * inv


@njit(**JIT_INLINE)
def flatten_forward(row, a, soff, z, doff, rows):
    n = rows * row[P_IN]
    for t in range(n):
        z[doff + t] = a[soff + t]


@njit(**JIT_INLINE)
def flatten_backward(row, delta, doff, da, rows):
    n = rows * row[P_IN]
    for t in range(n):
        da[t] = delta[doff + t]


# --------------------------------------------------------------------------- numpy twins


def _windows(x: np.ndarray, k: int, s: int, h_out: int, w_out: int) -> np.ndarray:
    """(n, c, h_out, w_out, k*k) views of every window."""
    parts = [x[:, :, kh : kh + s * h_out : s, kw : kw + s * w_out : s] for kh in range(k) for kw in range(k)]
    return np.stack(parts, axis=-1)


def forward_np(is_max: bool, x: np.ndarray, k: int, s: int, out_hw) -> np.ndarray:
    win = _windows(x, k, s, *out_hw)
    return win.max(axis=-1) if is_max else win.mean(axis=-1)


def backward_np(is_max: bool, x: np.ndarray, delta: np.ndarray, k: int, s: int) -> np.ndarray:
    h_out, w_out = delta.shape[2:]
    dx = np.zeros_like(x)
    if is_max:
        first = _windows(x, k, s, h_out, w_out).argmax(axis=-1)  # numpy's argmax: the first
    for kh in range(k):
        for kw in range(k):
            sl = (slice(None), slice(None), slice(kh, kh + s * h_out, s), slice(kw, kw + s * w_out, s))
            dx[sl] += delta * (first == kh * k + kw) if is_max else delta / (k * k)
    return dx


# --------------------------------------------------------------------------- the blocks


def _no_params(layer):
    return ()


def _no_init(layer, init, bias_init, rng):
    return []


MAXPOOL2D = register(
    BlockKind(
        "maxpool2d",
        BLOCK_MAXPOOL2D,
        "the largest value of each window (torch.nn.MaxPool2d)",
        _no_params,
        _no_init,
    )
)
AVGPOOL2D = register(
    BlockKind(
        "avgpool2d", BLOCK_AVGPOOL2D, "the mean of each window (torch.nn.AvgPool2d)", _no_params, _no_init
    )
)
FLATTEN = register(
    BlockKind(
        "flatten",
        BLOCK_FLATTEN,
        "images to vectors, channel by channel (torch.nn.Flatten)",
        _no_params,
        _no_init,
    )
)
