"""A genetic algorithm over parameter vectors: tournament selection, uniform crossover,
Gaussian mutation, elitism.

Generation 0 is the trainer's parameters (individual 0, so a race starts where the
others start) and ``population - 1`` copies perturbed by ``init_sigma`` Gaussian noise.
Each training step is one generation: the ``elite`` best survive unchanged; every other
child has two parents, each the best of ``tournament`` individuals drawn at random, takes
each parameter from either parent with probability 1/2 (with probability ``crossover``,
else it copies the first parent), and each parameter mutates with probability
``mutation_rate`` by ``mutation_sigma`` Gaussian noise. Fitness is the loss (lower is
better); one step costs ``population - elite`` loss evaluations, no gradients. The
trainer's parameters are the best individual.

Every draw of generation g is a pure function of (seed, g) (``randomness.py``).
"""

from __future__ import annotations

import numpy as np

from .base import Method
from .randomness import GENETIC_TAG, normals, stream_key, uniforms


class Genetic(Method):
    name = "genetic"
    uses_gradient = False
    description = "a genetic algorithm: a population of networks, the fittest breed, children mutate"
    cost = "population - elite losses per step (no gradients)"

    @classmethod
    def state_shapes(cls, params, n_params):
        n = int(params["population"])
        return {
            "population": ("<f8", (n, n_params)),
            "fitness": ("<f8", (n,)),
            "info": ("<i8", (2,)),  # started, generations done
        }

    def _best(self) -> int:
        fit = self.state["fitness"]
        return int(np.argmin(np.where(np.isfinite(fit), fit, np.inf)))

    def _start(self, x, f):
        p, s = self.params, self.state
        n, P = s["population"].shape
        key = stream_key(self.seed, GENETIC_TAG)
        pop = x[None, :] + p["init_sigma"] * normals(key, 0, n * P).reshape(n, P)
        pop[0] = x
        s["population"] = pop
        s["fitness"] = np.array([f.loss(ind) for ind in pop])
        s["info"] = np.array([1, 0])

    def step(self, x_in, f, t):
        p, s = self.params, self.state
        best = self._best() if s["info"][0] else 0
        if not s["info"][0] or not np.array_equal(s["population"][best].astype(x_in.dtype), x_in):
            self._start(x_in.astype(np.float64), f)
        pop, fit = s["population"], s["fitness"]
        n, P = pop.shape
        f_entry = float(fit[self._best()])
        g = int(s["info"][1]) + 1
        key = stream_key(self.seed, GENETIC_TAG)
        rank = np.where(np.isfinite(fit), fit, np.inf)
        order = np.argsort(rank, kind="stable")
        n_elite, k = int(p["elite"]), int(p["tournament"])
        n_child = n - n_elite
        # every draw of this generation from one stream, at fixed offsets
        picks = (uniforms(key, g, 2 * n_child * k) * n).astype(np.int64).reshape(n_child, 2, k)
        cross = uniforms(key, g, n_child, offset=2 * n_child * k) < p["crossover"]
        coin = uniforms(key, g, n_child * P, offset=2 * n_child * k + n_child).reshape(n_child, P) < 0.5
        moff = 2 * n_child * k + n_child + n_child * P
        mutate = uniforms(key, g, n_child * P, offset=moff).reshape(n_child, P) < p["mutation_rate"]
        noise = normals(key, g, n_child * P, offset=moff + n_child * P).reshape(n_child, P)
        winners = picks[np.arange(n_child)[:, None], np.arange(2)[None, :], np.argmin(rank[picks], axis=2)]
        a, b = pop[winners[:, 0]], pop[winners[:, 1]]
        children = np.where(cross[:, None] & coin, b, a)
        children = children + np.where(mutate, p["mutation_sigma"] * noise, 0.0)
        new_pop = np.concatenate([pop[order[:n_elite]], children])
        new_fit = np.concatenate([fit[order[:n_elite]], [f.loss(c) for c in children]])
        s["population"], s["fitness"] = new_pop, new_fit
        s["info"][1] = g
        return f_entry, None, new_pop[self._best()]
