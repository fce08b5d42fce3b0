"""Layer blocks of the engine (see ``registry.py`` for how they fit together)."""

from playground.engine.blocks import conv, dense, pool, recurrent  # noqa: F401  (register the blocks)
from playground.engine.blocks.registry import BLOCKS, Layer, Plan

__all__ = ["BLOCKS", "Layer", "Plan"]
