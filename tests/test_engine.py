"""Engine: kernels vs numpy twins, gradients vs finite differences, torch.optim formulas,
determinism, divergence, convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playground.engine import codes as C
from playground.engine import kernels as K
from playground.engine import reference as R
from playground.engine.trainer import Trainer
from playground.experiment import Experiment
from playground.spec import ACTIVATIONS, LOSS_OUTPUTS, OPTIMIZERS, ExperimentSpec


def make_trainer(
    hidden=((5, "tanh"), (4, "relu")),
    out="sigmoid",
    loss="bce",
    opt="sgd",
    lr=0.05,
    batch=7,
    n=30,
    n_in=3,
    n_out=1,
    params=None,
    dropout=0.0,
    reg=None,
    clip=None,
    seed=3,
    dtype="float64",
    classes=True,
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if classes and loss in ("bce", "cce", "kl_div", "hinge") or (classes and n_out > 1):
        if n_out == 1:
            Y = (rng.random((n, 1)) > 0.5).astype(float)
            if loss == "hinge" or out == "tanh":
                Y = 2 * Y - 1
        else:
            Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    else:
        Y = rng.normal(size=(n, n_out))
    spec = ExperimentSpec.from_dict(
        {
            "seed": seed,
            "network": {
                "hidden": [{"units": u, "activation": a, "dropout": dropout} for u, a in hidden],
                "output_activation": out,
                "init": "glorot_uniform",
                "bias_init": 0.1,
            },
            "training": {
                "loss": loss,
                "optimizer": {"name": opt, "lr": lr, "params": params or {}},
                "batch_size": batch,
                "dtype": dtype,
                "regularization": reg or {"kind": "none", "rate": 0.0},
                "clip_norm": clip,
            },
        }
    )
    return Trainer(spec, n_in, n_out, X, Y)


def twin_run(tr: Trainer, n_steps: int):
    return R.train_steps(
        tr.theta,
        tr.opt_state,
        tr.X,
        tr.Y,
        list(tr.layout.sizes),
        list(tr.acts),
        list(tr.slopes),
        list(tr.drop),
        tr.loss,
        tr.spec.training.huber_delta,
        C.OPT_SGD
        if tr.spec.training.optimizer.name in ("sgd", "momentum", "nesterov")
        else {"adagrad": 1, "rmsprop": 2, "adam": 3, "adamw": 4}[tr.spec.training.optimizer.name],
        tr.hp_vector(),
        tr.learning_rates(tr.step, n_steps),
        tr.step,
        tr.opt_t,
        tr.batch_size,
        tr.shuffle_key,
        tr.drop_key,
    )


OPT_CASES = [
    ("sgd", {}),
    ("momentum", {"dampening": 0.1}),
    ("nesterov", {"weight_decay": 0.01}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {}),
]


@pytest.mark.parametrize("backend", ["loops", "gemm"])
@pytest.mark.parametrize("opt,params", OPT_CASES)
def test_kernel_matches_numpy_twin_for_every_optimizer(opt, params, backend):
    tr = make_trainer(opt=opt, params=params, lr=0.01, reg={"kind": "l2", "rate": 1e-3}, clip=5.0)
    tr.backend = backend
    th, st, losses, done, status = twin_run(tr, 60)
    rep = tr.run(60)
    assert rep.status == status == C.OK and rep.steps_done == done == 60
    np.testing.assert_allclose(rep.batch_losses, losses, rtol=1e-10)
    np.testing.assert_allclose(tr.theta, th, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(tr.opt_state, st, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("backend", ["loops", "gemm"])
@pytest.mark.parametrize("hidden_act", ACTIVATIONS)
def test_kernel_matches_twin_for_every_activation_with_dropout_and_l1(hidden_act, backend):
    tr = make_trainer(
        hidden=((6, hidden_act), (5, hidden_act)), dropout=0.3, reg={"kind": "l1", "rate": 1e-3}
    )
    tr.backend = backend
    th, _, losses, _, _ = twin_run(tr, 25)
    rep = tr.run(25)
    np.testing.assert_allclose(rep.batch_losses, losses, rtol=1e-10)
    np.testing.assert_allclose(tr.theta, th, rtol=1e-10, atol=1e-13)


def _loss_cases():
    for loss, outs in LOSS_OUTPUTS.items():
        for out in outs:
            n_outs = (
                [1, 3] if loss in ("mse", "mae", "huber", "hinge") else ([3] if out == "softmax" else [1, 3])
            )
            for m in n_outs:
                yield loss, out, m


@pytest.mark.parametrize("loss,out,n_out", list(_loss_cases()))
@pytest.mark.parametrize("hidden_act", ACTIVATIONS)
def test_gradient_matches_finite_differences(hidden_act, loss, out, n_out):
    """Every activation x loss (x valid output activation) pair."""
    tr = make_trainer(
        hidden=((4, hidden_act),),
        out=out,
        loss=loss,
        n_out=n_out,
        n=9,
        batch=9,
        classes=loss in ("bce", "cce", "kl_div", "hinge") or out == "softmax",
    )
    theta = tr.theta.copy()
    lv, g = tr.loss_and_grad(theta)
    eps = 1e-6
    fd = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        fd[i] = (tr.loss_and_grad(tp)[0] - tr.loss_and_grad(tm)[0]) / (2 * eps)
    twin_loss, twin_grads = R.batch_gradient(
        theta,
        tr.X,
        tr.Y,
        list(tr.layout.sizes),
        list(tr.acts),
        list(tr.slopes),
        list(tr.drop),
        tr.loss,
        1.0,
        train=False,
    )
    assert lv == pytest.approx(twin_loss, rel=1e-10)
    np.testing.assert_allclose(g, R.flatten(twin_grads), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(
    "loss,out,n_out", [("cce", "softmax", 3), ("mse", "linear", 2), ("hinge", "linear", 3)]
)
@pytest.mark.parametrize("backend", ["gemm", "loops"])
def test_blas_path_matches_twin_for_other_losses(loss, out, n_out, backend):
    tr = make_trainer(out=out, loss=loss, n_out=n_out, opt="adam", lr=0.01, classes=loss != "mse")
    tr.backend = backend
    th, _, losses, _, _ = twin_run(tr, 30)
    rep = tr.run(30)
    np.testing.assert_allclose(rep.batch_losses, losses, rtol=1e-10)
    np.testing.assert_allclose(tr.theta, th, rtol=1e-10, atol=1e-13)


def test_prediction_kernel_matches_numpy_forward():
    for act in ACTIVATIONS:
        for out, m in (("softmax", 3), ("sigmoid", 1), ("tanh", 2)):
            tr = make_trainer(
                hidden=((7, act), (5, act)),
                out=out,
                loss="mse" if out == "tanh" else ("cce" if out == "softmax" else "bce"),
                n_out=m,
                n=1200,
            )
            X = np.random.default_rng(0).normal(scale=3, size=(1100, 3))
            got, hid = tr.predict(X, hidden=True)
            _, outs = R.forward(
                R.unflatten(tr.theta, list(tr.layout.sizes)), list(tr.acts), list(tr.slopes), X
            )
            np.testing.assert_allclose(got, outs[-1], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(hid, np.hstack(outs[1:]), rtol=1e-12, atol=1e-15)


def test_saturated_outputs_give_finite_loss_and_gradient():
    for loss, out, m in (("bce", "sigmoid", 1), ("cce", "softmax", 3), ("kl_div", "softmax", 3)):
        tr = make_trainer(hidden=(), out=out, loss=loss, n_out=m, n=5, batch=5)
        tr.theta[:] = 1e4  # pre-activations ~ +-1e4: sigmoid/softmax saturate completely
        lv, g = tr.loss_and_grad()
        assert math.isfinite(lv) and lv > 0
        assert np.isfinite(g).all()


def test_optimizer_updates_match_hand_computed_torch_formulas():
    """One parameter, gradient 2*p (loss p^2), three steps, torch.optim's documented rules."""

    def run(opt, params, lr, p0=1.0, steps=3):
        hp = Trainer._make_hp_vector(
            type(
                "T",
                (),
                {
                    "spec": ExperimentSpec.from_dict(
                        {"training": {"optimizer": {"name": opt, "lr": lr, "params": params}}}
                    )
                },
            )()
        )
        code = {"sgd": 0, "momentum": 0, "nesterov": 0, "adagrad": 1, "rmsprop": 2, "adam": 3, "adamw": 4}[
            opt
        ]
        theta = np.array([p0])
        state = np.zeros((3, 1))
        if opt == "adagrad":
            state[0] = params.get("initial_accumulator_value", 0.0)
        out = []
        for t in range(steps):
            new = np.empty(1)
            assert K._optimizer_update(code, theta, new, 2 * theta, state, t, lr, hp)
            theta = new
            out.append(theta[0])
        return out

    # SGD: p <- p - lr * 2p
    assert run("sgd", {}, 0.1) == pytest.approx([0.8, 0.64, 0.512], rel=1e-14)
    # momentum 0.9: buf1 = g1; buf = 0.9 buf + g
    p, buf, exp = 1.0, 0.0, []
    for t in range(3):
        g = 2 * p
        buf = g if t == 0 else 0.9 * buf + g
        p -= 0.1 * buf
        exp.append(p)
    assert run("momentum", {}, 0.1) == pytest.approx(exp, rel=1e-14)
    p, buf, exp = 1.0, 0.0, []
    for t in range(3):
        g = 2 * p
        buf = g if t == 0 else 0.9 * buf + g
        p -= 0.1 * (g + 0.9 * buf)
        exp.append(p)
    assert run("nesterov", {}, 0.1) == pytest.approx(exp, rel=1e-14)
    # Adagrad: sum += g^2; p -= lr g / (sqrt(sum) + eps)
    p, s, exp = 1.0, 0.0, []
    for _ in range(3):
        g = 2 * p
        s += g * g
        p -= 0.5 * g / (math.sqrt(s) + 1e-10)
        exp.append(p)
    assert run("adagrad", {}, 0.5) == pytest.approx(exp, rel=1e-14)
    # RMSprop alpha 0.99
    p, v, exp = 1.0, 0.0, []
    for _ in range(3):
        g = 2 * p
        v = 0.99 * v + 0.01 * g * g
        p -= 0.01 * g / (math.sqrt(v) + 1e-8)
        exp.append(p)
    assert run("rmsprop", {}, 0.01) == pytest.approx(exp, rel=1e-14)
    # Adam with bias correction; AdamW decays p first
    for opt, wd in (("adam", 0.0), ("adamw", 0.01)):
        p, m, v, exp = 1.0, 0.0, 0.0, []
        for t in range(1, 4):
            g = 2 * p  # the gradient at the current point...
            p *= 1 - 0.1 * wd  # ...then AdamW's decoupled decay
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mh, vh = m / (1 - 0.9**t), v / (1 - 0.999**t)
            p -= 0.1 * mh / (math.sqrt(vh) + 1e-8)
            exp.append(p)
        assert run(opt, {}, 0.1) == pytest.approx(exp, rel=1e-12)


