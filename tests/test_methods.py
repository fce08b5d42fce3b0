"""Methods beyond first-order gradient descent (engine/methods): Newton minimises a quadratic
in one step, Levenberg-Marquardt reaches least squares, BFGS descends under the Wolfe
conditions, annealing and the genetic algorithm are reproducible and chunk-independent,
every method resumes exactly from a session, evaluations are counted, spec errors name
their field, and a gradient-free method races gradient methods from the same start.

The trainers run on the numpy twins (``engine/twin.py``: the same objective as the kernels
to ~1e-12) so these tests compile nothing but what a session load needs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import playground
from playground.engine import methods, readiness
from playground.engine.methods import Objective
from playground.engine.methods.bfgs import BFGS
from playground.engine.trainer import Trainer
from playground.errors import SpecError
from playground.experiment import Experiment
from playground.spec import ExperimentSpec, LayerSpec, OptimizerSpec, default_spec, validate
from playground.variants import build_race, variant_spec


@pytest.fixture(autouse=True)
def _on_twins(monkeypatch):
    monkeypatch.setattr(readiness, "kernels_ready", lambda *_a, **_k: False)
    monkeypatch.setattr(readiness, "start_mode", lambda: "quick")


HIDDEN = (LayerSpec(4, "tanh"),)


def spec_with(name: str, hidden=HIDDEN, loss="bce", out="sigmoid", n=60, seed=3, **params):
    s = default_spec()
    lr = 1.0 if name == "lbfgs" else 0.01
    training = replace(
        s.training, loss=loss, optimizer=OptimizerSpec(name, lr=lr, params=params), batch_size=10
    )
    return replace(
        s,
        seed=seed,
        data=replace(s.data, n_samples=n),
        network=replace(s.network, hidden=tuple(hidden), output_activation=out),
        training=training,
    )


def regression(seed=0, n=40):
    """A linear-regression set: 3 features, 2 targets, noise (the least-squares problem)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = X @ rng.normal(size=(3, 2)) + rng.normal(size=2) + 0.1 * rng.normal(size=(n, 2))
    return X, Y


def least_squares(X, Y):
    A = np.hstack([X, np.ones((len(X), 1))])
    return np.linalg.lstsq(A, Y, rcond=None)[0]  # (4, 2): W over b


def linear_trainer(name, **params):
    spec = spec_with(name, hidden=(), loss="mse", out="linear", **params)
    X, Y = regression()
    return Trainer(spec, 3, 2, X, Y), X, Y


def flat_solution(tr, X, Y):
    sol = least_squares(X, Y)
    return tr.layout.flatten([(sol[:3], sol[3])], np.float64)


# --------------------------------------------------------------------------- second order


def test_newton_minimises_a_quadratic_in_one_step():
    """A linear network with mse is quadratic in its parameters: one undamped Newton step
    (the central-difference Hessian is exact for a linear gradient) lands on least squares."""
    tr, X, Y = linear_trainer("newton", damping=0.0)
    want = flat_solution(tr, X, Y)
    assert np.abs(tr.theta - want).max() > 0.1
    rep = tr.run(1)
    assert rep.steps_done == 1
    np.testing.assert_allclose(tr.theta, want, atol=1e-8)
    _, g = tr.loss_and_grad()
    assert np.abs(g).max() < 1e-8


def test_newton_hessian_matches_the_analytic_one():
    tr, X, Y = linear_trainer("newton")
    f = tr._objective()
    H = methods.newton.hessian_fd(f, tr.theta.astype(np.float64))
    A = np.hstack([X, np.ones((len(X), 1))])
    # loss = mean over n*m of (A w_k - y_k)^2: Hessian (2 / (n m)) A'A per output, in theta's order
    block = 2.0 / Y.size * (A.T @ A)
    lay = tr.layout
    idx = [np.r_[lay.woff[0] + np.arange(3) * 2 + k, lay.boff[0] + k] for k in range(2)]
    for k in range(2):
        np.testing.assert_allclose(H[np.ix_(idx[k], idx[k])], block, atol=1e-8)
    np.testing.assert_allclose(H[np.ix_(idx[0], idx[1])], 0.0, atol=1e-8)


def test_newton_damping_falls_on_success_and_rises_on_failure():
    tr = Trainer(spec_with("newton", damping=1.0), 2, 1, *_spiral(60))
    moved = 0
    for _ in range(6):
        lam, x, f0 = float(tr.method.state["damping"]), tr.theta.copy(), tr.loss_and_grad()[0]
        tr.run(1)
        k = np.log10(float(tr.method.state["damping"]) / lam)  # failures x 10, the success x 0.1
        assert k == pytest.approx(round(k)) and round(k) >= -1
        if not np.array_equal(tr.theta, x):
            moved += 1
            assert tr.loss_and_grad()[0] < f0 and round(k) >= -1
        else:
            assert round(k) >= 1
    assert moved >= 3


