"""Edit one weight or one bias by clicking it in the network drawing (TensorFlow Playground's
behaviour): a small number editor, then one undoable step that changes exactly that parameter.

The worker owns the experiment while it trains, so the change runs there
(``controller.call_in_worker``) through the public API: ``Experiment.params`` (copies per
layer; a dense W is (fan_in, fan_out), so ``W[i, j]`` joins neuron ``i`` of the layer before to
neuron ``j`` of this one) and ``Experiment.set_params``. Only that element changes: the
optimizer's state, the step count and the history stay as they were (as in TensorFlow
Playground, the next step carries on from the edited network). The controller's undo stack
takes any ``QUndoCommand``, so an edit is one Ctrl+Z, undone to the exact old value; a new
snapshot redraws the views at once.

The network view calls :func:`edit_weight` / :func:`edit_bias` from its mouse handler (its
hit-testing already finds the connection or neuron under the pointer for the hover tooltips).
"""

from __future__ import annotations

import math

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QInputDialog, QWidget

from playground.errors import PlaygroundError

LIMIT = 1e6  # the editor's range: a larger weight is a typo, not a lesson
DECIMALS = 6


class ParamEditError(PlaygroundError):
    """A weight or bias that does not exist (layer or index out of range, not a dense layer)."""


def _check(exp, layer: int, array: int, index: tuple[int, ...]) -> float:
    """The current value of ``params[layer][array][index]``; raises if there is none."""
    params = exp.params
    if not 0 <= layer < len(params):
        raise ParamEditError(f"layer {layer + 1}: the network has {len(params)} layers with parameters")
    arrs = params[layer]
    if array >= len(arrs) or arrs[array].size == 0:
        raise ParamEditError(f"layer {layer + 1} has no {'bias' if array else 'weights'}")
    a = arrs[array]
    if len(index) != a.ndim or not all(0 <= k < n for k, n in zip(index, a.shape)):
        raise ParamEditError(f"layer {layer + 1}: no parameter at {index} in an array of shape {a.shape}")
    return float(a[index])


def _set(exp, layer: int, array: int, index: tuple[int, ...], value: float) -> None:
    params = exp.params
    arrs = list(params[layer])
    arrs[array][index] = value  # params are copies: only this element differs from theta
    params[layer] = tuple(arrs)
    exp.set_params(params)


class ParamCommand(QUndoCommand):
    """One edited parameter: redo writes the new value, undo the old one."""

    def __init__(
        self, controller, layer: int, array: int, index: tuple[int, ...], old: float, new: float, text: str
    ):
        super().__init__(text)
        self.controller, self.layer, self.array, self.index = controller, layer, array, index
        self.old, self.new = old, new

    def _write(self, value: float) -> None:
        c = self.controller
        c.call_in_worker(lambda exp: _set(exp, self.layer, self.array, self.index, value))
        c.request_snapshot()

    def redo(self) -> None:
        self._write(self.new)

    def undo(self) -> None:
        self._write(self.old)


def _edit(controller, layer, array, index, parent, value, label: str, text: str) -> bool:
    try:
        old = controller.call_in_worker(lambda exp: _check(exp, layer, array, index))
    except PlaygroundError as e:
        controller.statusMessage.emit(str(e))
        return False
    if value is None:
        value, ok = QInputDialog.getDouble(parent, text, label, old, -LIMIT, LIMIT, DECIMALS)
        if not ok:
            return False
    value = float(value)
    if not math.isfinite(value):
        controller.statusMessage.emit(f"{text}: {value} is not a finite number")
        return False
    if value == old:
        return True
    controller.undo_stack.push(
        ParamCommand(controller, layer, array, index, old, value, f"{text} = {value:g}")
    )
    return True


def edit_weight(
    controller, layer: int, i: int, j: int, parent: QWidget | None = None, value: float | None = None
) -> bool:
    """Edit the weight from neuron ``i`` of the layer before into neuron ``j`` of dense layer
    ``layer`` (0-based, as ``Experiment.params``). ``value`` skips the dialog (tests, scripts).
    Returns whether the weight now has the chosen value (False: cancelled or impossible)."""
    return _edit(
        controller, layer, 0, (i, j), parent, value,
        f"Weight from neuron {i + 1} to neuron {j + 1} of layer {layer + 1}:",
        f"Weight w[layer {layer + 1}: {i + 1} \u2192 {j + 1}]",
    )  # fmt: skip


def edit_bias(
    controller, layer: int, j: int, parent: QWidget | None = None, value: float | None = None
) -> bool:
    """Edit the bias of neuron ``j`` of layer ``layer`` (0-based, as ``Experiment.params``)."""
    return _edit(
        controller, layer, 1, (j,), parent, value,
        f"Bias of neuron {j + 1} of layer {layer + 1}:",
        f"Bias b[layer {layer + 1}: {j + 1}]",
    )  # fmt: skip