def test_first_adam_step_moves_every_weight_by_lr():
    # a classic sanity check: with bias correction the first Adam step is lr * sign(g)
    tr = make_trainer(opt="adam", lr=0.01)
    before = tr.theta.copy()
    lv, g = tr.loss_and_grad(train=True)
    tr.run(1)
    moved = np.abs(tr.theta - before)
    nz = np.abs(g) > 1e-6
    assert nz.sum() > 10
    np.testing.assert_allclose(moved[nz], 0.01, rtol=1e-3)


SPLITS = [(1, 1000), (10, 100), (1000, 1), (7, 142)]


@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop"])
def test_results_do_not_depend_on_how_steps_are_split(opt):
    spec = {
        "seed": 5,
        "data": {"name": "spiral", "n_samples": 120},
        "network": {"hidden": [{"units": 6, "activation": "tanh", "dropout": 0.2}]},
        "training": {"optimizer": {"name": opt, "lr": 0.01}, "batch_size": 7, "record_every": 37},
    }
    results = []
    for calls, per in SPLITS:
        exp = Experiment.from_spec(spec)
        for _ in range(calls):
            exp.train(steps=per)
        if calls * per < 1000:
            exp.train(steps=1000 - calls * per)
        results.append(exp)
    ref = results[0]
    for exp in results[1:]:
        assert exp.step == ref.step == 1000
        assert np.array_equal(exp.trainer.theta, ref.trainer.theta)
        for col in ("step", "train_loss", "test_loss", "grad_norm", "batch_loss", "train_metric"):
            assert np.array_equal(exp.history[col], ref.history[col], equal_nan=True), col
        assert np.array_equal(exp.history["grad_norm_w"], ref.history["grad_norm_w"], equal_nan=True)