def test_levenberg_marquardt_reaches_the_least_squares_solution():
    tr, X, Y = linear_trainer("levenberg_marquardt")
    tr.run(1)
    assert float(tr.method.state["mu"]) == pytest.approx(1e-4)  # trainlm: mu x mu_dec on success
    tr.run(1)
    assert float(tr.method.state["mu"]) == pytest.approx(1e-5)
    np.testing.assert_allclose(tr.theta, flat_solution(tr, X, Y), atol=1e-9)
    tr.run(3)  # at the minimum it stays (steps decrease the errors by rounding at most)
    np.testing.assert_allclose(tr.theta, flat_solution(tr, X, Y), atol=1e-9)


def test_levenberg_marquardt_jacobian_is_exact():
    """The Jacobian from one-row gradients equals central differences of the residuals."""
    spec = spec_with("levenberg_marquardt", hidden=(LayerSpec(3, "tanh"),), loss="mse", out="linear")
    X, Y = regression(1, n=12)
    tr = Trainer(spec, 3, 2, X, Y)
    ext = tr._residual_functions()
    x = tr.theta.astype(np.float64)
    J = ext["jacobian"](x)
    h = 1e-6
    fd = np.column_stack(
        [(ext["residuals"](x + h * e) - ext["residuals"](x - h * e)) / (2 * h) for e in np.eye(x.size)]
    )
    np.testing.assert_allclose(J, fd, atol=1e-7)
    r = ext["residuals"](x)
    assert r @ r / Y.size == pytest.approx(tr.loss_and_grad()[0], rel=1e-12)


def _spiral(n):
    s = spec_with("adam", n=n)
    exp = Experiment(s)
    return exp.dataset.X_train, exp.trainer.Y


def test_bfgs_descends_monotonically_under_the_strong_wolfe_conditions():
    tr = Trainer(spec_with("bfgs"), 2, 1, *_spiral(80))
    f = tr._objective()
    c1, c2 = 1e-4, 0.9
    losses = []
    for _ in range(15):
        x = tr.theta.copy()
        fx, gx = f._lg(x)
        tr.run(1)
        s = tr.theta - x
        fn, gn = f._lg(tr.theta)
        losses.append(fn)
        assert fn <= fx + c1 * (gx @ s)  # sufficient decrease
        assert abs(gn @ s) <= c2 * abs(gx @ s)  # strong curvature condition
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))


def test_bfgs_converges_on_rosenbrock():
    def rosen(x):
        f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        g = np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])
        return float(f), g

    counts = np.zeros(2, dtype=np.int64)
    obj = Objective(rosen, lambda x: rosen(x)[0], counts)
    m = BFGS({"gtol": 1e-5, "c1": 1e-4, "c2": 0.9}, 2)
    x = np.array([-1.2, 1.0])
    for t in range(100):
        _, _, x = m.step(x, obj, t)
    assert m.state["info"][2] == 1  # converged: max |g| <= gtol
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-5)
    assert counts[0] == counts[1] < 100  # one loss-and-gradient per line-search trial


# --------------------------------------------------------------------------- stochastic


@pytest.mark.parametrize("name", ["simulated_annealing", "genetic", "cmaes"])
def test_stochastic_methods_are_reproducible_chunk_independent_and_improve(name):
    data = _spiral(60)
    a = Trainer(spec_with(name), 2, 1, *data)
    f0 = a.loss_and_grad()[0]
    a.run(12)
    b = Trainer(spec_with(name), 2, 1, *data)
    for n in (1, 4, 7):
        b.run(n)
    np.testing.assert_array_equal(a.theta, b.theta)
    for k, v in a.method.state.items():
        np.testing.assert_array_equal(v, b.method.state[k])
    assert a.counts == b.counts
    assert a.loss_and_grad()[0] < f0
    c = Trainer(spec_with(name, seed=4), 2, 1, *data)
    c.theta[...] = Trainer(spec_with(name), 2, 1, *data).theta  # the same start, another seed
    c.run(12)
    assert not np.array_equal(a.theta, c.theta)


def test_annealing_follows_its_schedule_and_metropolis_rule():
    """Replaying the chain with the method's draws: accepted iff downhill or u < exp(-df / T_k)."""
    from playground.engine.methods.randomness import ANNEALING_TAG, normals, stream_key, uniforms

    tr = Trainer(spec_with("simulated_annealing", temperature=0.05, proposals=5), 2, 1, *_spiral(60))
    p = tr.method.params
    x = tr.theta.astype(np.float64)
    f = tr._objective()
    fx = f.loss(x)
    tr.run(4)
    key, P, accepted = stream_key(tr.spec.seed, ANNEALING_TAG), x.size, 0
    for k in range(20):
        cand = x + p["step_size"] * normals(key, k, P)
        fc = f.loss(cand)
        if fc <= fx or uniforms(key, k, 1, 2 * P)[0] < np.exp(
            -(fc - fx) / (p["temperature"] * p["cooling"] ** k)
        ):
            x, fx, accepted = cand, fc, accepted + 1
    np.testing.assert_array_equal(tr.theta, x)
    assert tr.method.state["info"][2] == accepted and 0 < accepted < 20


