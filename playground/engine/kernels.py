"""Numba kernels: many training steps per call, explicit loops, no BLAS, ``nogil``.

Parameters live in one flat vector ``theta``; layer ``l`` owns ``W = theta[woff[l]:]``
shaped (sizes[l], sizes[l+1]) row-major, then ``b``. Activations of a batch live in one
flat buffer with per-layer offsets. Every function here has a numpy twin in
``reference.py``; tests hold the two to 1e-10.

Private kernels take C-contiguous arrays prepared by ``trainer.py`` (the checked wrapper).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from playground.engine.jit import JIT, JIT_INLINE
from playground.engine.rng import dropout_base, dropout_uniform, epoch_permutation

# activation codes (activations.py)
LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, GELU, SOFTPLUS, SINE, SOFTMAX = range(10)
# loss codes (losses.py)
MSE, MAE, HUBER, BCE, CCE, HINGE, KL_DIV = range(7)
# optimizer codes
OPT_SGD, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM, OPT_ADAMW = range(5)
# hyper-parameter slots of the ``hp`` vector
HP_MOMENTUM, HP_DAMPENING, HP_NESTEROV, HP_WD, HP_BETA1, HP_BETA2, HP_EPS = range(7)
HP_ALPHA, HP_CENTERED, HP_LR_DECAY, HP_AMSGRAD, HP_CLIP, HP_REG_KIND, HP_REG_RATE, HP_HUBER = range(7, 15)
N_HP = 15
# status codes
OK, DIVERGED_LOSS, DIVERGED_GRAD, DIVERGED_PARAMS = range(4)

_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


# --------------------------------------------------------------------------- scalars


@njit(**JIT_INLINE)
def _sigmoid(z):
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
def exp_fast(x):
    """e^x to ~3e-16 (Cephes: x = k ln2 + r, rational e^r, 2^k through the exponent bits);
    vectorises where math.exp does not. Clamped to [-708, 709]."""
    x = min(max(x, -708.0), 709.0)
    t = x * 1.4426950408889634
    ki = np.int64(t + math.copysign(0.5, t))
    k = np.float64(ki)
    r = x - k * 6.93145751953125e-1 - k * 1.42860682030941723212e-6
    xx = r * r
    px = r * ((1.26177193074810590878e-4 * xx + 3.02994407707441961300e-2) * xx + 9.99999999999999999910e-1)
    q = ((3.00198505138664455042e-6 * xx + 2.52448340349684104192e-3) * xx + 2.27265548208155028766e-1) * xx
    q += 2.00000000000000000009e0
    e = 1.0 + 2.0 * px / (q - px)
    return e * np.int64((ki + 1023) << 52).view(np.float64)


@njit(**JIT_INLINE)
def sigmoid_fast(z):
    return 1.0 / (1.0 + exp_fast(-z))


@njit(**JIT_INLINE)
def _act(code, z, slope):
    if code == TANH:
        return tanh_fast(z)
    if code == RELU:
        return z if z > 0 else 0.0
    if code == SIGMOID:
        return _sigmoid(z)
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
def _act_grad(code, z, a, slope):
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
        return 1.0 if z > 20.0 else _sigmoid(z)
    if code == SINE:
        return math.cos(z)
    return 1.0


# --------------------------------------------------------------------------- forward


@njit(**JIT_INLINE)
def _axpy4(dst, a0, w0, a1, w1, a2, w2, a3, w3):
    for j in range(dst.shape[0]):
        dst[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]


@njit(**JIT_INLINE)
def _axpy(dst, a, w):
    for j in range(dst.shape[0]):
        dst[j] += a * w[j]


@njit(**JIT_INLINE)
def _dense(theta, woff, boff, fin, fout, src, soff, dst, doff, rows):
    """dst[i, :] = src[i, :] @ W + b for i < rows (flat row-major buffers).

    Works on row views (so LLVM sees non-negative indices and vectorises) and takes four
    inputs per pass over the output row (a quarter of the loads and stores)."""
    b = theta[boff : boff + fout]
    for i in range(rows):
        zrow = dst[doff + i * fout : doff + (i + 1) * fout]
        srow = src[soff + i * fin : soff + (i + 1) * fin]
        for j in range(fout):
            zrow[j] = b[j]
        k = 0
        while k + 4 <= fin:
            w = woff + k * fout
            _axpy4(
                zrow,
                srow[k],
                theta[w : w + fout],
                srow[k + 1],
                theta[w + fout : w + 2 * fout],
                srow[k + 2],
                theta[w + 2 * fout : w + 3 * fout],
                srow[k + 3],
                theta[w + 3 * fout : w + 4 * fout],
            )
            k += 4
        while k < fin:
            w = woff + k * fout
            _axpy(zrow, srow[k], theta[w : w + fout])
            k += 1


@njit(**JIT_INLINE)
def _dense_grad(grad, woff, boff, fin, fout, src, soff, delta, doff, rows):
    """dW += src^T @ delta, db += sum of delta rows (four rows per pass)."""
    gb = grad[boff : boff + fout]
    for i in range(rows):
        _axpy(gb, 1.0, delta[doff + i * fout : doff + (i + 1) * fout])
    for k in range(fin):
        gw = grad[woff + k * fout : woff + (k + 1) * fout]
        i = 0
        while i + 4 <= rows:
            d = doff + i * fout
            s = soff + i * fin + k
            _axpy4(
                gw,
                src[s],
                delta[d : d + fout],
                src[s + fin],
                delta[d + fout : d + 2 * fout],
                src[s + 2 * fin],
                delta[d + 2 * fout : d + 3 * fout],
                src[s + 3 * fin],
                delta[d + 3 * fout : d + 4 * fout],
            )
            i += 4
        while i < rows:
            d = doff + i * fout
            _axpy(gw, src[soff + i * fin + k], delta[d : d + fout])
            i += 1


@njit(**JIT_INLINE)
def _dot(x, y):
    s = 0.0
    for j in range(x.shape[0]):
        s += x[j] * y[j]
    return s


@njit(**JIT_INLINE)
def _activate_rows(code, slope, z, a, off, rows, width):
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
            a[t] = _act(code, z[t], slope)


@njit(**JIT)
def _forward(theta, sizes, acts, slopes, woff, boff, aoff, z, a, rows):
    """Forward pass of ``rows`` rows whose inputs are already in a[aoff[0]:]."""
    n_layers = sizes.shape[0] - 1
    for l in range(n_layers):
        fin = sizes[l]
        fout = sizes[l + 1]
        _dense(theta, woff[l], boff[l], fin, fout, a, aoff[l], z, aoff[l + 1], rows)
        _activate_rows(acts[l], slopes[l], z, a, aoff[l + 1], rows, fout)


# --------------------------------------------------------------------------- loss


@njit(**JIT_INLINE)
def _row_loss(loss, out_code, z, a, y, r, yr, m, delta, huber):
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
            total_scale = 1.0 / m
            delta[r + j] *= total_scale * _act_grad(out_code, z[r + j], a[r + j], 0.0)
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
        delta[r + j] = g * _act_grad(out_code, z[r + j], f, 0.0)
    return total


@njit(**JIT_INLINE)
def _loss_scale(loss, m):
    """Per-row normaliser beyond the batch size: element means for elementwise losses."""
    if loss == CCE or loss == KL_DIV or (loss == HINGE and m > 1):
        return 1.0
    return 1.0 / m


# --------------------------------------------------------------------------- forward + backward


@njit(**JIT)
def _forward_backward(
    theta,
    grad,
    X,
    Y,
    rows_idx,
    nrows,
    denom,
    sizes,
    acts,
    slopes,
    drop,
    woff,
    boff,
    aoff,
    z,
    a,
    delta,
    mask,
    loss,
    huber,
    train,
    drop_key,
    step,
    accumulate,
):
    """Loss (sum over rows / denom) and, into grad, its gradient for the given rows.

    ``denom`` is the number of rows the mean is over (the batch, or the whole set when a
    full-batch gradient is accumulated chunk by chunk with ``accumulate``).
    """
    n_layers = sizes.shape[0] - 1
    n_in = sizes[0]
    m = sizes[n_layers]
    for i in range(nrows):
        src = rows_idx[i] * n_in
        for k in range(n_in):
            a[i * n_in + k] = X[src + k]
    # forward with inverted dropout on hidden layers (torch nn.Dropout after the activation)
    base = dropout_base(drop_key, step)
    for l in range(n_layers):
        fin = sizes[l]
        fout = sizes[l + 1]
        _dense(theta, woff[l], boff[l], fin, fout, a, aoff[l], z, aoff[l + 1], nrows)
        _activate_rows(acts[l], slopes[l], z, a, aoff[l + 1], nrows, fout)
        p = drop[l]
        if train and p > 0.0 and l < n_layers - 1:
            keep_scale = 1.0 / (1.0 - p)
            off = aoff[l + 1]
            for i in range(nrows):
                for j in range(fout):
                    u = dropout_uniform(base, l, i, j)
                    mk = keep_scale if u >= p else 0.0
                    mask[off + i * fout + j] = mk
                    a[off + i * fout + j] *= mk
    # loss and output delta
    off = aoff[n_layers]
    scale = _loss_scale(loss, m) / denom
    total = 0.0
    out_code = acts[n_layers - 1]
    for i in range(nrows):
        total += _row_loss(loss, out_code, z, a, Y, off + i * m, rows_idx[i] * m, m, delta, huber)
    for t in range(off, off + nrows * m):
        delta[t] *= scale
    # backward
    if not accumulate:
        for t in range(grad.shape[0]):
            grad[t] = 0.0
    for l in range(n_layers - 1, -1, -1):
        fin = sizes[l]
        fout = sizes[l + 1]
        doff = aoff[l + 1]
        soff = aoff[l]
        wo = woff[l]
        bo = boff[l]
        _dense_grad(grad, wo, bo, fin, fout, a, soff, delta, doff, nrows)
        if l > 0:
            code = acts[l - 1]
            slope = slopes[l - 1]
            p = drop[l - 1]
            for i in range(nrows):
                dr = doff + i * fout
                sr = soff + i * fin
                drow = delta[dr : dr + fout]
                for k in range(fin):
                    wr = wo + k * fout
                    s = _dot(drow, theta[wr : wr + fout])
                    if train and p > 0.0:
                        mk = mask[sr + k]
                        if mk == 0.0:
                            delta[sr + k] = 0.0
                            continue
                        s *= mk
                        # the activation before dropout is a / mk
                        delta[sr + k] = s * _act_grad(code, z[sr + k], a[sr + k] / mk, slope)
                    else:
                        delta[sr + k] = s * _act_grad(code, z[sr + k], a[sr + k], slope)
    return total * _loss_scale(loss, m) / denom


# --------------------------------------------------------------------------- optimizer


@njit(**JIT)
def _regularize_and_clip(theta, grad, sizes, woff, hp):
    """Add the L1/L2 penalty gradient to weights (not biases), then clip the global norm."""
    kind = hp[HP_REG_KIND]
    rate = hp[HP_REG_RATE]
    if kind > 0 and rate > 0:
        for l in range(sizes.shape[0] - 1):
            start = woff[l]
            stop = start + sizes[l] * sizes[l + 1]
            if kind == 1:
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


# --------------------------------------------------------------------------- the training kernel


@njit(**JIT)
def train_kernel(
    theta,
    spare,
    grad,
    state,
    state_spare,
    X,
    Y,
    perm,
    sizes,
    acts,
    slopes,
    drop,
    woff,
    boff,
    aoff,
    z,
    a,
    delta,
    mask,
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
    batch_losses,
    layer_sq,
):
    """Run ``lrs.shape[0]`` optimizer steps from global step ``step0``.

    Returns (steps_done, status). On divergence the step that produced a non-finite loss,
    gradient or parameter is not applied: theta holds the last finite parameters.
    ``layer_sq[l] = (|dW|^2, |db|^2)`` of the last step's data-loss gradient.
    """
    n = X.shape[0] // sizes[0]
    spe = (n + batch - 1) // batch
    n_steps = lrs.shape[0]
    cur_epoch = -1
    status = OK
    done = 0
    # each step writes the new optimizer state into the other buffer (kept only if finite);
    # both start equal, so rows an optimizer does not use agree whichever holds the result
    _copy2(state_spare, state)
    cur = state
    nxt = state_spare
    for s in range(n_steps):
        step = step0 + s
        epoch = step // spe
        k = step % spe
        if batch < n and epoch != cur_epoch:
            epoch_permutation(shuffle_key, epoch, perm)
            cur_epoch = epoch
        start = k * batch
        rows = min(batch, n - start)
        lval = _forward_backward(
            theta,
            grad,
            X,
            Y,
            perm[start : start + rows],
            rows,
            rows,
            sizes,
            acts,
            slopes,
            drop,
            woff,
            boff,
            aoff,
            z,
            a,
            delta,
            mask,
            loss,
            huber,
            True,
            drop_key,
            step,
            False,
        )
        batch_losses[s] = lval
        if not math.isfinite(lval):
            status = DIVERGED_LOSS
            break
        status = _finish_step(
            theta, spare, grad, cur, nxt, sizes, woff, boff, hp, opt, opt_t0 + s, lrs[s], layer_sq
        )
        if status != OK:
            break
        cur, nxt = nxt, cur  # the new state is in nxt: swap roles instead of copying
        done += 1
    if done % 2 == 1:
        _copy2(state, cur)  # the newest state is in state_spare
    return done, status


@njit(**JIT)
def loss_and_grad_kernel(
    theta,
    grad,
    X,
    Y,
    rows_idx,
    sizes,
    acts,
    slopes,
    drop,
    woff,
    boff,
    aoff,
    z,
    a,
    delta,
    mask,
    loss,
    huber,
    chunk,
    train,
    drop_key,
    step,
):
    """Mean loss over the given rows and its full gradient (for L-BFGS and landscapes)."""
    nrows = rows_idx.shape[0]
    for t in range(grad.shape[0]):
        grad[t] = 0.0
    total = 0.0
    for start in range(0, nrows, chunk):
        rows = min(chunk, nrows - start)
        total += _forward_backward(
            theta,
            grad,
            X,
            Y,
            rows_idx[start : start + rows],
            rows,
            nrows,
            sizes,
            acts,
            slopes,
            drop,
            woff,
            boff,
            aoff,
            z,
            a,
            delta,
            mask,
            loss,
            huber,
            train,
            drop_key,
            step,
            True,
        )
    return total


def predict_compiled(dtype=None) -> bool:
    """Whether the prediction kernel is compiled already (for parameters of ``dtype``, if
    given): a grid asked for now costs no compile (the GUI thread asks before drawing neuron
    pictures, and never compiles)."""
    sigs = predict_kernel.signatures
    if dtype is None:
        return bool(sigs)
    want = np.dtype(dtype).name  # numba names its array element types as numpy does
    return any(str(getattr(sig[0], "dtype", "")) == want for sig in sigs)


@njit(**JIT)
def predict_kernel(theta, X, out, sizes, acts, slopes, woff, boff, aoff, z, a, chunk, hidden_out):
    _predict(theta, X, out, out, False, sizes, acts, slopes, woff, boff, aoff, z, a, chunk, hidden_out)


@njit(**JIT)
def _predict(theta, X, out, out_z, want_z, sizes, acts, slopes, woff, boff, aoff, z, a, chunk, hidden_out):
    """Network outputs for every row of X (n, n_in) into out (n, m); no dropout.

    Feature-major layout: a chunk's activations are stored (units, rows), so every inner
    loop runs over `chunk` contiguous rows and vectorises even for 2-8 unit layers (the
    decision-boundary grid). If ``hidden_out`` has n rows, every neuron's activation is
    written there too, shape (n, sum(sizes[1:])): the per-neuron thumbnails.
    """
    n = X.shape[0]
    n_in = sizes[0]
    n_layers = sizes.shape[0] - 1
    m = sizes[n_layers]
    want_hidden = hidden_out.shape[0] == n
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        for k in range(n_in):
            col = a[aoff[0] + k * rows : aoff[0] + (k + 1) * rows]
            for i in range(rows):
                col[i] = X[start + i, k]
        for l in range(n_layers):
            fin = sizes[l]
            fout = sizes[l + 1]
            src = aoff[l]
            dst = aoff[l + 1]
            for j in range(fout):
                zr = z[dst + j * rows : dst + (j + 1) * rows]
                bj = theta[boff[l] + j]
                for i in range(rows):
                    zr[i] = bj
                k = 0
                while k + 4 <= fin:
                    w = woff[l] + k * fout + j
                    _axpy4(
                        zr,
                        theta[w],
                        a[src + k * rows : src + (k + 1) * rows],
                        theta[w + fout],
                        a[src + (k + 1) * rows : src + (k + 2) * rows],
                        theta[w + 2 * fout],
                        a[src + (k + 2) * rows : src + (k + 3) * rows],
                        theta[w + 3 * fout],
                        a[src + (k + 3) * rows : src + (k + 4) * rows],
                    )
                    k += 4
                while k < fin:
                    _axpy(zr, theta[woff[l] + k * fout + j], a[src + k * rows : src + (k + 1) * rows])
                    k += 1
            if acts[l] == SOFTMAX:
                for i in range(rows):
                    mx = z[dst + i]
                    for j in range(1, fout):
                        mx = max(mx, z[dst + j * rows + i])
                    tot = 0.0
                    for j in range(fout):
                        e = math.exp(z[dst + j * rows + i] - mx)
                        a[dst + j * rows + i] = e
                        tot += e
                    for j in range(fout):
                        a[dst + j * rows + i] /= tot
            else:
                _activate_rows(acts[l], slopes[l], z, a, dst, fout, rows)
        off = aoff[n_layers]
        for j in range(m):
            for i in range(rows):
                out[start + i, j] = a[off + j * rows + i]
        if want_z:
            for j in range(m):
                for i in range(rows):
                    out_z[start + i, j] = z[off + j * rows + i]
        if want_hidden:
            c = 0
            for l in range(1, n_layers + 1):
                lo = aoff[l]
                for j in range(sizes[l]):
                    for i in range(rows):
                        hidden_out[start + i, c] = a[lo + j * rows + i]
                    c += 1


@njit(**JIT)
def metrics_kernel(
    theta,
    X,
    Y,
    labels,
    classify,
    threshold,
    sizes,
    acts,
    slopes,
    woff,
    boff,
    aoff,
    z,
    a,
    out,
    out_z,
    delta,
    loss,
    huber,
    chunk,
    result,
):
    """Mean loss over a whole set (no dropout) and accuracy (classify) or the sum of squared
    errors (regression) into result[0:2]; the outputs land in ``out``. One nogil call per
    set, so recording metrics barely holds the GIL.

    A point is right when its output is nearest to its own class's target code: with one
    output, class 1 above ``threshold`` = ``losses.decision_threshold`` (the midpoint of the
    two codes: 0.5 for 0/1 targets with any output activation, 0 for +-1 targets); with
    several, the largest output. Twin: ``reference.metrics``."""
    n = X.shape[0]
    m = sizes[sizes.shape[0] - 1]
    _predict(theta, X, out, out_z, True, sizes, acts, slopes, woff, boff, aoff, z, a, chunk, out[:0])
    of = out.ravel()
    zf = out_z.ravel()
    out_code = acts[acts.shape[0] - 1]
    total = 0.0
    score = 0.0
    for i in range(n):
        # _row_loss writes dL/dz into its delta argument: a scratch row here
        total += _row_loss(loss, out_code, zf, of, Y, i * m, i * m, m, delta, huber)
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
    result[0] = total * _loss_scale(loss, m) / max(n, 1)
    result[1] = score / max(n, 1) if classify else score


@njit(**JIT)
def weight_sq_kernel(theta, sizes, woff, boff, result):
    for l in range(sizes.shape[0] - 1):
        s = 0.0
        for t in range(woff[l], boff[l]):
            s += theta[t] * theta[t]
        result[l] = s


# --------------------------------------------------------------------------- BLAS-path helpers
# For wide layers the matrix products go to numpy's BLAS (outside numba: numba's np.dot
# would need SciPy); everything elementwise stays here. trainer.Trainer._run_blas drives it.


@njit(**JIT)
def bias_act_kernel(code, slope, b, z, a, rows, width):
    """z += b per row, then a = act(z), for flat row-major (rows, width) buffers."""
    for i in range(rows):
        zr = z[i * width : (i + 1) * width]
        for j in range(width):
            zr[j] += b[j]
    _activate_rows(code, slope, z, a, 0, rows, width)


@njit(**JIT)
def dropout_kernel(a, mask, rows, width, p, layer, drop_key, step):
    base = dropout_base(drop_key, step)
    keep_scale = 1.0 / (1.0 - p)
    for i in range(rows):
        for j in range(width):
            u = dropout_uniform(base, layer, i, j)
            mk = keep_scale if u >= p else 0.0
            mask[i * width + j] = mk
            a[i * width + j] *= mk


@njit(**JIT)
def loss_delta_kernel(loss, out_code, z, a, Y, rows_idx, delta, rows, m, huber):
    """Batch-mean loss; writes dL/dz (already divided by the batch) into delta."""
    total = 0.0
    for i in range(rows):
        total += _row_loss(loss, out_code, z, a, Y, i * m, rows_idx[i] * m, m, delta, huber)
    scale = _loss_scale(loss, m) / rows
    for t in range(rows * m):
        delta[t] *= scale
    return total * scale


@njit(**JIT)
def act_backward_kernel(code, slope, z, a, mask, use_mask, da, delta, rows, width):
    """delta = da * act'(z) (through the dropout mask when use_mask)."""
    n = rows * width
    if not use_mask and code == RELU:
        for t in range(n):
            delta[t] = da[t] if z[t] > 0.0 else 0.0
        return
    if not use_mask and code == TANH:
        for t in range(n):
            delta[t] = da[t] * (1.0 - a[t] * a[t])
        return
    for t in range(n):
        if use_mask:
            mk = mask[t]
            if mk == 0.0:
                delta[t] = 0.0
                continue
            delta[t] = da[t] * mk * _act_grad(code, z[t], a[t] / mk, slope)
        else:
            delta[t] = da[t] * _act_grad(code, z[t], a[t], slope)