def test_same_seed_same_weights_new_seed_different():
    a = Experiment.from_spec({"seed": 1})
    b = Experiment.from_spec({"seed": 1})
    c = Experiment.from_spec({"seed": 2})
    assert np.array_equal(a.trainer.theta, b.trainer.theta)
    assert not np.array_equal(a.trainer.theta, c.trainer.theta)


def test_divergence_stops_and_keeps_last_finite_parameters():
    spec = {
        "data": {"name": "plane", "n_samples": 200},
        "network": {"output_activation": "linear", "hidden": [{"units": 8, "activation": "relu"}]},
        "training": {"loss": "mse", "optimizer": {"name": "sgd", "lr": 50.0}, "batch_size": 10},
    }
    exp = Experiment.from_spec(spec)
    snapshots = []
    while exp.status != "diverged" and exp.step < 5000:
        snapshots.append((exp.step, exp.trainer.theta.copy()))
        exp.train(steps=1)
    assert exp.status == "diverged"
    assert f"Diverged at step {exp.diverged_step}" in exp.message
    assert exp.diverged_step == exp.step + 1
    assert np.isfinite(exp.trainer.theta).all()
    last_step, last_theta = snapshots[-1]
    assert last_step == exp.step
    assert np.array_equal(exp.trainer.theta, last_theta)
    # further training does nothing until the settings change
    exp.train(steps=10)
    assert exp.step == last_step


