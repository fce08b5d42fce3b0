"""Experiment: a spec, its data, a trainer and the metric history. The Python API.

Where an experiment came from (its session file, the app's view state, its place in a race)
is its :class:`Provenance`, one declared record that ``playground.session`` and the app fill
in; the spec stays the truth of what the experiment is.

>>> from playground import Experiment
>>> exp = Experiment.from_spec({"data": {"name": "xor"}})
>>> exp.train(steps=1000)["test_accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from playground.data.build import build_dataset
from playground.data.dataset import Dataset
from playground.engine import codes as C
from playground.engine.codes import Record
from playground.engine.losses import decision_threshold, decode_predictions, encode_targets, n_outputs
from playground.engine.trainer import STATUS_TEXT, Trainer
from playground.errors import SpecError
from playground.history import History
from playground.spec import ExperimentSpec, TrainingSpec, check_memory_for_data

MAX_CHUNK = 20_000  # steps per kernel call at most, so callers can stop within ~0.1 s
MIN_RECORD_STEPS = 100  # default history cadence: whole epochs, at least this many steps apart
# "not learning / oscillating" (Experiment.warning): judged over the last WATCH_RECORDS
# history rows since the last settings change, spanning at least WATCH_MIN_EPOCHS epochs
WATCH_RECORDS = 20
WATCH_MIN_EPOCHS = 5.0
# Live metrics (what ``train()`` returns between history rows) of a split larger than this
# come from an evenly strided sample of this many of its rows (``eval_sample``), so a
# train(steps) call costs its steps, not the rows; smaller splits are evaluated whole.
# History rows are always exact (the whole split).
EVAL_SAMPLE_ROWS = 16_384
# With a split larger than the sample, the default history cadence is this many times
# (all evaluated rows / training rows) epochs. An exact row evaluates every row once; on
# this machine that costs about half of training the same rows (20-64-64-1, batch 32), so
# rows then take about 0.5 / (0.5 + 5) = 9 % of the time (benchmarks/bench_scale.py).
LARGE_RECORD_FACTOR = 5.0


@dataclass
class Provenance:
    """Where an experiment came from and how: written by ``playground.session`` and the app,
    never part of the spec (two runs of one spec can come from different files)."""

    path: Path | None = None  # the *.playground file it was loaded from / last saved to
    created: str | None = None  # that file's "created" timestamp (kept across re-saves)
    view_state: dict | None = None  # the app's view state stored with it
    race_label: str | None = None  # its legend label in a race file
    race_overrides: dict = field(default_factory=dict)  # what it changes from the race's base
    load_warnings: list[str] = field(default_factory=list)  # why loading it was not exact
    built_cold: bool = False  # built before the kernels compiled: its first history row is empty


class _InProvenance:
    """An Experiment attribute kept in its provenance record, under its older flat name
    (``exp.source_path`` is ``exp.provenance.path``)."""

    def __init__(self, field_name: str):
        self.field_name = field_name

    def __get__(self, exp, owner=None):
        return self if exp is None else getattr(exp.provenance, self.field_name)

    def __set__(self, exp, value) -> None:
        setattr(exp.provenance, self.field_name, value)


class Experiment:
    """One self-contained experiment: no module state, so several can run side by side."""

    def __init__(
        self,
        spec: ExperimentSpec,
        dataset: Dataset | None = None,
        record_initial: bool = True,
        eval_sample_rows: int = EVAL_SAMPLE_ROWS,
    ):
        """``record_initial=False`` skips evaluating the initial weights (no numba kernel runs:
        a GUI builds its first experiment before the kernels are compiled).
        ``eval_sample_rows``: see ``EVAL_SAMPLE_ROWS``."""
        self.spec = spec
        self.eval_sample_rows = max(1, int(eval_sample_rows))
        # None: every train() call ends with the losses of its last step (exact, as the API and
        # the CLI report). A share (the app: 0.1): the end-of-call evaluation is skipped while
        # it would take more than this share of the time since the last one (a CNN's 1,800
        # images cost more than the short chunks the app trains in); the losses shown are
        # then those of ``metrics["evaluated_step"]``, never older than ~10 evaluations' time.
        self.live_eval_budget: float | None = None
        # with a budget, also at most once per this many seconds (the app: its snapshot
        # interval; a chunk that only waits for the GUI to take the last snapshot needs none)
        self.live_eval_interval: float = 0.0
        self.dataset = dataset if dataset is not None else build_dataset(spec.data, spec.seed)
        check_memory_for_data(spec, self.dataset)  # many CSV columns can make the network too big
        self._check_compatible()
        self.events: list[tuple[int, str]] = []  # (step, what changed), marked on the curves
        self.status = "ready"  # ready | diverged
        self.diverged_step: int | None = None
        self.message = ""
        self.wall_time = 0.0
        self.provenance = Provenance()
        self._raw_mean_of = None  # (data set, its mean raw input): see _raw_mean
        self._build_trainer(record_initial)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict | str | Path | ExperimentSpec) -> Experiment:
        if isinstance(spec, ExperimentSpec):
            return cls(spec)
        if isinstance(spec, dict):
            return cls(ExperimentSpec.from_dict(spec))
        return cls(ExperimentSpec.from_file(spec))

    def _check_compatible(self) -> None:
        ds, tr = self.dataset, self.spec.training
        if ds.task == "regression" and tr.loss in ("bce", "cce", "kl_div", "hinge"):
            raise SpecError(
                "training.loss", f"{tr.loss!r} needs class labels; this data is a regression task"
            )
        if ds.task == "regression" and self.spec.network.output_activation == "softmax":
            raise SpecError(
                "network.output_activation", "softmax needs class labels; use linear for regression"
            )

    def _build_trainer(self, record_initial: bool = True) -> None:
        ds, net, tr = self.dataset, self.spec.network, self.spec.training
        n_targets = 1 if ds.task == "classification" else ds.y_train.reshape(len(ds.y_train), -1).shape[1]
        self.n_out = n_outputs(tr.loss, net.output_activation, ds.task, ds.n_classes or 0, n_targets)
        self.Y_train = encode_targets(ds.y_train, tr.loss, net.output_activation, ds.task, self.n_out)
        self.Y_test = encode_targets(ds.y_test, tr.loss, net.output_activation, ds.task, self.n_out)
        self.trainer = Trainer(self.spec, ds.X_train.shape[1:], self.n_out, ds.X_train, self.Y_train)
        self._prepare_eval()
        self.history = History(self.trainer.layout.n_layers)
        self._interval_losses: list[float] = []
        self._last_layer_sq = np.full((self.trainer.layout.n_layers, 2), np.nan)
        self._watch = (0, None)  # (step of the last settings change, loss then): see warning
        self._warning_sticky = None  # (watch, text, clear level) of a raised warning
        self._warning_cache = None  # (history key, text)
        self._metrics_stale = False
        self._live_eval = (0.0, 0.0)  # (perf_counter when the last live evaluation ended, its seconds)
        self.live_eval_seconds = 0.0  # spent in end-of-call live evaluations, in all
        if record_initial:
            self._record()
        else:
            nan = float("nan")
            self._last_metrics = {"train_loss": nan, "test_loss": nan, "step": 0, "epoch": 0.0,
                                  "grad_norm": nan, "status": self.status}  # fmt: skip

    def reset(self, seed: int | None = None) -> None:
        """Start again from initial weights (same seed = same weights; or a new seed)."""
        if seed is not None:
            self.spec = replace(self.spec, seed=int(seed))
        self.status, self.diverged_step, self.message = "ready", None, ""
        self.events.clear()
        self.wall_time = 0.0
        self._build_trainer()

    def apply_training(self, training: TrainingSpec, note: str | None = None) -> None:
        """Change training settings live, without resetting the weights; marks the curves."""
        spec = ExperimentSpec.from_dict({**self.spec.to_dict(), "training": _plain(training)})
        if spec.training == self.spec.training:
            return
        old = self.spec.training
        self.spec = spec
        if training.loss != old.loss or training.batch_size != old.batch_size:
            self._check_compatible()
        if training.loss != old.loss:
            # target encoding depends on the loss; weights stay
            ds, net = self.dataset, self.spec.network
            self.Y_train = encode_targets(
                ds.y_train, training.loss, net.output_activation, ds.task, self.n_out
            )
            self.Y_test = encode_targets(ds.y_test, training.loss, net.output_activation, ds.task, self.n_out)
            self.trainer.set_data(ds.X_train, self.Y_train)
            self._metrics_stale = True  # the latest losses were of the old loss: evaluated on demand
        self.trainer.update_spec(spec)
        self._prepare_eval()
        if self.status == "diverged":
            self.status, self.message = "ready", ""
        self.events.append((self.step, note or describe_change(old, training)))
        self._watch = (self.step, self._last_finite_loss(self.step))

    def recover(self, lr_factor: float = 0.1) -> None:
        """Go on after a divergence: parameters and optimizer state back to the last finite,
        healthy point (the last history row whose training loss was finite), the learning
        rate times ``lr_factor`` (through ``apply_training``, so the spec and the curve
        marker agree) and the diverged status cleared. The step counter keeps counting."""
        lr_factor = float(lr_factor)
        if not (math.isfinite(lr_factor) and lr_factor > 0):
            raise SpecError("lr_factor", f"must be a finite number > 0, got {lr_factor!r}")
        tr = self.spec.training
        new_lr = tr.optimizer.lr * lr_factor
        if not (math.isfinite(new_lr) and new_lr > 0):
            bad = f"{tr.optimizer.lr:g} x {lr_factor:g} is not a usable learning rate"
            raise SpecError("training.optimizer.lr", bad)
        from_step = self.trainer.restore_snapshot()
        note = f"recovered the weights of step {from_step}"
        if new_lr != tr.optimizer.lr:
            note += f", lr {tr.optimizer.lr:g} \u2192 {new_lr:g}"
        training = replace(tr, optimizer=replace(tr.optimizer, lr=new_lr))
        n_events = len(self.events)
        self.apply_training(training, note=note)
        if len(self.events) == n_events:  # nothing to change in the settings
            self.events.append((self.step, note))
        self.status, self.diverged_step, self.message = "ready", None, ""
        self._interval_losses = []
        self._last_layer_sq = np.full((self.trainer.layout.n_layers, 2), np.nan)
        self._last_metrics = {**self.evaluate(), "step": self.step, "epoch": self.epoch,
                              "grad_norm": float("nan"), "status": self.status}  # fmt: skip
        self._watch = (self.step, self._last_metrics.get("train_loss"))

    def _last_finite_loss(self, step: int) -> float | None:
        """The last finite training loss recorded at or before ``step``."""
        h = self.history
        loss = h["train_loss"][h["step"] <= step]
        finite = loss[np.isfinite(loss)]
        return float(finite[-1]) if len(finite) else None

    # -- "not learning / oscillating" ---------------------------------------------------
    @property
    def warning(self) -> str | None:
        """A hint while the run goes on (it never stops training), or None.

        Judged on the last ``WATCH_RECORDS`` history rows since the last settings change
        (spanning at least ``WATCH_MIN_EPOCHS`` epochs). *Not learning*: every one of them is
        above the starting loss (the first recorded one, or the one at the change if lower)
        and their trend does not even halve the loss. *Oscillating*: the loss goes up and
        down from row to row by 10 % or more, most rows changing direction, without getting
        lower. Once raised it stays, word for word, until the loss improves (the median of
        the newest 5 rows back at or below the starting loss; for oscillation, below half the
        level it had), a setting changes, or the run diverges or is reset."""
        if self.status == "diverged":
            return None
        h = self.history
        key = (id(h), len(h), h.offered, self._watch)
        if self._warning_cache is not None and self._warning_cache[0] == key:
            return self._warning_cache[1]
        raised = self._raise_warning()
        sticky = self._warning_sticky
        if raised is not None:
            same = sticky is not None and sticky[0] == self._watch
            if same and sticky[1].split(":")[0] == raised[0].split(":")[0]:
                text = sticky[1]  # one text per episode: a dismissed banner stays dismissed
            else:
                text = raised[0]
            self._warning_sticky = (self._watch, text, raised[1])
        elif sticky is not None and sticky[0] == self._watch and not self._warning_cleared(sticky[2]):
            text = sticky[1]
        else:
            self._warning_sticky = None
            text = None
        self._warning_cache = (key, text)
        return text

    def _warning_cleared(self, clear_below: float) -> bool:
        newest = self.history["train_loss"][-5:]
        newest = newest[np.isfinite(newest)]
        return len(newest) == 0 or float(np.median(newest)) <= clear_below

    def _raise_warning(self) -> tuple[str, float] | None:
        """(text, loss level that clears it) when the newest rows call for a warning."""
        h = self.history
        n = len(h)
        if n < WATCH_RECORDS:
            return None
        steps, loss_all, epochs = h["step"], h["train_loss"], h["epoch"]
        from_step, at_change = self._watch
        i0 = int(np.searchsorted(steps, from_step, side="right"))
        if n - i0 < WATCH_RECORDS:
            return None
        w = loss_all[n - WATCH_RECORDS :]
        ep = epochs[n - WATCH_RECORDS :]
        span = float(ep[-1] - ep[0])
        if span < WATCH_MIN_EPOCHS or not np.isfinite(w).all():
            return None
        first = loss_all[np.isfinite(loss_all)]
        refs = [float(first[0])] if len(first) else []
        if at_change is not None and math.isfinite(at_change):
            refs.append(float(at_change))
        if not refs:
            return None
        ref = min(refs)
        logw = np.log(np.maximum(w, 1e-300))
        x = np.arange(WATCH_RECORDS) - (WATCH_RECORDS - 1) / 2.0
        drop = -float(np.dot(x, logw - logw.mean()) / np.dot(x, x)) * (WATCH_RECORDS - 1)
        if drop >= math.log(2.0):  # the trend line at least halves the loss: learning
            return None
        level = ref + 1e-3 * abs(ref) + 1e-12
        if (w > level).all():
            above = loss_all[i0:] > level
            k = len(above) if above.all() else int(np.argmin(above[::-1]))  # newest rows above
            since = n - k - 1  # the last row at or below the start (or the first row)
            epochs_above = float(epochs[n - 1] - epochs[max(since, 0)])
            text = (
                f"Not learning: the loss has stayed above its starting value ({ref:.3g}) for "
                f"{epochs_above:.0f} epochs \u2014 try a lower learning rate"
            )
            return text, ref
        d = np.diff(w)
        sgn = np.sign(d)
        sgn = sgn[sgn != 0]
        med = float(np.median(w))
        if len(sgn) < WATCH_RECORDS // 2 or med <= 0:
            return None
        changes = float(np.mean(sgn[1:] != sgn[:-1]))
        half = WATCH_RECORDS // 2
        no_gain = np.median(w[half:]) >= 0.9 * np.median(w[:half])
        big = float(np.median(np.abs(d))) >= 0.1 * med
        if changes >= 0.6 and no_gain and big and med >= 0.25 * ref:
            text = (
                f"Oscillating: the loss has jumped up and down for {span:.0f} epochs without "
                f"getting lower \u2014 try a lower learning rate"
            )
            return text, 0.5 * med
        return None

    # -- parameters -----------------------------------------------------------------------
    @property
    def params(self) -> list[tuple[np.ndarray, ...]]:
        """Copies per layer: (W, b) for dense (W is (fan_in, fan_out): forward is act(x @ W +
        b)) and conv layers (torch's (out, in, kh, kw) and (out,)); for rnn/lstm/gru torch's
        (weight_ih, weight_hh, bias_ih, bias_hh); see ``Layout.views``."""
        return [tuple(a.copy() for a in p) for p in self.trainer.layout.views(self.trainer.theta)]

    def set_params(self, params) -> None:
        self.trainer.theta = self.trainer.layout.flatten(params, self.trainer.dtype)
        if np.isfinite(self.trainer.theta).all():
            self.trainer.snapshot()

    def set_initial_params(self, params) -> None:
        """Start from these parameters instead of the initializer's (before any step), e.g. so
        race variants share their initial weights; the first history row is redone."""
        if self.step != 0:
            raise ValueError("initial parameters can only be set before training starts")
        self.set_params(params)
        self.history = History(self.trainer.layout.n_layers)
        self._warning_sticky = self._warning_cache = None
        self._record()

    @property
    def step(self) -> int:
        return self.trainer.step

    @property
    def epoch(self) -> float:
        return self.trainer.epoch

    @property
    def record_every(self) -> int:
        """Steps between history rows: the spec's, or whole epochs, at least MIN_RECORD_STEPS
        apart (a 25-step epoch would otherwise cost a metrics pass every 25 steps); with a
        split larger than the live-metrics sample, at least ``LARGE_RECORD_FACTOR`` x
        (evaluated rows / training rows) epochs apart, so exact rows stay a small share."""
        if self.spec.training.record_every:
            return self.spec.training.record_every
        spe = self.trainer.steps_per_epoch
        epochs = -(-MIN_RECORD_STEPS // spe)
        if self.is_sampled:
            ds = self.dataset
            n_eval = len(ds.X_train) + len(ds.X_test)
            epochs = max(epochs, math.ceil(LARGE_RECORD_FACTOR * n_eval / len(ds.X_train)))
        return spe * epochs

    @property
    def is_sampled(self) -> bool:
        """Whether live metrics come from a sample (a split has more rows than it)."""
        ds = self.dataset
        return max(len(ds.X_train), len(ds.X_test)) > self.eval_sample_rows

    # -- training -----------------------------------------------------------------------
    def train(
        self,
        steps: int | None = None,
        epochs: float | None = None,
        callback: Callable[[dict], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> dict:
        """Train; returns the latest metrics. History rows land every ``record_every`` steps,
        at the same steps however the work is split into calls."""
        if steps is None:
            steps = math.ceil((epochs if epochs is not None else 1) * self.trainer.steps_per_epoch)
        remaining = int(steps)
        fast = self.trainer.can_record_in_kernel()
        first = True
        while remaining > 0 and self.status != "diverged":
            # asked between kernel calls, never before the first: a caller whose deadline has
            # passed while it waited for the GIL (a busy machine) still gets its chunk trained
            if should_stop is not None and not first and should_stop():
                break
            first = False
            if fast:
                remaining -= self._train_recorded(min(remaining, MAX_CHUNK), callback)
                continue
            to_boundary = self.record_every - (self.step % self.record_every)
            n = min(remaining, to_boundary, MAX_CHUNK)
            t0 = time.perf_counter()
            report = self.trainer.run(n)
            self.wall_time += time.perf_counter() - t0
            remaining -= report.steps_done
            self._interval_losses.extend(report.batch_losses[: report.steps_done].tolist())
            if report.steps_done:
                self._last_layer_sq = report.layer_grad_sq.copy()
            if report.status != C.OK:
                self._diverged(report.status)
                break
            if self.step % self.record_every == 0:
                self._record()
                if callback is not None:
                    callback(self.metrics())
        if self._last_metrics["step"] != self.step:
            # the last history row is older: report the current state (no row is added)
            sq = self._last_layer_sq
            finite = np.isfinite(sq)
            self._last_metrics = {
                **self._live_losses(),
                "step": self.step,
                "epoch": self.epoch,
                "grad_norm": float(np.sqrt(sq[finite].sum())) if finite.any() else np.nan,
                "status": self.status,
            }
        return self.metrics()

    def _prepare_eval(self) -> None:
        """Buffers for the per-record metrics (rebuilt when targets or dtype change): the
        whole splits for history rows, and for live metrics the same or, for a split larger
        than ``eval_sample_rows``, its strided sample (``eval_sample``)."""
        ds = self.dataset
        self._eval_sets, self._live_sets = {}, {}
        for part, X, Y, y in (
            ("train", ds.X_train, self.Y_train, ds.y_train),
            ("test", ds.X_test, self.Y_test, ds.y_test),
        ):
            self._eval_sets[part] = self._eval_set(X, Y, y)
            if len(X) > self.eval_sample_rows:
                rows = eval_sample(len(X), self.eval_sample_rows)
                self._live_sets[part] = self._eval_set(X[rows], Y[rows], np.asarray(y)[rows])
            else:
                self._live_sets[part] = self._eval_sets[part]
        # one output: the class changes halfway between the two target codes
        self._threshold = decision_threshold(self.spec.training.loss, self.spec.network.output_activation)

    def _eval_set(self, X, Y, y):
        cls = self.dataset.task == "classification"
        es = self.trainer.eval_buffers(X, Y, np.asarray(y) if cls else None)
        yt = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        es.sst = float(((yt - yt.mean(axis=0)) ** 2).sum()) if (not cls and len(y)) else 0.0
        return es

    def record_now(self) -> None:
        """Add a history row at the current step if the last one is older (interactive use:
        a manual step or a pause between rows). Training itself records at fixed steps."""
        if len(self.history) == 0 or self.history["step"][-1] != self.step:
            self._record()

    def _train_recorded(self, n: int, callback) -> int:
        """Up to n steps in one nogil kernel call that also evaluates the history rows."""
        es = self._eval_sets
        step0, wall0 = self.step, self.wall_time
        t0 = time.perf_counter()
        report, rows = self.trainer.run_recorded(
            n, self.record_every, es["train"], es["test"], self._threshold
        )
        dt = time.perf_counter() - t0
        self.wall_time += dt
        done = report.steps_done
        losses = report.batch_losses[:done]
        L = self.trainer.layout.n_layers
        prev = 0
        for r in rows:
            k = int(r[Record.STEP]) - step0
            self._interval_losses.extend(losses[prev:k].tolist())
            prev = k
            sq = np.column_stack([Record.grad_w_sq(r, L), Record.grad_b_sq(r, L)])
            self._append_row(int(r[Record.STEP]), wall0 + dt * k / max(done, 1), r[Record.TRAIN_LOSS],
                             r[Record.TRAIN_SCORE], r[Record.TEST_LOSS], r[Record.TEST_SCORE], sq,
                             np.sqrt(Record.weight_sq(r, L)))  # fmt: skip
        self._interval_losses.extend(losses[prev:].tolist())
        if done:
            self._last_layer_sq = report.layer_grad_sq.copy()
        if report.status != C.OK:
            self._diverged(report.status)
        elif len(rows) and callback is not None:
            callback(self.metrics())
        return done

    def _diverged(self, status: int) -> None:
        bad = self.step + 1
        self.status = "diverged"
        self.diverged_step = bad
        self.message = f"Diverged at step {bad}: {STATUS_TEXT[status]}. Try a smaller learning rate."
        self._record()

    def _record(self) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            (trl, trs), (tel, tes) = (
                self.trainer.metrics(es, self._threshold) for es in self._eval_sets.values()
            )
        self._append_row(
            self.step, self.wall_time, trl, trs, tel, tes, self._last_layer_sq, self._weight_norms()
        )
        if self.status != "diverged" and math.isfinite(trl):
            self.trainer.snapshot()  # the point recover() goes back to

    def _append_row(self, step, wall_time, train_loss, train_score, test_loss, test_score, sq, weight_norm):
        """One history row from raw metrics (score: accuracy, or the sum of squared errors)."""
        cls = self.dataset.task == "classification"
        es = self._eval_sets
        metric = {}
        for part, score in (("train", train_score), ("test", test_score)):
            if es[part].X.shape[0] == 0:
                continue
            if cls:
                metric[f"{part}_accuracy"] = float(score)
            else:
                sst = es[part].sst
                metric[f"{part}_r2"] = 1.0 - score / sst if sst > 0 else float("nan")
        finite = np.isfinite(sq)
        grad_norm = float(np.sqrt(sq[finite].sum())) if finite.any() else np.nan
        spe = self.trainer.steps_per_epoch
        row = {
            "step": step,
            "epoch": step / spe,
            "wall_time": wall_time,
            "lr": float(self.trainer.learning_rates(step, 1)[0]),
            "batch_loss": float(np.mean(self._interval_losses)) if self._interval_losses else np.nan,
            "train_loss": float(train_loss),
            "test_loss": float(test_loss),
            "train_metric": metric.get("train_accuracy", metric.get("train_r2", np.nan)),
            "test_metric": metric.get("test_accuracy", metric.get("test_r2", np.nan)),
            "grad_norm": grad_norm,
            "grad_norm_w": np.sqrt(sq[:, 0]),
            "grad_norm_b": np.sqrt(sq[:, 1]),
            "weight_norm": weight_norm,
        }
        self._interval_losses = []
        self.history.append(row)
        self._last_metrics = {
            "train_loss": float(train_loss),
            "test_loss": float(test_loss),
            **metric,
            "step": step,
            "epoch": step / spe,
            "grad_norm": grad_norm,
            "status": self.status,
        }

    def _weight_norms(self) -> np.ndarray:
        with np.errstate(over="ignore"):  # huge but finite weights just before a divergence
            return self.trainer.weight_norms()

    # -- evaluation -----------------------------------------------------------------------
    def predict(self, X: np.ndarray, raw: bool = False) -> np.ndarray:
        """Network outputs for inputs X (as the network sees them; raw=True applies the
        data pipeline first, for points in the original input space)."""
        X = np.asarray(X, dtype=np.float64)
        if raw:
            X = self.dataset.pipeline.apply(X)
        return self.trainer.predict(X)

    def predict_classes(self, X: np.ndarray, raw: bool = False) -> np.ndarray:
        """Predicted class of each point: the class whose target code its output is nearest
        to (the rule behind every accuracy shown)."""
        return decode_predictions(self.predict(X, raw=raw), self._threshold)

    def confusion(self, part: str = "test", theta: np.ndarray | None = None, max_rows: int | None = None):
        """Confusion counts ``[true, predicted]`` (k x k) of a classification split (its first
        ``max_rows`` rows) at ``theta`` (default: the current weights); None for regression or
        an empty split. Predictions follow ``predict_classes`` (the rule behind accuracy)."""
        ds = self.dataset
        if ds.task != "classification":
            return None
        X, y = (ds.X_test, ds.y_test) if part == "test" else (ds.X_train, ds.y_train)
        X, y = X[:max_rows], np.asarray(y[:max_rows], dtype=np.int64)
        if len(X) == 0:
            return None
        with np.errstate(all="ignore"):
            predicted = np.asarray(decode_predictions(self.trainer.predict(X, theta=theta), self._threshold))
        predicted = predicted.astype(np.int64)
        k = max(ds.n_classes, int(predicted.max(initial=0)) + 1, int(y.max(initial=0)) + 1)
        counts = np.zeros((k, k), dtype=np.int64)
        np.add.at(counts, (y, predicted), 1)
        return counts

    def evaluate(self) -> dict:
        """Loss and accuracy (classification) or R^2 (regression) on train and test sets."""
        return self._evaluate(self._eval_sets)

    def live_evaluate(self) -> dict:
        """``evaluate`` on the live-metrics sets: the whole splits of small data (then equal
        to ``evaluate``), else the strided sample of each split larger than
        ``eval_sample_rows``, and then ``"sample_size"``: that number of rows."""
        out = self._evaluate(self._live_sets)
        if self.is_sampled:
            out["sample_size"] = self.eval_sample_rows
        return out

    def _live_losses(self) -> dict:
        """``live_evaluate()`` with ``evaluated_step``, or within ``live_eval_budget`` the
        previous losses (see there)."""
        last = self._last_metrics
        if time.perf_counter() < self._live_eval_due():
            keep = ("evaluated_step", "sample_size", "train_loss", "test_loss")
            return {k: v for k, v in last.items() if k in keep or k.endswith(("_accuracy", "_r2"))}
        t0 = time.perf_counter()
        out = self.live_evaluate()
        t1 = time.perf_counter()
        self._live_eval = (t1, t1 - t0)
        self.live_eval_seconds += t1 - t0
        out["evaluated_step"] = self.step
        return out

    def eval_costs(self) -> tuple[float, float, float]:
        """What evaluating adds to the next ``train()`` call, for a caller that sizes its calls
        in time (the app's worker): (seconds per history row, seconds of the end-of-call live
        evaluation, perf_counter from which that evaluation runs again; 0.0: at the end of
        any call). Estimated from the last live evaluation (a row evaluates the whole splits:
        the live sets' cost scaled by rows); zeros before the first."""
        cost = self._live_eval[1]
        if cost <= 0.0:
            return 0.0, 0.0, 0.0
        live_rows = sum(es.X.shape[0] for es in self._live_sets.values())
        all_rows = sum(es.X.shape[0] for es in self._eval_sets.values())
        return cost * all_rows / max(live_rows, 1), cost, self._live_eval_due()

    def _live_eval_due(self) -> float:
        """perf_counter from which the end-of-call live evaluation runs again: 0.0 (always)
        without a budget or before the first; else once its cost is within the budget's share
        of the time since the last, and ``live_eval_interval`` has passed."""
        budget = self.live_eval_budget
        if budget is None or "evaluated_step" not in self._last_metrics:
            return 0.0
        ended, cost = self._live_eval
        return ended + max(cost / budget, self.live_eval_interval)

    def _evaluate(self, sets: dict) -> dict:
        out = {}
        cls = self.dataset.task == "classification"
        with np.errstate(over="ignore", invalid="ignore"):  # a run about to diverge is still reported
            for part, es in sets.items():
                loss, score = self.trainer.metrics(es, self._threshold)
                out[f"{part}_loss"] = loss
                if es.X.shape[0] == 0:
                    continue
                if cls:
                    out[f"{part}_accuracy"] = score
                else:
                    out[f"{part}_r2"] = 1.0 - score / es.sst if es.sst > 0 else float("nan")
        return out

    def metrics(self) -> dict:
        return dict(self._current_metrics(), status=self.status, warning=self.warning, **self.trainer.counts)

    def _current_metrics(self) -> dict:
        """The latest metrics; after a loss change, the new loss on the current weights."""
        if self._metrics_stale:
            self._last_metrics.update(self.live_evaluate())
            self._metrics_stale = False
        return self._last_metrics

    def loss_and_grad(self, params=None, data: str = "train"):
        """Mean training loss and gradient [(dW, db)] at any parameters (landscape, inspector)."""
        lay = self.trainer.layout
        theta = None if params is None else lay.flatten(params, self.trainer.dtype)
        X, Y = (self.dataset.X_train, self.Y_train) if data == "train" else (self.dataset.X_test, self.Y_test)
        lv, g = self.trainer.loss_and_grad(theta, X, Y)
        return lv, [tuple(a.copy() for a in p) for p in lay.views(g)]

    # -- pictures -------------------------------------------------------------------------
    def grid(
        self,
        axes: tuple[int, int] = (0, 1),
        resolution: int = 100,
        bounds=None,
        hidden: bool = False,
        theta=None,
    ):
        """Outputs over a grid of the raw input plane (others held at their mean).

        Returns (xs, ys, out) with out shaped (resolution, resolution, n_out), and with
        hidden=True also every neuron's activation (resolution, resolution, n_neurons).
        """
        xs, ys, X = self.grid_inputs(axes, resolution, bounds)
        res = self.trainer.predict(X, hidden=hidden, theta=theta)
        if hidden:
            out, hid = res
            return xs, ys, out.reshape(resolution, resolution, -1), hid.reshape(resolution, resolution, -1)
        return xs, ys, res.reshape(resolution, resolution, -1)

    def grid_inputs(self, axes: tuple[int, int] = (0, 1), resolution: int = 100, bounds=None):
        """(xs, ys, X): the grid of :meth:`grid` and the network inputs at its points, row by
        row (X has resolution**2 rows); the raw columns other than ``axes`` are held at
        their mean. 1-D data uses only ``axes[0]``."""
        ds = self.dataset
        if bounds is None:
            b = ds.raw_bounds(pad=0.05)
            bounds = (b[axes[0]], b[axes[1]] if len(b) > 1 else (-1.0, 1.0))
        (x0, x1), (y0, y1) = bounds
        xs = np.linspace(x0, x1, resolution)
        ys = np.linspace(y0, y1, resolution)
        gx, gy = np.meshgrid(xs, ys)
        pts = np.tile(self._raw_mean(), (gx.size, 1))
        pts[:, axes[0]] = gx.ravel()
        if ds.raw_train.shape[1] > 1:
            pts[:, axes[1]] = gy.ravel()
        return xs, ys, ds.pipeline.apply(pts)

    def _raw_mean(self) -> np.ndarray:
        """Mean raw input over train + test (the grid's other inputs), computed once per data
        set: stacking a million rows for every picture would cost more than the picture."""
        ds = self.dataset
        if self._raw_mean_of is None or self._raw_mean_of[0] is not ds:
            self._raw_mean_of = (ds, np.vstack([ds.raw_train, ds.raw_test]).mean(axis=0))
        return self._raw_mean_of[1]

    def summary(self) -> dict:
        m = self.metrics()
        return {k: v for k, v in m.items() if not isinstance(v, np.ndarray)}

    # -- sessions (playground.session) -- hooks kept here so they track the private state ---
    source_path = _InProvenance("path")
    session_created = _InProvenance("created")
    view_state = _InProvenance("view_state")
    race_label = _InProvenance("race_label")
    race_overrides = _InProvenance("race_overrides")

    def save(self, path: str | Path, view: dict | None = None) -> Path:
        """Save everything (spec, weights, optimizer state, history, data) as a
        ``*.playground`` session file, atomically. See docs/SESSION_FORMAT.md."""
        from playground.session import save  # the one call up into session: a convenience

        return save(self, path, view=view)

    def session_state(self) -> dict:
        """Run state beyond the trainer and the history, as plain data (for sessions)."""
        return {
            "events": [(int(s), str(t)) for s, t in self.events],
            "status": self.status,
            "diverged_step": self.diverged_step,
            "message": self.message,
            "wall_time": float(self.wall_time),
            "interval_losses": np.asarray(self._interval_losses, dtype=np.float64),
            "last_layer_sq": np.array(self._last_layer_sq, dtype=np.float64),
            "last_metrics": dict(self._current_metrics()),
        }

    def restore_session_state(self, trainer_arrays: dict, history: History, state: dict) -> None:
        """Inverse of ``session_state`` plus ``trainer.state_arrays()`` (exact resume)."""
        self.trainer.load_state_arrays(trainer_arrays)
        self.history = history
        self.events = [(int(s), str(t)) for s, t in state["events"]]
        self.status = state["status"]
        self.diverged_step = state["diverged_step"]
        self.message = state["message"]
        self.wall_time = float(state["wall_time"])
        self._interval_losses = [float(v) for v in state["interval_losses"]]
        self._last_layer_sq = np.array(state["last_layer_sq"], dtype=np.float64)
        self._last_metrics = dict(state["last_metrics"])
        self._last_metrics.pop("warning", None)
        change = max((s for s, _ in self.events), default=0)
        self._watch = (change, self._last_finite_loss(change))
        self._warning_sticky = self._warning_cache = None


def eval_sample(n: int, size: int) -> np.ndarray:
    """Rows of the live-metrics sample of an n-row split: ``size`` rows evenly strided from
    row 0 (every n/size-th row). Chosen once per split; depends on n only, not the seed."""
    if n <= size:
        return np.arange(n, dtype=np.int64)
    return np.arange(size, dtype=np.int64) * n // size


def _plain(training: TrainingSpec) -> dict:
    from playground.spec import _to_plain

    return _to_plain(training)


def describe_change(old: TrainingSpec, new: TrainingSpec) -> str:
    """Short text for a curve marker: 'lr 0.01 -> 0.1', 'optimizer sgd -> adam'."""
    parts = []
    if old.optimizer.name != new.optimizer.name:
        parts.append(f"optimizer {old.optimizer.name} \u2192 {new.optimizer.name}")
    if old.optimizer.lr != new.optimizer.lr:
        parts.append(f"lr {old.optimizer.lr:g} \u2192 {new.optimizer.lr:g}")
    if old.optimizer.params != new.optimizer.params:
        parts.append("optimizer settings")
    if old.batch_size != new.batch_size:
        parts.append(f"batch {old.batch_size} \u2192 {new.batch_size}")
    if old.loss != new.loss:
        parts.append(f"loss {old.loss} \u2192 {new.loss}")
    if old.regularization != new.regularization:
        parts.append(f"{new.regularization.kind} {new.regularization.rate:g}")
    if old.schedule != new.schedule:
        parts.append(f"schedule {new.schedule.kind}")
    if old.clip_norm != new.clip_norm:
        parts.append(f"clip {new.clip_norm}")
    return ", ".join(parts) or "settings changed"
