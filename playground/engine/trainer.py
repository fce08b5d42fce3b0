"""Trainer: the checked wrapper around the kernels.

It owns the flat parameter vector, the optimizer state and the step counters; ``run(n)``
does n optimizer steps in as few kernel calls as possible. No Qt, no globals: several
trainers can live side by side (race mode) or in worker processes (sweeps).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np

from playground.engine import codes as C
from playground.engine import kernels as K
from playground.engine import methods, readiness
from playground.engine.activations import ACTIVATIONS
from playground.engine.blas import gemm_for
from playground.engine.blocks import Layer, Plan
from playground.engine.blocks.registry import P_ACT, P_BOFF, P_END, P_WOFF
from playground.engine.lbfgs import LBFGSState, lbfgs_kwargs, lbfgs_step
from playground.engine.losses import LOSSES
from playground.engine.rng import DROPOUT_TAG, SHUFFLE_TAG, derive_key
from playground.engine.schedules import lr_at
from playground.shapes import conv_padding, conv_stride, layer_shapes, pool_stride
from playground.spec import ExperimentSpec

OPT_CODES = {
    "sgd": C.OPT_SGD,
    "momentum": C.OPT_SGD,
    "nesterov": C.OPT_SGD,
    "adagrad": C.OPT_ADAGRAD,
    "rmsprop": C.OPT_RMSPROP,
    "adam": C.OPT_ADAM,
    "adamw": C.OPT_ADAMW,
}
STATUS_TEXT = {
    C.DIVERGED_LOSS: "the loss became infinite or NaN",
    C.DIVERGED_GRAD: "the gradient became infinite or NaN",
    C.DIVERGED_PARAMS: "a weight or the optimizer state would have become infinite or NaN",
}
EVAL_CHUNK = 512


PARALLEL_PREDICT_MIN = 8192  # rows from which prediction is split over two threads


@cache
def _predict_pool() -> ThreadPoolExecutor | None:
    """Two threads for large predictions (the decision-boundary grid): the kernels release
    the GIL and each call has its own scratch buffers. Created on first use."""
    if (os.cpu_count() or 1) < 2:
        return None
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="playground-predict")


@dataclass
class EvalSet:
    """A data set prepared for ``Trainer.metrics`` (contiguous arrays, reusable buffers)."""

    X: np.ndarray
    Y: np.ndarray  # flat targets
    labels: np.ndarray  # class indices (classification)
    classify: bool
    out: np.ndarray
    out_z: np.ndarray
    delta: np.ndarray


@dataclass
class RunReport:
    """What one ``Trainer.run`` call did (plain data)."""

    steps_done: int
    status: int  # codes.OK or a DIVERGED_* code
    batch_losses: np.ndarray  # one per step done (plus the failing one on divergence)
    layer_grad_sq: np.ndarray  # (n_layers, 2): |dW|^2, |db|^2 of the last step's gradient


class Layout:
    """Where each layer's parameters sit in the flat parameter vector: a view of the network's
    block plan (``blocks.Plan``) in the terms the rest of the program uses."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.sizes = plan.units  # [n_in, units of each layer...]
        self.woff = plan.ints[:, P_WOFF].copy()
        self.boff = plan.ints[:, P_BOFF].copy()
        self.n_params = plan.n_params

    @property
    def n_layers(self) -> int:
        return self.plan.n_layers

    def views(self, theta: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """Views into theta per block, in PyTorch's shapes except dense W, which is (fan_in,
        fan_out): (W, b) for dense and conv blocks (a block without weights or bias, as
        pooling, flatten or a conv without bias, gives empty arrays there); for rnn/lstm/gru
        their four arrays in torch's order (weight_ih, weight_hh, bias_ih, bias_hh)."""
        out = []
        for layer, arrays in zip(self.plan.layers, self.plan.arrays, strict=True):
            got = [theta[off : off + int(np.prod(shape))].reshape(shape) for _, shape, off in arrays]
            if layer.kind in ("rnn", "lstm", "gru"):
                out.append(tuple(got))
            else:
                out.append((got[0] if got else theta[:0], got[1] if len(got) > 1 else theta[:0]))
        return out

    def names(self) -> list[tuple[str, ...]]:
        """The arrays' names per block, as ``views`` gives them (torch's for recurrent blocks)."""
        return [
            tuple(n for n, _s, _o in arrays) if layer.kind in ("rnn", "lstm", "gru") else ("W", "b")
            for layer, arrays in zip(self.plan.layers, self.plan.arrays, strict=True)
        ]

    def flatten(self, params, dtype) -> np.ndarray:
        theta = np.empty(self.n_params, dtype=dtype)
        for given, views in zip(params, self.views(theta), strict=True):
            if len(given) != len(views):
                raise ValueError(f"{len(given)} parameter arrays given where the block has {len(views)}")
            for a, t in zip(given, views, strict=True):
                a = np.asarray(a, dtype=np.float64)
                if t.ndim == 1:
                    a = a.ravel()
                if a.shape != t.shape:
                    raise ValueError(f"parameter shape {a.shape} does not match {t.shape}")
                t[...] = a
        return theta

    def activation_offsets(self, rows: int) -> np.ndarray:
        return self.plan.offsets(rows)


def network_layers(net, input_shape: tuple[int, ...], n_out: int) -> list[Layer]:
    """The blocks of a spec's network on inputs of ``input_shape`` (``(n,)`` or
    ``(channels, height, width)``): its hidden layers, the implicit flattens where dense
    layers meet images (``shapes.layer_shapes``), and the dense output layer."""
    rows = layer_shapes(input_shape, net.hidden, n_out)
    layers, shape = [], tuple(input_shape)
    for r in rows:
        n_in, n_out_r = math.prod(shape), r.size
        h = net.hidden[r.index] if (r.index is not None and not r.implicit) else None
        if r.kind == "dense":
            if h is None:  # the output layer
                layers.append(Layer("dense", n_in, n_out_r, ACTIVATIONS[net.output_activation].code))
            else:
                act = ACTIVATIONS[h.activation].code
                layers.append(Layer("dense", n_in, n_out_r, act, h.negative_slope, h.dropout))
        elif r.kind == "conv2d":
            layers.append(
                Layer(
                    "conv2d", n_in, n_out_r, ACTIVATIONS[h.activation].code, h.negative_slope, h.dropout,
                    in_shape=shape, out_shape=r.shape, kernel=int(h.kernel_size), stride=conv_stride(h),
                    pad=conv_padding(h)[0], bias=bool(h.bias),
                )
            )  # fmt: skip
        elif r.kind in ("maxpool2d", "avgpool2d"):
            layers.append(
                Layer(
                    r.kind, n_in, n_out_r, C.LINEAR, in_shape=shape, out_shape=r.shape, kernel=int(h.size),
                    stride=pool_stride(h),
                )
            )  # fmt: skip
        elif r.kind in ("rnn", "lstm", "gru"):
            cell = ACTIVATIONS[h.activation].code if r.kind == "rnn" else 0
            layers.append(
                Layer(
                    r.kind, n_in, n_out_r, C.LINEAR, in_shape=shape, out_shape=r.shape, units=int(h.units),
                    return_sequences=bool(h.return_sequences), bptt=int(h.bptt or 0), cell_activation=cell,
                    forget_bias=float(h.forget_bias) if r.kind == "lstm" else 0.0,
                )
            )  # fmt: skip
        else:  # flatten, written or implicit
            layers.append(Layer("flatten", n_in, n_out_r, C.LINEAR))
        shape = r.shape
    return layers


class Trainer:
    """Trains one network on one training set, step by step, exactly reproducibly."""

    def __init__(self, spec: ExperimentSpec, n_in, n_out: int, X: np.ndarray, Y: np.ndarray, layers=None):
        """``n_in``: inputs per sample, or its shape ((channels, height, width) of images,
        (length, features) of sequences). ``layers``: the blocks to build instead of the
        spec's network (``blocks.Layer`` list; tools and tests that compose blocks directly)."""
        tr = spec.training
        self.spec = spec
        self.dtype = np.dtype(tr.dtype)
        self.input_shape = tuple(int(v) for v in np.atleast_1d(n_in))
        self.plan = Plan(
            layers if layers is not None else network_layers(spec.network, self.input_shape, n_out)
        )
        self.layout = Layout(self.plan)
        # None: dense blocks only, and numba compiles no image code (network.py)
        self._nondense = None if all(layer.kind == "dense" for layer in self.plan.layers) else True
        self.loss = LOSSES[tr.loss].code
        self.set_data(X, Y)
        # np.uint64, never a Python int: numba types the first value it sees, and half of all
        # keys do not fit the int64 a Python int below 2**63 would give
        self.shuffle_key = np.uint64(derive_key(spec.seed, SHUFFLE_TAG))
        self.drop_key = np.uint64(derive_key(spec.seed, DROPOUT_TAG))
        self.step = 0
        # evaluations done so far: [loss, gradient] (each gradient also gives its loss, so it
        # counts in both); one of each per step of the gradient optimizers (of its batch)
        self.eval_counts = np.zeros(2, dtype=np.int64)
        self.theta = self.initial_theta()
        self.reset_optimizer()
        self.backend = "auto"  # "gemm" | "loops" | "auto" (gemm where numpy's OpenBLAS is found)
        self._alloc()
        self.snapshot()

    def _flat_inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 2 or tuple(X.shape[1:]) not in (self.input_shape, (int(self.layout.sizes[0]),)):
            want = ", ".join(str(v) for v in self.input_shape)
            raise ValueError(f"X must be (n, {want}), got {X.shape}")
        return X.reshape(X.shape[0], -1)

    # -- the network as the kernels read it ---------------------------------------------
    @property
    def acts(self) -> np.ndarray:
        """Activation code of every layer (the last is the output activation)."""
        return self.plan.ints[:, P_ACT]

    @property
    def slopes(self) -> np.ndarray:
        return self.plan.floats[:, 0]

    @property
    def drop(self) -> np.ndarray:
        return self.plan.floats[:, 1]

    def _bufs(self) -> tuple:
        return (self._z, self._a, self._delta, self._mask, self._da, self._col, self._rec)

    def _net(self, rows_aoff: np.ndarray) -> tuple:
        return (self.plan.ints, self.plan.floats, rows_aoff)

    # -- set-up -----------------------------------------------------------------------
    def initial_theta(self) -> np.ndarray:
        net = self.spec.network
        rng = np.random.default_rng([self.spec.seed, 0x1A17])
        return self.plan.initial_theta(net.init, net.bias_init, rng, self.dtype)

    def set_data(self, X: np.ndarray, Y: np.ndarray) -> None:
        """The training set: X (n, *input_shape) (images are stored flat, NCHW per row)."""
        X = self._flat_inputs(X)
        if Y.shape != (X.shape[0], self.layout.sizes[-1]):
            raise ValueError(f"Y must be ({X.shape[0]}, {self.layout.sizes[-1]}), got {Y.shape}")
        if X.shape[0] == 0:
            raise ValueError("the training set is empty")
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.Y = np.ascontiguousarray(Y, dtype=self.dtype)
        self.n = X.shape[0]
        self._train_eval = None  # the methods' loss-only evaluation set (rebuilt from these)

    def _alloc(self) -> None:
        batch = min(self.spec.training.batch_size, self.n)
        rows = max(batch, EVAL_CHUNK)
        width = self.plan.width()
        self.aoff = self.plan.offsets(rows)
        self._z = np.zeros(rows * width, dtype=self.dtype)
        self._a = np.zeros(rows * width, dtype=self.dtype)
        self._delta = np.zeros(rows * width, dtype=self.dtype)
        self._mask = np.ones(rows * width, dtype=self.dtype)
        self._da = np.zeros(rows * self.plan.max_units(), dtype=self.dtype)
        self._col = np.zeros(self.plan.col_size(rows), dtype=self.dtype)
        self._rec = np.zeros(self.plan.state_size(rows), dtype=self.dtype)
        self._grad = np.zeros(self.layout.n_params, dtype=self.dtype)
        self._spare = np.zeros(self.layout.n_params, dtype=self.dtype)
        self._perm = np.arange(self.n, dtype=np.int64)
        self._metrics_scratch = None
        self._hp = None
        self._all_rows = np.arange(self.n, dtype=np.int64)

    def reset_optimizer(self) -> None:
        """Fresh optimizer state (moments, step count), as creating a new torch optimizer."""
        tr = self.spec.training
        self.opt_t = 0
        self.opt_state = np.zeros((3, self.layout.n_params), dtype=self.dtype)
        if tr.optimizer.name == "adagrad":
            self.opt_state[0] = tr.optimizer.resolved()["initial_accumulator_value"]
        # the candidate state of a step, committed only if finite (kernels._optimizer_update_into)
        self._state_spare = np.zeros_like(self.opt_state)
        self.lbfgs = LBFGSState.empty(self.layout.n_params) if tr.optimizer.name == "lbfgs" else None
        # a method beyond first-order gradient descent (engine/methods), or None
        self.method = (
            methods.create(self.spec, self.layout.n_params) if methods.is_method(tr.optimizer.name) else None
        )
        self._train_eval = None

    @property
    def counts(self) -> dict[str, int]:
        """Loss and gradient evaluations so far: {"loss_evals": .., "grad_evals": ..}."""
        return {"loss_evals": int(self.eval_counts[0]), "grad_evals": int(self.eval_counts[1])}

    # -- the last healthy point (recovery after a divergence) -----------------------------
    def snapshot(self) -> None:
        """Remember the current parameters and optimizer state as the point ``restore_snapshot``
        goes back to. Called at history rows whose training loss is finite (the in-kernel
        recording path copies into the same buffers itself)."""
        if not self._snapshot_fits():
            self._snap_theta = np.empty_like(self.theta)
            self._snap_state = np.empty_like(self.opt_state)
            self._snap_meta = np.zeros(2, dtype=np.int64)
        self._snap_theta[...] = self.theta
        self._snap_state[...] = self.opt_state
        self._snap_meta[:] = (self.step, self.opt_t)
        self._snap_optimizer = self.spec.training.optimizer.name
        self._snap_lbfgs = self.lbfgs
        self._snap_method = None if self.method is None else self.method.copy()

    def _snapshot_fits(self) -> bool:
        snap = getattr(self, "_snap_theta", None)
        return (
            snap is not None
            and snap.shape == self.theta.shape
            and snap.dtype == self.theta.dtype
            and self._snap_state.shape == self.opt_state.shape
            and self._snap_state.dtype == self.opt_state.dtype
        )

    @property
    def snapshot_step(self) -> int:
        return int(self._snap_meta[0])

    def restore_snapshot(self) -> int:
        """Parameters and optimizer state back to the last snapshot; the step counter keeps
        counting (the curves go on). Returns the step the snapshot was taken at. If the
        optimizer changed since, its state starts fresh instead."""
        self.theta[...] = self._snap_theta
        if self._snap_optimizer == self.spec.training.optimizer.name:
            self.opt_state[...] = self._snap_state
            self.opt_t = int(self._snap_meta[1])
            self.lbfgs = self._snap_lbfgs
            if self._snap_method is not None:
                self.method = self._snap_method.copy()
        else:
            self.reset_optimizer()
        return self.snapshot_step

    def update_spec(self, spec: ExperimentSpec) -> None:
        """Apply training settings live (learning rate, optimizer, schedule, batch size...).

        The optimizer state is kept when only its hyper-parameters change and reset when the
        optimizer itself changes, as a torch user would by building a new optimizer.
        """
        old = self.spec.training
        new = spec.training
        if methods.is_method(new.optimizer.name):
            methods.check(spec, self.layout.n_params)  # before anything changes
        self.spec = spec
        self._hp = None
        if new.optimizer.name != old.optimizer.name:
            self.reset_optimizer()
        elif self.method is not None and new.optimizer != old.optimizer:
            self._renew_method()
        if new.batch_size != old.batch_size:
            self._alloc()
        self.loss = LOSSES[new.loss].code

    # -- hyper-parameters ---------------------------------------------------------------
    def hp_vector(self) -> np.ndarray:
        if getattr(self, "_hp", None) is None:
            self._hp = self._make_hp_vector()
        return self._hp

    def _make_hp_vector(self) -> np.ndarray:
        tr = self.spec.training
        r = tr.optimizer.resolved()
        hp = np.zeros(C.N_HP)
        hp[C.HP_MOMENTUM] = r.get("momentum", 0.0)
        hp[C.HP_DAMPENING] = r.get("dampening", 0.0)
        hp[C.HP_NESTEROV] = float(r.get("nesterov", False))
        hp[C.HP_WD] = r.get("weight_decay", 0.0)
        b1, b2 = r.get("betas", (0.9, 0.999))
        hp[C.HP_BETA1], hp[C.HP_BETA2] = b1, b2
        hp[C.HP_EPS] = r.get("eps", 1e-8)
        hp[C.HP_ALPHA] = r.get("alpha", 0.99)
        hp[C.HP_CENTERED] = float(r.get("centered", False))
        hp[C.HP_LR_DECAY] = r.get("lr_decay", 0.0)
        hp[C.HP_AMSGRAD] = float(r.get("amsgrad", False))
        hp[C.HP_CLIP] = tr.clip_norm or 0.0
        hp[C.HP_REG_KIND] = {"none": C.REG_NONE, "l1": C.REG_L1, "l2": C.REG_L2}[tr.regularization.kind]
        hp[C.HP_REG_RATE] = tr.regularization.rate
        hp[C.HP_HUBER] = tr.huber_delta
        return hp

    @property
    def batch_size(self) -> int:
        return min(self.spec.training.batch_size, self.n)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n // self.batch_size)

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    def learning_rates(self, step0: int, n: int) -> np.ndarray:
        tr = self.spec.training
        if tr.schedule.kind == "constant" and tr.schedule.warmup == 0:
            return np.full(n, tr.optimizer.lr)
        steps = np.arange(step0, step0 + n, dtype=np.int64)
        return np.ascontiguousarray(
            lr_at(tr.schedule, tr.optimizer.lr, steps, self.steps_per_epoch), dtype=np.float64
        ).reshape(n)

    # -- training -----------------------------------------------------------------------
    def resolved_backend(self) -> str:
        """gemm: the blocks call numpy's OpenBLAS from inside numba (fastest at every size
        measured, W1's 2-8-8-1 included); loops: explicit numba loops, where no such BLAS is
        found (e.g. numpy on Apple Accelerate) or when asked for."""
        if self.backend != "auto":
            return self.backend
        return "gemm" if gemm_for(self.dtype) is not None else "loops"

    @property
    def engine_key(self) -> str:
        """What this network's kernels are tracked as (``readiness.engine_key``): its
        precision, with ``-blocks`` when it has other blocks than dense ones."""
        return readiness.engine_key(self.dtype, self._nondense is not None)

    def on_twins(self) -> bool:
        """Whether calls now run on the numpy twins (``twin.py``) because the compiled kernels
        for this network are not ready yet (``readiness.py``); checked at every call, so a
        run switches to the kernels at a step boundary."""
        return not readiness.kernels_ready(self.engine_key)

    def _gemm(self):
        return gemm_for(self.dtype) if self.resolved_backend() == "gemm" else None

    def run(self, n_steps: int) -> RunReport:
        """Do up to n_steps optimizer steps; stops early (and says so) on divergence."""
        if self.method is not None:
            return self._run_method(n_steps)  # its evaluations go through the twins when needed
        if self.spec.training.optimizer.name == "lbfgs":
            return self._run_lbfgs(n_steps)
        step0 = self.step
        if self.on_twins():
            from playground.engine import twin

            report = twin.run(self, n_steps)
        else:
            report = self._run_kernel(K.train_steps, n_steps)
        self.eval_counts += self.step - step0 + (report.status != C.OK)
        return report

    def can_record_in_kernel(self) -> bool:
        if self.on_twins():
            return False
        return self.spec.training.optimizer.name != "lbfgs" and self.method is None

    def run_recorded(self, n_steps: int, record_every: int, train: EvalSet, test: EvalSet, threshold: float):
        """Like ``run``, evaluating a history row inside the kernel at every multiple of
        ``record_every``; returns (RunReport, rows) with rows laid out as ``codes.Record``."""
        if self._metrics_scratch is None:
            self._metrics_scratch = self._scratch()
        ez, ea, erec, eaoff = self._metrics_scratch
        rows = np.full((n_steps // record_every + 1, C.Record.width(self.layout.n_layers)), np.nan)
        self._check_snapshot_buffers()
        evals = (
            self._eval_tuple(train), self._eval_tuple(test), self._net(eaoff), (ez, ea, erec),
            train.classify, threshold, EVAL_CHUNK,
        )  # fmt: skip
        tail = (record_every, evals, (self._snap_theta, self._snap_state, self._snap_meta), rows)
        snap_step = self.snapshot_step
        report, (nrow,) = self._run_kernel(K.train_record, n_steps, tail)
        self.eval_counts += report.steps_done + (report.status != C.OK)
        if self.snapshot_step != snap_step:
            self._snap_optimizer = self.spec.training.optimizer.name
            self._snap_lbfgs = None
        return report, rows[:nrow]

    @staticmethod
    def _eval_tuple(es: EvalSet) -> tuple:
        return (es.X, es.Y, es.labels, es.out, es.out_z, es.delta)

    def _check_snapshot_buffers(self) -> None:
        if not self._snapshot_fits():
            self.snapshot()

    def _run_kernel(self, kernel, n_steps: int, tail: tuple = ()):
        """Call a multi-step training kernel (``tail``: its further arguments) and do the
        bookkeeping. Returns the RunReport, with the kernel's further results when it has a
        ``tail``."""
        tr = self.spec.training
        lrs = self.learning_rates(self.step, n_steps)
        losses = np.zeros(n_steps, dtype=np.float64)
        layer_sq = np.zeros((self.layout.n_layers, 2), dtype=np.float64)
        cfg = (self.loss, OPT_CODES[tr.optimizer.name], self.batch_size, self.step, self.opt_t)
        done, status, *more = kernel(
            self._gemm(),
            self._nondense,
            (self.theta, self._spare, self._grad),
            (self.opt_state, self._state_spare),
            (self.X.ravel(), self.Y.ravel(), self._perm),
            self._net(self.aoff),
            self._bufs(),
            cfg,
            self.hp_vector(),
            lrs,
            (self.shuffle_key, self.drop_key),
            (losses, layer_sq),
            *tail,
        )
        self.step += done
        self.opt_t += done
        n_losses = done + (1 if status != C.OK else 0)
        report = RunReport(done, status, losses[:n_losses], layer_sq)
        return (report, more) if tail else report

    def loss_and_grad(self, theta: np.ndarray | None = None, X=None, Y=None, train: bool = False):
        """Mean data loss and its gradient (flat) at any parameters: the landscape/inspector API."""
        if self.on_twins():
            from playground.engine import twin

            return twin.loss_and_grad(self, theta, X, Y, train)
        theta = self.theta if theta is None else np.ascontiguousarray(theta, dtype=self.dtype)
        X = self.X if X is None else np.ascontiguousarray(self._flat_inputs(X), dtype=self.dtype)
        Y = self.Y if Y is None else np.ascontiguousarray(Y, dtype=self.dtype)
        grad = np.zeros(self.layout.n_params, dtype=self.dtype)
        rows = np.arange(X.shape[0], dtype=np.int64)
        chunk = self._a.shape[0] // self.plan.width()
        lv = K.loss_and_grad_kernel(
            self._gemm(), self._nondense, theta, grad, X.ravel(), Y.ravel(), rows, self._net(self.aoff),
            self._bufs(), self.loss, self.spec.training.huber_delta, chunk, train, self.drop_key, self.step,
        )  # fmt: skip
        return float(lv), grad

    def _penalty(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        reg = self.spec.training.regularization
        g = np.zeros_like(theta)
        if reg.kind == "none" or reg.rate == 0:
            return 0.0, g
        total = 0.0
        for w0, b0 in zip(self.layout.woff, self.layout.boff, strict=True):
            w = theta[w0:b0]
            if reg.kind == "l2":
                total += 0.5 * reg.rate * float(w @ w)
                g[w0:b0] = reg.rate * w
            else:
                total += reg.rate * float(np.abs(w).sum())
                g[w0:b0] = reg.rate * np.sign(w)
        return total, g

    def _run_lbfgs(self, n_steps: int) -> RunReport:
        r = self.spec.training.optimizer.resolved()
        losses, status, done = [], C.OK, 0
        layer_sq = np.zeros((self.layout.n_layers, 2))

        def fun(theta):
            lv, g = self.loss_and_grad(theta, train=True)
            pen, pg = self._penalty(theta)
            return lv + pen, (g + pg).astype(np.float64)

        for _ in range(n_steps):
            lv, g = self.loss_and_grad(train=True)
            losses.append(lv)
            if not np.isfinite(lv):
                status = C.DIVERGED_LOSS
                break
            for l, (w0, b0, b1) in enumerate(self.plan.ints[:, [P_WOFF, P_BOFF, P_END]]):
                layer_sq[l] = (float(g[w0:b0] @ g[w0:b0]), float(g[b0:b1] @ g[b0:b1]))
            if not np.isfinite(layer_sq).all():
                status = C.DIVERGED_GRAD
                break
            theta = self.theta.astype(np.float64)
            lr = float(self.learning_rates(self.step, 1)[0])
            _, new_state = lbfgs_step(theta, fun, self.lbfgs, **{**lbfgs_kwargs(r), "lr": lr})
            self.eval_counts += new_state.last_func_evals  # each is a loss and its gradient
            with np.errstate(over="ignore", invalid="ignore"):
                stored = theta.astype(self.dtype)  # finite in float64 may be inf in float32
            if not np.isfinite(stored).all():
                status = C.DIVERGED_PARAMS  # neither the parameters nor the state change
                break
            self.lbfgs = new_state
            self.theta[...] = stored
            self.step += 1
            self.opt_t += 1
            done += 1
        return RunReport(done, status, np.asarray(losses), layer_sq)

    # -- methods beyond first-order gradient descent (engine/methods) ----------------------
    def _renew_method(self) -> None:
        """New hyper-parameters of the same method: its state carries over where it fits."""
        new = methods.create(self.spec, self.layout.n_params)
        try:
            new.load_state_arrays(self.method.state_arrays())
        except ValueError:  # e.g. another population size: the method starts afresh
            pass
        self.method = new

    def _objective(self) -> methods.Objective:
        """The full-batch training loss without dropout, plus the penalty, with counts."""

        def loss_and_grad(x):
            lv, g = self.loss_and_grad(x)
            pen, pg = self._penalty(x)
            return lv + pen, g.astype(np.float64) + pg

        def loss(x):
            return self._loss_only(x) + self._penalty(x)[0]

        extra = {}
        if self.spec.training.optimizer.name == "levenberg_marquardt":
            extra = self._residual_functions()
        return methods.Objective(loss_and_grad, loss, self.eval_counts, extra)

    def _loss_only(self, x: np.ndarray) -> float:
        """Mean training loss at x without its gradient (the metrics kernel, no dropout)."""
        if self._train_eval is None:
            self._train_eval = self.eval_buffers(self.X, self.Y, None)
        theta, self.theta = self.theta, np.ascontiguousarray(x, dtype=self.dtype)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return self.metrics(self._train_eval, 0.5)[0]
        finally:
            self.theta = theta

    def _residual_functions(self) -> dict:
        """Levenberg-Marquardt's residuals r (y - t, then sqrt(N rate / 2) w with L2) and
        their exact Jacobian from one-row gradients (``levenberg_marquardt.py``)."""
        n, m = self.Y.shape
        N = n * m
        reg = self.spec.training.regularization
        scale = np.sqrt(N * reg.rate / 2) if reg.kind == "l2" and reg.rate > 0 else 0.0
        w_idx = np.concatenate(
            [np.arange(w0, b0) for w0, b0 in zip(self.layout.woff, self.layout.boff, strict=True)]
        )
        w_idx = w_idx if scale else w_idx[:0]

        def residuals(x):
            self.eval_counts[0] += 1
            with np.errstate(over="ignore", invalid="ignore"):
                out = self.predict(self.X, theta=x).astype(np.float64)
            r = (out - self.Y).ravel()
            return np.concatenate([r, scale * x[w_idx]]) if scale else r

        def jacobian(x):
            self.eval_counts += m + 1  # n (m + 1) one-row gradients: the work of m + 1 full ones
            J = np.zeros((N + w_idx.size, x.size))
            for i in range(n):
                Xi, Yi = self.X[i : i + 1], self.Y[i : i + 1]
                g0 = self.loss_and_grad(x, Xi, Yi)[1].astype(np.float64)
                for k in range(m):
                    Yk = Yi.copy()
                    Yk[0, k] += 1
                    gk = self.loss_and_grad(x, Xi, Yk)[1].astype(np.float64)
                    J[i * m + k] = (m / 2) * (g0 - gk)
            if scale:
                J[N + np.arange(w_idx.size), w_idx] = scale
            return J

        return {"residuals": residuals, "jacobian": jacobian, "n_residuals": N}

    def _run_method(self, n_steps: int) -> RunReport:
        """``n_steps`` steps of ``self.method``: its state is committed only with finite
        parameters (like the kernels' updates), the loss reported is the loss at entry."""
        f = self._objective()
        losses, status, done = [], C.OK, 0
        layer_sq = np.full((self.layout.n_layers, 2), np.nan)
        for _ in range(n_steps):
            before = self.method.copy()
            with np.errstate(over="ignore", invalid="ignore"):
                lv, g, new = self.method.step(self.theta, f, self.step)
            losses.append(lv)
            if not np.isfinite(lv):
                status = C.DIVERGED_LOSS
            elif g is not None:
                for l, (w0, b0, b1) in enumerate(self.plan.ints[:, [P_WOFF, P_BOFF, P_END]]):
                    layer_sq[l] = (float(g[w0:b0] @ g[w0:b0]), float(g[b0:b1] @ g[b0:b1]))
                if not np.isfinite(layer_sq).all():
                    status = C.DIVERGED_GRAD
            if status == C.OK:
                with np.errstate(over="ignore", invalid="ignore"):
                    stored = new.astype(self.dtype)
                if not np.isfinite(stored).all():
                    status = C.DIVERGED_PARAMS
            if status != C.OK:
                self.method = before
                break
            self.theta[...] = stored
            self.step += 1
            self.opt_t += 1
            done += 1
        return RunReport(done, status, np.asarray(losses, dtype=np.float64), layer_sq)

    # -- evaluation -----------------------------------------------------------------------
    def _scratch(self):
        """Fresh evaluation buffers (z, a, recurrent state, offsets): prediction may run in
        another thread than training."""
        z = np.empty(EVAL_CHUNK * self.plan.width(), dtype=self.dtype)
        rec = np.empty(self.plan.state_size(EVAL_CHUNK), dtype=self.dtype)
        return z, np.empty_like(z), rec, self.plan.offsets(EVAL_CHUNK)

    def predict(self, X: np.ndarray, hidden: bool = False, theta: np.ndarray | None = None):
        """Outputs (n, n_out); with hidden=True also every neuron's activation (n, sum(units))."""
        if self.on_twins():
            from playground.engine import twin

            return twin.predict(self, X, hidden, theta)
        theta = self.theta.copy() if theta is None else np.ascontiguousarray(theta, dtype=self.dtype)
        X = np.ascontiguousarray(self._flat_inputs(X), dtype=self.dtype)
        n = X.shape[0]
        out = np.empty((n, int(self.layout.sizes[-1])), dtype=self.dtype)
        width = int(self.layout.sizes[1:].sum())
        hid = np.empty((n if hidden else 0, width), dtype=self.dtype)
        pool = _predict_pool() if n >= PARALLEL_PREDICT_MIN else None
        if pool is None:
            self._predict_rows(theta, X, out, hid)
        else:
            half = (n // 2 // EVAL_CHUNK) * EVAL_CHUNK or n // 2
            parts = [(X[:half], out[:half], hid[:half] if hidden else hid)]
            parts.append((X[half:], out[half:], hid[half:] if hidden else hid))
            for f in [pool.submit(self._predict_rows, theta, *p) for p in parts]:
                f.result()
        return (out, hid) if hidden else out

    def _predict_rows(self, theta, X, out, hid) -> None:
        z, a, rec, aoff = self._scratch()
        K.predict_kernel(self._nondense, theta, X, out, self._net(aoff), (z, a, rec), EVAL_CHUNK, hid)

    def eval_buffers(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None) -> EvalSet:
        """Everything ``metrics`` needs for one data set, prepared once."""
        n, m = X.shape[0], int(self.layout.sizes[-1])
        return EvalSet(
            X=np.ascontiguousarray(self._flat_inputs(X), dtype=self.dtype),
            Y=np.ascontiguousarray(Y, dtype=self.dtype).ravel(),
            labels=np.ascontiguousarray(labels if labels is not None else np.zeros(n), dtype=np.int64),
            classify=labels is not None,
            out=np.empty((n, m), dtype=self.dtype),
            out_z=np.empty((n, m), dtype=self.dtype),
            delta=np.empty(n * m, dtype=self.dtype),
        )

    def metrics(self, es: EvalSet, threshold: float) -> tuple[float, float]:
        """(mean loss, accuracy or sum of squared errors) over a prepared set; one nogil call.

        Called by the thread that trains (its scratch buffers are not shared)."""
        if es.X.shape[0] == 0:
            return float("nan"), float("nan")
        if self.on_twins():
            from playground.engine import twin

            return twin.metrics(self, es, threshold)
        if self._metrics_scratch is None:
            self._metrics_scratch = self._scratch()
        z, a, rec, aoff = self._metrics_scratch
        res = np.empty(2)
        K.metrics_kernel(
            self._nondense, self.theta, self._eval_tuple(es), es.classify, threshold, self._net(aoff),
            (z, a, rec), self.loss, self.spec.training.huber_delta, EVAL_CHUNK, res,
        )  # fmt: skip
        return float(res[0]), float(res[1])

    def weight_norms(self) -> np.ndarray:
        if self.on_twins():
            # the kernel's definition: every block's weight span (a recurrent block's weight_ih
            # and weight_hh), not its biases
            spans = (self.theta[int(r[P_WOFF]) : int(r[P_BOFF])] for r in self.plan.ints)
            return np.sqrt([float(w @ w) for w in spans])
        sq = np.empty(self.layout.n_layers)
        K.weight_sq_kernel(self.theta, self.plan.ints, sq)
        return np.sqrt(sq)

    # -- state (sessions) -----------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        d = {
            "theta": self.theta.copy(),
            "opt_state": self.opt_state.copy(),
            "counters": np.array([self.step, self.opt_t], dtype=np.int64),
        }
        if self.lbfgs is not None:
            d.update({f"lbfgs_{k}": v for k, v in self.lbfgs.to_arrays().items()})
        if self.method is not None:
            d.update({f"method_{k}": v for k, v in self.method.state_arrays().items()})
        d["counts"] = self.eval_counts.copy()
        return d

    def load_state_arrays(self, d: dict[str, np.ndarray]) -> None:
        theta = np.asarray(d["theta"])
        if theta.shape != (self.layout.n_params,):
            raise ValueError(f"theta has shape {theta.shape}, the network needs ({self.layout.n_params},)")
        opt_state = np.asarray(d["opt_state"])
        if opt_state.shape != self.opt_state.shape:
            raise ValueError(f"opt_state has shape {opt_state.shape}, expected {self.opt_state.shape}")
        self.theta = np.ascontiguousarray(theta, dtype=self.dtype)
        self.opt_state = np.ascontiguousarray(opt_state, dtype=self.dtype)
        self._state_spare = np.zeros_like(self.opt_state)
        self.step, self.opt_t = (int(v) for v in np.asarray(d["counters"]))
        if self.spec.training.optimizer.name == "lbfgs":
            sub = {k[len("lbfgs_") :]: v for k, v in d.items() if k.startswith("lbfgs_")}
            self.lbfgs = LBFGSState.from_arrays(sub) if sub else LBFGSState.empty(self.layout.n_params)
        if self.method is not None:
            sub = {k[len("method_") :]: v for k, v in d.items() if k.startswith("method_")}
            self.method = methods.create(self.spec, self.layout.n_params)
            if sub:
                self.method.load_state_arrays(sub)
        if "counts" in d:
            counts = np.asarray(d["counts"], dtype=np.int64).reshape(-1)
            if counts.shape != (2,) or (counts < 0).any():
                raise ValueError(f"counts must be two non-negative integers, got {counts}")
            self.eval_counts = counts.copy()
        else:  # a session from before the counts: one evaluation per step (L-BFGS: its own)
            self.eval_counts = np.full(
                2, self.lbfgs.func_evals if self.lbfgs is not None else self.step, dtype=np.int64
            )
        self.snapshot()
