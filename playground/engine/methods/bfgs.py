"""Full BFGS, following ``scipy.optimize.minimize(method="BFGS")`` iterate by iterate.

One training step is one iteration of scipy's ``_minimize_bfgs``: direction
``p = -H g``, scipy's line search (MINPACK's dcsrch through ``scalar_search_wolfe1``,
ported in ``dcsrch.py``: strong Wolfe with c1 = 1e-4, c2 = 0.9, the first trial step
``min(1, 2.02 (f - f_prev) / g.p)``), then the inverse-Hessian update
``H = (I - rho s y')H(I - rho y s') + rho s s'``. scipy's stopping rules hold: once
``max|g| <= gtol`` the parameters stay. Where dcsrch finds no step, scipy tries its
``line_search_wolfe2``; this port uses torch's strong-Wolfe search from ``lbfgs.py``
instead (the only departure), and stops if that fails too.

The state (H, the iterate x in float64, its loss and gradient, the loss before, the
iteration count) is saved whole, so a resumed run continues bitwise. A trainer whose
parameters were changed from outside (edited weights) restarts from H = I there.
"""

from __future__ import annotations

import numpy as np

from playground.engine.lbfgs import _strong_wolfe

from .base import Method
from .dcsrch import scalar_search_wolfe1

MAX_PARAMS = 3000  # H is P x P float64 (72 MB at the limit)
RUNNING, CONVERGED, FAILED = 0, 1, 2


class BFGS(Method):
    name = "bfgs"
    description = "full BFGS (scipy's): a P x P inverse-Hessian estimate and a strong-Wolfe line search"
    cost = "one gradient per line-search trial (usually 1-2 per step), P^2 memory"

    @classmethod
    def state_shapes(cls, params, n_params):
        P = n_params
        return {
            "H": ("<f8", (P, P)),
            "x": ("<f8", (P,)),
            "g": ("<f8", (P,)),
            "f": ("<f8", (2,)),  # loss at x, loss at the iterate before (scipy's old_old_fval)
            "info": ("<i8", (3,)),  # started, iterations, RUNNING | CONVERGED | FAILED
        }

    def _start(self, x, f):
        fx, g = f.loss_and_grad(x)
        s = self.state
        s["H"] = np.eye(x.size)
        s["x"], s["g"] = x.copy(), g
        s["f"] = np.array([fx, fx + np.linalg.norm(g) / 2])  # scipy: "initial step guess dx ~ 1"
        s["info"] = np.array([1, 0, RUNNING if np.abs(g).max() > self.params["gtol"] else CONVERGED])

    def step(self, x_in, f, t):
        s = self.state
        if not s["info"][0] or not np.array_equal(s["x"].astype(x_in.dtype), x_in):
            self._start(x_in.astype(np.float64), f)
        xk, gfk = s["x"], s["g"]
        old_fval, old_old_fval = float(s["f"][0]), float(s["f"][1])
        if s["info"][2] != RUNNING:
            return old_fval, gfk, xk
        p = self.params
        pk = -np.dot(s["H"], gfk)
        found = self._line_search(f, xk, pk, gfk, old_fval, old_old_fval)
        if found is None:
            s["info"][2] = FAILED
            return old_fval, gfk, xk
        alpha, fnew, gfkp1 = found
        sk = alpha * pk
        xkp1 = xk + sk
        yk = gfkp1 - gfk
        s["x"], s["g"] = xkp1, gfkp1
        s["f"] = np.array([fnew, old_fval])
        s["info"][1] += 1
        if np.abs(gfkp1).max() <= p["gtol"] or not np.isfinite(fnew):
            s["info"][2] = CONVERGED if np.isfinite(fnew) else FAILED
            return old_fval, gfk, xkp1
        rhok_inv = np.dot(yk, sk)
        rhok = 1000.0 if rhok_inv == 0.0 else 1.0 / rhok_inv
        eye = np.eye(xk.size, dtype=int)
        A1 = eye - sk[:, np.newaxis] * yk[np.newaxis, :] * rhok
        A2 = eye - yk[:, np.newaxis] * sk[np.newaxis, :] * rhok
        s["H"] = np.dot(A1, np.dot(s["H"], A2)) + (rhok * sk[:, np.newaxis] * sk[np.newaxis, :])
        return old_fval, gfk, xkp1

    def _line_search(self, f, xk, pk, gfk, old_fval, old_old_fval):
        """(alpha, f, g) at the accepted point, or None. One engine call per trial point:
        scipy's ScalarFunction caches f and g of the same x, so phi and derphi share it."""
        p = self.params
        cache = {}

        def at(s):
            if s not in cache:
                cache.clear()
                cache[s] = f.loss_and_grad(xk + s * pk)
            return cache[s]

        def phi(s):
            return at(s)[0]

        def derphi(s):
            return np.dot(at(s)[1], pk)

        derphi0 = np.dot(gfk, pk)
        with np.errstate(all="ignore"):
            stp, fval, _ = scalar_search_wolfe1(
                phi, derphi, old_fval, old_old_fval, derphi0, c1=p["c1"], c2=p["c2"], amax=1e100, amin=1e-100
            )
            if stp is not None:
                return stp, fval, at(stp)[1]

            def obj(x, t, d):
                return f.loss_and_grad(x + t * d)

            fval, g, t, _ = _strong_wolfe(obj, xk, 1.0, pk, old_fval, gfk, derphi0, p["c1"], p["c2"])
        if t == 0 or not fval < old_fval:
            return None
        return t, fval, g
