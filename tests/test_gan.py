"""GAN mode's core: kernels against the numpy twin and finite differences, determinism and
chunking, the step-by-step API, divergence, the views' functions, spec, data and metrics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from playground.engine import codes as C
from playground.errors import DataError, SpecError
from playground.gan import GanSpec, GanTrainer
from playground.gan import kernels as K
from playground.gan import reference as R
from playground.gan.data import build_real_data, ring_centres
from playground.gan.metrics import fit_report, sliced_wasserstein
from playground.gan.spec import (
    LOSSES,
    GanDataSpec,
    GanLayerSpec,
    GanNetSpec,
    GanTrainingSpec,
    NoiseSpec,
)
from playground.spec import OptimizerSpec


def small_spec(loss="non_saturating", act="tanh", d_steps=2, opt="adam", noise=3, dist="normal", **kw):
    g = GanNetSpec(
        hidden=(GanLayerSpec(7, act), GanLayerSpec(5, act)),
        optimizer=OptimizerSpec(opt, 0.01),
        batch_size=12,
        output_activation=kw.pop("g_out", "linear"),
    )
    d = GanNetSpec(
        hidden=(GanLayerSpec(6, act), GanLayerSpec(4, act)), optimizer=OptimizerSpec(opt, 0.02), batch_size=10
    )
    return GanSpec(
        seed=kw.pop("seed", 3),
        noise=NoiseSpec(noise, dist),
        generator=g,
        discriminator=d,
        training=GanTrainingSpec(loss=loss, d_steps=d_steps, dtype="float64", **kw),
    )


def assert_same_state(a: GanTrainer, b: GanTrainer, tol: float) -> None:
    for name in ("theta_g", "theta_d", "state_g", "state_d"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=tol, err_msg=name)
    np.testing.assert_array_equal(a.counters, b.counters)


# --------------------------------------------------------------------------- kernels vs twin


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_kernels_equal_twin(loss, act):
    spec = small_spec(loss, act)
    a, b = GanTrainer(spec), GanTrainer(spec, backend="numpy")
    ra, rb = a.run(15), b.run(15)
    assert ra.status == rb.status == C.OK and ra.iterations == 15
    assert_same_state(a, b, 1e-10)
    np.testing.assert_allclose(ra.records, rb.records, rtol=0, atol=1e-10)
    assert np.abs(a.theta_d - GanTrainer(spec).theta_d).max() > 1e-4  # it trained


@pytest.mark.parametrize(
    "opt,dist,act,g_out",
    [
        ("sgd", "uniform", "leaky_relu", "tanh"),
        ("momentum", "normal", "elu", "linear"),
        ("rmsprop", "uniform", "sigmoid", "tanh"),
        ("nesterov", "normal", "gelu", "linear"),
        ("adamw", "normal", "softplus", "linear"),
        ("adagrad", "uniform", "sine", "linear"),
    ],
)
def test_optimizers_noise_and_activations_equal_twin(opt, dist, act, g_out):
    spec = small_spec("wgan_gp", act, opt=opt, dist=dist, g_out=g_out, noise=1)
    a, b = GanTrainer(spec), GanTrainer(spec, backend="numpy")
    a.run(8)
    b.run(8)
    assert_same_state(a, b, 1e-10)


def _fixed_d_batch(tr):
    key, step = tr.keys[0], int(tr.counters[K.C_D])
    bd = tr.spec.discriminator.batch_size
    xr = R.real_np(key, step, tr.real.base, tr.real.jitter, bd)
    xf = R.forward(tr.net_views("generator"), R.noise_np(key, step, tr.noise_dim, tr.noise_code, bd))[1][-1]
    e = R.dropout_uniform_np(key, step, R.R_EPS, bd, 1)
    return xr, xf, e


def _d_objective(tr, theta, xr, xf, e):
    D = tr.net_views("discriminator", theta)
    s = R.forward(D, np.r_[xr, xf])[1][-1][:, 0]
    val = R.d_loss(tr.loss_code, s[: len(xr)], s[len(xr) :])[0]
    if tr.loss_code == K.LOSS_WGAN_GP:
        val += R.gradient_penalty(D, e * xr + (1 - e) * xf, tr.spec.training.gp_weight)[0]
    return val


@pytest.mark.parametrize(
    "loss,act",
    [
        ("wgan_gp", "tanh"),
        ("wgan_gp", "gelu"),
        ("wgan_gp", "relu"),
        ("minimax", "tanh"),
        ("least_squares", "elu"),
    ],
)
def test_discriminator_gradient_matches_finite_differences(loss, act):
    """The kernel's D gradient (penalty included: double backpropagation) against central
    differences of the twin's objective on the same batch."""
    tr = GanTrainer(small_spec(loss, act))
    tr.run(5)  # away from the initial point
    xr, xf, e = _fixed_d_batch(tr)
    theta = tr.theta_d.copy()
    K.d_step(
        tr._net("generator"),
        tr._net("discriminator"),
        tr.gbufs,
        tr.dbufs,
        tr.gp_bufs,
        tr._real,
        tr._cfg(),
        tr.keys,
        tr.counters,
        np.zeros(4),
    )
    grad = tr._dgrad.copy()
    h = 1e-6
    fd = np.empty_like(theta)
    for i in range(len(theta)):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        fd[i] = (_d_objective(tr, tp, xr, xf, e) - _d_objective(tr, tm, xr, xf, e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "least_squares", "wgan_gp"])
