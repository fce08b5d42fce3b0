"""The smoothed loss curve: a short history is drawn as it is (a slow network's few rows must
not lag behind the loss shown in the toolbar), a long one is averaged, incrementally."""

import numpy as np

from playground.app.plotting import EMA_ALPHA, ema


def test_few_rows_are_not_dragged_behind():
    ys = np.array([2.3, 0.45, 0.2, 0.12, 0.09])  # a CNN's first rows, one every 3 epochs
    assert np.array_equal(ema(ys, first_row=0), ys)


def test_long_history_is_smoothed_and_incremental():
    rng = np.random.default_rng(0)
    ys = 1.0 + 0.3 * rng.standard_normal(2000)
    whole = ema(ys, first_row=0)
    assert np.std(whole[1500:]) < 0.3 * np.std(ys[1500:])  # noise averaged out at the end
    split = np.concatenate([ema(ys[:700], first_row=0), ema(ys[700:], start=whole[699], first_row=700)])
    assert np.allclose(split, whole, rtol=0, atol=1e-12)
    # from row 200 on the weight is the fixed alpha
    step = (whole[1000] - whole[999]) / (ys[1000] - whole[999])
    assert abs(step - EMA_ALPHA) < 1e-9


def test_nan_rows_stay_gaps():
    ys = np.array([1.0, np.nan, 0.5, np.inf, 0.25])
    out = ema(ys, first_row=0)
    assert np.isnan(out[1]) and np.isnan(out[3]) and out[4] == 0.25