def test_spiral_reaches_95_percent_with_adam():
    exp = Experiment.from_spec(
        {
            "seed": 0,
            "data": {"name": "spiral", "n_samples": 500, "noise": 0.0},
            "network": {"hidden": [{"units": 16, "activation": "tanh"}] * 3},
            "training": {"optimizer": {"name": "adam", "lr": 0.01}, "batch_size": 10},
        }
    )
    m = exp.train(epochs=300)
    assert m["test_accuracy"] >= 0.95


def test_xor_is_solved():
    exp = Experiment.from_spec(
        {
            "seed": 0,
            "data": {"name": "xor", "n_samples": 400},
            "network": {"hidden": [{"units": 4, "activation": "tanh"}]},
            "training": {"optimizer": {"name": "adam", "lr": 0.03}},
        }
    )
    m = exp.train(epochs=100)
    assert m["train_accuracy"] >= 0.97 and m["test_accuracy"] >= 0.95


def test_lbfgs_trains_full_batch():
    exp = Experiment.from_spec(
        {
            "seed": 0,
            "data": {"name": "circle", "n_samples": 200},
            "network": {"hidden": [{"units": 6, "activation": "tanh"}]},
            "training": {"optimizer": {"name": "lbfgs", "lr": 1.0}},
        }
    )
    first = exp.metrics()["train_loss"]
    m = exp.train(steps=60)
    assert m["train_loss"] < 0.2 * first
    assert m["test_accuracy"] > 0.9


def test_float32_trains_and_matches_float64_closely():
    base = {"seed": 0, "data": {"name": "xor", "n_samples": 200}, "training": {"optimizer": {"lr": 0.01}}}
    a = Experiment.from_spec(base)
    b = Experiment.from_spec({**base, "training": {**base["training"], "dtype": "float32"}})
    assert b.trainer.theta.dtype == np.float32
    a.train(steps=300)
    b.train(steps=300)
    np.testing.assert_allclose(b.trainer.theta, a.trainer.theta, rtol=1e-3, atol=1e-4)


def test_zero_init_cannot_break_symmetry():
    exp = Experiment.from_spec(
        {
            "data": {"name": "circle"},
            "network": {"init": "zeros"},
            "training": {"optimizer": {"name": "sgd", "lr": 0.1}},
        }
    )
    exp.train(epochs=20)
    W1 = exp.params[0][0]
    W2 = exp.params[1][0]
    # every hidden unit of a layer got the same updates: columns stay identical
    assert np.allclose(W1, W1[:, :1]) and np.allclose(W2, W2[:1, :1])


def test_grid_and_hidden_outputs_agree_with_predict():
    exp = Experiment.from_spec({"data": {"name": "gauss", "n_samples": 100}})
    exp.train(steps=50)
    xs, ys, out, hid = exp.grid(resolution=20, hidden=True)
    assert out.shape == (20, 20, 1) and hid.shape == (20, 20, 8 + 8 + 1)
    pts = np.column_stack([np.full(3, xs[4]), ys[[0, 5, 19]]])
    direct = exp.predict(pts, raw=True)
    np.testing.assert_allclose(out[[0, 5, 19], 4, 0], direct[:, 0], rtol=1e-12)
    np.testing.assert_allclose(hid[..., -1], out[..., 0], rtol=1e-12)


def test_loss_and_grad_at_any_parameters():
    exp = Experiment.from_spec({"data": {"name": "xor", "n_samples": 100}})
    p0 = exp.params
    l0, g0 = exp.loss_and_grad()
    exp.train(steps=100)
    l_again, g_again = exp.loss_and_grad(p0)
    assert l_again == l0
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(g0, g_again))
    assert [g[0].shape for g in g0] == [W.shape for W, _ in p0]


def test_every_registered_optimizer_trains_the_demo():
    for opt in OPTIMIZERS:
        exp = Experiment.from_spec(
            {
                "data": {"name": "gauss", "n_samples": 100},
                "training": {
                    "optimizer": {"name": opt, "lr": 1.0 if opt == "lbfgs" else 0.05},
                    **({"loss": "mse"} if opt == "levenberg_marquardt" else {}),
                },
            }
        )
        first = exp.metrics()["train_loss"]
        m = exp.train(steps=40)
        assert m["train_loss"] < first, opt


