"""Each layer's output shape and parameter count, as PyTorch computes them (pure Python).

A shape is per sample: ``(channels, height, width)`` for images (PyTorch's NCHW without
the N), ``(n,)`` for a flat vector. Layers are read by attribute (``kind``, ``units``,
``filters``, ``kernel_size``, ``stride``, ``padding``, ``bias``, ``size``), so a
``LayerSpec`` or any object with those names will do.

- ``conv2d``: ``torch.nn.Conv2d(in, filters, kernel_size, stride, padding)``; ``"valid"``
  is padding 0, out = floor((in - k) / stride) + 1; ``"same"`` keeps the size (stride 1
  only: PyTorch refuses ``padding='same'`` for strided convolutions, and so do we; for an
  even kernel PyTorch pads one more at the bottom/right). Parameters: weight
  ``(filters, in, k, k)`` and, with ``bias``, ``(filters,)``.
- ``maxpool2d`` / ``avgpool2d``: ``MaxPool2d(size, stride)`` / ``AvgPool2d``, no padding,
  floor mode: out = floor((in - size) / stride) + 1, ``stride`` defaulting to ``size``.
- ``flatten``: ``(c, h, w) -> (c*h*w,)``; a no-op on a flat vector.
- ``dense``: ``units`` outputs, ``in * units + units`` parameters. A dense layer (or the
  output layer) that receives images flattens them first: the stack gets an implicit
  flatten row (``implicit=True``), the same as writing ``{"kind": "flatten"}`` there.

- ``rnn`` / ``lstm`` / ``gru``: ``torch.nn.RNN/LSTM/GRU(in, units, batch_first=True)`` on a
  sequence ``(length, features)``; the output is the last step's ``(units,)``, or with
  ``return_sequences`` every step's ``(length, units)``. Parameters: ``weight_ih (g*units,
  in)``, ``weight_hh (g*units, units)``, ``bias_ih``, ``bias_hh`` (``g*units`` each) with g
  = 1 (rnn), 4 (lstm: gates i, f, g, o), 3 (gru: r, z, n). A dense layer after a sequence
  flattens it first (implicitly, as after images).

Convolution and pooling need images: they cannot follow a flatten or a dense layer, nor
start a network on flat (tabular or toy) data. Recurrent layers need sequences (data of
shape ``(length, features)``): the first layer or one after a recurrent layer with
``return_sequences``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

IMAGE_KINDS = ("conv2d", "maxpool2d", "avgpool2d")
RECURRENT_KINDS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
LAYER_KINDS = ("dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", *RECURRENT_KINDS)


@dataclass(frozen=True)
class LayerShape:
    """One row of a stack: ``index`` in ``network.hidden`` (an implicit flatten has the
    index of the dense layer it feeds; the output layer and its implicit flatten have None),
    its kind, output shape per sample and parameter count."""

    index: int | None
    kind: str
    shape: tuple[int, ...]
    n_params: int
    implicit: bool = False

    @property
    def size(self) -> int:
        """Values per sample in the output (``prod(shape)``)."""
        return math.prod(self.shape)


class ShapeError(ValueError):
    """A stack that cannot be built: ``index`` of the layer in ``network.hidden`` (None for
    the output layer), ``field`` the setting at fault (``kind``, ``kernel_size``, ...)."""

    def __init__(self, index: int | None, field: str, message: str):
        self.index = index
        self.field = field
        self.message = message
        where = "the output layer" if index is None else f"hidden[{index}]"
        super().__init__(f"{where}.{field}: {message}")

    @property
    def path(self) -> str:
        """The spec field path (``network.hidden[2].kernel_size``)."""
        if self.index is None:
            return "network.output_activation"
        return f"network.hidden[{self.index}].{self.field}"


def pool_stride(layer) -> int:
    """A pooling layer's stride: its ``stride``, or ``size`` when that is None."""
    stride = getattr(layer, "stride", None)
    return int(layer.size if stride is None else stride)


def conv_stride(layer) -> int:
    stride = getattr(layer, "stride", None)
    return 1 if stride is None else int(stride)