@njit(**JIT)
def finish_step_kernel(theta, spare, grad, state, state_spare, sizes, woff, boff, hp, opt, t, lr, layer_sq):
    """Gradient norms, regularization, clipping and the optimizer update of one step.

    Nothing is committed unless the new parameters and optimizer state are all finite."""
    _copy2(state_spare, state)
    status = _finish_step(theta, spare, grad, state, state_spare, sizes, woff, boff, hp, opt, t, lr, layer_sq)
    if status == OK:
        _copy2(state, state_spare)
    return status


@njit(**JIT)
def _finish_step(theta, spare, grad, state, state_spare, sizes, woff, boff, hp, opt, t, lr, layer_sq):
    """``finish_step_kernel`` leaving the new optimizer state in state_spare (if OK): the
    training kernels then swap the two buffers."""
    n_layers = sizes.shape[0] - 1
    gsq = 0.0
    for l in range(n_layers):
        sw = _dot(grad[woff[l] : boff[l]], grad[woff[l] : boff[l]])
        sb = _dot(grad[boff[l] : boff[l] + sizes[l + 1]], grad[boff[l] : boff[l] + sizes[l + 1]])
        layer_sq[l, 0] = sw
        layer_sq[l, 1] = sb
        gsq += sw + sb
    if not math.isfinite(gsq):
        return DIVERGED_GRAD
    _regularize_and_clip(theta, grad, sizes, woff, hp)
    if not _optimizer_update_into(opt, theta, spare, grad, state, state_spare, t, lr, hp):
        return DIVERGED_PARAMS
    theta[:] = spare
    return OK


