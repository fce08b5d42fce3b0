"""The dense block: z = x @ W + b, W stored (fan_in, fan_out) row-major, then b.

Kernels over a batch in the row-major activation buffers (``forward``, ``backward``) take
``gemm``: numpy's OpenBLAS ``cblas_?gemm`` (``engine/blas.py``) or None, in which case numba
prunes the BLAS branch and compiles explicit loops. ``forward_columns`` is the inference
forward over feature-major chunks (prediction grids: every inner loop runs over rows).
``forward_np``/``backward_np`` are the numpy twins.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from playground.engine.blocks.registry import P_BOFF, P_IN, P_OUT, P_WOFF, BlockKind, register
from playground.engine.codes import BLOCK_DENSE
from playground.engine.initializers import init_bias, init_weight
from playground.engine.jit import JIT_INLINE

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@njit(**JIT_INLINE)
def _axpy4(dst, a0, w0, a1, w1, a2, w2, a3, w3):
    for j in range(dst.shape[0]):
        dst[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]


@njit(**JIT_INLINE)
def _axpy(dst, a, w):
    for j in range(dst.shape[0]):
        dst[j] += a * w[j]


@njit(**JIT_INLINE)
def _dot(x, y):
    s = 0.0
    for j in range(x.shape[0]):
        s += x[j] * y[j]
    return s


@njit(**JIT_INLINE)
def forward(gemm, theta, row, a, soff, z, doff, rows):
    """z[doff:] = a[soff:] @ W + b for ``rows`` rows (``row`` is the block's plan row)."""
    fin = row[P_IN]
    fout = row[P_OUT]
    woff = row[P_WOFF]
    b = theta[row[P_BOFF] : row[P_BOFF] + fout]
    if gemm is not None:
        isz = theta.itemsize
        gemm(
            _ROW_MAJOR, _NO_TRANS, _NO_TRANS, rows, fout, fin, 1.0,
            a.ctypes.data + soff * isz, fin, theta.ctypes.data + woff * isz, fout,
            0.0, z.ctypes.data + doff * isz, fout,
        )  # fmt: skip
        for i in range(rows):
            zr = z[doff + i * fout : doff + (i + 1) * fout]
            for j in range(fout):
                zr[j] += b[j]
        return
    # row views (LLVM sees non-negative indices and vectorises), four inputs per pass
    for i in range(rows):
        zrow = z[doff + i * fout : doff + (i + 1) * fout]
        srow = a[soff + i * fin : soff + (i + 1) * fin]
        for j in range(fout):
            zrow[j] = b[j]
        k = 0
        while k + 4 <= fin:
            w = woff + k * fout
            _axpy4(
                zrow,
                srow[k], theta[w : w + fout],
                srow[k + 1], theta[w + fout : w + 2 * fout],
                srow[k + 2], theta[w + 2 * fout : w + 3 * fout],
                srow[k + 3], theta[w + 3 * fout : w + 4 * fout],
            )  # fmt: skip
            k += 4
        while k < fin:
            w = woff + k * fout
            _axpy(zrow, srow[k], theta[w : w + fout])
            k += 1


@njit(**JIT_INLINE)
def backward(gemm, theta, grad, row, a, soff, delta, doff, da, rows, want_input_grad):
    """grad(W) += a^T @ delta, grad(b) += column sums of delta (so chunks of one full-batch
    gradient accumulate); with ``want_input_grad`` also da[:rows*fin] = delta @ W^T, the
    gradient with respect to the block's input."""
    fin = row[P_IN]
    fout = row[P_OUT]
    woff = row[P_WOFF]
    gb = grad[row[P_BOFF] : row[P_BOFF] + fout]
    for i in range(rows):
        _axpy(gb, 1.0, delta[doff + i * fout : doff + (i + 1) * fout])
    if gemm is not None:
        isz = theta.itemsize
        gemm(
            _ROW_MAJOR, _TRANS, _NO_TRANS, fin, fout, rows, 1.0,
            a.ctypes.data + soff * isz, fin, delta.ctypes.data + doff * isz, fout,
            1.0, grad.ctypes.data + woff * isz, fout,
        )  # fmt: skip
        if want_input_grad:
            gemm(
                _ROW_MAJOR, _NO_TRANS, _TRANS, rows, fin, fout, 1.0,
                delta.ctypes.data + doff * isz, fout, theta.ctypes.data + woff * isz, fout,
                0.0, da.ctypes.data, fin,
            )  # fmt: skip
        return
    for k in range(fin):
        gw = grad[woff + k * fout : woff + (k + 1) * fout]
        i = 0
        while i + 4 <= rows:
            d = doff + i * fout
            s = soff + i * fin + k
            _axpy4(
                gw,
                a[s], delta[d : d + fout],
                a[s + fin], delta[d + fout : d + 2 * fout],
                a[s + 2 * fin], delta[d + 2 * fout : d + 3 * fout],
                a[s + 3 * fin], delta[d + 3 * fout : d + 4 * fout],
            )  # fmt: skip
            i += 4
        while i < rows:
            d = doff + i * fout
            _axpy(gw, a[soff + i * fin + k], delta[d : d + fout])
            i += 1
    if want_input_grad:
        for i in range(rows):
            drow = delta[doff + i * fout : doff + (i + 1) * fout]
            for k in range(fin):
                wr = woff + k * fout
                da[i * fin + k] = _dot(drow, theta[wr : wr + fout])


@njit(**JIT_INLINE)
def forward_columns(theta, row, a, soff, z, doff, rows):
    """``forward`` for feature-major chunks: unit j of a layer holds ``rows`` contiguous
    values, so the loops vectorise even for 2-8 unit layers (the decision-boundary grid)."""
    fin = row[P_IN]
    fout = row[P_OUT]
    woff = row[P_WOFF]
    boff = row[P_BOFF]
    for j in range(fout):
        zr = z[doff + j * rows : doff + (j + 1) * rows]
        bj = theta[boff + j]
        for i in range(rows):
            zr[i] = bj
        k = 0
        while k + 4 <= fin:
            w = woff + k * fout + j
            _axpy4(
                zr,
                theta[w], a[soff + k * rows : soff + (k + 1) * rows],
                theta[w + fout], a[soff + (k + 1) * rows : soff + (k + 2) * rows],
                theta[w + 2 * fout], a[soff + (k + 2) * rows : soff + (k + 3) * rows],
                theta[w + 3 * fout], a[soff + (k + 3) * rows : soff + (k + 4) * rows],
            )  # fmt: skip
            k += 4
        while k < fin:
            _axpy(zr, theta[woff + k * fout + j], a[soff + k * rows : soff + (k + 1) * rows])
            k += 1


# --------------------------------------------------------------------------- numpy twins


def forward_np(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x @ W + b


def backward_np(W: np.ndarray, x: np.ndarray, delta: np.ndarray):
    """(dW, db, dx) for z = x @ W + b and dL/dz = delta."""
    return x.T @ delta, delta.sum(axis=0), delta @ W.T


# --------------------------------------------------------------------------- the block

DENSE = register(
    BlockKind(
        name="dense",
        code=BLOCK_DENSE,
        description="fully connected: z = x @ W + b (torch.nn.Linear, W stored transposed)",
        params=lambda layer: (("weight", (layer.n_in, layer.n_out)), ("bias", (layer.n_out,))),
        init=lambda layer, init, bias_init, rng: [
            init_weight(init, layer.n_in, layer.n_out, rng),
            init_bias(bias_init, layer.n_in, layer.n_out, rng),
        ],
    )
)
