"""Damped Newton's method with the exact Hessian of the full-batch loss.

The Hessian comes from the engine's exact gradient by central differences, column by
column: ``H[:, j] = (g(x + h e_j) - g(x - h e_j)) / 2h`` with ``h = eps^(1/3) max(1, |x_j|)``
(~6e-6), then symmetrised. The truncation error is O(h^2 |g'''|) (~1e-11 relative on the
playground's tanh networks) and zero on a quadratic, whose gradient is linear: there the
step lands on the minimum in one step up to rounding. Cost per step: 2P + 1 gradient
evaluations and one loss evaluation per damping trial, so networks are limited to
``MAX_PARAMS`` parameters.

Damping is Levenberg's: solve ``(H + lambda I) d = -g`` (Cholesky; not positive definite
counts as a failed trial), accept if the loss went down and divide lambda by
``1 / damping_dec``, else multiply it by ``damping_inc`` and try again, at most
``max_trials`` times per step; a step that found no decrease does not move.
"""

from __future__ import annotations

import numpy as np

from .base import Method, Objective, solve_damped

MAX_PARAMS = 2000
LAMBDA_FLOOR = 1e-10  # lambda = 0 would never grow by multiplication


def hessian_fd(f: Objective, x: np.ndarray) -> np.ndarray:
    """The symmetrised central-difference Hessian from exact gradients (2P evaluations)."""
    P = x.size
    H = np.empty((P, P))
    hs = np.finfo(np.float64).eps ** (1 / 3) * np.maximum(1.0, np.abs(x))
    for j in range(P):
        xp, xm = x.copy(), x.copy()
        xp[j] += hs[j]
        xm[j] -= hs[j]
        h2 = xp[j] - xm[j]  # the step as represented
        H[:, j] = (f.loss_and_grad(xp)[1] - f.loss_and_grad(xm)[1]) / h2
    return 0.5 * (H + H.T)


class Newton(Method):
    name = "newton"
    description = "damped Newton's method: the exact Hessian (finite differences of exact gradients)"
    cost = "2P + 1 gradients per step (P parameters) and one loss per damping trial"

    @classmethod
    def state_shapes(cls, params, n_params):
        return {"damping": ("<f8", ())}

    def initial_state(self):
        return {"damping": np.array(float(self.params["damping"]))}

    def step(self, x_in, f, t):
        p = self.params
        x = x_in.astype(np.float64)
        f0, g0 = f.loss_and_grad(x)
        if not np.isfinite(f0) or not np.isfinite(g0).all():
            return f0, g0, x
        H = hessian_fd(f, x)
        lam = float(self.state["damping"])
        new = x
        for _ in range(int(p["max_trials"])):
            d = solve_damped(H, g0, lam)
            if d is not None:
                f1 = f.loss(x + d)
                if np.isfinite(f1) and f1 < f0:
                    new = x + d
                    lam *= p["damping_dec"]
                    break
            lam = max(lam * p["damping_inc"], LAMBDA_FLOOR)
            if lam > p["damping_max"]:
                lam = p["damping_max"]
                break
        self.state["damping"] = np.array(lam)
        return f0, g0, new
