"""The step inspector: one optimizer step of a paused experiment, phase by phase, and back.

``Inspector(exp).preview(sample)`` says what the next step will do, without doing it:

1. **Forward**: the step's mini-batch (the rows the engine will take: the same epoch
   shuffle, ``rng.epoch_permutation``), every neuron's pre-activation and activation for one
   sample of the batch or the batch mean (``Trainer.predict(hidden=True)``: the engine's
   own numbers, without dropout);
2. **Loss**: the batch's mean data loss (and the sample's), as the step computes it;
3. **Gradients**: of every weight and bias (``Trainer.loss_and_grad`` on the batch with the
   step's dropout masks, or on the one sample), then the L1/L2 penalty's gradient and the
   global-norm clipping the step applies;
4. **Update**: the optimizer's terms by torch.optim's formulas, written as
   ``kernels._optimizer_update_into`` computes them (SGD's velocity and Nesterov
   direction, Adagrad's sum, RMSprop's averages, Adam's moments, bias corrections,
   denominator and effective step, AdamW's decoupled decay), and the step they predict.

``step(sample)`` then trains one step (``Experiment.train(steps=1)``) and fills in
``theta_after`` and ``update = theta_after - theta_before``: the update shown is the one the
engine made, bitwise; the formulas' prediction agrees to rounding (a test holds them).

``back(n)`` restores an exact earlier state from a ring of the last ``capacity`` states:
the trainer's ``state_arrays`` (parameters, optimizer state, step and update counters,
L-BFGS / method state, evaluation counts) and the experiment's step-dependent fields
(latest metrics, status, history length). Mini-batches and dropout masks are pure functions
of (seed, step) (``engine/rng.py``), so no RNG position needs keeping: step, back, step
gives the same numbers bitwise.

No Qt here: the app's inspector panel calls this in the training worker.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from playground.engine import codes as C
from playground.engine.rng import epoch_permutation_np
from playground.engine.trainer import OPT_CODES
from playground.history import History

# experiment fields that change with a step (restored by ``back``): see Experiment.train
_EXP_FIELDS = (
    "_last_metrics",
    "status",
    "diverged_step",
    "message",
    "_interval_losses",
    "_last_layer_sq",
    "wall_time",
    "_watch",
    "_warning_sticky",
    "_metrics_stale",
)


@dataclass
class StepBreakdown:
    """One step, phase by phase. Flat arrays are over the parameter vector (``unflat``)."""

    step: int  # the step's global index (the trainer's step before it)
    optimizer: str
    lr: float
    rows: np.ndarray  # the batch's training-set rows
    sample: int | None  # index into ``rows`` of the sample shown, None: the batch mean
    inputs: np.ndarray  # the sample's inputs (or the batch mean)
    pre: list[np.ndarray] | None  # per layer: pre-activations z (dense networks; else None)
    post: list[np.ndarray]  # per layer: activations
    target: np.ndarray
    batch_loss: float  # mean data loss of the batch: what the step minimises
    sample_loss: float | None
    grad: np.ndarray  # data-loss gradient shown (the sample's or the batch's)
    batch_grad: np.ndarray  # the batch's: what the step uses
    penalty_grad: np.ndarray  # the L1/L2 penalty's gradient (weights only)
    clip_coef: float  # 1.0 when no clipping happened
    used_grad: np.ndarray  # batch gradient + penalty, clipped: what the optimizer gets
    terms: dict[str, np.ndarray] = field(default_factory=dict)  # the optimizer's per-parameter terms
    scalars: dict[str, float] = field(default_factory=dict)  # bias corrections, step size...
    predicted: np.ndarray | None = None  # the formulas' update (None: a method of its own)
    theta_before: np.ndarray | None = None
    theta_after: np.ndarray | None = None  # filled by ``Inspector.step``
    update: np.ndarray | None = None  # theta_after - theta_before (the engine's update)
    state_after: np.ndarray | None = None  # the optimizer's state rows after the step
    loss_after: float | None = None  # the batch's loss at theta_after


class Inspector:
    """Steps an experiment one at a time with a ring of exact states to go back to."""

    def __init__(self, exp, capacity: int = 200):
        self.exp = exp
        self.ring: deque = deque(maxlen=int(capacity))

    # -- exact states ------------------------------------------------------------------
    def capture(self) -> dict:
        exp = self.exp
        fields = {k: copy.deepcopy(getattr(exp, k)) for k in _EXP_FIELDS if hasattr(exp, k)}
        h = exp.history
        return {
            "trainer": exp.trainer.state_arrays(),
            "exp": fields,
            "history": (len(h), h.offered, h.stride),
            "step": exp.step,
        }

    def restore(self, state: dict) -> None:
        exp = self.exp
        exp.trainer.load_state_arrays({k: np.array(v, copy=True) for k, v in state["trainer"].items()})
        for k, v in state["exp"].items():
            setattr(exp, k, copy.deepcopy(v))
        if hasattr(exp, "_warning_cache"):
            exp._warning_cache = None
        n, offered, stride = state["history"]
        h = exp.history
        if h.offered != offered and h.stride == stride:
            d = h.to_arrays()
            d = {c: (v if c == "_meta" else v[:n]) for c, v in d.items()}
            d["_meta"] = np.array([stride, offered, h.max_rows], dtype=np.int64)
            exp.history = History.from_arrays(d, h.n_layers)

    def remember(self) -> None:
        """Put the current state on the ring (``step`` does before each step)."""
        if not self.ring or self.ring[-1]["step"] != self.exp.step:
            self.ring.append(self.capture())

    @property
    def can_back(self) -> int:
        """How many steps back are kept."""
        return len(self.ring)

    def back(self, n: int = 1) -> int:
        """Go back ``n`` recorded states (at most what the ring holds); returns the step."""
        if not self.ring:
            raise ValueError("no earlier step is kept: step forward first")
        n = max(1, min(int(n), len(self.ring)))
        for _ in range(n - 1):
            self.ring.pop()
        self.restore(self.ring.pop())
        return self.exp.step

    # -- one step ----------------------------------------------------------------------
    def batch_rows(self) -> np.ndarray:
        """The training rows the next step takes (as ``kernels.train_steps`` picks them)."""
        tr = self.exp.trainer
        B, spe = tr.batch_size, tr.steps_per_epoch
        epoch, k = divmod(tr.step, spe)
        perm = epoch_permutation_np(int(tr.shuffle_key), epoch, tr.n) if B < tr.n else np.arange(tr.n)
        return perm[k * B : (k + 1) * B].astype(np.int64)

    def preview(self, sample: int | None = None) -> StepBreakdown:
        """What the next step does, phase by phase; nothing changes."""
        exp = self.exp
        tr = exp.trainer
        name = tr.spec.training.optimizer.name
        rows = self.batch_rows()
        if sample is not None and not 0 <= sample < len(rows):
            raise ValueError(f"sample must be in 0..{len(rows) - 1} (the batch's rows), got {sample}")
        Xb, Yb = tr.X[rows], tr.Y[rows]
        theta = tr.theta.copy()
        batch_loss, batch_grad = tr.loss_and_grad(theta, Xb, Yb, train=True)
        batch_grad = batch_grad.astype(np.float64)
        if sample is None:
            shown, sample_loss, grad = Xb, None, batch_grad
        else:
            shown = Xb[sample : sample + 1]
            sample_loss, g = tr.loss_and_grad(theta, shown, Yb[sample : sample + 1])
            grad = g.astype(np.float64)
        pre, post = self._forward(shown)
        hp = tr.hp_vector()
        penalty = self._penalty_grad(theta.astype(np.float64), hp)
        used = batch_grad + penalty
        clip_coef = 1.0
        if hp[C.HP_CLIP] > 0:
            coef = hp[C.HP_CLIP] / (np.sqrt(float(used @ used)) + 1e-6)
            if coef < 1.0:
                clip_coef = float(coef)
                used = used * coef
        lr = float(tr.learning_rates(tr.step, 1)[0])
        target = Yb[sample] if sample is not None else Yb.mean(axis=0)
        bd = StepBreakdown(
            step=tr.step, optimizer=name, lr=lr, rows=rows, sample=sample,
            inputs=shown.mean(axis=0), pre=pre, post=post, target=target,
            batch_loss=float(batch_loss), sample_loss=None if sample_loss is None else float(sample_loss),
            grad=grad, batch_grad=batch_grad, penalty_grad=penalty, clip_coef=clip_coef, used_grad=used,
            theta_before=theta,
        )  # fmt: skip
        if name in OPT_CODES:
            self._optimizer_terms(bd, theta.astype(np.float64), tr.opt_state.astype(np.float64), tr.opt_t, hp)
        return bd

    def step(self, sample: int | None = None) -> StepBreakdown:
        """Do the step ``preview`` describes; the breakdown gets the engine's update."""
        bd = self.preview(sample)
        self.remember()
        self.exp.train(steps=1)
        tr = self.exp.trainer
        bd.theta_after = tr.theta.copy()
        bd.update = bd.theta_after - bd.theta_before
        bd.state_after = tr.opt_state.copy()
        bd.loss_after = float(tr.loss_and_grad(bd.theta_after, tr.X[bd.rows], tr.Y[bd.rows], train=False)[0])
        return bd

    def unflat(self, flat: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """Per layer, ``flat`` as the layer's arrays ((W, b) for dense: W is (fan_in, fan_out))."""
        return self.exp.trainer.layout.views(np.asarray(flat))

    def names(self) -> list[tuple[str, ...]]:
        return self.exp.trainer.layout.names()

    # -- phases ------------------------------------------------------------------------
    def _forward(self, X: np.ndarray):
        """(pre-activations or None, activations) per layer, averaged over the rows of X."""
        tr = self.exp.trainer
        _, hid = tr.predict(X, hidden=True)
        widths = [int(w) for w in tr.layout.sizes[1:]]
        cuts = np.cumsum([0] + widths)
        acts = [hid[:, cuts[i] : cuts[i + 1]] for i in range(len(widths))]
        post = [a.mean(axis=0).astype(np.float64) for a in acts]
        if tr._nondense is not None:
            return None, post
        pre, a_prev = [], np.asarray(X, dtype=np.float64)
        for (W, b), a in zip(tr.layout.views(tr.theta), acts, strict=True):
            pre.append((a_prev @ W + b).mean(axis=0))
            a_prev = a.astype(np.float64)
        return pre, post

    def _penalty_grad(self, theta: np.ndarray, hp) -> np.ndarray:
        g = np.zeros_like(theta)
        kind, rate = int(hp[C.HP_REG_KIND]), float(hp[C.HP_REG_RATE])
        if kind == C.REG_NONE or rate <= 0:
            return g
        for w0, b0 in zip(self.exp.trainer.layout.woff, self.exp.trainer.layout.boff, strict=True):
            w = theta[w0:b0]
            g[w0:b0] = rate * (np.sign(w) if kind == C.REG_L1 else w)
        return g

    @staticmethod
    def _optimizer_terms(bd: StepBreakdown, theta, state, t: int, hp) -> None:
        """torch.optim's terms, as kernels._optimizer_update_into computes them."""
        name, lr, g, T, S = bd.optimizer, bd.lr, bd.used_grad, bd.terms, bd.scalars
        wd = float(hp[C.HP_WD])
        opt = OPT_CODES[name]
        S["t"] = float(t + 1)
        if opt != C.OPT_ADAMW and wd:
            g = g + wd * theta
            T["gradient + weight decay"] = g
        if opt == C.OPT_SGD:
            mom, damp = float(hp[C.HP_MOMENTUM]), float(hp[C.HP_DAMPENING])
            direction = g
            if mom != 0:
                buf = g.copy() if t == 0 else mom * state[0] + (1 - damp) * g
                T["velocity (momentum buffer)"] = buf
                direction = g + mom * buf if hp[C.HP_NESTEROV] > 0 else buf
                if hp[C.HP_NESTEROV] > 0:
                    T["Nesterov direction"] = direction
            step = -lr * direction
        elif opt == C.OPT_ADAGRAD:
            clr = lr / (1 + t * float(hp[C.HP_LR_DECAY]))
            s = state[0] + g * g
            T["sum of squared gradients"] = s
            S["effective lr"] = clr
            step = -clr * g / (np.sqrt(s) + float(hp[C.HP_EPS]))
        elif opt == C.OPT_RMSPROP:
            alpha, eps, mom = float(hp[C.HP_ALPHA]), float(hp[C.HP_EPS]), float(hp[C.HP_MOMENTUM])
            sq = alpha * state[0] + (1 - alpha) * g * g
            T["square average"] = sq
            if hp[C.HP_CENTERED] > 0:
                ga = alpha * state[1] + (1 - alpha) * g
                T["gradient average"] = ga
                avg = np.sqrt(sq - ga * ga) + eps
            else:
                avg = np.sqrt(sq) + eps
            T["denominator"] = avg
            if mom > 0:
                buf = mom * state[2] + g / avg
                T["momentum buffer"] = buf
                step = -lr * buf
            else:
                step = -lr * g / avg
        else:  # Adam, AdamW
            b1, b2, eps = float(hp[C.HP_BETA1]), float(hp[C.HP_BETA2]), float(hp[C.HP_EPS])
            bc1, bc2 = 1 - b1 ** (t + 1), 1 - b2 ** (t + 1)
            S["bias correction 1"], S["bias correction 2"], S["step size lr/bc1"] = bc1, bc2, lr / bc1
            p = theta
            if opt == C.OPT_ADAMW and wd:
                T["decoupled weight decay"] = -lr * wd * theta
                p = theta * (1 - lr * wd)
            m = b1 * state[0] + (1 - b1) * g
            v = b2 * state[1] + (1 - b2) * g * g
            T["first moment m"], T["second moment v"] = m, v
            T["m / bc1"], T["v / bc2"] = m / bc1, v / bc2
            if hp[C.HP_AMSGRAD] > 0:
                v = np.maximum(v, state[2])
                T["max second moment"] = v
            denom = np.sqrt(v) / np.sqrt(bc2) + eps
            T["denominator"] = denom
            step = (p - theta) - (lr / bc1) * m / denom
        T["effective step"] = step
        bd.predicted = step
