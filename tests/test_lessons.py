"""Every lesson's claim holds on our engine (numbers measured in docs/LESSONS.md)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from playground.errors import PlaygroundError
from playground.lessons import LESSONS, ORDER, first_step, load_lesson, parse_lesson, run_lesson, sign_changes


@functools.cache
def results(lesson_id: str) -> dict:
    return run_lesson(lesson_id)


def final(r: dict) -> float:
    return r["final_train_loss"] if r["final_train_loss"] is not None else float("inf")


def test_registry_has_every_lesson_with_texts():
    assert list(LESSONS) == list(ORDER)
    for lid, lesson in LESSONS.items():
        assert lesson.id == lid and lesson.title and lesson.claim
        sentences = [s for s in lesson.text.split(". ") if s.strip()]
        assert 3 <= len(sentences) <= 7, lid
        assert 2 <= len(lesson.variants) <= 8
        assert all(v.steps > 0 for v in lesson.variants)
    with pytest.raises(PlaygroundError):
        load_lesson("nope")


def test_lesson_files_are_plain_json_specs():
    lesson = load_lesson("learning_rate")
    doc = json.loads(lesson.path.read_text())
    again = parse_lesson(doc)
    assert [v.spec for v in again.variants] == [v.spec for v in lesson.variants]
    assert lesson.variant("too_small").spec.training.optimizer.lr == 0.001


def test_sign_changes():
    assert sign_changes([3, 2, 1, 0.5]) == 0
    assert sign_changes([1, 2, 1, 2, 1]) == 3


def test_learning_rate():
    r = results("learning_rate")
    small, good, large = r["too_small"], r["about_right"], r["too_large"]
    assert final(small) > 0.9 * small["initial_train_loss"]  # barely moves
    assert final(good) < 0.1 * good["initial_train_loss"]
    assert large["diverged"] or final(large) > final(good)
    assert large["sign_changes"] > good["sign_changes"] + 10  # oscillates
    assert final(large) > large["initial_train_loss"]  # ends above its start


def test_batch_size():
    r = results("batch_size")
    full, mini, one = r["full_batch"], r["mini_batch"], r["single"]
    assert one["batch_loss_noise"] > 3 * mini["batch_loss_noise"] > 3 * full["batch_loss_noise"]
    steps = {k: first_step(v, "train_loss", 0.15) for k, v in r.items()}
    assert all(s is not None for s in steps.values())
    # epochs to the target: n_train = 100 points
    epochs = {k: steps[k] * b / 100 for k, b in (("full_batch", 100), ("mini_batch", 10), ("single", 1))}
    assert epochs["single"] < epochs["mini_batch"] < epochs["full_batch"]
    assert steps["single"] > steps["mini_batch"]
    assert all(v["final_test_metric"] >= 0.9 for v in r.values())


def test_optimizers():
    r = results("optimizers")
    assert set(r) == {"gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "lbfgs"}
    assert abs(final(r["gd"]) - final(r["sgd"])) < 0.05
    for fast in ("momentum", "nesterov"):
        assert final(r[fast]) < 0.3 * final(r["sgd"])
    for adaptive in ("rmsprop", "adam"):
        assert final(r[adaptive]) < final(r["sgd"])
    assert final(r["adagrad"]) > final(r["momentum"])
    assert final(r["lbfgs"]) < min(final(v) for k, v in r.items() if k != "lbfgs")
    assert r["lbfgs"]["final_test_metric"] < r["momentum"]["final_test_metric"]


def test_initialization():
    r = results("initialization")
    seeds = [final(r[k]) for k in ("seed_1", "seed_6", "seed_21")]
    assert max(seeds) > 2 * min(seeds)  # different minima
    z = r["zeros_tanh"]
    assert final(z) > 0.68
    W1 = np.array(z["weights"][0][0])
    assert np.all(W1 == 0)  # no weight ever moved
    s = r["zeros_sigmoid"]
    W1 = np.array(s["weights"][0][0])
    W2 = np.array(s["weights"][1][0])
    assert np.abs(W1).max() > 0  # weights moved...
    assert np.ptp(W1, axis=1).max() == 0 and np.ptp(W2, axis=1).max() == 0  # ...but neurons stay identical
    assert final(s) > 2 * max(seeds)


def test_vanishing_gradients():
    r = results("vanishing_gradients")
    sig = np.array(r["sigmoid"]["grad_norm_w_median"])
    assert np.all(np.diff(sig) > 0)  # falls layer by layer towards the input
    assert sig[0] / sig[-1] < 1e-3
    for act in ("relu", "tanh"):
        g = np.array(r[act]["grad_norm_w_median"])
        assert g[0] / g[-1] > 0.5
        assert r[act]["final_test_metric"] > 0.9
    assert final(r["sigmoid"]) > 0.65


def test_gradients_through_time():
    """The RNN's first step gets ~1e-5 of the last step's gradient and it stays at chance; the
    LSTM with its forget gate open learns the copy task; with PyTorch's closed gate it does not."""
    from playground.engine.twin import probe_recurrent

    lesson = load_lesson("gradients_through_time")
    acc, ratio = {}, {}
    for v, exp in lesson.experiments():
        exp.train(steps=v.steps)
        g = probe_recurrent(exp.trainer, exp.dataset.X_test[:64], exp.Y_test[:64])[0]["grad_norm"]
        acc[v.name], ratio[v.name] = exp.evaluate()["test_accuracy"], g[0] / g[-1]
    chance = 1.0 / 3.0
    assert acc["lstm"] >= 0.95
    for name in ("rnn", "lstm_closed", "gru"):
        assert acc[name] < chance + 0.1, (name, acc[name])
    assert ratio["rnn"] < 1e-3 and ratio["lstm"] > 100 * ratio["rnn"]
    assert ratio["lstm_closed"] < 1e-3


