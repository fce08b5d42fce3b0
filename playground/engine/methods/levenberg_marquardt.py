"""Levenberg-Marquardt for squared-error losses, as MATLAB's ``trainlm``.

The residuals are ``r = y - t`` over every training row and output (and, with L2
regularisation, ``sqrt(N rate / 2) w`` for each weight, so that ``r.r / N`` is the loss the
other optimizers see, N = rows x outputs). The Jacobian ``J = dr/dx`` is exact, from
per-sample gradients of the engine: the mse gradient of one row is linear in its target,
so row i's output k has ``J = (m / 2)(g_i(t) - g_i(t + e_k))`` (m outputs). It costs
n (m + 1) one-row gradients, counted as m + 1 full-batch gradient evaluations.

One step is one ``trainlm`` epoch: ``dx = -(J'J + mu I)^-1 J'r``; if the sum of squared
residuals went down accept, ``mu *= mu_dec`` (not below 1e-20) and stop, else
``mu *= mu_inc`` and try again while ``mu <= mu_max``. Once mu passes mu_max (MATLAB
stops training: "Maximum MU reached") the parameters no longer move.
"""

from __future__ import annotations

import numpy as np

from .base import Method

MAX_PARAMS = 5000
MU_MIN = 1e-20  # trainlm's floor


class LevenbergMarquardt(Method):
    name = "levenberg_marquardt"
    description = "Levenberg-Marquardt (MATLAB's trainlm) on the squared errors: Gauss-Newton with damping mu"
    cost = "one Jacobian per step (outputs + 1 gradients' work) and one loss per mu trial"

    @classmethod
    def state_shapes(cls, params, n_params):
        return {"mu": ("<f8", ())}

    def initial_state(self):
        return {"mu": np.array(float(self.params["mu"]))}

    def step(self, x_in, f, t):
        p = self.params
        residuals, jacobian = f.extra["residuals"], f.extra["jacobian"]
        x = x_in.astype(np.float64)
        r = residuals(x)
        n_res = f.extra["n_residuals"]
        perf = float(r @ r)
        mu = float(self.state["mu"])
        if not np.isfinite(perf) or mu > p["mu_max"]:
            return perf / n_res, None, x
        J = jacobian(x)
        jj, je = J.T @ J, J.T @ r
        grad = (2.0 / n_res) * je
        new = x
        eye = np.eye(x.size)
        while mu <= p["mu_max"]:
            with np.errstate(all="ignore"):
                try:
                    dx = -np.linalg.solve(jj + eye * mu, je)
                except np.linalg.LinAlgError:
                    dx = None
            if dx is not None and np.isfinite(dx).all():
                r2 = residuals(x + dx)
                perf2 = float(r2 @ r2)
                if perf2 < perf:
                    new = x + dx
                    mu = max(mu * p["mu_dec"], MU_MIN)
                    break
            mu *= p["mu_inc"]
        self.state["mu"] = np.array(mu)
        return perf / n_res, grad, new
