"""Learning-rate schedules: hand formulas, torch's schedulers, vectorisation, units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.engine.schedules import SCHEDULES, lr_at, schedule_clock, warmup_factor
from playground.spec import SCHEDULES as SPEC_SCHEDULES
from playground.spec import ScheduleSpec


def sched(kind: str, **kw) -> dict:
    return {"kind": kind, "unit": "step", "warmup": 0, **kw}


# --------------------------------------------------------------------------- hand formulas


def test_constant():
    np.testing.assert_array_equal(lr_at(sched("constant"), 0.3, np.arange(7)), np.full(7, 0.3))


def test_step_hand_formula():
    t = np.arange(40)
    expected = [0.2 * 0.5 ** (i // 7) for i in t]
    np.testing.assert_allclose(lr_at(sched("step", step_size=7, gamma=0.5), 0.2, t), expected, rtol=1e-15)


def test_exponential_hand_formula():
    t = np.arange(30)
    expected = [0.01 * 0.97**i for i in t]
    np.testing.assert_allclose(lr_at(sched("exponential", gamma=0.97), 0.01, t), expected, rtol=1e-14)


def test_cosine_hand_formula_and_clamp():
    t = np.arange(25)
    got = lr_at(sched("cosine", t_max=16, eta_min=0.01), 0.5, t)
    expected = [0.01 + (0.5 - 0.01) * (1 + math.cos(math.pi * min(i, 16) / 16)) / 2 for i in t]
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got[0] == 0.5
    np.testing.assert_allclose(got[16:], 0.01, rtol=1e-14)  # clamped at t_max: stays at eta_min


def test_warmup_on_top_of_schedule():
    t = np.arange(12)
    got = lr_at(sched("exponential", gamma=0.9, warmup=5), 1.0, t)
    expected = [0.9**i * min((i + 1) / 5, 1.0) for i in t]
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    np.testing.assert_array_equal(warmup_factor(np.arange(4), 0), np.ones(4))
    np.testing.assert_allclose(warmup_factor(np.arange(4), 3), [1 / 3, 2 / 3, 1.0, 1.0])


# --------------------------------------------------------------------------- torch's schedulers
# Produced with torch 2.13.0 (not needed here): SGD(lr=0.1) and the scheduler, reading
# opt.param_groups[0]["lr"] before each opt.step(); scheduler.step(). Warm-up rows use
# ChainedScheduler([LinearLR(start_factor=1/warmup, total_iters=warmup-1), <schedule>]).
# torch updates recursively, so it drifts from the closed form by a few ulps: rtol 1e-12.

TORCH_STEP = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]  # StepLR(3, 0.5)
TORCH_EXP = [  # ExponentialLR(gamma=0.9)
    0.1,
    0.09000000000000001,
    0.08100000000000002,
    0.07290000000000002,
    0.06561000000000002,
    0.05904900000000002,
    0.05314410000000002,
    0.04782969000000002,
    0.043046721000000024,
    0.03874204890000002,
]
TORCH_COS = [  # CosineAnnealingLR(T_max=10, eta_min=0.001)
    0.1,
    0.09757729755661011,
    0.0905463412215599,
    0.07959536998847742,
    0.0657963412215599,
    0.0505,
    0.03520365877844011,
    0.02140463001152259,
    0.010453658778440109,
    0.0034227024433899004,
    0.001,
]
TORCH_WARM4_COS = [  # LinearLR(1/4, total_iters=3) + CosineAnnealingLR(T_max=10)
    0.025,
    0.048776412907378844,
    0.06783813728906053,
    0.07938926261462366,
    0.06545084971874737,
    0.05,
    0.03454915028125263,
    0.02061073738537635,
    0.009549150281252633,
    0.0024471741852423235,
    0.0,
]
TORCH_WARM5_STEP = [  # LinearLR(1/5, total_iters=4) + StepLR(2, 0.5)
    0.020000000000000004,
    0.04000000000000001,
    0.030000000000000006,
    0.04000000000000001,
    0.025000000000000005,
    0.025000000000000005,
    0.012500000000000002,
    0.012500000000000002,
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (sched("step", step_size=3, gamma=0.5), TORCH_STEP),
        (sched("exponential", gamma=0.9), TORCH_EXP),
        (sched("cosine", t_max=10, eta_min=0.001), TORCH_COS),
        (sched("cosine", t_max=10, eta_min=0.0, warmup=4), TORCH_WARM4_COS),
        (sched("step", step_size=2, gamma=0.5, warmup=5), TORCH_WARM5_STEP),
    ],
    ids=["StepLR", "ExponentialLR", "CosineAnnealingLR", "warmup+cosine", "warmup+step"],
)
def test_matches_torch_schedulers(spec, expected):
    got = lr_at(spec, 0.1, np.arange(len(expected)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-18)


# --------------------------------------------------------------------------- clock, API


def test_epoch_unit_counts_whole_epochs():
    spec = {"kind": "step", "unit": "epoch", "step_size": 2, "gamma": 0.1, "warmup": 0}
    got = lr_at(spec, 1.0, np.arange(20), steps_per_epoch=4)
    expected = [0.1 ** ((i // 4) // 2) for i in range(20)]
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    np.testing.assert_array_equal(schedule_clock(np.arange(9), "epoch", 3), [0, 0, 0, 1, 1, 1, 2, 2, 2])


def test_scalar_and_chunked_calls_agree():
    spec = sched("cosine", t_max=50, eta_min=0.0, warmup=7)
    whole = lr_at(spec, 0.05, np.arange(100))
    chunks = np.concatenate([lr_at(spec, 0.05, np.arange(s, s + 13)) for s in range(0, 100, 13)])[:100]
    np.testing.assert_array_equal(whole, chunks)
    scalar = lr_at(spec, 0.05, 42)
    assert isinstance(scalar, float) and scalar == whole[42]


def test_accepts_schedule_spec_and_fills_defaults():
    spec = ScheduleSpec(kind="step", unit="step", step_size=5, gamma=0.5)
    assert lr_at(spec, 1.0, 10) == 0.25
    assert lr_at(ScheduleSpec(), 0.3, np.arange(5)).tolist() == [0.3] * 5  # constant, per epoch
    assert lr_at({"kind": "cosine", "unit": "step"}, 1.0, 100) == 0.0  # t_max 100, eta_min 0


def test_registry_metadata():
    assert SCHEDULES.names() == list(SPEC_SCHEDULES)
    for name, entry in SCHEDULES.items():
        assert entry.name == name
        assert entry.description and "\n" not in entry.description
    assert SCHEDULES["step"].params == ("step_size", "gamma")
    assert SCHEDULES["cosine"].defaults == {"t_max": 100, "eta_min": 0.0}


def test_errors():
    with pytest.raises(KeyError, match="unknown schedule"):
        lr_at({"kind": "linear"}, 0.1, 0)
    with pytest.raises(ValueError):
        lr_at(sched("constant"), 0.1, -1)
    with pytest.raises(ValueError):
        lr_at({"kind": "constant", "unit": "fortnight"}, 0.1, 0)
    with pytest.raises(ValueError):
        lr_at({"kind": "constant", "unit": "epoch"}, 0.1, 3, steps_per_epoch=0)