# --------------------------------------------------------------------------- the gemm kernel
# The same steps as train_kernel with the matrix products done by OpenBLAS's cblas_?gemm
# (engine/blas.py), called from inside numba: BLAS speed without per-step Python overhead.

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@njit(**JIT)
def train_kernel_gemm(
    gemm,
    theta,
    spare,
    grad,
    state,
    state_spare,
    X,
    Y,
    perm,
    sizes,
    acts,
    slopes,
    drop,
    woff,
    boff,
    aoff,
    z,
    a,
    delta,
    mask,
    da,
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
    batch_losses,
    layer_sq,
):
    n = X.shape[0] // sizes[0]
    spe = (n + batch - 1) // batch
    n_steps = lrs.shape[0]
    n_layers = sizes.shape[0] - 1
    n_in = sizes[0]
    m = sizes[n_layers]
    isz = theta.itemsize
    tp = theta.ctypes.data
    gp = grad.ctypes.data
    ap = a.ctypes.data
    zp = z.ctypes.data
    dp = delta.ctypes.data
    dap = da.ctypes.data
    cur_epoch = -1
    status = OK
    done = 0
    # each step writes the new optimizer state into the other buffer (kept only if finite);
    # both start equal, so rows an optimizer does not use agree whichever holds the result
    _copy2(state_spare, state)
    cur = state
    nxt = state_spare
    for s in range(n_steps):
        step = step0 + s
        epoch = step // spe
        k = step % spe
        if batch < n and epoch != cur_epoch:
            epoch_permutation(shuffle_key, epoch, perm)
            cur_epoch = epoch
        start = k * batch
        nb = min(batch, n - start)
        rows_idx = perm[start : start + nb]
        for i in range(nb):
            src = rows_idx[i] * n_in
            for c in range(n_in):
                a[i * n_in + c] = X[src + c]
        base = dropout_base(drop_key, step)
        for l in range(n_layers):
            fin = sizes[l]
            fout = sizes[l + 1]
            off = aoff[l + 1]
            gemm(
                _ROW_MAJOR,
                _NO_TRANS,
                _NO_TRANS,
                nb,
                fout,
                fin,
                1.0,
                ap + aoff[l] * isz,
                fin,
                tp + woff[l] * isz,
                fout,
                0.0,
                zp + off * isz,
                fout,
            )
            b = theta[boff[l] : boff[l] + fout]
            for i in range(nb):
                zr = z[off + i * fout : off + (i + 1) * fout]
                for j in range(fout):
                    zr[j] += b[j]
            _activate_rows(acts[l], slopes[l], z, a, off, nb, fout)
            p = drop[l]
            if p > 0.0 and l < n_layers - 1:
                keep_scale = 1.0 / (1.0 - p)
                for i in range(nb):
                    for j in range(fout):
                        u = dropout_uniform(base, l, i, j)
                        mk = keep_scale if u >= p else 0.0
                        mask[off + i * fout + j] = mk
                        a[off + i * fout + j] *= mk
        off = aoff[n_layers]
        out_code = acts[n_layers - 1]
        total = 0.0
        for i in range(nb):
            total += _row_loss(loss, out_code, z, a, Y, off + i * m, rows_idx[i] * m, m, delta, huber)
        scale = _loss_scale(loss, m) / nb
        for t in range(off, off + nb * m):
            delta[t] *= scale
        lval = total * scale
        batch_losses[s] = lval
        if not math.isfinite(lval):
            status = DIVERGED_LOSS
            break
        for l in range(n_layers - 1, -1, -1):
            fin = sizes[l]
            fout = sizes[l + 1]
            doff = aoff[l + 1]
            soff = aoff[l]
            # dW = a_l^T @ delta, db = column sums of delta
            gemm(
                _ROW_MAJOR,
                _TRANS,
                _NO_TRANS,
                fin,
                fout,
                nb,
                1.0,
                ap + soff * isz,
                fin,
                dp + doff * isz,
                fout,
                0.0,
                gp + woff[l] * isz,
                fout,
            )
            gb = grad[boff[l] : boff[l] + fout]
            for j in range(fout):
                gb[j] = 0.0
            for i in range(nb):
                _axpy(gb, 1.0, delta[doff + i * fout : doff + (i + 1) * fout])
            if l > 0:
                # da = delta @ W^T, then through the activation (and dropout mask) below
                gemm(
                    _ROW_MAJOR,
                    _NO_TRANS,
                    _TRANS,
                    nb,
                    fin,
                    fout,
                    1.0,
                    dp + doff * isz,
                    fout,
                    tp + woff[l] * isz,
                    fout,
                    0.0,
                    dap,
                    fin,
                )
                code = acts[l - 1]
                slope = slopes[l - 1]
                use_mask = drop[l - 1] > 0.0
                cnt = nb * fin
                dv = delta[soff : soff + cnt]
                zv = z[soff : soff + cnt]
                av = a[soff : soff + cnt]
                gv = da[:cnt]
                if not use_mask and code == RELU:
                    for t in range(cnt):
                        dv[t] = gv[t] if zv[t] > 0.0 else 0.0
                elif not use_mask and code == TANH:
                    for t in range(cnt):
                        dv[t] = gv[t] * (1.0 - av[t] * av[t])
                elif not use_mask:
                    for t in range(cnt):
                        dv[t] = gv[t] * _act_grad(code, zv[t], av[t], slope)
                else:
                    mv = mask[soff : soff + cnt]
                    for t in range(cnt):
                        mk = mv[t]
                        if mk == 0.0:
                            dv[t] = 0.0
                        else:
                            dv[t] = gv[t] * mk * _act_grad(code, zv[t], av[t] / mk, slope)
        status = _finish_step(
            theta, spare, grad, cur, nxt, sizes, woff, boff, hp, opt, opt_t0 + s, lrs[s], layer_sq
        )
        if status != OK:
            break
        cur, nxt = nxt, cur  # the new state is in nxt: swap roles instead of copying
        done += 1
    if done % 2 == 1:
        _copy2(state, cur)  # the newest state is in state_spare
    return done, status


