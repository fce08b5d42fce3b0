"""Activation: the elementwise part of every layer block (PyTorch's definitions).

Numba kernels over flat buffers (``forward`` a = act(z), ``backward`` delta = da * act'(z),
through the dropout mask), scalar helpers the loss block reuses, and the numpy twins
(``forward_np``, ``grad_np``) built on the registry's functions in ``activations.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from playground.engine.codes import (
    ELU,
    GELU,
    LEAKY_RELU,
    LINEAR,
    RELU,
    SIGMOID,
    SINE,
    SOFTMAX,
    SOFTPLUS,
    TANH,
)
from playground.engine.jit import JIT_INLINE

_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@njit(**JIT_INLINE)
def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(**JIT_INLINE)
def tanh_fast(x):
    """tanh to ~1e-15 with one division and no branches, so loops over it vectorise
    (numba's math.tanh is a scalar libm call, ~10x slower).

    Cephes' rational tanh of y = x/32 (1 ulp for |y| < 0.625), then five doublings
    tanh(2y) = 2t / (1 + t^2) carried as a fraction n/d (multiplications only);
    d starts near 1 so five squarings stay far from overflow. tanh is 1 beyond |x| = 20."""
    y = min(x, 20.0)
    y = max(y, -20.0) * 0.03125
    s = y * y
    p = (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3
    q = ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3
    d = q * (1.0 / 4.84406305325125486048e3)
    n = y * (d + s * p * (1.0 / 4.84406305325125486048e3))
    n, d = 2.0 * n * d, d * d + n * n
    n, d = 2.0 * n * d, d * d + n * n
    n, d = 2.0 * n * d, d * d + n * n
    n, d = 2.0 * n * d, d * d + n * n
    n, d = 2.0 * n * d, d * d + n * n
    return n / d


@njit(**JIT_INLINE)
def act(code, z, slope):
    if code == TANH:
        return tanh_fast(z)
    if code == RELU:
        return z if z > 0 else 0.0
    if code == SIGMOID:
        return sigmoid(z)
    if code == LINEAR:
        return z
    if code == LEAKY_RELU:
        return z if z > 0 else slope * z
    if code == ELU:
        return z if z > 0 else math.expm1(z)
    if code == GELU:
        return 0.5 * z * (1.0 + math.erf(z * _SQRT_HALF))
    if code == SOFTPLUS:
        return z if z > 20.0 else math.log1p(math.exp(z))
    if code == SINE:
        return math.sin(z)
    return z


@njit(**JIT_INLINE)
def act_grad(code, z, a, slope):
    """d act / d z, given z and a = act(z)."""
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return 1.0 if z > 0 else 0.0
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == LINEAR:
        return 1.0
    if code == LEAKY_RELU:
        return 1.0 if z > 0 else slope
    if code == ELU:
        return 1.0 if z > 0 else a + 1.0
    if code == GELU:
        return 0.5 * (1.0 + math.erf(z * _SQRT_HALF)) + z * math.exp(-0.5 * z * z) * _INV_SQRT_2PI
    if code == SOFTPLUS:
        return 1.0 if z > 20.0 else sigmoid(z)
    if code == SINE:
        return math.cos(z)
    return 1.0


@njit(**JIT_INLINE)
def forward(code, slope, z, a, off, rows, width):
    """a = act(z) over ``rows`` rows of ``width`` values at ``off`` (softmax per row)."""
    n = rows * width
    if code == SOFTMAX:
        for i in range(rows):
            r = off + i * width
            m = z[r]
            for j in range(1, width):
                if z[r + j] > m:
                    m = z[r + j]
            s = 0.0
            for j in range(width):
                e = math.exp(z[r + j] - m)
                a[r + j] = e
                s += e
            for j in range(width):
                a[r + j] /= s
    elif code == TANH:
        zz = z[off : off + n]
        aa = a[off : off + n]
        for t in range(n):
            aa[t] = tanh_fast(zz[t])
    elif code == RELU:
        zz = z[off : off + n]
        aa = a[off : off + n]
        for t in range(n):
            aa[t] = zz[t] if zz[t] > 0.0 else 0.0
    else:
        for t in range(off, off + n):
            a[t] = act(code, z[t], slope)


@njit(**JIT_INLINE)
def forward_columns(code, slope, z, a, off, rows, width):
    """``forward`` for feature-major buffers (width columns of ``rows`` values): softmax
    runs across the columns of each row; everything else is elementwise."""
    if code != SOFTMAX:
        forward(code, slope, z, a, off, width, rows)
        return
    for i in range(rows):
        mx = z[off + i]
        for j in range(1, width):
            mx = max(mx, z[off + j * rows + i])
        tot = 0.0
        for j in range(width):
            e = math.exp(z[off + j * rows + i] - mx)
            a[off + j * rows + i] = e
            tot += e
        for j in range(width):
            a[off + j * rows + i] /= tot


@njit(**JIT_INLINE)
def backward(code, slope, z, a, mask, use_mask, da, delta, off, rows, width):
    """delta[off:] = da * act'(z) for rows x width values (da starts at 0); with
    ``use_mask`` through the inverted-dropout mask (a holds act(z) * mask)."""
    n = rows * width
    dv = delta[off : off + n]
    zv = z[off : off + n]
    av = a[off : off + n]
    gv = da[:n]
    if not use_mask and code == RELU:
        for t in range(n):
            dv[t] = gv[t] if zv[t] > 0.0 else 0.0
    elif not use_mask and code == TANH:
        for t in range(n):
            dv[t] = gv[t] * (1.0 - av[t] * av[t])
    elif not use_mask:
        for t in range(n):
            dv[t] = gv[t] * act_grad(code, zv[t], av[t], slope)
    else:
        mv = mask[off : off + n]
        for t in range(n):
            mk = mv[t]
            if mk == 0.0:
                dv[t] = 0.0
            else:  # the activation before dropout is a / mk
                dv[t] = gv[t] * mk * act_grad(code, zv[t], av[t] / mk, slope)


# --------------------------------------------------------------------------- numpy twins


def forward_np(code: int, z: np.ndarray, slope: float) -> np.ndarray:
    from playground.engine.activations import BY_CODE

    return BY_CODE[code].fn(z, slope) if code != LEAKY_RELU else np.where(z > 0, z, slope * z)


def grad_np(code: int, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
    from playground.engine.activations import BY_CODE

    if code == LEAKY_RELU:
        return np.where(z > 0, 1.0, slope)
    return BY_CODE[code].grad(z, a, slope)
