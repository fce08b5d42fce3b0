"""Trainer: the checked wrapper around the kernels.

It owns the flat parameter vector, the optimizer state and the step counters; ``run(n)``
does n optimizer steps in as few kernel calls as possible. No Qt, no globals: several
trainers can live side by side (race mode) or in worker processes (sweeps).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np

from playground.engine import kernels as K
from playground.engine.activations import ACTIVATIONS
from playground.engine.blas import gemm_for
from playground.engine.initializers import init_params
from playground.engine.lbfgs import LBFGSState, lbfgs_kwargs, lbfgs_step
from playground.engine.losses import LOSSES
from playground.engine.rng import DROPOUT_TAG, SHUFFLE_TAG, derive_key
from playground.engine.schedules import lr_at
from playground.spec import ExperimentSpec

OPT_CODES = {
    "sgd": K.OPT_SGD,
    "momentum": K.OPT_SGD,
    "nesterov": K.OPT_SGD,
    "adagrad": K.OPT_ADAGRAD,
    "rmsprop": K.OPT_RMSPROP,
    "adam": K.OPT_ADAM,
    "adamw": K.OPT_ADAMW,
}
STATUS_TEXT = {
    K.DIVERGED_LOSS: "the loss became infinite or NaN",
    K.DIVERGED_GRAD: "the gradient became infinite or NaN",
    K.DIVERGED_PARAMS: "a weight or the optimizer state would have become infinite or NaN",
}
EVAL_CHUNK = 512
# Without numpy's OpenBLAS to call from numba, layers whose batch x fan_in x fan_out product
# reaches this go through numpy matmul; below it the numba loops win (W1-sized nets).
BLAS_MIN_MACS = 400_000


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
    status: int  # kernels.OK or a DIVERGED_* code
    batch_losses: np.ndarray  # one per step done (plus the failing one on divergence)
    layer_grad_sq: np.ndarray  # (n_layers, 2): |dW|^2, |db|^2 of the last step's gradient


class Layout:
    """Where each layer's W and b sit in the flat parameter vector."""

    def __init__(self, sizes: list[int]):
        self.sizes = np.asarray(sizes, dtype=np.int64)
        woff, boff, off = [], [], 0
        for fin, fout in zip(sizes[:-1], sizes[1:], strict=True):
            woff.append(off)
            off += fin * fout
            boff.append(off)
            off += fout
        self.woff = np.asarray(woff, dtype=np.int64)
        self.boff = np.asarray(boff, dtype=np.int64)
        self.n_params = off
        self._starts = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)[:-1]

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def views(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W, b)] views into theta, W shaped (fan_in, fan_out)."""
        out = []
        for l in range(self.n_layers):
            fin, fout = int(self.sizes[l]), int(self.sizes[l + 1])
            w0, b0 = int(self.woff[l]), int(self.boff[l])
            out.append((theta[w0:b0].reshape(fin, fout), theta[b0 : b0 + fout]))
        return out

    def flatten(self, params, dtype) -> np.ndarray:
        theta = np.empty(self.n_params, dtype=dtype)
        for (W, b), (tw, tb) in zip(params, self.views(theta), strict=True):
            W = np.asarray(W, dtype=np.float64)
            b = np.asarray(b, dtype=np.float64).ravel()
            if W.shape != tw.shape or b.shape != tb.shape:
                raise ValueError(f"parameter shapes {W.shape}, {b.shape} do not match {tw.shape}, {tb.shape}")
            tw[...] = W
            tb[...] = b
        return theta

    def activation_offsets(self, rows: int) -> np.ndarray:
        return self._starts * rows


class Trainer:
    """Trains one network on one training set, step by step, exactly reproducibly."""

    def __init__(self, spec: ExperimentSpec, n_in: int, n_out: int, X: np.ndarray, Y: np.ndarray):
        net, tr = spec.network, spec.training
        self.spec = spec
        self.dtype = np.dtype(tr.dtype)
        self.layout = Layout([n_in] + [h.units for h in net.hidden] + [n_out])
        codes = [ACTIVATIONS[h.activation].code for h in net.hidden] + [
            ACTIVATIONS[net.output_activation].code
        ]
        self.acts = np.asarray(codes, dtype=np.int64)
        self.slopes = np.asarray([h.negative_slope for h in net.hidden] + [0.0])
        self.drop = np.asarray([h.dropout for h in net.hidden] + [0.0])
        self.loss = LOSSES[tr.loss].code
        self.set_data(X, Y)
        # np.uint64, never a Python int: numba types the first value it sees, and half of all
        # keys do not fit the int64 a Python int below 2**63 would give
        self.shuffle_key = np.uint64(derive_key(spec.seed, SHUFFLE_TAG))
        self.drop_key = np.uint64(derive_key(spec.seed, DROPOUT_TAG))
        self.step = 0
        self.theta = self.initial_theta()
        self.reset_optimizer()
        self.backend = "auto"  # "fused" | "gemm" | "blas" | "auto" (by layer size)
        self._alloc()
        self.snapshot()

    # -- set-up -----------------------------------------------------------------------
    def initial_theta(self) -> np.ndarray:
        net = self.spec.network
        rng = np.random.default_rng([self.spec.seed, 0x1A17])
        params = init_params([int(s) for s in self.layout.sizes], net.init, net.bias_init, rng)
        return self.layout.flatten(params, self.dtype)

    def set_data(self, X: np.ndarray, Y: np.ndarray) -> None:
        if X.ndim != 2 or X.shape[1] != self.layout.sizes[0]:
            raise ValueError(f"X must be (n, {self.layout.sizes[0]}), got {X.shape}")
        if Y.shape != (X.shape[0], self.layout.sizes[-1]):
            raise ValueError(f"Y must be ({X.shape[0]}, {self.layout.sizes[-1]}), got {Y.shape}")
        if X.shape[0] == 0:
            raise ValueError("the training set is empty")
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.Y = np.ascontiguousarray(Y, dtype=self.dtype)
        self.n = X.shape[0]

    def _alloc(self) -> None:
        batch = min(self.spec.training.batch_size, self.n)
        rows = max(batch, EVAL_CHUNK)
        width = int(self.layout.sizes.sum())
        self.aoff = self.layout.activation_offsets(rows)
        self._z = np.zeros(rows * width, dtype=self.dtype)
        self._a = np.zeros(rows * width, dtype=self.dtype)
        self._delta = np.zeros(rows * width, dtype=self.dtype)
        self._mask = np.ones(rows * width, dtype=self.dtype)
        self._grad = np.zeros(self.layout.n_params, dtype=self.dtype)
        self._spare = np.zeros(self.layout.n_params, dtype=self.dtype)
        self._perm = np.arange(self.n, dtype=np.int64)
        self._da = None  # gemm path scratch, made on first use
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
        else:
            self.reset_optimizer()
        return self.snapshot_step

    def update_spec(self, spec: ExperimentSpec) -> None:
        """Apply training settings live (learning rate, optimizer, schedule, batch size...).

        The optimizer state is kept when only its hyper-parameters change and reset when the
        optimizer itself changes, as a torch user would by building a new optimizer.
        """
        old = self.spec.training
        self.spec = spec
        self._hp = None
        new = spec.training
        if new.optimizer.name != old.optimizer.name:
            self.reset_optimizer()
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
        hp = np.zeros(K.N_HP)
        hp[K.HP_MOMENTUM] = r.get("momentum", 0.0)
        hp[K.HP_DAMPENING] = r.get("dampening", 0.0)
        hp[K.HP_NESTEROV] = float(r.get("nesterov", False))
        hp[K.HP_WD] = r.get("weight_decay", 0.0)
        b1, b2 = r.get("betas", (0.9, 0.999))
        hp[K.HP_BETA1], hp[K.HP_BETA2] = b1, b2
        hp[K.HP_EPS] = r.get("eps", 1e-8)
        hp[K.HP_ALPHA] = r.get("alpha", 0.99)
        hp[K.HP_CENTERED] = float(r.get("centered", False))
        hp[K.HP_LR_DECAY] = r.get("lr_decay", 0.0)
        hp[K.HP_AMSGRAD] = float(r.get("amsgrad", False))
        hp[K.HP_CLIP] = tr.clip_norm or 0.0
        hp[K.HP_REG_KIND] = {"none": 0, "l1": 1, "l2": 2}[tr.regularization.kind]
        hp[K.HP_REG_RATE] = tr.regularization.rate
        hp[K.HP_HUBER] = tr.huber_delta
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
        """fused: numba loops (small nets); gemm: numba + OpenBLAS calls; blas: numpy matmul
        driven from Python (where numpy's OpenBLAS cannot be called directly)."""
        if self.backend != "auto":
            return self.backend
        if gemm_for(self.dtype) is not None:
            return "gemm"  # fastest at every size measured, W1's 2-8-8-1 included
        sizes = self.layout.sizes
        macs = max(int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:])) * self.batch_size
        return "blas" if macs >= BLAS_MIN_MACS else "fused"

    def uses_blas(self) -> bool:
        return self.resolved_backend() != "fused"

    def run(self, n_steps: int) -> RunReport:
        """Do up to n_steps optimizer steps; stops early (and says so) on divergence."""
        if self.spec.training.optimizer.name == "lbfgs":
            return self._run_lbfgs(n_steps)
        backend = self.resolved_backend()
        if backend == "blas":
            return self._run_blas(n_steps)
        if backend == "gemm":
            return self._run_kernel(K.train_kernel_gemm, *self._gemm_args(), n_steps)
        return self._run_kernel(K.train_kernel, (), (), n_steps)

    def can_record_in_kernel(self) -> bool:
        return self.spec.training.optimizer.name != "lbfgs" and self.resolved_backend() == "gemm"

    def run_recorded(self, n_steps: int, record_every: int, train: EvalSet, test: EvalSet, threshold: float):
        """Like ``run`` (gemm backend), evaluating a history row inside the kernel at every
        multiple of ``record_every``; returns (RunReport, rows) with rows as documented in
        ``kernels.train_record_gemm``."""
        if self._metrics_scratch is None:
            self._metrics_scratch = self._scratch()
        ez, ea, _, eaoff = self._metrics_scratch
        rows = np.full((n_steps // record_every + 1, 5 + 3 * self.layout.n_layers), np.nan)
        tail = (
            record_every, train.X, train.Y, train.labels, train.out, train.out_z, train.delta,
            test.X, test.Y, test.labels, test.out, test.out_z, test.delta,
            train.classify, threshold, ez, ea, eaoff, EVAL_CHUNK, rows,
            self._snap_theta, self._snap_state, self._snap_meta,
        )  # fmt: skip
        self._check_snapshot_buffers()
        snap_step = self.snapshot_step
        report, (nrow,) = self._run_kernel(K.train_record_gemm, *self._gemm_args(), n_steps, tail)
        if self.snapshot_step != snap_step:
            self._snap_optimizer = self.spec.training.optimizer.name
            self._snap_lbfgs = None
        return report, rows[:nrow]

    def _check_snapshot_buffers(self) -> None:
        if not self._snapshot_fits():
            self.snapshot()

    def _gemm_args(self) -> tuple[tuple, tuple]:
        """The gemm kernels' extra (head, scratch) arguments."""
        if self._da is None:
            self._da = np.zeros(self.batch_size * int(self.layout.sizes.max()), dtype=self.dtype)
        return (gemm_for(self.dtype),), (self._da,)

    def _run_kernel(self, kernel, head: tuple, scratch: tuple, n_steps: int, tail: tuple = ()):
        """Call a multi-step training kernel (``head``, ``scratch`` and ``tail`` are its extra
        arguments before the parameters, after the activation buffers and at the end) and do
        the bookkeeping. Returns the RunReport, with the kernel's further results when it has a
        ``tail``."""
        tr = self.spec.training
        lrs = self.learning_rates(self.step, n_steps)
        losses = np.zeros(n_steps, dtype=np.float64)
        layer_sq = np.zeros((self.layout.n_layers, 2), dtype=np.float64)
        lay = self.layout
        done, status, *more = kernel(
            *head, self.theta, self._spare, self._grad, self.opt_state, self._state_spare,
            self.X.ravel(), self.Y.ravel(),
            self._perm, lay.sizes, self.acts, self.slopes, self.drop, lay.woff, lay.boff, self.aoff,
            self._z, self._a, self._delta, self._mask, *scratch, self.loss, tr.huber_delta,
            OPT_CODES[tr.optimizer.name], self.hp_vector(), lrs, self.step, self.opt_t, self.batch_size,
            self.shuffle_key, self.drop_key, losses, layer_sq, *tail,
        )  # fmt: skip
        self.step += done
        self.opt_t += done
        n_losses = done + (1 if status != K.OK else 0)
        report = RunReport(done, status, losses[:n_losses], layer_sq)
        return (report, more) if tail else report

    def _run_blas(self, n_steps: int) -> RunReport:
        """The same steps as ``kernels.train_kernel``, with the matrix products in BLAS."""
        tr = self.spec.training
        lay = self.layout
        sizes = [int(v) for v in lay.sizes]
        L = lay.n_layers
        B = self.batch_size
        dt = self.dtype
        acts = [np.empty((B, s), dtype=dt) for s in sizes]
        zs = [np.empty((B, s), dtype=dt) for s in sizes[1:]]
        deltas = [np.empty((B, s), dtype=dt) for s in sizes[1:]]
        masks = [np.ones((B, s), dtype=dt) for s in sizes[1:]]
        das = [np.empty((B, s), dtype=dt) for s in sizes]  # contiguous, or matmul leaves BLAS
        W = [w for w, _ in lay.views(self.theta)]
        bias = [b for _, b in lay.views(self.theta)]
        gW = [w for w, _ in lay.views(self._grad)]
        gb = [b for _, b in lay.views(self._grad)]
        X2 = self.X
        Yflat = self.Y.ravel()
        lrs = self.learning_rates(self.step, n_steps)
        hp = self.hp_vector()
        opt = OPT_CODES[tr.optimizer.name]
        losses = np.zeros(n_steps)
        layer_sq = np.zeros((L, 2))
        spe = self.steps_per_epoch
        cur_epoch = -1
        status, done = K.OK, 0
        m = sizes[-1]
        for s in range(n_steps):
            step = self.step + s
            epoch, k = divmod(step, spe)
            if B < self.n and epoch != cur_epoch:
                K.epoch_permutation(self.shuffle_key, epoch, self._perm)
                cur_epoch = epoch
            rows = self._perm[k * B : min((k + 1) * B, self.n)]
            nb = len(rows)
            np.take(X2, rows, axis=0, out=acts[0][:nb])
            for l in range(L):
                z = zs[l][:nb]
                np.matmul(acts[l][:nb], W[l], out=z)
                K.bias_act_kernel(
                    self.acts[l],
                    self.slopes[l],
                    bias[l],
                    z.ravel(),
                    acts[l + 1][:nb].ravel(),
                    nb,
                    sizes[l + 1],
                )
                if l < L - 1 and self.drop[l] > 0:
                    K.dropout_kernel(
                        acts[l + 1][:nb].ravel(),
                        masks[l][:nb].ravel(),
                        nb,
                        sizes[l + 1],
                        self.drop[l],
                        l,
                        self.drop_key,
                        step,
                    )
            lv = K.loss_delta_kernel(
                self.loss,
                self.acts[L - 1],
                zs[L - 1][:nb].ravel(),
                acts[L][:nb].ravel(),
                Yflat,
                rows,
                deltas[L - 1][:nb].ravel(),
                nb,
                m,
                tr.huber_delta,
            )
            losses[s] = lv
            if not np.isfinite(lv):
                status = K.DIVERGED_LOSS
                break
            for l in range(L - 1, -1, -1):
                d = deltas[l][:nb]
                np.matmul(acts[l][:nb].T, d, out=gW[l])
                np.sum(d, axis=0, out=gb[l])
                if l > 0:
                    fin = sizes[l]
                    dA = das[l][:nb]
                    np.matmul(d, W[l].T, out=dA)
                    K.act_backward_kernel(
                        self.acts[l - 1],
                        self.slopes[l - 1],
                        zs[l - 1][:nb].ravel(),
                        acts[l][:nb].ravel(),
                        masks[l - 1][:nb].ravel(),
                        self.drop[l - 1] > 0,
                        dA.ravel(),
                        deltas[l - 1][:nb].ravel(),
                        nb,
                        fin,
                    )
            status = K.finish_step_kernel(
                self.theta,
                self._spare,
                self._grad,
                self.opt_state,
                self._state_spare,
                lay.sizes,
                lay.woff,
                lay.boff,
                hp,
                opt,
                self.opt_t + s,
                lrs[s],
                layer_sq,
            )
            if status != K.OK:
                break
            done += 1
        self.step += done
        self.opt_t += done
        n_losses = done + (1 if status != K.OK else 0)
        return RunReport(done, status, losses[:n_losses], layer_sq)

    def loss_and_grad(self, theta: np.ndarray | None = None, X=None, Y=None, train: bool = False):
        """Mean data loss and its gradient (flat) at any parameters: the landscape/inspector API."""
        theta = self.theta if theta is None else np.ascontiguousarray(theta, dtype=self.dtype)
        X = self.X if X is None else np.ascontiguousarray(X, dtype=self.dtype)
        Y = self.Y if Y is None else np.ascontiguousarray(Y, dtype=self.dtype)
        grad = np.zeros(self.layout.n_params, dtype=self.dtype)
        rows = np.arange(X.shape[0], dtype=np.int64)
        chunk = self._a.shape[0] // int(self.layout.sizes.sum())
        lv = K.loss_and_grad_kernel(
            theta,
            grad,
            X.ravel(),
            Y.ravel(),
            rows,
            self.layout.sizes,
            self.acts,
            self.slopes,
            self.drop,
            self.layout.woff,
            self.layout.boff,
            self.aoff,
            self._z,
            self._a,
            self._delta,
            self._mask,
            self.loss,
            self.spec.training.huber_delta,
            chunk,
            train,
            self.drop_key,
            self.step,
        )
        return float(lv), grad

    def _penalty(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        reg = self.spec.training.regularization
        g = np.zeros_like(theta)
        if reg.kind == "none" or reg.rate == 0:
            return 0.0, g
        total = 0.0
        for l in range(self.layout.n_layers):
            w0, b0 = int(self.layout.woff[l]), int(self.layout.boff[l])
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
        losses, status, done = [], K.OK, 0
        layer_sq = np.zeros((self.layout.n_layers, 2))

        def fun(theta):
            lv, g = self.loss_and_grad(theta, train=True)
            pen, pg = self._penalty(theta)
            return lv + pen, (g + pg).astype(np.float64)

        for _ in range(n_steps):
            lv, g = self.loss_and_grad(train=True)
            losses.append(lv)
            if not np.isfinite(lv):
                status = K.DIVERGED_LOSS
                break
            for l in range(self.layout.n_layers):
                w0, b0 = int(self.layout.woff[l]), int(self.layout.boff[l])
                b1 = b0 + int(self.layout.sizes[l + 1])
                layer_sq[l] = (float(g[w0:b0] @ g[w0:b0]), float(g[b0:b1] @ g[b0:b1]))
            if not np.isfinite(layer_sq).all():
                status = K.DIVERGED_GRAD
                break
            theta = self.theta.astype(np.float64)
            lr = float(self.learning_rates(self.step, 1)[0])
            _, new_state = lbfgs_step(theta, fun, self.lbfgs, **{**lbfgs_kwargs(r), "lr": lr})
            with np.errstate(over="ignore", invalid="ignore"):
                stored = theta.astype(self.dtype)  # finite in float64 may be inf in float32
            if not np.isfinite(stored).all():
                status = K.DIVERGED_PARAMS  # neither the parameters nor the state change
                break
            self.lbfgs = new_state
            self.theta[...] = stored
            self.step += 1
            self.opt_t += 1
            done += 1
        return RunReport(done, status, np.asarray(losses), layer_sq)

    # -- evaluation -----------------------------------------------------------------------
    def _scratch(self):
        """Fresh evaluation buffers: prediction may run in another thread than training."""
        width = int(self.layout.sizes.sum())
        z = np.empty(EVAL_CHUNK * width, dtype=self.dtype)
        return z, np.empty_like(z), np.empty_like(z), self.layout.activation_offsets(EVAL_CHUNK)

    def predict(self, X: np.ndarray, hidden: bool = False, theta: np.ndarray | None = None):
        """Outputs (n, n_out); with hidden=True also every neuron's activation (n, sum(units))."""
        theta = self.theta.copy() if theta is None else np.ascontiguousarray(theta, dtype=self.dtype)
        X = np.ascontiguousarray(X, dtype=self.dtype)
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
        z, a, _, aoff = self._scratch()
        K.predict_kernel(
            theta,
            X,
            out,
            self.layout.sizes,
            self.acts,
            self.slopes,
            self.layout.woff,
            self.layout.boff,
            aoff,
            z,
            a,
            EVAL_CHUNK,
            hid,
        )

    def eval_buffers(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None) -> EvalSet:
        """Everything ``metrics`` needs for one data set, prepared once."""
        n, m = X.shape[0], int(self.layout.sizes[-1])
        return EvalSet(
            X=np.ascontiguousarray(X, dtype=self.dtype),
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
        if self._metrics_scratch is None:
            self._metrics_scratch = self._scratch()
        z, a, _, aoff = self._metrics_scratch
        res = np.empty(2)
        K.metrics_kernel(
            self.theta,
            es.X,
            es.Y,
            es.labels,
            es.classify,
            threshold,
            self.layout.sizes,
            self.acts,
            self.slopes,
            self.layout.woff,
            self.layout.boff,
            aoff,
            z,
            a,
            es.out,
            es.out_z,
            es.delta,
            self.loss,
            self.spec.training.huber_delta,
            EVAL_CHUNK,
            res,
        )
        return float(res[0]), float(res[1])

    def weight_norms(self) -> np.ndarray:
        sq = np.empty(self.layout.n_layers)
        K.weight_sq_kernel(self.theta, self.layout.sizes, self.layout.woff, self.layout.boff, sq)
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
        self.snapshot()
