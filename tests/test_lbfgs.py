"""L-BFGS port: convergence, exactness against torch.optim.LBFGS, state save/resume."""

from __future__ import annotations

import io

import numpy as np
import pytest

from playground.engine.lbfgs import LBFGSState, default_max_eval, lbfgs_kwargs, lbfgs_step


def rosenbrock(x: np.ndarray) -> tuple[float, np.ndarray]:
    a, b = x[0], x[1]
    f = (1.0 - a) ** 2 + 100.0 * (b - a * a) ** 2
    g = np.array([-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)])
    return float(f), g


def _logistic_data() -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(12.0)[:, None]
    j = np.arange(3.0)[None, :]
    X = np.sin(1.3 * i + 0.7 * j + 0.1 * i * j)
    y = (np.cos(2.1 * i[:, 0]) > 0).astype(float)
    return X, y


def logistic(theta: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean logistic loss of 12 fixed points (3 features + bias) plus 0.005 |w|^2."""
    X, y = _logistic_data()
    w, b = theta[:3], theta[3]
    z = X @ w + b
    f = np.mean(np.logaddexp(0.0, z) - y * z) + 0.005 * w.dot(w)
    p = 1.0 / (1.0 + np.exp(-z))
    r = (p - y) / len(y)
    g = np.concatenate([X.T @ r + 0.01 * w, [r.sum()]])
    return float(f), g


def run(fun, x0, n_steps, **kw) -> tuple[np.ndarray, LBFGSState, list[float]]:
    theta = np.array(x0, dtype=float)
    state = LBFGSState.empty(theta.size)
    losses = []
    for _ in range(n_steps):
        loss, state = lbfgs_step(theta, fun, state, **kw)
        losses.append(loss)
    return theta, state, losses


# --------------------------------------------------------------------------- convergence


def test_rosenbrock_converges_torch_defaults():
    theta, state, _ = run(rosenbrock, [-1.5, 2.0], 3)
    np.testing.assert_allclose(theta, [1.0, 1.0], atol=1e-5)
    assert state.n_iter <= 60


def test_rosenbrock_converges_one_iteration_per_step():
    # the playground's mapping: one step = one L-BFGS iteration with a real line search
    theta, state, losses = run(rosenbrock, [-1.5, 2.0], 60, max_iter=1, max_eval=25)
    np.testing.assert_allclose(theta, [1.0, 1.0], atol=1e-5)
    assert state.n_iter == 60
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # a line search never goes uphill


def test_rosenbrock_tight_tolerances():
    theta, _, _ = run(rosenbrock, [-1.5, 2.0], 5, tolerance_grad=1e-12, tolerance_change=1e-14)
    np.testing.assert_allclose(theta, [1.0, 1.0], atol=1e-8)


def test_quadratic_matches_linear_solve():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    A = Q @ np.diag(np.linspace(1.0, 50.0, 20)) @ Q.T
    b = rng.standard_normal(20)

    def quad(x):
        return float(0.5 * x @ A @ x - b @ x), A @ x - b

    theta, _, _ = run(quad, np.zeros(20), 10, tolerance_grad=1e-12, tolerance_change=1e-15)
    np.testing.assert_allclose(theta, np.linalg.solve(A, b), rtol=0, atol=1e-8)


# --------------------------------------------------------------------------- torch reference
# Produced with torch 2.13.0 (CPU wheel, x86-64, MKL) in a separate venv, never imported here:
#
#     p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
#     opt = torch.optim.LBFGS([p], line_search_fn="strong_wolfe", **kw)
#     def closure():
#         f, g = fun(p.detach().numpy().copy())      # the numpy functions above
#         p.grad = torch.from_numpy(g)
#         return torch.tensor(f, dtype=torch.float64)
#     for _ in range(n): loss = opt.step(closure); st = opt.state[p]
#     rows: (float(loss), st["n_iter"], st["func_evals"], p.tolist())
#
# The port reproduces these bit for bit on this problem size; the test allows 1e-12.

ROSEN_H5_I4 = [  # rosenbrock from (-1.5, 2), history_size=5, max_iter=4 (max_eval 5)
    (12.5, 3, 5, [-1.4201365045001701, 2.023710425144713]),
    (5.861853124644989, 7, 10, [-1.3536941786844385, 1.7977275799994183]),
    (5.660704475846824, 11, 16, [-0.9112492919532802, 0.7831270541364126]),
    (3.876113265926986, 14, 21, [-0.5194965455965878, 0.2165188695186657]),
    (2.593575142048365, 17, 26, [-0.2758836677953355, 0.03520589871150398]),
]
LOGISTIC_H2_I3 = [  # logistic from (0.3, -0.2, 0.1, 0), history_size=2, max_iter=3 (max_eval 3)
    (
        0.7208749713563409,
        2,
        3,
        [-0.23793708695335347, -0.015070660676905184, 0.3217339330215628, -0.6568538327227988],
    ),
    (
        0.6202783530408467,
        4,
        6,
        [-0.7144557711373556, 0.3639561709406801, -0.0028861076882936154, -0.7695113017308033],
    ),
    (
        0.6075917196564393,
        6,
        9,
        [-0.9617757729987025, 0.5396045856693714, -0.3693537304397323, -0.7055088841849497],
    ),
    (
        0.6040337101730296,
        8,
        12,
        [-0.9576639638310284, 0.540966551755348, -0.3385524042033458, -0.6879829445982696],
    ),
    (
        0.603941905293999,
        10,
        15,
        [-0.9572881696481671, 0.5407210704192519, -0.3382471784929775, -0.6879783769325591],
    ),
]
ROSEN_I1_EVAL25 = [  # rosenbrock from (-1.5, 2), max_iter=1, max_eval=25 (the playground mapping)
    (12.5, 1, 3, [-1.4172551712244599, 2.026691880250174]),
    (5.875809972976888, 2, 5, [-1.4200404011339869, 2.024868214861027]),
    (5.863573595921402, 3, 7, [-1.4201365045001701, 2.023710425144713]),
    (5.861853124644989, 4, 9, [-1.4190151739012853, 2.015228881713949]),
    (5.851898414902332, 5, 11, [-1.4142309487677067, 1.9949020404366438]),
    (5.8311603749043, 6, 13, [-1.3967406364678434, 1.9336233323551453]),
    (5.774160143316676, 7, 15, [-1.3536960480482616, 1.7977327472576075]),
    (5.660712537635332, 8, 17, [-1.2871832369443887, 1.6054850151939202]),
]


@pytest.mark.parametrize(
    ("fun", "x0", "kw", "expected"),
    [
        (rosenbrock, [-1.5, 2.0], {"history_size": 5, "max_iter": 4}, ROSEN_H5_I4),
        (logistic, [0.3, -0.2, 0.1, 0.0], {"history_size": 2, "max_iter": 3}, LOGISTIC_H2_I3),
        (rosenbrock, [-1.5, 2.0], {"max_iter": 1, "max_eval": 25}, ROSEN_I1_EVAL25),
    ],
    ids=["rosenbrock", "logistic", "one-iteration-steps"],
)
def test_matches_torch_trajectory(fun, x0, kw, expected):
    theta = np.array(x0)
    state = LBFGSState.empty(theta.size)
    for loss_ref, n_iter_ref, evals_ref, theta_ref in expected:
        loss, state = lbfgs_step(theta, fun, state, **kw)
        assert loss == pytest.approx(loss_ref, rel=1e-12, abs=0)
        np.testing.assert_allclose(theta, theta_ref, rtol=1e-12, atol=0)
        assert (state.n_iter, state.func_evals) == (n_iter_ref, evals_ref)


def test_one_iteration_with_default_budget_is_stuck_like_torch():
    # torch: max_iter=1 -> max_eval=1 -> no line search budget; a rejected first trial
    # step (t=0) repeats forever. Same counters as torch 2.13 (n_iter k, func_evals 2k).
    theta, state, losses = run(rosenbrock, [-1.5, 2.0], 8, max_iter=1)
    assert default_max_eval(1) == 1
    np.testing.assert_array_equal(theta, [-1.5, 2.0])
    assert losses == [12.5] * 8
    assert (state.n_iter, state.func_evals) == (8, 16)


# --------------------------------------------------------------------------- state


def _roundtrip(state: LBFGSState) -> LBFGSState:
    buf = io.BytesIO()
    np.savez(buf, **state.to_arrays())
    buf.seek(0)
    with np.load(buf) as z:
        return LBFGSState.from_arrays({k: z[k] for k in z.files})


@pytest.mark.parametrize("kw", [{"history_size": 3, "max_iter": 2}, {"max_iter": 1, "max_eval": 25}])
def test_save_resume_is_bit_identical(kw):
    straight, _, losses_straight = run(logistic, [0.3, -0.2, 0.1, 0.0], 6, **kw)

    theta, state, losses = run(logistic, [0.3, -0.2, 0.1, 0.0], 3, **kw)
    state = _roundtrip(state)
    for _ in range(3):
        loss, state = lbfgs_step(theta, logistic, state, **kw)
        losses.append(loss)
    np.testing.assert_array_equal(theta, straight)
    assert losses == losses_straight


def test_to_arrays_all_ndarrays_and_empty_roundtrip():
    empty = LBFGSState.empty(7)
    arrays = empty.to_arrays()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    assert arrays["old_dirs"].shape == (0, 7)
    back = _roundtrip(empty)
    assert back.d is None and back.t is None and back.prev_loss is None and back.H_diag is None
    assert back.old_dirs.shape == (0, 7) and back.n_iter == 0


def test_history_is_bounded_and_state_not_mutated():
    theta, state, _ = run(logistic, [0.3, -0.2, 0.1, 0.0], 3, history_size=2, max_iter=5)
    assert state.old_dirs.shape[0] <= 2 and state.old_stps.shape == state.old_dirs.shape
    before = {k: v.copy() for k, v in state.to_arrays().items()}
    lbfgs_step(theta, logistic, state, history_size=2, max_iter=5)
    for k, v in state.to_arrays().items():
        np.testing.assert_array_equal(v, before[k])


def test_fun_reusing_its_gradient_buffer():
    buf = np.empty(2)

    def fun(x):
        f, g = rosenbrock(x)
        buf[:] = g
        return f, buf

    a, _, _ = run(fun, [-1.5, 2.0], 4, history_size=5, max_iter=4)
    b, _, _ = run(rosenbrock, [-1.5, 2.0], 4, history_size=5, max_iter=4)
    np.testing.assert_array_equal(a, b)


def test_optimal_start_returns_immediately():
    theta = np.array([1.0, 1.0])
    loss, state = lbfgs_step(theta, rosenbrock, LBFGSState.empty(2))
    assert loss == 0.0 and state.func_evals == 1 and state.n_iter == 0 and state.last_n_iter == 0
    np.testing.assert_array_equal(theta, [1.0, 1.0])


def test_last_counts_and_kwargs_helper():
    theta = np.array([-1.5, 2.0])
    _, state = lbfgs_step(theta, rosenbrock, LBFGSState.empty(2), max_iter=1, max_eval=25)
    assert state.last_n_iter == 1 and state.last_func_evals == state.func_evals == 3
    params = {"lr": 1.0, "max_iter": 1, "history_size": 100, "momentum": 0.9}
    assert lbfgs_kwargs(params) == {"lr": 1.0, "max_iter": 1, "history_size": 100}


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        lbfgs_step(np.zeros(2, dtype=np.float32), rosenbrock, LBFGSState.empty(2))
    with pytest.raises(ValueError):
        lbfgs_step(np.zeros(2), rosenbrock, LBFGSState.empty(2), history_size=0)
