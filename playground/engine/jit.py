"""One place for numba options (stumpy's config.py pattern).

``reassoc``/``contract`` let LLVM vectorise reductions and fuse multiply-adds; we do not
allow ``nnan``/``ninf``, because divergence detection must see NaN and inf.
"""

from __future__ import annotations

FASTMATH = {"reassoc", "contract"}
JIT = {"nogil": True, "cache": True, "fastmath": FASTMATH, "error_model": "numpy"}
JIT_INLINE = JIT  # numba IR inlining multiplied compile time; LLVM inlines these anyway
