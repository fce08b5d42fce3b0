"""What every method beyond first-order gradient descent shares: the objective it sees
(the full-batch training loss of one trainer, with counted evaluations) and its state
(named float64/int64 arrays, saved in sessions and copied for divergence recovery).

A method is a plain object built from its hyper-parameters and the parameter count;
``step(x, objective, t)`` does one training step from ``x`` (float64, the trainer's
parameters) and returns ``(loss at entry, gradient at entry or None, new x)``. Everything it
carries from one step to the next lives in ``self.state`` (a dict of numpy arrays whose
names and shapes ``state_shapes`` declares), so ``copy``, ``state_arrays`` and
``load_state_arrays`` are written once here, and a resumed session continues bitwise.

The objective is the mean training loss over the whole training set without dropout,
plus the regularisation penalty: these methods are full-batch by nature (a line search, a
Hessian or a Metropolis test compares losses of one fixed function).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


class Objective:
    """The loss a method minimises, with counts: ``loss(x)`` (value only), ``loss_and_grad(x)``
    (value and gradient, counted once in each), ``per_sample_grad(x, i, target)`` (one
    training row with its own target, for Jacobians; counted by the caller as the work of
    full-batch gradients it adds up to)."""

    def __init__(
        self,
        loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
        loss: Callable[[np.ndarray], float],
        counts: np.ndarray,
        extra: Mapping | None = None,
    ):
        self._lg = loss_and_grad
        self._loss = loss
        self.counts = counts  # int64 [loss evaluations, gradient evaluations], updated in place
        self.extra = dict(extra or {})  # what a method needs beyond the loss (residuals, ...)

    def loss(self, x: np.ndarray) -> float:
        self.counts[0] += 1
        return float(self._loss(x))

    def loss_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.counts[0] += 1
        self.counts[1] += 1
        f, g = self._lg(x)
        return float(f), np.array(g, dtype=np.float64).reshape(-1)


class Method:
    """Base of every method: hyper-parameters, state arrays, copy / save / load."""

    name = ""
    uses_gradient = True
    description = ""
    cost = ""  # what one step costs, in evaluations (the app's tooltip)

    def __init__(self, params: Mapping, n_params: int, seed: int = 0):
        self.params = dict(params)
        self.n_params = int(n_params)
        self.seed = int(seed)
        self.state: dict[str, np.ndarray] = self.initial_state()

    # -- declared state ---------------------------------------------------------------
    @classmethod
    def state_shapes(cls, params: Mapping, n_params: int) -> dict[str, tuple[str, tuple[int, ...]]]:
        """name -> (numpy dtype string, shape) of every state array."""
        raise NotImplementedError

    def initial_state(self) -> dict[str, np.ndarray]:
        return {
            k: np.zeros(shape, dtype=dt)
            for k, (dt, shape) in self.state_shapes(self.params, self.n_params).items()
        }

    def copy(self) -> Method:
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.params = dict(self.params)
        other.state = {k: v.copy() for k, v in self.state.items()}
        return other

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.state.items()}

    def load_state_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        shapes = self.state_shapes(self.params, self.n_params)
        state = {}
        for k, (dt, shape) in shapes.items():
            if k not in arrays:
                raise ValueError(f"{self.name} state lacks {k!r}")
            a = np.asarray(arrays[k])
            if a.shape != shape:
                raise ValueError(f"{self.name} state {k!r} has shape {a.shape}, expected {shape}")
            state[k] = np.array(a, dtype=dt)
        self.state = state

    # -- the step ---------------------------------------------------------------------
    def step(self, x: np.ndarray, f: Objective, t: int) -> tuple[float, np.ndarray | None, np.ndarray]:
        """One training step from x: (loss at x, gradient at x or None, the new x)."""
        raise NotImplementedError


def solve_damped(H: np.ndarray, g: np.ndarray, lam: float) -> np.ndarray | None:
    """-(H + lam I)^-1 g by Cholesky, or None when H + lam I is not positive definite."""
    A = H + lam * np.eye(H.shape[0])
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(L, -g)
    return np.linalg.solve(L.T, y)