def test_genetic_keeps_its_elite_and_its_best_never_worsens():
    tr = Trainer(spec_with("genetic", population=12, elite=2), 2, 1, *_spiral(60))
    best = []
    for _ in range(6):
        tr.run(1)
        fit = tr.method.state["fitness"]
        best.append(fit.min())
        np.testing.assert_allclose(tr.theta, tr.method.state["population"][np.argmin(fit)])
    assert all(b <= a for a, b in zip(best, best[1:], strict=False))


# --------------------------------------------------------------------------- resume, counts


METHOD_SPECS = {
    "newton": {},
    "levenberg_marquardt": {"loss": "mse"},
    "bfgs": {},
    "simulated_annealing": {},
    "genetic": {"population": 10},
    "cmaes": {},
}


@pytest.mark.parametrize("name", list(METHOD_SPECS))
def test_sessions_resume_every_method_exactly(name, tmp_path):
    """train 2N == train N, save, load, train N: parameters, method state and counts bitwise."""
    opts = dict(METHOD_SPECS[name])
    spec = spec_with(name, loss=opts.pop("loss", "bce"), n=40, **opts)
    whole = Experiment(spec)
    whole.train(steps=6)
    half = Experiment(spec)
    half.train(steps=3)
    back = playground.load(half.save(tmp_path / "half.playground"))
    back.train(steps=3)
    np.testing.assert_array_equal(whole.trainer.theta, back.trainer.theta)
    for k, v in whole.trainer.method.state.items():
        np.testing.assert_array_equal(v, back.trainer.method.state[k])
    assert whole.trainer.counts == back.trainer.counts
    np.testing.assert_array_equal(whole.history["train_loss"], back.history["train_loss"])


def test_counts_of_every_kind_of_step():
    data = _spiral(60)
    adam = Trainer(spec_with("adam"), 2, 1, *data)
    adam.run(7)
    assert adam.counts == {"loss_evals": 7, "grad_evals": 7}  # one (batch) gradient per step

    lb = Trainer(spec_with("lbfgs"), 2, 1, *data)
    lb.run(5)
    assert lb.counts["grad_evals"] == lb.lbfgs.func_evals > 5  # its line-search evaluations

    newton = Trainer(spec_with("newton"), 2, 1, *data)
    P = newton.layout.n_params
    newton.run(2)
    assert newton.counts["grad_evals"] == 2 * (2 * P + 1)
    assert newton.counts["loss_evals"] - newton.counts["grad_evals"] >= 2  # one per damping trial

    sa = Trainer(spec_with("simulated_annealing", proposals=6), 2, 1, *data)
    sa.run(3)
    assert sa.counts == {"loss_evals": 1 + 3 * 6, "grad_evals": 0}

    ga = Trainer(spec_with("genetic", population=8, elite=2), 2, 1, *data)
    ga.run(3)
    assert ga.counts == {"loss_evals": 8 + 3 * 6, "grad_evals": 0}

    cma = Trainer(spec_with("cmaes"), 2, 1, *data)
    lam = 4 + int(3 * np.log(cma.layout.n_params))
    cma.run(3)
    assert cma.counts == {"loss_evals": 1 + 3 * (lam + 1), "grad_evals": 0}  # samples and the mean

    calls = []
    bf = Trainer(spec_with("bfgs"), 2, 1, *data)
    real = bf.loss_and_grad
    bf.loss_and_grad = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    bf.run(4)
    assert bf.counts["grad_evals"] == bf.counts["loss_evals"] == len(calls)


def test_divergence_recovery_restores_the_method_state():
    tr = Trainer(spec_with("bfgs"), 2, 1, *_spiral(60))
    tr.run(2)
    tr.snapshot()
    H = tr.method.state["H"].copy()
    tr.run(3)
    assert not np.array_equal(tr.method.state["H"], H)
    tr.restore_snapshot()
    np.testing.assert_array_equal(tr.method.state["H"], H)


# --------------------------------------------------------------------------- spec errors


def _error(spec_or_fn) -> SpecError:
    with pytest.raises(SpecError) as e:
        spec_or_fn() if callable(spec_or_fn) else validate(spec_or_fn)
    return e.value


