"""Methods beyond first-order gradient descent, as optimizers of the same flat parameter
vector: damped Newton (exact Hessian), Levenberg-Marquardt (MATLAB's trainlm), full BFGS
(scipy's), simulated annealing, a genetic algorithm and CMA-ES (docs/METHODS.md).

``METHODS`` maps the spec's ``training.optimizer.name`` to the method's class;
``check`` says why a method cannot train a network (a ``SpecError`` naming the field);
``create`` builds one from the spec's resolved hyper-parameters. The trainer calls a
method's ``step`` once per training step with a counting ``Objective`` (base.py).
"""

from __future__ import annotations

from playground.errors import SpecError
from playground.registry import Registry

from . import bfgs, cmaes, levenberg_marquardt, newton
from .annealing import SimulatedAnnealing
from .base import Method, Objective
from .bfgs import BFGS
from .cmaes import CMAES
from .genetic import Genetic
from .levenberg_marquardt import LevenbergMarquardt
from .newton import Newton

METHODS: Registry[type[Method]] = Registry("method")
for _m in (Newton, LevenbergMarquardt, BFGS, SimulatedAnnealing, Genetic, CMAES):
    METHODS.register(_m.name, _m)

MAX_PARAMS = {
    "newton": newton.MAX_PARAMS,
    "levenberg_marquardt": levenberg_marquardt.MAX_PARAMS,
    "bfgs": bfgs.MAX_PARAMS,
    "cmaes": cmaes.MAX_PARAMS,
}
MAX_POPULATION_VALUES = 50_000_000  # population x parameters (400 MB of float64)


def is_method(name: str) -> bool:
    return name in METHODS


def check(spec, n_params: int) -> None:
    """Raise a SpecError if the spec's method cannot train this network."""
    tr = spec.training
    name = tr.optimizer.name
    if name not in METHODS:
        return
    base = "training.optimizer.name"
    limit = MAX_PARAMS.get(name)
    if limit is not None and n_params > limit:
        raise SpecError(
            base, f"{name} is for networks of at most {limit:,} parameters; this one has {n_params:,}"
        )
    r = tr.optimizer.resolved()
    if name == "levenberg_marquardt":
        if tr.loss != "mse":
            raise SpecError(
                "training.loss",
                f"levenberg_marquardt minimises squared errors: it needs loss 'mse', not {tr.loss!r}",
            )
        if tr.regularization.kind == "l1" and tr.regularization.rate > 0:
            raise SpecError(
                "training.regularization.kind", "levenberg_marquardt supports 'none' or 'l2', not 'l1'"
            )
        if r["mu_max"] < r["mu"]:
            raise SpecError("training.optimizer.mu_max", "must be >= mu")
    if name == "cmaes":
        lam = cmaes.population_size(r, n_params)
        if lam * n_params > MAX_POPULATION_VALUES:
            raise SpecError(
                "training.optimizer.population",
                f"{lam} samples of {n_params:,} parameters exceed {MAX_POPULATION_VALUES:,} values",
            )
    if name == "genetic":
        n = int(r["population"])
        if r["elite"] >= n:
            raise SpecError("training.optimizer.elite", f"must be less than the population ({n})")
        if r["tournament"] > n:
            raise SpecError("training.optimizer.tournament", f"must be at most the population ({n})")
        if n * n_params > MAX_POPULATION_VALUES:
            raise SpecError(
                "training.optimizer.population",
                f"{n} networks of {n_params:,} parameters exceed {MAX_POPULATION_VALUES:,} values",
            )


def create(spec, n_params: int) -> Method:
    check(spec, n_params)
    opt = spec.training.optimizer
    return METHODS[opt.name](opt.resolved(), n_params, spec.seed)


def state_shapes(spec, n_params: int) -> dict:
    """name -> (dtype, shape) of the method's saved state (sessions)."""
    opt = spec.training.optimizer
    return METHODS[opt.name].state_shapes(opt.resolved(), n_params)


__all__ = ["METHODS", "Method", "Objective", "check", "create", "is_method", "state_shapes"]
