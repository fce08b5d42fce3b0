"""A network of blocks, composed once: the forward pass, the backward pass, the loss and
gradient of a batch, and the prediction pass. Every training, evaluation and gradient
kernel (``kernels.py``) runs through these; each dispatches on the block kind
(``registry.P_KIND``).

Arguments are grouped: ``net = (plan, fplan, aoff)`` (``registry.Plan``) and
``bufs = (z, a, delta, mask, da, col, rec)``: flat row-major buffers of pre-activations,
activations, dL/dz, dropout masks (all ``rows * plan.width()``), the input-gradient scratch
(``rows * plan.max_units()``), the convolutions' im2col scratch (``plan.col_size(rows)``)
and the recurrent blocks' state (``plan.state_size(rows)``; block l's region starts at rows
times the state widths of the blocks before it), both empty when no block needs them.
``gemm`` is a cblas ?gemm or None (explicit loops); ``nondense`` is None for a network of
dense blocks only, so numba prunes every other block's branch and compiles none of their
code (True otherwise).
"""

from __future__ import annotations

from numba import njit

from playground.engine.blocks import activation, conv, dense, dropout, pool, recurrent
from playground.engine.blocks import loss as loss_block
from playground.engine.blocks.registry import F_DROP, F_SLOPE, P_ACT, P_IN, P_KIND, P_OUT, P_SW
from playground.engine.codes import (
    BLOCK_AVGPOOL2D,
    BLOCK_CONV2D,
    BLOCK_DENSE,
    BLOCK_FLATTEN,
    BLOCK_GRU,
    BLOCK_LSTM,
    BLOCK_MAXPOOL2D,
    BLOCK_RNN,
)
from playground.engine.jit import JIT
from playground.engine.rng import dropout_base


@njit(**JIT)
def forward(gemm, nondense, theta, net, bufs, nrows, train, base):
    """Every block on the ``nrows`` inputs already in a[aoff[0]:]; dropout when ``train``."""
    plan, fplan, aoff = net
    z, a, _, mask, _, col, rec = bufs
    n = plan.shape[0]
    roff = 0
    for l in range(n):
        row = plan[l]
        width = row[P_OUT]
        kind = row[P_KIND]
        if kind == BLOCK_DENSE:
            dense.forward(gemm, theta, row, a, aoff[l], z, aoff[l + 1], nrows)
        elif nondense is not None and kind == BLOCK_CONV2D:
            if gemm is not None:
                conv.forward_gemm(gemm, theta, row, a, aoff[l], z, aoff[l + 1], nrows, col)
            else:
                conv.forward(theta, row, a, aoff[l], z, aoff[l + 1], nrows)
        elif nondense is not None and (kind == BLOCK_MAXPOOL2D or kind == BLOCK_AVGPOOL2D):
            pool.forward(kind == BLOCK_MAXPOOL2D, row, a, aoff[l], z, aoff[l + 1], nrows)
        elif nondense is not None and kind == BLOCK_FLATTEN:
            pool.flatten_forward(row, a, aoff[l], z, aoff[l + 1], nrows)
        elif nondense is not None and (kind == BLOCK_LSTM or kind == BLOCK_GRU or kind == BLOCK_RNN):
            recurrent.forward(gemm, theta, row, a, aoff[l], z, aoff[l + 1], nrows, rec, roff, False)
        roff += nrows * row[P_SW]
        activation.forward(row[P_ACT], fplan[l, F_SLOPE], z, a, aoff[l + 1], nrows, width)
        p = fplan[l, F_DROP]
        if train and p > 0.0 and l < n - 1:
            dropout.apply(a, mask, aoff[l + 1], nrows, width, p, l, base)


@njit(**JIT)
def backward(gemm, nondense, theta, grad, net, bufs, nrows, train):
    """From dL/dz of the output (in delta) back to the first block, adding every block's
    parameter gradient into ``grad``."""
    plan, fplan, aoff = net
    z, a, delta, mask, da, col, rec = bufs
    roff = 0
    for l in range(plan.shape[0]):
        roff += nrows * plan[l, P_SW]
    for l in range(plan.shape[0] - 1, -1, -1):
        row = plan[l]
        kind = row[P_KIND]
        roff -= nrows * row[P_SW]
        if kind == BLOCK_DENSE:
            dense.backward(gemm, theta, grad, row, a, aoff[l], delta, aoff[l + 1], da, nrows, l > 0)
        elif nondense is not None and kind == BLOCK_CONV2D:
            if gemm is not None:
                conv.backward_gemm(
                    gemm, theta, grad, row, a, aoff[l], delta, aoff[l + 1], da, nrows, l > 0, col
                )
            else:
                conv.backward(theta, grad, row, a, aoff[l], delta, aoff[l + 1], da, nrows, l > 0)
        elif nondense is not None and (kind == BLOCK_MAXPOOL2D or kind == BLOCK_AVGPOOL2D) and l > 0:
            pool.backward(kind == BLOCK_MAXPOOL2D, row, a, aoff[l], delta, aoff[l + 1], da, nrows)
        elif nondense is not None and kind == BLOCK_FLATTEN and l > 0:
            pool.flatten_backward(row, delta, aoff[l + 1], da, nrows)
        elif nondense is not None and (kind == BLOCK_LSTM or kind == BLOCK_GRU or kind == BLOCK_RNN):
            recurrent.backward(
                gemm, theta, grad, row, a, aoff[l], delta, aoff[l + 1], da, nrows, l > 0, rec, roff
            )
        if l > 0:
            prev = plan[l - 1]
            use_mask = train and fplan[l - 1, F_DROP] > 0.0
            activation.backward(
                prev[P_ACT],
                fplan[l - 1, F_SLOPE],
                z,
                a,
                mask,
                use_mask,
                da,
                delta,
                aoff[l],
                nrows,
                prev[P_OUT],
            )


