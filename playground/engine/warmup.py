"""Compile every kernel a session on this machine can need, on tiny data, so that later
calls (in the app's worker, or after an install) load them from numba's cache."""

from __future__ import annotations

import numpy as np

from playground.engine.trainer import Trainer
from playground.spec import ExperimentSpec


def warm_up(dtypes: tuple[str, ...] = ("float64", "float32")) -> None:
    _warm_up_csv_parser()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    Y = (X[:, :1] > 0).astype(float)
    labels = Y[:, 0].astype(np.int64)
    for dtype in dtypes:
        spec = ExperimentSpec.from_dict(
            {
                "network": {"hidden": [{"units": 3, "activation": "tanh", "dropout": 0.1}]},
                "training": {"dtype": dtype, "batch_size": 4},
            }
        )
        tr = Trainer(spec, 2, 1, X, Y)
        tr.run(2)  # the backend this machine uses (gemm where numpy's OpenBLAS is found)
        tr.predict(X, hidden=True)
        tr.metrics(tr.eval_buffers(X, Y, labels), 0.5)
        tr.weight_norms()
        if dtype == "float64":
            tr.loss_and_grad()  # L-BFGS, landscapes (float64 only)


def _warm_up_csv_parser() -> None:
    """The numeric CSV parser (large all-number files) is numba code too: compile it here."""
    import tempfile
    from pathlib import Path

    from playground.data.csv_numeric import read_numeric

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.csv"
        path.write_text("a,b\n1.5,2\n-3e2,4\n", encoding="utf-8")
        read_numeric(path, 1, ",", 2)
