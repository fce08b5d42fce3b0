"""The cold start: quick mode trains on the numpy twins (``engine/twin.py``) until the compiled
kernels are ready (``engine/readiness.py``), then switches at a step boundary."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

import playground
from playground.engine import codes as C
from playground.engine import kernels as K
from playground.engine import readiness, twin
from playground.engine.rng import epoch_permutation_np
from playground.experiment import Experiment

SPECS = {
    "momentum-dropout-step": {
        "network": {
            "hidden": [{"units": 6, "activation": "relu", "dropout": 0.3}, {"units": 5, "dropout": 0.2}]
        },
        "training": {
            "optimizer": {"name": "momentum", "lr": 0.05},
            "batch_size": 16,
            "clip_norm": 0.5,
            "regularization": {"kind": "l2", "rate": 0.01},
            "schedule": {"kind": "step", "step_size": 2, "gamma": 0.5},
        },
    },
    "adam-dropout-cosine": {
        "network": {"hidden": [{"units": 7, "activation": "tanh", "dropout": 0.25}]},
        "training": {
            "optimizer": {"name": "adam", "lr": 0.02},
            "batch_size": 9,
            "schedule": {"kind": "cosine", "t_max": 5, "warmup": 3},
        },
    },  # fmt: skip
    "nesterov-l1": {
        "training": {
            "optimizer": {"name": "nesterov", "lr": 0.03},
            "batch_size": 32,
            "regularization": {"kind": "l1", "rate": 0.001},
        },
    },  # fmt: skip
    "rmsprop-mse": {"training": {"optimizer": {"name": "rmsprop"}, "batch_size": 7, "loss": "mse"}},
    "adagrad-huber": {"training": {"optimizer": {"name": "adagrad"}, "loss": "huber"}},
    "adamw-softmax-cce": {
        "data": {"name": "spiral"},
        "network": {"output_activation": "softmax"},
        "training": {"loss": "cce", "optimizer": {"name": "adamw"}},
    },
}


@pytest.fixture
def on_twins(monkeypatch):
    """Quick mode with the kernels never ready (no compile process is started)."""
    readiness._reset_for_tests()
    readiness.set_start_mode("quick")
    monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: False)
    yield
    readiness._reset_for_tests()


@pytest.fixture
def switch_after(monkeypatch):
    """``switch_after(n)``: the twins answer the first n readiness checks, then the kernels."""
    calls = {"n": 0, "limit": 0}

    def ready(dtype):
        calls["n"] += 1
        return calls["n"] > calls["limit"]

    def set_limit(n):
        calls["n"], calls["limit"] = 0, n

    monkeypatch.setattr(readiness, "kernels_ready", ready)
    return set_limit


def close(a, b, rel=1e-10):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    a, b = a[~np.isnan(b)], b[~np.isnan(b)]
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    assert np.abs(a - b).max(initial=0.0) <= rel * scale, np.abs(a - b).max()


def test_fast_shuffle_is_the_kernels_shuffle():
    for key, epoch, n in [(0, 0, 1), (12345678901234567890, 3, 257), (2**64 - 1, 99, 40)]:
        assert np.array_equal(
            twin.epoch_permutation(np.uint64(key), epoch, n), epoch_permutation_np(key, epoch, n)
        )


def test_quick_mode_trains_from_the_first_call_without_compiling(on_twins, monkeypatch):
    def no_compile(*a, **k):
        raise AssertionError("a kernel was called while the twins should answer")

    for name in ("train_steps", "train_record", "metrics_kernel", "predict_kernel", "loss_and_grad_kernel",
                 "weight_sq_kernel"):  # fmt: skip
        monkeypatch.setattr(K, name, no_compile)
    exp = Experiment.from_spec(SPECS["adam-dropout-cosine"])
    before = exp.metrics()["train_loss"]
    m = exp.train(steps=300)
    assert exp.step == 300 and m["train_loss"] < before
    assert len(exp.history) >= 2
    xs, ys, out, hid = exp.grid(resolution=12, hidden=True)
    assert out.shape[:2] == (12, 12) and np.isfinite(hid).all()
    lv, g = exp.loss_and_grad()
    assert np.isfinite(lv) and all(np.isfinite(gw).all() for gw, _ in g)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_twin_steps_match_kernel_steps(name, on_twins, monkeypatch):
    spec = SPECS[name]
    a, b = Experiment.from_spec(spec), Experiment.from_spec(spec)
    n = 3 * a.trainer.steps_per_epoch + 5  # several epochs, ending mid-epoch
    ra = a.trainer.run(n)
    monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: True)
    rb = b.trainer.run(n)
    assert (ra.steps_done, ra.status) == (rb.steps_done, rb.status) == (n, C.OK)
    assert (a.trainer.step, a.trainer.opt_t) == (b.trainer.step, b.trainer.opt_t)
    close(a.trainer.theta, b.trainer.theta)
    close(a.trainer.opt_state, b.trainer.opt_state)
    close(ra.batch_losses, rb.batch_losses)
    close(ra.layer_grad_sq, rb.layer_grad_sq)
    # evaluation, pictures and gradients on the same weights
    es = b.trainer.eval_buffers(
        b.dataset.X_test, b.Y_test, b.dataset.y_test if b.dataset.task == "classification" else None
    )
    kernel = (b.trainer.metrics(es, b._threshold), b.trainer.predict(b.dataset.X_test, hidden=True),
              b.trainer.loss_and_grad(train=True), b.trainer.weight_norms())  # fmt: skip
    monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: False)
    twins = (b.trainer.metrics(es, b._threshold), b.trainer.predict(b.dataset.X_test, hidden=True),
             b.trainer.loss_and_grad(train=True), b.trainer.weight_norms())  # fmt: skip
    close(twins[0], kernel[0])
    close(twins[1][0], kernel[1][0])
    close(twins[1][1], kernel[1][1])
    close(twins[2][0], kernel[2][0])
    close(twins[2][1], kernel[2][1])
    close(twins[3], kernel[3])


@pytest.mark.parametrize("lr", [1e6, 1e30])
def test_twins_diverge_like_the_kernels(lr, on_twins, monkeypatch):
    spec = {"network": {"output_activation": "linear", "hidden": [{"units": 8, "activation": "relu"}]},
            "training": {"optimizer": {"name": "sgd", "lr": lr}, "loss": "mse"}}  # fmt: skip
    a, b = Experiment.from_spec(spec), Experiment.from_spec(spec)
    with np.errstate(all="ignore"):
        ra = a.trainer.run(50)
        monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: True)
        rb = b.trainer.run(50)
    assert (ra.steps_done, ra.status) == (rb.steps_done, rb.status)
    assert ra.status != C.OK
    assert np.array_equal(np.isfinite(ra.batch_losses), np.isfinite(rb.batch_losses))
    close(a.trainer.theta, b.trainer.theta)


def test_lbfgs_runs_on_the_twins(on_twins, monkeypatch):
    spec = {"training": {"optimizer": {"name": "lbfgs", "lr": 1.0}}}
    a, b = Experiment.from_spec(spec), Experiment.from_spec(spec)
    a.trainer.run(3)
    monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: True)
    b.trainer.run(3)
    close(a.trainer.theta, b.trainer.theta, 1e-8)


def test_a_run_switches_from_twins_to_kernels_mid_run(monkeypatch):
    spec = SPECS["momentum-dropout-step"]
    warm = Experiment.from_spec(spec)
    warm.train(steps=400)
    ready = {"now": False}
    monkeypatch.setattr(readiness, "kernels_ready", lambda dtype: ready["now"])
    on_twins = []
    real_run = twin.run
    monkeypatch.setattr(twin, "run", lambda tr, n: on_twins.append(n) or real_run(tr, n))
    cold = Experiment.from_spec(spec)
    # the kernels become ready at the first history row, in the middle of this one call
    cold.train(steps=400, callback=lambda m: ready.update(now=True))
    assert 0 < sum(on_twins) < 400 and sum(on_twins) == cold.history["step"][1]
    assert cold.step == warm.step == 400
    close(cold.trainer.theta, warm.trainer.theta)
    close(cold.trainer.opt_state, warm.trainer.opt_state)
    assert np.array_equal(cold.history["step"], warm.history["step"])
    for col in ("train_loss", "test_loss", "batch_loss", "train_metric", "grad_norm", "lr"):
        close(cold.history[col], warm.history[col])


def test_a_session_saved_on_the_twins_resumes_exactly(switch_after, tmp_path):
    spec = SPECS["adam-dropout-cosine"]
    switch_after(10**9)  # the twins all along
    first = Experiment.from_spec(spec)
    first.train(steps=37)
    path = first.save(tmp_path / "twins.playground")
    state = first.trainer.state_arrays()
    switch_after(0)  # now the kernels: the resumed run and the same state in memory agree bitwise
    resumed = playground.load(path)
    assert np.array_equal(resumed.trainer.theta, state["theta"])
    assert np.array_equal(resumed.trainer.opt_state, state["opt_state"])
    assert (resumed.trainer.step, resumed.trainer.opt_t) == tuple(state["counters"])
    same = Experiment.from_spec(spec)
    same.trainer.load_state_arrays(state)
    resumed.train(steps=50)
    same.trainer.run(50)
    assert np.array_equal(resumed.trainer.theta, same.trainer.theta)
    assert np.array_equal(resumed.trainer.opt_state, same.trainer.opt_state)


def test_compiled_mode_is_always_ready(monkeypatch):
    readiness._reset_for_tests()
    readiness.set_start_mode("compiled")
    assert readiness.kernels_ready("float32") and readiness.kernels_ready(np.float64)
    assert readiness.progress("float32").ready
    readiness._reset_for_tests()
    with pytest.raises(ValueError):
        readiness.set_start_mode("fast")


def test_progress_lines_parse():
    p = readiness.Progress("float64")
    readiness.parse_progress(f"{readiness.PROGRESS_PREFIX} 2/6 training with history\n", p)
    assert (p.number, p.count, p.phase) == (2, 6, "training with history")
    readiness.parse_progress(f"{readiness.PROGRESS_PREFIX} garbage", p)
    assert p.number == 2


def test_the_compile_command_runs_this_playground():
    cmd = readiness.compile_command("float32")
    assert cmd[0] == sys.executable and cmd[1:4] == ["-m", "playground", "warmup"]
    assert cmd[-3:] == ["--dtype", "float32", "--progress"]


def test_background_compile_writes_its_marker_and_readiness_flips(monkeypatch, tmp_path):
    """Genuinely runs ``playground warmup --dtype float64`` (loads from the cache when the
    suite compiled before; compiles otherwise: slow on a cold machine)."""
    monkeypatch.setenv(readiness.READY_DIR_ENV, str(tmp_path))
    readiness._reset_for_tests()
    readiness.set_start_mode("quick")
    try:
        assert not readiness.marker_path("float64").exists()
        assert readiness.kernels_ready("float64") is False  # starts the process
        assert readiness.kernels_ready("float64") is False  # one process, still running
        assert len(readiness._jobs) == 1
        exp = Experiment.from_spec({})
        exp.train(steps=20)  # on the twins meanwhile
        assert readiness.wait("float64", timeout=900)
        p = readiness.progress("float64")
        assert p.ready and p.note == "" and p.count >= 5 and p.number == p.count
        assert readiness.marker_path("float64").is_file()
        assert not readiness.lock_path("float64").exists()
        assert readiness._jobs["float64"].proc.returncode == 0  # reaped
        exp.train(steps=20)  # on the kernels now
        assert exp.step == 40
        # a new process would find the marker: ready at once, no process
        readiness._reset_for_tests()
        readiness.set_start_mode("quick")
        assert readiness.kernels_ready("float64") and not readiness._jobs
    finally:
        readiness._reset_for_tests()


def test_a_failing_compile_process_falls_back_to_compiling_here(monkeypatch, tmp_path):
    monkeypatch.setenv(readiness.READY_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(
        readiness, "compile_command", lambda dtype: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    done = []
    import playground.engine.warmup as warmup

    monkeypatch.setattr(warmup, "compile_dtype", lambda dtype, say=None: done.append(dtype))
    readiness._reset_for_tests()
    readiness.set_start_mode("quick")
    try:
        assert readiness.kernels_ready("float32") is False
        assert readiness.wait("float32", timeout=60)
        assert done == ["float32"]
        assert "compiling in this process instead" in readiness.progress("float32").note
    finally:
        readiness._reset_for_tests()


def test_machine_lock_waits_for_a_live_owner_and_takes_over_a_dead_one(tmp_path):
    from playground.engine.warmup import _MachineLock

    lock = tmp_path / "float64.lock"
    lock.write_text("999999999")  # no such process: stale
    t0 = time.perf_counter()
    with _MachineLock(lock):
        assert lock.read_text() == str(__import__("os").getpid())
    assert not lock.exists() and time.perf_counter() - t0 < 5


def test_a_split_compile_runs_both_halves_and_numbers_every_phase_once(monkeypatch, tmp_path):
    """``compile_and_mark`` with a second process beside it (loads from the cache when the
    suite compiled before): every phase is announced once, numbered 1..count, and the marker
    is written only when both halves are done."""
    from playground.engine import warmup

    monkeypatch.setenv(readiness.READY_DIR_ENV, str(tmp_path))
    heard = []
    warmup.compile_and_mark(
        "float64", lambda phase, number, count: heard.append((phase, number, count)), True
    )
    names = warmup.phases("float64")
    assert sorted(p for p, _, _ in heard) == sorted(names)
    assert sorted(n for _, n, _ in heard) == list(range(1, len(names) + 1))
    assert {c for _, _, c in heard} == {len(names)}
    assert readiness.marker_path("float64").is_file()
    assert not readiness.lock_path("float64").exists()


def test_a_failed_second_process_leaves_its_half_to_this_one(monkeypatch, tmp_path):
    from playground.engine import warmup

    monkeypatch.setenv(readiness.READY_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(
        readiness, "compile_command", lambda dtype: [sys.executable, "-c", "raise SystemExit(3)"]
    )
    here = []
    monkeypatch.setattr(warmup, "compile_dtype", lambda key, say=None, only=None: here.append(only))
    warmup.compile_and_mark("float32", None, True)
    assert here[: len(warmup.TRAINING_HALF)] == [(name,) for name in warmup.TRAINING_HALF]
    rest = set(here[-1])
    assert rest == set(warmup.BESIDE_HALF) & set(warmup.phases("float32"))  # compiled here after all
    assert readiness.marker_path("float32").is_file()


def test_the_split_follows_the_cores_unless_told(monkeypatch):
    from playground.engine import warmup

    monkeypatch.delenv(warmup.BESIDE_ENV, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert warmup.compiles_beside() is False
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert warmup.compiles_beside() is True
    monkeypatch.setenv(warmup.BESIDE_ENV, "0")
    assert warmup.compiles_beside() is False
