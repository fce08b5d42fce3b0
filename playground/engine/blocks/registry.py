"""Layer blocks: what each layer kind is, and how a network of them is laid out.

A network is a sequence of blocks over one flat parameter vector ``theta``. Each block
kind registers here with its parameter shapes (PyTorch's names; dense stores W as
(fan_in, fan_out)) and how they are initialised; its numba kernels and numpy twins live in
its own module (``dense.py``), and ``network.py`` composes them: the forward pass, the
backward pass and the prediction pass dispatch on each block's kind code. A new kind
(convolution, pooling, recurrent) adds a module, a code in ``codes.py`` and one branch in
each of network.py's three loops; the optimizers, the trainer and the sessions only ever see
the flat vector.

The kernels read a network as a *plan*: an int64 array with one row per block (columns
``P_*``) and a float64 array (columns ``F_*``); activation buffers are flat, block ``l``'s
output at ``aoff[l + 1]`` (``Plan.offsets(rows)``). A block's weights (what L1/L2 penalise
and ``|W|`` measures) are theta[P_WOFF:P_BOFF], its biases theta[P_BOFF:P_END].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.registry import Registry

# int columns of a plan row: kind, per-sample input and output widths, parameter offsets
# (weights [WOFF, BOFF), biases [BOFF, END)), activation code; then the image geometry of
# convolution and pooling blocks (input and output (channels, height, width) in NCHW order,
# kernel or window size, stride, zero padding before the first row/column)
P_KIND, P_IN, P_OUT, P_WOFF, P_BOFF, P_END, P_ACT = range(7)
P_CIN, P_HIN, P_WIN, P_COUT, P_HOUT, P_WOUT, P_K, P_STRIDE, P_PAD = range(7, 16)
# recurrent blocks: sequence length, features per step, units, whether every step is output,
# truncation of backpropagation through time (0: full), the cell's activation (rnn), and
# the per-sample width of the block's state scratch (recurrent.state_width)
P_T, P_F, P_H, P_RETSEQ, P_BPTT, P_CELL, P_SW = range(16, 23)
N_P = 23
# float columns
F_SLOPE, F_DROP = range(2)
N_F = 2


@dataclass(frozen=True)
class BlockKind:
    name: str  # the spec's ``kind``
    code: int  # codes.BLOCK_*
    description: str
    params: Callable[..., tuple[tuple[str, tuple[int, ...]], ...]]  # params(layer): (name, shape) per array
    # initial arrays, in ``params`` order: init(layer, initializer name, bias_init, rng)
    init: Callable[..., list[np.ndarray]]
    # recurrent blocks: values of state scratch per sample (None: the block keeps no state)
    state_width: Callable[..., int] | None = None


BLOCKS: Registry[BlockKind] = Registry("layer kind")


def register(kind: BlockKind) -> BlockKind:
    return BLOCKS.register(kind.name, kind)


@dataclass(frozen=True)
class Layer:
    """One block of a network as the trainer builds it (sizes are per-sample units; image
    blocks also carry their (channels, height, width) shapes)."""

    kind: str
    n_in: int
    n_out: int
    activation: int  # codes.* activation code
    slope: float = 0.0  # leaky relu
    dropout: float = 0.0  # after the activation (hidden layers)
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    kernel: int = 0  # kernel or window size
    stride: int = 1
    pad: int = 0  # zeros before the first row/column (after: what the output size implies)
    bias: bool = True
    units: int = 0  # recurrent: hidden units
    return_sequences: bool = False
    bptt: int = 0  # truncated backpropagation through time: steps (0: full)
    cell_activation: int = 0  # rnn: tanh or relu (codes.*)
    forget_bias: float = 0.0  # lstm: the forget gate's bias_ih starts here (bias_hh's at 0)


class Plan:
    """A network of blocks laid out over one flat parameter vector, as the kernels read it."""

    def __init__(self, layers: list[Layer]):
        if not layers:
            raise ValueError("a network needs at least one layer")
        for prev, nxt in zip(layers[:-1], layers[1:], strict=False):
            if prev.n_out != nxt.n_in:
                raise ValueError(
                    f"a {nxt.kind} layer takes {nxt.n_in} inputs, the layer before gives {prev.n_out}"
                )
        self.layers = list(layers)
        self.ints = np.zeros((len(layers), N_P), dtype=np.int64)
        self.floats = np.zeros((len(layers), N_F), dtype=np.float64)
        off = 0
        self.arrays: list[list[tuple[str, tuple[int, ...], int]]] = []  # (name, shape, offset)
        for l, layer in enumerate(layers):
            kind = BLOCKS[layer.kind]
            arrays = []
            row = self.ints[l]
            row[P_KIND], row[P_IN], row[P_OUT], row[P_ACT] = (
                kind.code,
                layer.n_in,
                layer.n_out,
                layer.activation,
            )
            row[P_WOFF] = off
            row[P_BOFF] = -1
            if len(layer.in_shape) == 3 and len(layer.out_shape) == 3:
                row[P_CIN], row[P_HIN], row[P_WIN] = layer.in_shape
                row[P_COUT], row[P_HOUT], row[P_WOUT] = layer.out_shape
                row[P_K], row[P_STRIDE], row[P_PAD] = layer.kernel, layer.stride, layer.pad
            if kind.state_width is not None:  # recurrent: in_shape = (length, features)
                row[P_T], row[P_F] = layer.in_shape
                row[P_H], row[P_RETSEQ], row[P_BPTT] = layer.units, layer.return_sequences, layer.bptt
                row[P_CELL], row[P_SW] = layer.cell_activation, kind.state_width(layer)
            for name, shape in kind.params(layer):
                if name.startswith("bias") and row[P_BOFF] < 0:
                    row[P_BOFF] = off
                arrays.append((name, shape, off))
                off += int(np.prod(shape))
            row[P_END] = off
            if row[P_BOFF] < 0:
                row[P_BOFF] = off  # no bias: [WOFF, BOFF) are the weights, [BOFF, END) empty
            self.floats[l] = (layer.slope, layer.dropout)
            self.arrays.append(arrays)
        self.n_params = off
        units = [layers[0].n_in] + [layer.n_out for layer in layers]
        self.units = np.asarray(units, dtype=np.int64)  # per-sample width of each activation slot
        self._starts = np.concatenate([[0], np.cumsum(self.units)]).astype(np.int64)[:-1]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def parametric(self) -> list[int]:
        """Indices of the blocks that have parameters."""
        return [l for l, arrays in enumerate(self.arrays) if arrays]

    def initial_theta(self, init: str, bias_init, rng: np.random.Generator, dtype) -> np.ndarray:
        """The flat parameter vector drawn block by block, each block's arrays in order."""
        theta = np.empty(self.n_params, dtype=dtype)
        for layer, arrays in zip(self.layers, self.arrays, strict=True):
            values = BLOCKS[layer.kind].init(layer, init, bias_init, rng)
            for (_, shape, off), v in zip(arrays, values, strict=True):
                theta[off : off + int(np.prod(shape))] = np.asarray(v, dtype=np.float64).reshape(-1)
        return theta

    def offsets(self, rows: int) -> np.ndarray:
        """Where each activation slot starts in flat buffers of ``rows`` rows."""
        return self._starts * rows

    def width(self) -> int:
        return int(self.units.sum())

    def max_units(self) -> int:
        return int(self.units.max())

    def state_size(self, rows: int) -> int:
        """The recurrent blocks' state scratch for batches of ``rows`` (0 without them)."""
        return rows * int(self.ints[:, P_SW].sum())

    def col_size(self, rows: int) -> int:
        """The convolutions' im2col scratch for batches of ``rows`` (0 without them)."""
        from playground.engine.blocks.conv import col_size

        return max([col_size(layer, rows) for layer in self.layers if layer.kind == "conv2d"], default=0)
