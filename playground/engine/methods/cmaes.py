"""CMA-ES, the (mu/mu_w, lambda) evolution strategy with covariance matrix adaptation, as
Hansen's tutorial gives it ("The CMA Evolution Strategy: A Tutorial", 2016, Appendix C, and
its ``purecma.py``): default weights, learning rates and damping, the h_sigma stall of p_c,
the eigendecomposition of C refreshed every ``lambda / (c1 + c_mu) / N / 10`` evaluations.

One training step is one generation: lambda samples ``x_k = m + sigma B (D z_k)``, ranked
by loss; the weighted mean of the best mu becomes the new mean, the evolution paths and C
and sigma are updated. The trainer's parameters are the mean, whose loss is evaluated once
per generation (so a step costs lambda + 1 loss evaluations, no gradients).
``population`` 0 means Hansen's default ``lambda = 4 + floor(3 ln N)``.

z of generation g is a pure function of (seed, g) (``randomness.py``): reproducible from
the seed, independent of chunking, exact on resume (B and D are state too).
"""

from __future__ import annotations

import math

import numpy as np

from .base import Method
from .randomness import CMAES_TAG, normals, stream_key

MAX_PARAMS = 2000  # C, B: P x P float64 each, an eigendecomposition every few generations


def population_size(params, n: int) -> int:
    lam = int(params.get("population", 0))
    return lam if lam > 0 else 4 + int(3 * math.log(n))


class Strategy:
    """The constants of the tutorial's Table 1 for dimension n and population lam."""

    def __init__(self, n: int, lam: int):
        self.n, self.lam = n, lam
        self.mu = lam // 2
        w = math.log((lam + 1) / 2) - np.log(np.arange(1, self.mu + 1))
        self.weights = w / w.sum()
        self.mueff = 1.0 / float(self.weights @ self.weights)
        mueff = self.mueff
        self.cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
        self.cs = (mueff + 2) / (n + mueff + 5)
        self.c1 = 2 / ((n + 1.3) ** 2 + mueff)
        self.cmu = min(1 - self.c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
        self.damps = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + self.cs
        self.chin = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))


class CMAES(Method):
    name = "cmaes"
    uses_gradient = False
    description = "CMA-ES: samples around a mean, learns the shape of the valley (a covariance matrix)"
    cost = "population + 1 losses per step (no gradients), P^2 memory"

    @classmethod
    def state_shapes(cls, params, n_params):
        P = n_params
        return {
            "mean": ("<f8", (P,)),
            "sigma": ("<f8", ()),
            "C": ("<f8", (P, P)),
            "B": ("<f8", (P, P)),
            "D": ("<f8", (P,)),
            "pc": ("<f8", (P,)),
            "ps": ("<f8", (P,)),
            "f": ("<f8", ()),  # loss at the mean
            "info": ("<i8", (4,)),  # started, generations, evaluations of samples, at the last eigh
        }

    def _start(self, x, f):
        s, P = self.state, x.size
        s["mean"], s["sigma"] = x.copy(), np.array(float(self.params["sigma"]))
        s["C"], s["B"], s["D"] = np.eye(P), np.eye(P), np.ones(P)
        s["pc"], s["ps"] = np.zeros(P), np.zeros(P)
        s["f"] = np.array(f.loss(x))
        s["info"] = np.array([1, 0, 0, 0])

    def step(self, x_in, f, t):
        s = self.state
        if not s["info"][0] or not np.array_equal(s["mean"].astype(x_in.dtype), x_in):
            self._start(x_in.astype(np.float64), f)
        f_entry = float(s["f"])
        n = x_in.size
        es = Strategy(n, population_size(self.params, n))
        g = int(s["info"][1]) + 1
        z = normals(stream_key(self.seed, CMAES_TAG), g, es.lam * n).reshape(es.lam, n)
        m, sigma, B, D = s["mean"], float(s["sigma"]), s["B"], s["D"]
        xs = m + sigma * (z * D) @ B.T  # rows: m + sigma B (D z_k)
        fit = np.array([f.loss(x) for x in xs])
        order = np.argsort(np.where(np.isfinite(fit), fit, np.inf), kind="stable")
        best = xs[order[: es.mu]]
        counteval = int(s["info"][2]) + es.lam
        m_old = m
        m = es.weights @ best
        y_w = (m - m_old) / sigma
        inv_sqrt_c_y = B @ ((B.T @ y_w) / D)
        ps = (1 - es.cs) * s["ps"] + math.sqrt(es.cs * (2 - es.cs) * es.mueff) * inv_sqrt_c_y
        ps_norm = float(np.linalg.norm(ps))
        hsig = ps_norm / math.sqrt(1 - (1 - es.cs) ** (2 * counteval / es.lam)) / es.chin < 1.4 + 2 / (n + 1)
        pc = (1 - es.cc) * s["pc"] + hsig * math.sqrt(es.cc * (2 - es.cc) * es.mueff) * y_w
        ar = (best - m_old) / sigma
        c1a = es.c1 * (1 - (1 - hsig) * es.cc * (2 - es.cc))  # the tutorial's (1 - h) c1 cc (2 - cc) C term
        C = (1 - c1a - es.cmu) * s["C"] + es.c1 * np.outer(pc, pc) + es.cmu * (ar.T * es.weights) @ ar
        sigma *= math.exp(min(1.0, (es.cs / es.damps) * (ps_norm / es.chin - 1)))
        eig_at = int(s["info"][3])
        if counteval - eig_at > es.lam / (es.c1 + es.cmu) / n / 10:
            eig_at = counteval
            C = np.triu(C) + np.triu(C, 1).T
            d2, B = np.linalg.eigh(C)
            D = np.sqrt(np.maximum(d2, 1e-300))
        s.update(mean=m, sigma=np.array(sigma), C=C, B=B, D=D, pc=pc, ps=ps, f=np.array(f.loss(m)))
        s["info"] = np.array([1, g, counteval, eig_at])
        return f_entry, None, m
