"""The loss block: PyTorch's losses with 'mean' reduction, on the last layer's z and a.

``row_loss`` is one row's loss (summed over its outputs) and writes dL/dz into ``delta``;
``batch`` scales a batch to the mean and returns it. ``loss_and_delta_np`` is the numpy twin.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from playground.engine.blocks.activation import act_grad, grad_np
from playground.engine.codes import BCE, CCE, HINGE, HUBER, KL_DIV, MAE, MSE
from playground.engine.jit import JIT_INLINE


@njit(**JIT_INLINE)
def row_loss(loss, out_code, z, a, y, r, yr, m, delta, huber):
    """Loss of one row (summed over its m outputs, not normalised); writes dL/dz into delta."""
    total = 0.0
    if loss == BCE:
        for j in range(m):
            zz = z[r + j]
            t = y[yr + j]
            total += max(zz, 0.0) - zz * t + math.log1p(math.exp(-abs(zz)))
            delta[r + j] = a[r + j] - t
        return total
    if loss == CCE or loss == KL_DIV:
        zmax = z[r]
        for j in range(1, m):
            if z[r + j] > zmax:
                zmax = z[r + j]
        s = 0.0
        for j in range(m):
            s += math.exp(z[r + j] - zmax)
        lse = zmax + math.log(s)
        ysum = 0.0
        for j in range(m):
            t = y[yr + j]
            ysum += t
            if loss == CCE:
                total -= t * (z[r + j] - lse)
            elif t > 0:
                total += t * (math.log(t) - (z[r + j] - lse))
        for j in range(m):
            delta[r + j] = a[r + j] * ysum - y[yr + j]
        return total
    if loss == HINGE and m > 1:
        c = 0
        for j in range(1, m):
            if y[yr + j] > y[yr + c]:
                c = j
        fc = a[r + c]
        dc = 0.0
        for j in range(m):
            delta[r + j] = 0.0
        for j in range(m):
            if j != c:
                margin = 1.0 - fc + a[r + j]
                if margin > 0:
                    total += margin
                    delta[r + j] += 1.0
                    dc -= 1.0
        delta[r + c] = dc
        for j in range(m):
            delta[r + j] *= (1.0 / m) * act_grad(out_code, z[r + j], a[r + j], 0.0)
        return total / m
    for j in range(m):
        f = a[r + j]
        t = y[yr + j]
        d = f - t
        if loss == MSE:
            total += d * d
            g = 2.0 * d
        elif loss == MAE:
            total += abs(d)
            g = 1.0 if d > 0 else (-1.0 if d < 0 else 0.0)
        elif loss == HUBER:
            ad = abs(d)
            if ad <= huber:
                total += 0.5 * d * d
                g = d
            else:
                total += huber * (ad - 0.5 * huber)
                g = huber if d > 0 else -huber
        else:  # binary hinge, +-1 targets
            margin = 1.0 - t * f
            if margin > 0:
                total += margin
                g = -t
            else:
                g = 0.0
        delta[r + j] = g * act_grad(out_code, z[r + j], f, 0.0)
    return total


@njit(**JIT_INLINE)
def scale(loss, m):
    """Per-row normaliser beyond the batch size: element means for elementwise losses."""
    if loss == CCE or loss == KL_DIV or (loss == HINGE and m > 1):
        return 1.0
    return 1.0 / m


@njit(**JIT_INLINE)
def batch(loss, out_code, z, a, Y, rows_idx, delta, off, nrows, m, huber, denom):
    """Loss of ``nrows`` rows (outputs at ``off``, targets Y[rows_idx]) summed and divided
    by ``denom`` rows; delta[off:] = its gradient with respect to the output z."""
    total = 0.0
    for i in range(nrows):
        total += row_loss(loss, out_code, z, a, Y, off + i * m, rows_idx[i] * m, m, delta, huber)
    sc = scale(loss, m) / denom
    for t in range(off, off + nrows * m):
        delta[t] *= sc
    return total * sc


# --------------------------------------------------------------------------- numpy twin


def loss_and_delta_np(loss: int, out_code: int, z, a, Y, huber: float):
    """Mean loss over the rows and dL/dz of the output layer."""
    n, m = Y.shape
    if loss == BCE:
        lv = np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z)))
        return lv.sum() / (n * m), (a - Y) / (n * m)
    if loss in (CCE, KL_DIV):
        zmax = z.max(axis=1, keepdims=True)
        logp = z - (zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True)))
        if loss == CCE:
            lv = -(Y * logp).sum()
        else:
            safe = np.where(Y > 0, Y, 1.0)
            lv = np.where(Y > 0, Y * (np.log(safe) - logp), 0.0).sum()
        return lv / n, (a * Y.sum(axis=1, keepdims=True) - Y) / n
    if loss == HINGE and m > 1:
        c = np.argmax(Y, axis=1)
        fc = a[np.arange(n), c][:, None]
        margins = 1.0 - fc + a
        margins[np.arange(n), c] = 0.0
        pos = (margins > 0).astype(float)
        d = pos.copy()
        d[np.arange(n), c] = -pos.sum(axis=1)
        lv = np.maximum(margins, 0).sum() / m
        return lv / n, d / m * grad_np(out_code, z, a, 0.0) / n
    d = a - Y
    if loss == MSE:
        lv, g = d * d, 2 * d
    elif loss == MAE:
        lv, g = np.abs(d), np.sign(d)
    elif loss == HUBER:
        small = np.abs(d) <= huber
        lv = np.where(small, 0.5 * d * d, huber * (np.abs(d) - 0.5 * huber))
        g = np.where(small, d, huber * np.sign(d))
    else:  # binary hinge
        margin = 1.0 - Y * a
        lv = np.maximum(margin, 0)
        g = np.where(margin > 0, -Y, 0.0)
    return lv.sum() / (n * m), g * grad_np(out_code, z, a, 0.0) / (n * m)