def conv_padding(layer) -> tuple[int, int]:
    """(before, after) zero padding of each spatial side, as PyTorch pads: 'same' splits
    k - 1 with the extra one after (bottom/right), 'valid' pads nothing."""
    if layer.padding == "same":
        total = int(layer.kernel_size) - 1
        return total // 2, total - total // 2
    return 0, 0


def _where(prev_kind: str | None, prev_index: int | None) -> str:
    if prev_kind is None:
        return "the input images"
    return f"the output of hidden[{prev_index}] ({prev_kind})"


def input_kind(shape) -> str:
    """``"image"`` (c, h, w), ``"sequence"`` (length, features) or ``"flat"`` (n,)."""
    return {3: "image", 2: "sequence"}.get(len(tuple(shape)), "flat")


def _check_recurrent_order(hidden, kind_of_input: str) -> None:
    """ShapeError if a recurrent layer does not get a sequence: on image or flat data, after
    a dense/flatten/conv layer, or after a recurrent layer that gives only its last step."""
    seq = kind_of_input == "sequence"
    for i, layer in enumerate(hidden):
        kind = layer.kind
        if kind in RECURRENT_KINDS and not seq:
            if i == 0:
                what = "images" if kind_of_input == "image" else "a flat table of numbers"
                raise ShapeError(
                    i, "kind",
                    f"a {kind} layer needs sequence data (data.kind 'sequence', or a CSV time series "
                    f"with data.window); this data is {what}",
                )  # fmt: skip
            prev = hidden[i - 1]
            if prev.kind in RECURRENT_KINDS:
                raise ShapeError(
                    i - 1, "return_sequences",
                    f"the {kind} layer hidden[{i}] needs a sequence: set return_sequences on "
                    f"hidden[{i - 1}] ({prev.kind}) so it gives every step, not only the last",
                )  # fmt: skip
            raise ShapeError(
                i, "kind",
                f"a {kind} layer cannot follow the {prev.kind} layer hidden[{i - 1}]: its output is "
                "not a sequence; put recurrent layers first",
            )  # fmt: skip
        if kind in RECURRENT_KINDS:
            seq = bool(layer.return_sequences)
        elif kind in ("dense", "flatten") or kind in IMAGE_KINDS:
            seq = False
        if kind in IMAGE_KINDS and kind_of_input == "sequence":
            raise ShapeError(
                i, "kind", f"a {kind} layer needs image data; this data is sequences (length x features)"
            )


def check_order(hidden, images: bool | str) -> None:
    """ShapeError if a conv/pool layer sits on flat data: non-image data (``images`` False,
    or the input kind ``"flat"``/``"sequence"``), or after a flatten or a dense layer; and
    if a recurrent layer does not get a sequence (``_check_recurrent_order``)."""
    kind_of_input = images if isinstance(images, str) else ("image" if images else "flat")
    _check_recurrent_order(hidden, kind_of_input)
    if kind_of_input == "sequence":
        return
    flat_since: tuple[int, str] | None = None if kind_of_input == "image" else (-1, "data")
    for i, layer in enumerate(hidden):
        kind = layer.kind
        if kind in IMAGE_KINDS and flat_since is not None:
            j, why = flat_since
            if j < 0:
                raise ShapeError(
                    i,
                    "kind",
                    f"a {kind} layer needs image data (data.kind 'image', or a CSV with "
                    "data.image_shape); this data is a flat table of numbers",
                )
            raise ShapeError(
                i,
                "kind",
                f"a {kind} layer cannot follow the {why} layer hidden[{j}]: its output is flat; "
                "put convolution and pooling layers before any flatten or dense layer",
            )
        if kind in ("flatten", "dense") and flat_since is None:
            flat_since = (i, kind)