def test_truncated_bptt():
    r = results("truncated_bptt")
    assert r["full"]["final_test_metric"] >= 0.95
    assert r["bptt_10"]["final_test_metric"] < 0.45  # chance: 1/3
    assert r["bptt_25"]["final_train_loss"] == r["full"]["final_train_loss"]  # longer than the sequence


def _trained(lesson_id):
    out = {}
    for v, exp in load_lesson(lesson_id).experiments():
        exp.train(steps=v.steps)
        out[v.name] = (exp.evaluate(), exp.trainer.counts)
    return out


def test_second_order():
    r = _trained("second_order")
    for name in ("bfgs", "lm", "newton"):
        loss = r[name][0]["train_loss"]
        assert loss < 0.5 * r["adam"][0]["train_loss"] and loss < 0.2 * r["gd"][0]["train_loss"], name
    steps = r["gd"][1]["grad_evals"]
    assert r["newton"][1]["grad_evals"] > 20 * steps  # a Hessian is many gradients
    assert r["bfgs"][1]["loss_evals"] < 2 * steps


def test_gradient_free():
    r = _trained("gradient_free")
    adam = r["adam"]
    for name in ("annealing", "genetic", "cmaes"):
        metrics, counts = r[name]
        assert counts["grad_evals"] == 0 and counts["loss_evals"] >= 10 * adam[1]["loss_evals"], name
        assert metrics["test_accuracy"] >= 0.85, name  # they do learn, at that price


def test_regularization():
    r = results("regularization")
    none, l2 = r["none"], r["l2"]
    assert none["final_train_loss"] < 0.01 and l2["final_train_loss"] > 10 * none["final_train_loss"]
    assert l2["final_test_loss"] < 0.3 * none["final_test_loss"]


def test_non_convex():
    r = results("non_convex")
    wide = [final(r["wide_a"]), final(r["wide_b"])]
    assert max(wide) < 0.01 and max(wide) < 1.2 * min(wide)
    assert min(final(r["narrow_a"]), final(r["narrow_b"])) > 0.3  # stuck far above the global minimum
    assert final(r["medium_b"]) > 3 * final(r["medium_a"])
    assert all(final(v) < v["initial_train_loss"] for v in r.values())


def test_loss_functions():
    r = results("loss_functions")
    assert final(r["kl_div"]) == pytest.approx(final(r["cce"]), rel=1e-9)
    assert r["kl_div"]["history"]["test_metric"] == r["cce"]["history"]["test_metric"]
    to90 = {k: first_step(v, "test_metric", 0.9, below=False) for k, v in r.items()}
    assert to90["mse"] is not None and all(to90[k] < to90["mse"] for k in ("bce", "cce", "hinge"))
    assert r["mse"]["final_test_metric"] < r["bce"]["final_test_metric"]
    assert all(v["final_test_metric"] >= 0.9 for v in r.values())


def test_generated_session_files_match_the_lessons():
    pytest.importorskip("playground.session")
    from playground.session import load

    for lesson in LESSONS.values():
        if lesson.is_gan:
            continue  # GAN sessions (.playground-gan): tests/test_lessons_gan.py
        for v in lesson.variants:
            p = lesson.path.parent / lesson.id / f"{v.name}.playground"
            assert p.exists(), f"{p} missing: python -m playground.lessons --sessions"
            exp = load(p)
            assert exp.spec == v.spec and exp.step == 0