def test_live_training_change_is_marked_and_keeps_weights():
    exp = Experiment.from_spec({"data": {"name": "xor", "n_samples": 100}})
    exp.train(steps=20)
    theta = exp.trainer.theta.copy()
    from dataclasses import replace

    t = exp.spec.training
    exp.apply_training(replace(t, optimizer=replace(t.optimizer, lr=0.1)))
    assert np.array_equal(exp.trainer.theta, theta)
    assert exp.events == [(20, "lr 0.01 \u2192 0.1")]
    assert exp.spec.training.optimizer.lr == 0.1


def test_any_seed_trains_in_any_order_in_one_process():
    # stream keys >= 2**63 once broke kernels first compiled for a key < 2**63
    from playground.engine.rng import SHUFFLE_TAG, derive_key

    seeds = [s for s in range(40) if derive_key(s, SHUFFLE_TAG) < 2**63][:2]
    seeds += [s for s in range(40) if derive_key(s, SHUFFLE_TAG) >= 2**63][:2]
    for seed in seeds + seeds[::-1]:
        exp = Experiment.from_spec(
            {
                "seed": seed,
                "data": {"name": "xor", "n_samples": 60},
                "network": {"hidden": [{"units": 3, "activation": "tanh", "dropout": 0.1}]},
            }
        )
        exp.train(steps=20)
        assert exp.step == 20


def test_gemm_backend_is_found_and_chosen_by_default():
    from playground.engine.blas import gemm_functions

    assert gemm_functions() is not None, "numpy's OpenBLAS cblas_?gemm entry points were not found"
    tr = make_trainer()
    assert tr.resolved_backend() == "gemm"


def test_large_predictions_split_over_threads_equal_single_thread(monkeypatch):
    import playground.engine.trainer as T

    tr = make_trainer(hidden=((7, "tanh"), (5, "relu")), n=50)
    X = np.random.default_rng(1).normal(size=(20_000, 3))
    monkeypatch.setattr(T, "PARALLEL_PREDICT_MIN", 10**9)
    one, one_hid = tr.predict(X, hidden=True)
    monkeypatch.setattr(T, "PARALLEL_PREDICT_MIN", 8192)
    two, two_hid = tr.predict(X, hidden=True)
    assert np.array_equal(one, two) and np.array_equal(one_hid, two_hid)
    assert np.array_equal(tr.predict(X), one)


@pytest.mark.parametrize("data", ["spiral", "plane"])
def test_recording_inside_the_kernel_equals_recording_row_by_row(data):
    spec = {
        "seed": 3,
        "data": {"name": data, "n_samples": 120},
        "network": {
            "hidden": [{"units": 6, "activation": "tanh", "dropout": 0.1}],
            "output_activation": "sigmoid" if data == "spiral" else "linear",
        },
        "training": {"loss": "bce" if data == "spiral" else "mse", "batch_size": 7, "record_every": 9},
    }
    fast = Experiment.from_spec(spec)
    slow = Experiment.from_spec(spec)
    assert fast.trainer.can_record_in_kernel()
    slow.trainer.can_record_in_kernel = lambda: False
    for n in (50, 1, 300, 17):
        a, b = fast.train(steps=n), slow.train(steps=n)
        assert a == b
    assert np.array_equal(fast.trainer.theta, slow.trainer.theta)
    for col in fast.history.columns():
        if col != "wall_time":
            assert np.array_equal(fast.history[col], slow.history[col], equal_nan=True), col


def test_an_experiment_can_be_built_without_evaluating_anything():
    exp = Experiment(ExperimentSpec(), record_initial=False)
    assert len(exp.history) == 0 and math.isnan(exp.metrics()["train_loss"])
    exp.reset()
    assert len(exp.history) == 1 and exp.metrics()["train_loss"] > 0


def test_predict_compiled_answers_per_precision():
    """The GUI asks before drawing neuron pictures on its own thread: a precision whose
    prediction kernel is not compiled yet must answer False (a first float32 use would
    otherwise compile for seconds on the GUI thread)."""
    from playground.engine.kernels import predict_compiled
    from playground.experiment import Experiment

    exp = Experiment.from_spec({})
    exp.grid(resolution=4)
    assert predict_compiled() and predict_compiled(np.float64) and predict_compiled("float64")
    assert not predict_compiled(np.int8)  # never a parameter type: never compiled
