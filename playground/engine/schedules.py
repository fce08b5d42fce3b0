"""Learning-rate schedules: a registry of closed-form, vectorised lr(t) functions.

``t`` is the schedule clock: the number of optimizer steps done (``unit == "step"``) or
of whole epochs done (``unit == "epoch"``, ``t = step // steps_per_epoch``), counted from
0, as torch's ``scheduler.last_epoch`` after that many ``scheduler.step()`` calls.

* ``constant``     lr
* ``step``         lr * gamma ** (t // step_size)                      (torch StepLR)
* ``exponential``  lr * gamma ** t                                     (torch ExponentialLR)
* ``cosine``       eta_min + (lr - eta_min) * (1 + cos(pi * min(t, t_max) / t_max)) / 2
                   torch CosineAnnealingLR's closed form for t <= t_max; past t_max the
                   clock is clamped, so lr stays at eta_min (torch would climb back up
                   along the cosine's next half period, which is rarely what one wants).

Linear warm-up, on top of any schedule: the lr is multiplied by ``(t + 1) / warmup``
while ``t < warmup`` (the first step runs at ``lr / warmup``, step ``warmup - 1`` at the
full lr); this equals torch ``LinearLR(start_factor=1/warmup, total_iters=warmup-1)``.
Warm-up counts in the same unit as the schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from playground.registry import Registry

# Spec fields every schedule reads (kind-specific ones are listed by each entry).
COMMON_PARAMS: dict[str, Any] = {"unit": "epoch", "warmup": 0}


@dataclass(frozen=True)
class Schedule:
    name: str
    description: str  # one line, for the GUI tooltip
    fn: Callable[[float, np.ndarray, Mapping[str, Any]], np.ndarray]  # (base_lr, t float array, params) -> lr
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)  # kind-specific params

    @property
    def params(self) -> tuple[str, ...]:
        """Names of the kind-specific parameters, in GUI order."""
        return tuple(self.defaults)


SCHEDULES: Registry[Schedule] = Registry("schedule")


def _constant(lr: float, t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return np.full(t.shape, lr, dtype=np.float64)


def _step(lr: float, t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return lr * np.power(float(p["gamma"]), np.floor_divide(t, int(p["step_size"])))


def _exponential(lr: float, t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    return lr * np.power(float(p["gamma"]), t)


def _cosine(lr: float, t: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    t_max = int(p["t_max"])
    eta_min = float(p["eta_min"])
    return eta_min + (lr - eta_min) * (1.0 + np.cos(math.pi * np.minimum(t, t_max) / t_max)) / 2.0


for _s in (
    Schedule("constant", "the same learning rate throughout", _constant),
    Schedule(
        "step",
        "multiply the learning rate by gamma every step_size epochs (or steps)",
        _step,
        {"step_size": 30, "gamma": 0.1},
    ),
    Schedule(
        "exponential",
        "multiply the learning rate by gamma after every epoch (or step)",
        _exponential,
        {"gamma": 0.95},
    ),
    Schedule(
        "cosine",
        "glide down to eta_min along half a cosine over t_max epochs (or steps), then stay",
        _cosine,
        {"t_max": 100, "eta_min": 0.0},
    ),
):
    SCHEDULES.register(_s.name, _s)


def _get(schedule: Any, key: str, default: Any) -> Any:
    """Read a field from a mapping or an object (ScheduleSpec) alike."""
    if isinstance(schedule, Mapping):
        return schedule.get(key, default)
    return getattr(schedule, key, default)


def schedule_clock(step: int | np.ndarray, unit: str, steps_per_epoch: int) -> np.ndarray:
    """The schedule's t for optimizer step index ``step``: the step itself or whole epochs done."""
    step = np.asarray(step, dtype=np.int64)
    if np.any(step < 0):
        raise ValueError("step indices must be >= 0")
    if unit == "step":
        return step
    if unit == "epoch":
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        return step // int(steps_per_epoch)
    raise ValueError(f"unknown schedule unit {unit!r}; choose 'epoch' or 'step'")


def warmup_factor(t: np.ndarray, warmup: int) -> np.ndarray:
    """Linear warm-up multiplier: (t + 1) / warmup while t < warmup, else 1."""
    t = np.asarray(t, dtype=np.float64)
    if warmup <= 0:
        return np.ones_like(t)
    return np.minimum((t + 1.0) / warmup, 1.0)


def lr_at(
    schedule: Any, base_lr: float, step: int | np.ndarray, steps_per_epoch: int = 1
) -> float | np.ndarray:
    """Learning rate for optimizer step index ``step`` (0 = the first step); vectorised over ``step``.

    ``schedule`` is a mapping or a ScheduleSpec with ``kind`` and the fields its kind needs
    (missing ones take the entry's defaults), plus ``unit`` and ``warmup``.
    Returns a float for a scalar ``step`` and a float64 array for an array.
    """
    entry = SCHEDULES[_get(schedule, "kind", "constant")]
    params = {name: _get(schedule, name, default) for name, default in entry.defaults.items()}
    unit = _get(schedule, "unit", COMMON_PARAMS["unit"])
    warmup = int(_get(schedule, "warmup", COMMON_PARAMS["warmup"]))
    t = schedule_clock(step, unit, steps_per_epoch)
    tf = t.astype(np.float64)
    lr = entry.fn(float(base_lr), tf, params) * warmup_factor(tf, warmup)
    return float(lr) if lr.ndim == 0 else lr