def _conv(i: int, layer, shape: tuple[int, ...], prev: str) -> tuple[tuple[int, ...], int]:
    c, h, w = shape
    k, stride, filters = int(layer.kernel_size), conv_stride(layer), int(layer.filters)
    if layer.padding == "same":
        if stride != 1:
            raise ShapeError(
                i,
                "padding",
                f"'same' padding needs stride 1 (PyTorch refuses padding='same' for strided "
                f"convolutions); this layer has stride {stride}: use 'valid' padding or stride 1",
            )
        oh, ow = h, w
    else:
        if k > h or k > w:
            raise ShapeError(
                i,
                "kernel_size",
                f"a {k}x{k} kernel is larger than its {h}x{w} input ({prev}); use a smaller "
                "kernel, 'same' padding or fewer pooling layers before it",
            )
        oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    n_params = filters * c * k * k + (filters if getattr(layer, "bias", True) else 0)
    return (filters, oh, ow), n_params


def _pool(i: int, layer, shape: tuple[int, ...], prev: str) -> tuple[int, ...]:
    c, h, w = shape
    size, stride = int(layer.size), pool_stride(layer)
    if size > h or size > w:
        raise ShapeError(
            i,
            "size",
            f"a {size}x{size} {layer.kind} window is larger than its {h}x{w} input ({prev}); "
            "use a smaller window or fewer pooling layers",
        )
    return (c, (h - size) // stride + 1, (w - size) // stride + 1)


def layer_shapes(input_shape, hidden, n_out: int | None = None) -> list[LayerShape]:
    """The rows of a stack on inputs of ``input_shape`` (``(c, h, w)`` or ``(n,)``): one per
    hidden layer, an implicit flatten where a dense layer meets images, and with ``n_out``
    the output (dense) layer. Raises ShapeError for a stack that cannot be built."""
    shape = tuple(int(s) for s in input_shape)
    check_order(hidden, input_kind(shape))
    rows: list[LayerShape] = []
    prev_kind: str | None = None
    prev_index: int | None = None

    def flatten_if_image(index: int | None) -> None:  # a dense layer flattens images (sequences) first
        nonlocal shape
        if len(shape) > 1:
            shape = (math.prod(shape),)
            rows.append(LayerShape(index, "flatten", shape, 0, implicit=True))

    for i, layer in enumerate(hidden):
        kind = layer.kind
        prev = _where(prev_kind, prev_index)
        if kind == "conv2d":
            shape, n_params = _conv(i, layer, shape, prev)
        elif kind in ("maxpool2d", "avgpool2d"):
            shape, n_params = _pool(i, layer, shape, prev), 0
        elif kind == "flatten":
            shape, n_params = (math.prod(shape),), 0
        elif kind in RECURRENT_KINDS:
            length, features = shape
            units = int(layer.units)
            g = GATES[kind] * units
            n_params = g * features + g * units + 2 * g
            shape = (length, units) if layer.return_sequences else (units,)
        elif kind == "dense":
            flatten_if_image(i)
            units = int(layer.units)
            n_params = shape[0] * units + units
            shape = (units,)
        else:
            raise ShapeError(
                i, "kind", f"unknown layer kind {kind!r}; choose one of: {', '.join(LAYER_KINDS)}"
            )
        rows.append(LayerShape(i, kind, shape, n_params))
        prev_kind, prev_index = kind, i
    if n_out is not None:
        flatten_if_image(None)
        rows.append(LayerShape(None, "dense", (int(n_out),), shape[0] * int(n_out) + int(n_out)))
    return rows


def stack_report(input_shape, hidden, n_out: int | None = None) -> tuple[list[LayerShape], ShapeError | None]:
    """``layer_shapes`` for an editor: the rows up to the first layer that cannot be built,
    and that layer's ShapeError (None when the whole stack is fine)."""
    try:
        return layer_shapes(input_shape, hidden, n_out), None
    except ShapeError as e:
        good = hidden[: e.index] if e.index is not None else hidden
        try:
            return layer_shapes(input_shape, good), e
        except ShapeError:  # pragma: no cover - a prefix of a stack fails where the stack does
            return [], e


def count_params(input_shape, hidden, n_out: int) -> int:
    """Parameters of the whole network, output layer included."""
    return sum(r.n_params for r in layer_shapes(input_shape, hidden, n_out))


def format_shape(shape: tuple[int, ...]) -> str:
    """``8x4x4`` for (8, 4, 4) (channels x height x width), ``20x32`` for a sequence (length x
    units), ``64`` for (64,)."""
    return "x".join(str(s) for s in shape)