def test_generator_gradient_matches_finite_differences(loss):
    tr = GanTrainer(small_spec(loss, "tanh", g_out="tanh"))
    tr.run(5)
    key, step, bg = tr.keys[1], int(tr.counters[K.C_G]), tr.spec.generator.batch_size
    z = R.noise_np(key, step, tr.noise_dim, tr.noise_code, bg)
    theta = tr.theta_g.copy()
    D = tr.net_views("discriminator")

    def objective(th):
        x = R.forward(tr.net_views("generator", th), z)[1][-1]
        return R.g_loss(tr.loss_code, R.forward(D, x)[1][-1][:, 0])[0]

    K.g_step(
        tr._net("generator"),
        tr._net("discriminator"),
        tr.gbufs,
        tr.dbufs,
        tr._cfg(),
        tr.keys,
        tr.counters,
        np.zeros(2),
    )
    h = 1e-6
    fd = np.array(
        [(objective(theta + h * ei) - objective(theta - h * ei)) / (2 * h) for ei in np.eye(len(theta))]
    )
    np.testing.assert_allclose(tr._ggrad, fd, rtol=1e-5, atol=1e-8)


def test_second_derivatives_of_activations():
    from playground.engine.activations import ACTIVATIONS
    from playground.engine.blocks.activation import grad_np

    z = np.linspace(-3, 3, 41) + 0.013
    h = 1e-5
    for name in ("tanh", "sigmoid", "elu", "gelu", "softplus", "sine", "relu", "linear"):
        act = ACTIVATIONS[name]

        def g(x, act=act):
            return grad_np(act.code, x, act.fn(x, 0.0), 0.0)

        fd = (g(z + h) - g(z - h)) / (2 * h)
        got = R.act_grad2_np(act.code, z, act.fn(z, 0.0), 0.0)
        kern = np.array([K.act_grad2(act.code, v, act.fn(np.array([v]), 0.0)[0], 0.0) for v in z])
        np.testing.assert_allclose(got, fd, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(kern, got, atol=1e-12, err_msg=name)


# --------------------------------------------------------------------------- determinism


def test_chunking_does_not_change_the_run():
    spec = small_spec("wgan_gp", "relu")
    a, b = GanTrainer(spec), GanTrainer(spec)
    a.run(30)
    for n in (1, 9, 20):
        b.run(n)
    assert_same_state(a, b, 0.0)
    np.testing.assert_array_equal(a.records, b.records)


def test_seed_decides_everything():
    a, b = GanTrainer(small_spec(seed=5)), GanTrainer(small_spec(seed=5))
    c = GanTrainer(small_spec(seed=6))
    for t in (a, b, c):
        t.run(10)
    assert_same_state(a, b, 0.0)
    assert np.abs(a.theta_g - c.theta_g).max() > 1e-3


def test_float32_trains_like_float64():
    spec = small_spec("non_saturating", "relu")
    a = GanTrainer(spec)
    b = GanTrainer(replace(spec, training=replace(spec.training, dtype="float32")))
    a.run(10)
    b.run(10)
    assert b.theta_g.dtype == np.float32
    np.testing.assert_allclose(b.theta_g, a.theta_g, atol=1e-4)


# --------------------------------------------------------------------------- step by step


def test_d_step_moves_only_the_discriminator():
    tr = GanTrainer(small_spec())
    g0, d0 = tr.theta_g.copy(), tr.theta_d.copy()
    r = tr.d_step()
    assert r.net == "discriminator" and r.status == C.OK
    np.testing.assert_array_equal(tr.theta_g, g0)
    assert r.param_change == pytest.approx(np.linalg.norm(tr.theta_d - d0))
    assert r.param_change > 0 and r.grid_change > 0
    assert (tr.d_steps, tr.g_steps) == (1, 0)


def test_g_step_moves_only_the_generator_and_its_points():
    tr = GanTrainer(small_spec())
    tr.run(3)
    d0 = tr.theta_d.copy()
    r = tr.g_step()
    np.testing.assert_array_equal(tr.theta_d, d0)
    assert r.net == "generator" and r.param_change > 0
    moved = np.linalg.norm(r.points_after - r.points_before, axis=1)
    assert moved.max() > 0
    np.testing.assert_allclose(r.points_after, tr.samples())


def test_single_steps_equal_the_iteration_loop():
    spec = small_spec(d_steps=2)
    a, b = GanTrainer(spec), GanTrainer(spec)
    a.run(2)
    for _ in range(2):
        b.d_step()
        b.d_step()
        b.g_step()
    assert_same_state(a, b, 0.0)


def test_divergence_stops_and_keeps_finite_weights():
    spec = small_spec("wgan_gp", "relu", opt="sgd")
    spec = spec.with_changes("discriminator.optimizer.lr", 1e30).with_changes("training.gp_weight", 0.0)
    tr = GanTrainer(spec)
    r = tr.run(200)
    assert r.status != C.OK and r.iterations < 200 and r.message
    assert np.isfinite(tr.theta_d).all() and np.isfinite(tr.theta_g).all()


def test_wgan_clip_keeps_the_critic_in_the_box():
    tr = GanTrainer(small_spec("wgan_clip", clip_value=0.05))
    tr.run(5)
    assert np.abs(tr.theta_d).max() <= 0.05 + 1e-12


# --------------------------------------------------------------------------- views


def test_views_have_their_shapes_and_meaning():
    tr = GanTrainer(small_spec(noise=2))
    tr.run(20)
    xs, ys, v = tr.discriminator_grid(30)
    assert v.shape == (30, 30) and ((v > 0) & (v < 1)).all()
    # values[i, j] is D at (xs[j], ys[i])
    assert R.sigmoid(tr.discriminate([[xs[4], ys[7]]]))[0] == pytest.approx(v[7, 4])
    pts, arrows = tr.generator_arrows()
    assert pts.shape == arrows.shape == (300, 2)
    # a small step along the arrow lowers the generator's loss at that point
    eps = 1e-4
    s0 = tr.discriminate(pts)
    s1 = tr.discriminate(pts + eps * arrows)
    assert R.g_loss(tr.loss_code, s1)[0] < R.g_loss(tr.loss_code, s0)[0]
    numpy_twin = GanTrainer(tr.spec, backend="numpy")
    numpy_twin.theta_d[...] = tr.theta_d
    np.testing.assert_allclose(numpy_twin.generator_arrows(pts)[1], arrows, atol=1e-10)
    noise, mapped = tr.noise_grid(11)
    assert noise.shape == (11, 11, 2) and mapped.shape == (11, 11, 2)
    np.testing.assert_allclose(mapped[3, 5], tr.generate(noise[3, 5][None])[0])


# --------------------------------------------------------------------------- spec


def test_spec_round_trips():
    spec = small_spec("wgan_gp", gp_weight=5.0)
    spec = replace(spec, data=GanDataSpec(kind="points", points=((0.0, 1.0), (2.0, -1.5)), std=0.1))
    again = GanSpec.from_json(spec.to_json())
    assert again == spec
    assert GanSpec.from_dict({}) == GanSpec()
    assert GanSpec.from_json(GanSpec().to_json()) == GanSpec()  # Adam's betas: a tuple again


@pytest.mark.parametrize(
    "change,path",
    [
        ({"generator": {"optimizer": {"lr": -1}}}, "generator.optimizer.lr"),
        ({"discriminator": {"optimizer": {"name": "lbfgs"}}}, "discriminator.optimizer.name"),
        (
            {"discriminator": {"optimizer": {"name": "adam", "params": {"betas": [0.5, 1.5]}}}},
            "discriminator.optimizer.betas[1]",
        ),
        ({"training": {"loss": "hinge"}}, "training.loss"),
        ({"training": {"d_steps": 0}}, "training.d_steps"),
        ({"noise": {"distribution": "cauchy"}}, "noise.distribution"),
        ({"generator": {"hidden": [{"units": 0}]}}, "generator.hidden[0].units"),
        (
            {"generator": {"hidden": [{"units": 4, "activation": "softmax"}]}},
            "generator.hidden[0].activation",
        ),
        ({"discriminator": {"output_activation": "tanh"}}, "discriminator.output_activation"),
        ({"data": {"kind": "grid", "modes": 8}}, "data.modes"),
        ({"data": {"kind": "points"}}, "data.points"),
        ({"data": {"kind": "points", "points": [[1, 2], [3]]}}, "data.points[1]"),
        ({"data": {"kind": "points", "points": [[1, "a"]]}}, "data.points[0][1]"),
        ({"data": {"kind": "csv"}}, "data.path"),
        ({"data": {"colour": 1}}, "data.colour"),
        ({"seed": -1}, "seed"),
    ],
)
def test_spec_errors_name_the_field(change, path):
    with pytest.raises(SpecError) as e:
        GanSpec.from_dict(change)
    assert e.value.path == path, str(e.value)


# --------------------------------------------------------------------------- data


@pytest.mark.parametrize("kind", ["ring", "grid", "moons", "spiral", "line", "gaussian"])
def test_every_distribution_trains(kind):
    spec = replace(small_spec(), data=GanDataSpec(kind=kind, modes=9 if kind == "grid" else 8, std=0.05))
    tr = GanTrainer(spec)
    assert tr.run(5).ok
    fit = tr.fit(500)
    assert 0 <= fit["modes_covered"] <= fit["modes"] and np.isfinite(fit["sliced_wasserstein"])


def test_real_batches_follow_the_mixture():
    real = build_real_data(GanDataSpec())
    x = R.real_np(12345, 7, real.base, real.jitter, 4000)
    d = np.sqrt(((x[:, None] - ring_centres(8, 2.0)[None]) ** 2).sum(-1)).min(1)
    assert d.mean() == pytest.approx(0.02 * np.sqrt(np.pi / 2), rel=0.05)  # Rayleigh: jitter std 0.02
    counts = np.bincount(np.argmin(((x[:, None] - ring_centres(8, 2.0)[None]) ** 2).sum(-1), 1), minlength=8)
    assert counts.min() > 400  # each of 8 modes about 500 times


def test_csv_points(tmp_path):
    f = tmp_path / "pts.csv"
    f.write_text("label,x,y\na,0.5,1\nb,1.5,-2\nc,2,3\n")
    real = build_real_data(GanDataSpec(kind="csv", path=str(f), std=0.0))
    np.testing.assert_array_equal(real.base, [[0.5, 1], [1.5, -2], [2, 3]])
    named = build_real_data(GanDataSpec(kind="csv", path=str(f), x_column="y", y_column="x"))
    np.testing.assert_array_equal(named.base[0], [1, 0.5])


def test_csv_errors_name_file_row_and_column(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("x,y\n1,2\n3,oops\n5,6\n")
    with pytest.raises(DataError) as e:
        build_real_data(GanDataSpec(kind="csv", path=str(f), x_column="x", y_column="y"))
    assert (e.value.file, e.value.row, e.value.column) == (str(f), 3, "y")
    g = tmp_path / "gap.csv"
    g.write_text("x,y\n1,2\n3,\n5,6\n")
    with pytest.raises(DataError) as e:
        build_real_data(GanDataSpec(kind="csv", path=str(g)))
    assert (e.value.row, e.value.column) == (3, "y")
    with pytest.raises(DataError) as e:
        build_real_data(GanDataSpec(kind="csv", path=str(f), x_column="x", y_column="z"))
    assert e.value.column == "z"


# --------------------------------------------------------------------------- metrics


def test_modes_covered_follows_the_w6_rule():
    real = build_real_data(GanDataSpec())
    rng = np.random.default_rng(0)
    centres = ring_centres(8, 2.0)
    perfect = centres[rng.integers(0, 8, 2000)] + 0.02 * rng.standard_normal((2000, 2))
    fit = fit_report(real, perfect, perfect[::-1])
    assert fit["modes_covered"] == 8 and not fit["collapse"] and fit["share_near"] > 0.99
    # 3 modes, one of them with 39 of 2000 samples (< 2%): 2 covered, collapse
    few = np.r_[
        np.repeat(centres[:1], 1000, 0), np.repeat(centres[1:2], 961, 0), np.repeat(centres[2:3], 39, 0)
    ]
    fit = fit_report(real, few, perfect)
    assert fit["modes_covered"] == 2 and fit["collapse"]
    # a blob between the modes: no mode, but no collapse onto modes either
    blob = rng.standard_normal((2000, 2))
    fit = fit_report(real, blob, perfect)
    assert fit["modes_covered"] <= 2 and fit["share_near"] < 0.1


def test_regions_for_data_without_modes():
    real = build_real_data(GanDataSpec(kind="moons", std=0.02))
    ref = R.real_np(1, 1, real.base, real.jitter, 2000)
    same = R.real_np(2, 2, real.base, real.jitter, 2000)
    fit = fit_report(real, same, ref)
    assert fit["modes"] == 8 and fit["modes_covered"] == 8 and not fit["collapse"]
    half = same[same[:, 0] < same[:, 0].mean() - 0.5]
    assert fit_report(real, half, ref)["modes_covered"] < 8


def test_sliced_wasserstein_is_a_distance_in_data_units():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1000, 2))
    assert sliced_wasserstein(a, a) == 0.0
    shifted = sliced_wasserstein(a, a + [3.0, 0.0])
    # the mean |projection of (3, 0)| over directions: 3 * mean|cos| = 3 * 2 / pi
    assert shifted == pytest.approx(6 / np.pi, rel=1e-2)


def test_records_stay_bounded_and_do_not_depend_on_chunking(monkeypatch):
    from playground.gan import model

    monkeypatch.setattr(model, "MAX_RECORD_ROWS", 16)
    spec = small_spec(d_steps=1)
    a, b = GanTrainer(spec), GanTrainer(spec)
    ra = a.run(70)
    for n in (5, 30, 1, 34):
        b.run(n)
    assert len(a.records) <= 16 and a.record_stride == 8
    np.testing.assert_array_equal(a.records, b.records)
    assert a.record_stride == b.record_stride
    # kept rows are the iterations record_iterations() names
    np.testing.assert_array_equal(a.records, ra.records[a.record_iterations() - 1])