@njit(**JIT)
def loss_and_grad(
    gemm,
    nondense,
    theta,
    grad,
    X,
    Y,
    rows_idx,
    denom,
    net,
    bufs,
    loss,
    huber,
    train,
    drop_key,
    step,
    accumulate,
):
    """Loss of the rows ``rows_idx`` of X (flat, row-major) summed and divided by ``denom``
    rows, and its gradient into ``grad`` (zeroed first unless ``accumulate``: a full-batch
    gradient is summed chunk by chunk)."""
    plan, _, aoff = net
    z, a, delta, _, _, _, _ = bufs
    nrows = rows_idx.shape[0]
    n_in = plan[0, P_IN]
    for i in range(nrows):
        src = rows_idx[i] * n_in
        for k in range(n_in):
            a[i * n_in + k] = X[src + k]
    forward(gemm, nondense, theta, net, bufs, nrows, train, dropout_base(drop_key, step))
    last = plan[plan.shape[0] - 1]
    lval = loss_block.batch(
        loss, last[P_ACT], z, a, Y, rows_idx, delta, aoff[plan.shape[0]], nrows, last[P_OUT], huber, denom
    )
    if not accumulate:
        for t in range(grad.shape[0]):
            grad[t] = 0.0
    backward(gemm, nondense, theta, grad, net, bufs, nrows, train)
    return lval


@njit(**JIT)
def predict(nondense, theta, X, out, out_z, want_z, net, ebufs, chunk, hidden_out):
    """Outputs for every row of X (n, n_in) into out (n, m); no dropout. If ``want_z`` the
    output pre-activations go to out_z; if ``hidden_out`` has n rows, every block's
    activations too, shape (n, sum of block widths): the per-neuron pictures.

    Feature-major chunks (``dense.forward_columns``), ``aoff`` laid out for ``chunk`` rows;
    ``ebufs = (z, a, rec)``."""
    plan, fplan, aoff = net
    z, a, rec = ebufs
    n = X.shape[0]
    n_in = plan[0, P_IN]
    n_layers = plan.shape[0]
    m = plan[n_layers - 1, P_OUT]
    want_hidden = hidden_out.shape[0] == n
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        for k in range(n_in):
            col = a[aoff[0] + k * rows : aoff[0] + (k + 1) * rows]
            for i in range(rows):
                col[i] = X[start + i, k]
        roff = 0
        for l in range(n_layers):
            row = plan[l]
            kind = row[P_KIND]
            if kind == BLOCK_DENSE:
                dense.forward_columns(theta, row, a, aoff[l], z, aoff[l + 1], rows)
            elif nondense is not None and kind == BLOCK_CONV2D:
                conv.forward_columns(theta, row, a, aoff[l], z, aoff[l + 1], rows)
            elif nondense is not None and (kind == BLOCK_MAXPOOL2D or kind == BLOCK_AVGPOOL2D):
                pool.forward_columns(kind == BLOCK_MAXPOOL2D, row, a, aoff[l], z, aoff[l + 1], rows)
            elif nondense is not None and kind == BLOCK_FLATTEN:
                pool.flatten_forward(row, a, aoff[l], z, aoff[l + 1], rows)
            elif nondense is not None and (kind == BLOCK_LSTM or kind == BLOCK_GRU or kind == BLOCK_RNN):
                recurrent.forward(None, theta, row, a, aoff[l], z, aoff[l + 1], rows, rec, roff, True)
            roff += rows * row[P_SW]
            activation.forward_columns(row[P_ACT], fplan[l, F_SLOPE], z, a, aoff[l + 1], rows, row[P_OUT])
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
            for l in range(n_layers):
                lo = aoff[l + 1]
                for j in range(plan[l, P_OUT]):
                    for i in range(rows):
                        hidden_out[start + i, c] = a[lo + j * rows + i]
                    c += 1
