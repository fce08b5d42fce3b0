"""numpy's own OpenBLAS, called from inside numba kernels.

numba's ``np.dot`` inside ``@njit`` needs SciPy (which we do not ship); instead we take the
``cblas_?gemm`` entry points of the OpenBLAS that numpy wheels bundle and pass them to the
kernels as ctypes function pointers (an argument, not a global, so kernels stay cacheable).
Where no such library is found (e.g. a numpy built on Apple Accelerate), ``gemm_functions``
returns None and the trainer falls back to its other paths.
"""

from __future__ import annotations

import ctypes
import glob
import os
from functools import cache

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_ARGS = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64]


def _candidates() -> list[str]:
    base = os.path.dirname(os.path.abspath(np.__file__))
    pats = [
        os.path.join(base, os.pardir, "numpy.libs", "libscipy_openblas64_*"),  # Linux, Windows wheels
        os.path.join(base, ".dylibs", "libscipy_openblas64_*"),  # macOS wheels
        os.path.join(base, os.pardir, "numpy.libs", "*scipy_openblas64*"),
    ]
    return [p for pat in pats for p in sorted(glob.glob(pat))]


@cache
def gemm_functions():
    """(dgemm, sgemm) ctypes functions with the CBLAS ILP64 signature, or None."""
    if os.environ.get("PLAYGROUND_NO_CBLAS"):
        return None
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            fns = []
            for name, real in (
                ("scipy_cblas_dgemm64_", ctypes.c_double),
                ("scipy_cblas_sgemm64_", ctypes.c_float),
            ):
                f = getattr(lib, name)
                f.restype = None
                ptr = ctypes.c_void_p
                f.argtypes = _ARGS + [
                    real,
                    ptr,
                    ctypes.c_int64,
                    ptr,
                    ctypes.c_int64,
                    real,
                    ptr,
                    ctypes.c_int64,
                ]
                fns.append(f)
            return tuple(fns)
        except (OSError, AttributeError):
            continue
    return None


def gemm_for(dtype):
    fns = gemm_functions()
    if fns is None:
        return None
    return fns[0] if np.dtype(dtype) == np.float64 else fns[1]
