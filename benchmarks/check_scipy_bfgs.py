"""Check that the playground's BFGS (engine/methods/bfgs.py) follows
``scipy.optimize.minimize(method="BFGS")`` iterate by iterate (a script, not a test: the
product and its suite never need scipy).

scipy lives in the torch venv, built for the same numpy as the project's venv, so this
script runs in the project's venv and borrows scipy from there:

    .venv/bin/python benchmarks/check_scipy_bfgs.py [N]

(``SCIPY_SITE`` overrides where scipy is looked for.) For each function, both start from
the same point with the same gtol, c1 and c2; scipy's iterates come from its callback,
ours from one ``BFGS.step`` per iteration, and the script prints the largest difference of
the parameters and of the loss over the first N iterations (default 50), with the
evaluation counts of both. Functions: Rosenbrock in 2-D, the extended Rosenbrock in 10-D
and the engine's own full-batch loss of two networks (the spiral's 2-8-8-1 tanh with
BCE, and a 1-16-1 tanh regression with MSE), evaluated by the Trainer's kernels.
"""

from __future__ import annotations

import glob
import os
import sys

import numpy as np


def _import_scipy():
    site = os.environ.get("SCIPY_SITE") or next(
        iter(glob.glob(os.path.expanduser("~/torch-venv/lib/python3*/site-packages"))), None
    )
    if site:
        sys.path.append(site)
    import scipy.optimize

    return scipy.optimize


def rosenbrock(x):
    f = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return float(f), g


def engine_function(spec_dict):
    from playground.experiment import Experiment

    exp = Experiment.from_spec(spec_dict)
    tr = exp.trainer
    obj = tr._objective()
    return (lambda x: obj._lg(x)), tr.theta.astype(np.float64).copy()


def ours(fun, x0, n, params):
    from playground.engine.methods import Objective
    from playground.engine.methods.bfgs import BFGS

    counts = np.zeros(2, dtype=np.int64)
    f = Objective(fun, lambda x: fun(x)[0], counts)
    m = BFGS(params, x0.size)
    x, xs, fs = x0.copy(), [], []
    for t in range(n):
        _, _, x = m.step(x, f, t)
        xs.append(x.copy())
        fs.append(float(m.state["f"][0]))
        if m.state["info"][2] != 0:
            break
    return np.array(xs), np.array(fs), counts


def theirs(opt, fun, x0, n, params):
    xs, fs = [], []

    def cb(intermediate_result):
        xs.append(intermediate_result.x.copy())
        fs.append(float(intermediate_result.fun))

    res = opt.minimize(
        fun, x0, jac=True, method="BFGS", callback=cb,
        options={"gtol": params["gtol"], "c1": params["c1"], "c2": params["c2"], "maxiter": n},
    )  # fmt: skip
    return np.array(xs), np.array(fs), res


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    opt = _import_scipy()
    from playground.engine import readiness
    from playground.spec import OPTIMIZER_DEFAULTS

    readiness.set_start_mode("compiled")  # the kernels, bitwise
    params = dict(OPTIMIZER_DEFAULTS["bfgs"])
    spiral = {
        "data": {"kind": "toy", "name": "spiral", "n_samples": 200},
        "network": {"hidden": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}]},
        "training": {"loss": "bce", "optimizer": {"name": "bfgs", "lr": 1.0}},
    }
    regression = {
        "data": {"kind": "toy", "name": "sine", "n_samples": 100},
        "network": {"hidden": [{"units": 16, "activation": "tanh"}], "output_activation": "linear"},
        "training": {"loss": "mse", "optimizer": {"name": "bfgs", "lr": 1.0}},
    }
    cases = [("rosenbrock 2-D", rosenbrock, np.array([-1.2, 1.0])),
             ("rosenbrock 10-D", rosenbrock, np.linspace(-1.5, 1.5, 10))]  # fmt: skip
    for name, spec in (("spiral 2-8-8-1 bce", spiral), ("sine 1-16-1 mse", regression)):
        try:
            fun, x0 = engine_function(spec)
            cases.append((name, fun, x0))
        except Exception as e:  # a toy set missing: say so, keep the others
            print(f"{name}: skipped ({e})")
    print(f"{'function':22s} {'P':>4s} {'iters':>5s} {'max |x - x_scipy|':>18s} {'max |f - f_scipy|':>18s}"
          f" {'final f':>12s} {'evals ours':>10s} {'scipy nfev':>10s}")  # fmt: skip
    for name, fun, x0 in cases:
        xs, fs, counts = ours(fun, x0, n, params)
        sx, sf, res = theirs(opt, fun, x0, n, params)
        k = min(len(xs), len(sx))
        dx = float(np.abs(xs[:k] - sx[:k]).max()) if k else float("nan")
        df = float(np.abs(fs[:k] - sf[:k]).max()) if k else float("nan")
        print(
            f"{name:22s} {x0.size:4d} {k:5d} {dx:18.3e} {df:18.3e} {fs[k - 1]:12.6g}"
            f" {counts[1]:10d} {res.nfev:10d}"
        )


if __name__ == "__main__":
    main()