def test_spec_errors_name_the_field():
    assert _error(spec_with("simulated_annealing", cooling=1.5)).path == "training.optimizer.cooling"
    assert _error(spec_with("bfgs", c1=0.95)).path == "training.optimizer.c2"
    assert _error(spec_with("levenberg_marquardt", mu_inc=0.5)).path == "training.optimizer.mu_inc"
    assert _error(spec_with("genetic", population=0)).path == "training.optimizer.population"
    e = _error(spec_with("newton", tolerance_grad=1e-3))
    assert e.path == "training.optimizer.tolerance_grad" and "damping" in e.message
    data = _spiral(20)
    e = _error(lambda: Trainer(spec_with("levenberg_marquardt", loss="bce"), 2, 1, *data))
    assert e.path == "training.loss" and "mse" in e.message
    e = _error(lambda: Trainer(spec_with("genetic", population=4, elite=4), 2, 1, *data))
    assert e.path == "training.optimizer.elite"
    big = spec_with("newton", hidden=(LayerSpec(40, "tanh"), LayerSpec(40, "tanh")))  # 1,841 parameters
    Trainer(big, 2, 1, *data)
    bigger = spec_with("newton", hidden=(LayerSpec(44, "tanh"), LayerSpec(44, "tanh")))  # 2,157
    e = _error(lambda: Trainer(bigger, 2, 1, *data))
    assert e.path == "training.optimizer.name" and "2,000" in e.message and "2,157" in e.message
    tr = Trainer(spec_with("adam", loss="bce"), 2, 1, *data)
    _error(lambda: tr.update_spec(spec_with("levenberg_marquardt", loss="bce")))
    assert tr.spec.training.optimizer.name == "adam"  # refused before anything changed


def test_spec_round_trips_the_methods():
    for name in METHOD_SPECS:
        s = spec_with(name, loss="mse" if name == "levenberg_marquardt" else "bce")
        assert ExperimentSpec.from_dict(s.to_dict()) == s


# --------------------------------------------------------------------------- race


def test_a_gradient_free_method_races_gradient_methods_from_the_same_start():
    base = spec_with("adam", n=60)
    names = ["adam", "lbfgs", "newton", "simulated_annealing", "genetic"]
    lrs = {"lbfgs": 1.0}
    specs = [
        variant_spec(base, {"training.optimizer.name": n, "training.optimizer.lr": lrs.get(n, 0.01)})
        for n in names
    ]
    exps, shared = build_race(base, specs)
    assert all(shared)
    theta0 = exps[0].trainer.theta.copy()
    for e in exps:
        np.testing.assert_array_equal(e.trainer.theta, theta0)
    start = exps[0].trainer.loss_and_grad()[0]
    for e in exps:
        e.train(steps=5)
    counts = {n: e.trainer.counts for n, e in zip(names, exps, strict=True)}
    assert counts["adam"] == {"loss_evals": 5, "grad_evals": 5}
    assert counts["simulated_annealing"]["grad_evals"] == counts["genetic"]["grad_evals"] == 0
    assert counts["genetic"]["loss_evals"] > counts["adam"]["loss_evals"]
    for e in exps[1:]:
        assert e.trainer.loss_and_grad()[0] < start


# --------------------------------------------------------------------------- CMA-ES


def _cmaes_run(seed, gens, state=None, start=None):
    from playground.engine.methods.cmaes import CMAES

    def rosen(x):
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)), None

    counts = np.zeros(2, dtype=np.int64)
    obj = Objective(rosen, lambda x: rosen(x)[0], counts)
    m = CMAES({"sigma": 0.5, "population": 0}, 10, seed=seed)
    if state is not None:
        m.load_state_arrays(state)
    x = np.full(10, 0.1) if start is None else start
    for g in range(gens):
        _, _, x = m.step(x, obj, g)
    return m, x, counts


def test_cmaes_solves_rosenbrock_reproducibly_and_resumes_exactly():
    """Hansen's defaults on 10-D Rosenbrock from 0.1 with sigma 0.5 (lambda = 10): the global
    minimum; the same seed gives the same run; 80 + 80 generations through saved state arrays
    equal 160 in one go."""
    m, x, counts = _cmaes_run(0, 900)
    assert m.state["info"][2] == 10 * 900  # lambda = 4 + floor(3 ln 10) samples per generation
    assert counts[0] == 10 * 900 + 901 and counts[1] == 0  # and the mean's loss once per generation
    assert float(m.state["f"]) < 1e-10
    np.testing.assert_allclose(x, 1.0, atol=1e-4)
    a, xa, _ = _cmaes_run(3, 160)
    b, xb, _ = _cmaes_run(3, 80)
    c, xc, _ = _cmaes_run(3, 80, state=b.state_arrays(), start=xb)
    np.testing.assert_array_equal(xa, xc)
    for k, v in a.state.items():
        np.testing.assert_array_equal(v, c.state[k])
    d, xd, _ = _cmaes_run(4, 160)
    assert not np.array_equal(xa, xd)
