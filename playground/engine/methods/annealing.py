"""Simulated annealing of the parameter vector: Gaussian proposals, Metropolis acceptance.

Proposal k (counted over the whole run) is ``x' = x + step_size * z`` with z standard
normal; it is accepted with probability ``min(1, exp(-(f(x') - f(x)) / T_k))`` under the
exponential schedule ``T_k = temperature * cooling^k`` (Kirkpatrick's geometric cooling).
Each training step makes ``proposals`` proposals (one loss evaluation each, no gradients).
The trainer's parameters are the chain's current point, so the loss curve shows the
uphill moves annealing accepts while it is hot.

z and the acceptance uniform of proposal k are pure functions of (seed, k)
(``randomness.py``): reproducible from the seed, independent of chunking, exact on resume.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Method
from .randomness import ANNEALING_TAG, normals, stream_key, uniforms


class SimulatedAnnealing(Method):
    name = "simulated_annealing"
    uses_gradient = False
    description = "simulated annealing: random Gaussian moves, uphill ones accepted less as it cools"
    cost = "one loss per proposal (no gradients)"

    @classmethod
    def state_shapes(cls, params, n_params):
        return {
            "x": ("<f8", (n_params,)),
            "f": ("<f8", (1,)),
            "info": ("<i8", (3,)),  # started, proposals made, proposals accepted
        }

    def step(self, x_in, f, t):
        p, s = self.params, self.state
        if not s["info"][0] or not np.array_equal(s["x"].astype(x_in.dtype), x_in):
            s["x"] = x_in.astype(np.float64)
            s["f"] = np.array([f.loss(s["x"])])
            s["info"][0] = 1
        key = stream_key(self.seed, ANNEALING_TAG)
        x, fx = s["x"], float(s["f"][0])
        f_entry = fx
        P = x.size
        for _ in range(int(p["proposals"])):
            k = int(s["info"][1])
            cand = x + p["step_size"] * normals(key, k, P)
            fc = f.loss(cand)
            temp = p["temperature"] * p["cooling"] ** k
            u = uniforms(key, k, 1, offset=2 * P)[0]
            if np.isfinite(fc) and (fc <= fx or (temp > 0 and u < math.exp(-(fc - fx) / temp))):
                x, fx = cand, fc
                s["info"][2] += 1
            s["info"][1] += 1
        s["x"], s["f"] = x, np.array([fx])
        return f_entry, None, x
