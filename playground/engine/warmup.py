"""Compile every kernel variant a session can need, on tiny data, so that later calls
(in the app's worker, or after an install) find them in numba's cache."""

from __future__ import annotations

import numpy as np

from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec


def warm_up(dtypes: tuple[str, ...] = ("float64", "float32")) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    Y = (X[:, :1] > 0).astype(float)
    for dtype in dtypes:
        for backend in ("fused", "gemm", "blas"):
            spec = ExperimentSpec.from_dict(
                {
                    "network": {"hidden": [{"units": 3, "activation": "tanh", "dropout": 0.1}]},
                    "training": {"dtype": dtype, "batch_size": 4},
                }
            )
            tr = Trainer(spec, 2, 1, X, Y)
            if backend == "gemm" and tr.resolved_backend() != "gemm":
                continue  # no OpenBLAS to call on this machine
            tr.backend = backend
            tr.run(2)
            tr.predict(X, hidden=True)
            tr.evaluate_loss(X, Y)
            if backend == "fused":
                tr.loss_and_grad()
