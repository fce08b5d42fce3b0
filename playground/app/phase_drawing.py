"""What the network drawing shows of one phase of an optimizer step: the step inspector
(``panels/inspector.py``) builds it, the network drawing (``panels/network.py``) draws it.
Plain data in its own module, so the two panels stay independent of each other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhaseDrawing:
    """One phase of an optimizer step as the network drawing shows it (the step inspector's
    numbers, ``panels/inspector.py`` builds it).

    ``params``: per layer (W, b), drawn instead of the weights (the gradient or the update);
    None draws the weights. ``neurons``: per column (the inputs, then every layer) the value
    written on each neuron (the forward pass); None writes ``params``' bias entries there.
    """

    phase: str  # "forward", "loss", "gradient", "update"
    title: str  # the legend's first line
    symbol: str = "w"  # a connection's number: "w", "∂L/∂w", "Δw"
    bias_symbol: str = "b"
    params: tuple | None = None
    neurons: tuple | None = None
    pre: tuple | None = None  # per layer z, with ``neurons`` (None: not a dense network)
    note: str = ""  # the legend's second line's end (the loss, the update's source)
