"""Layer blocks of the engine (see ``registry.py`` for how they fit together)."""

from playground.engine.blocks import dense  # noqa: F401  (registers the dense block)
from playground.engine.blocks.registry import BLOCKS, Layer, Plan

__all__ = ["BLOCKS", "Layer", "Plan"]