# --------------------------------------------------------------------------- training with recording
# Many history rows per call: the caller (a GUI worker thread) needs the GIL once per call,
# not once per row, so Qt painting in the GUI thread does not stall training.


@njit(**JIT)
def train_record_gemm(
    gemm,
    theta,
    spare,
    grad,
    state,
    state_spare,
    X,
    Y,
    perm,
    sizes,
    acts,
    slopes,
    drop,
    woff,
    boff,
    aoff,
    z,
    a,
    delta,
    mask,
    da,
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
    batch_losses,
    layer_sq,
    record_every,
    Xtr,
    Ytr,
    ltr,
    otr,
    oztr,
    dtr,
    Xte,
    Yte,
    lte,
    ote,
    ozte,
    dte,
    classify,
    threshold,
    ez,
    ea,
    eaoff,
    chunk,
    rows_out,
    snap_theta,
    snap_state,
    snap_meta,
):
    """``train_kernel_gemm`` for lrs.shape[0] steps, evaluating a history row at every
    multiple of ``record_every``: rows_out[r] = step, train loss, train score, test loss,
    test score, |dW|^2 (n_layers), |db|^2 (n_layers), |W|^2 (n_layers).

    At every row whose training loss is finite, theta and state are copied to
    ``snap_theta``/``snap_state`` and (step, optimizer step) to ``snap_meta``: the point a
    recovery after a divergence goes back to.

    Returns (steps_done, status, rows written)."""
    n_steps = lrs.shape[0]
    n_layers = sizes.shape[0] - 1
    done = 0
    nrow = 0
    status = OK
    res = np.empty(2)
    wsq = np.empty(n_layers)
    while done < n_steps:
        step = step0 + done
        n = min(record_every - step % record_every, n_steps - done)
        d, status = train_kernel_gemm(
            gemm,
            theta,
            spare,
            grad,
            state,
            state_spare,
            X,
            Y,
            perm,
            sizes,
            acts,
            slopes,
            drop,
            woff,
            boff,
            aoff,
            z,
            a,
            delta,
            mask,
            da,
            loss,
            huber,
            opt,
            hp,
            lrs[done : done + n],
            step,
            opt_t0 + done,
            batch,
            shuffle_key,
            drop_key,
            batch_losses[done:],
            layer_sq,
        )
        done += d
        if status != OK:
            break
        if (step0 + done) % record_every == 0:
            row = rows_out[nrow]
            row[0] = step0 + done
            metrics_kernel(
                theta,
                Xtr,
                Ytr,
                ltr,
                classify,
                threshold,
                sizes,
                acts,
                slopes,
                woff,
                boff,
                eaoff,
                ez,
                ea,
                otr,
                oztr,
                dtr,
                loss,
                huber,
                chunk,
                res,
            )
            row[1] = res[0]
            row[2] = res[1]
            if Xte.shape[0] > 0:
                metrics_kernel(
                    theta,
                    Xte,
                    Yte,
                    lte,
                    classify,
                    threshold,
                    sizes,
                    acts,
                    slopes,
                    woff,
                    boff,
                    eaoff,
                    ez,
                    ea,
                    ote,
                    ozte,
                    dte,
                    loss,
                    huber,
                    chunk,
                    res,
                )
                row[3] = res[0]
                row[4] = res[1]
            else:
                row[3] = np.nan
                row[4] = np.nan
            weight_sq_kernel(theta, sizes, woff, boff, wsq)
            for l in range(n_layers):
                row[5 + l] = layer_sq[l, 0]
                row[5 + n_layers + l] = layer_sq[l, 1]
                row[5 + 2 * n_layers + l] = wsq[l]
            if math.isfinite(row[1]):
                _copy1(snap_theta, theta)
                _copy2(snap_state, state)
                snap_meta[0] = step0 + done
                snap_meta[1] = opt_t0 + done
            nrow += 1
    return done, status, nrow
