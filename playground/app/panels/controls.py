"""Training controls: the toolbar (play/pause, step, reset, seed, counters) and the side panel of
every hyper-parameter. Both read the controller's spec and change it only through
``controller.edit_spec`` (undoable); they refresh themselves from ``specChanged``.

Invalid combinations are not reachable: the loss list follows the task, and the output
activation list follows the loss (``LOSS_OUTPUTS``); a loss whose output activation differs
from the current one changes the network, which resets the weights (and says so).
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from playground.engine import methods
from playground.engine.activations import ACTIVATIONS as ACTIVATION_INFO
from playground.engine.losses import LOSSES as LOSS_INFO
from playground.errors import PlaygroundError
from playground.spec import (
    CLASSIFICATION_ONLY_LOSSES,
    INITIALIZERS,
    LOSS_OUTPUTS,
    OPTIMIZER_DEFAULTS,
    SCHEDULES,
    ExperimentSpec,
    OptimizerSpec,
)

from ..controller import ExperimentController
from ..space_guard import space_guard

LOSS_NAMES = {
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
    "huber": "Huber",
    "bce": "Binary cross-entropy",
    "cce": "Categorical cross-entropy",
    "hinge": "Hinge",
    "kl_div": "KL divergence",
}
OPTIMIZER_NAMES = {
    "sgd": "SGD",
    "momentum": "SGD + momentum",
    "nesterov": "Nesterov momentum",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "lbfgs": "L-BFGS",
    "newton": "Newton (damped)",
    "levenberg_marquardt": "Levenberg-Marquardt",
    "bfgs": "BFGS",
    "simulated_annealing": "Simulated annealing",
    "genetic": "Genetic algorithm",
    "cmaes": "CMA-ES",
}
# what each optimizer does and what one step costs (the combo's item tooltips)
OPTIMIZER_TIPS = {
    "sgd": "Step against the gradient of the batch. Cost: one gradient per step.",
    "momentum": "SGD with a velocity that remembers past gradients. Cost: one gradient per step.",
    "nesterov": "Momentum that looks ahead before it steps. Cost: one gradient per step.",
    "adagrad": "Per-weight steps that shrink with the gradients seen so far. Cost: one gradient per step.",
    "rmsprop": "Per-weight steps scaled by recent gradient size. Cost: one gradient per step.",
    "adam": "Momentum plus per-weight scaling, bias-corrected. Cost: one gradient per step.",
    "adamw": "Adam with decoupled weight decay. Cost: one gradient per step.",
    "lbfgs": "Quasi-Newton with a short memory and a line search, full batch. "
    "Cost: one gradient per line-search trial.",
    **{
        name: f"{cls.description[:1].upper()}{cls.description[1:]}; full batch, no learning rate. "
        f"Cost: {cls.cost}."
        for name, cls in methods.METHODS.items()
    },
}
PARAM_LABELS = {
    "momentum": "Momentum",
    "dampening": "Dampening",
    "nesterov": "Nesterov",
    "weight_decay": "Weight decay",
    "lr_decay": "lr decay",
    "initial_accumulator_value": "Initial accumulator",
    "eps": "Epsilon",
    "alpha": "Alpha (smoothing)",
    "centered": "Centered",
    "betas": "Betas (β₁, β₂)",
    "amsgrad": "AMSGrad",
    "max_iter": "Max iterations",
    "history_size": "History size",
    "tolerance_grad": "Gradient tolerance",
    "tolerance_change": "Change tolerance",
    "damping": "Damping λ",
    "damping_dec": "λ × on success",
    "damping_inc": "λ × on failure",
    "damping_max": "Largest λ",
    "max_trials": "Trials per step",
    "mu": "μ",
    "mu_dec": "μ decrease",
    "mu_inc": "μ increase",
    "mu_max": "Largest μ",
    "gtol": "Gradient tolerance",
    "c1": "Armijo c₁",
    "c2": "Curvature c₂",
    "step_size": "Step size σ",
    "temperature": "Start temperature",
    "cooling": "Cooling per proposal",
    "proposals": "Proposals per step",
    "population": "Population",
    "elite": "Elite",
    "tournament": "Tournament size",
    "crossover": "Crossover rate",
    "mutation_rate": "Mutation rate",
    "mutation_sigma": "Mutation σ",
    "init_sigma": "Initial spread σ",
    "sigma": "Step size σ",
}
UNIT_PARAMS = ("damping_dec", "mu_dec", "c1", "c2", "cooling", "crossover", "mutation_rate")  # in (0, 1]
LOG_STEPS = (1.0, 3.0)  # 0.001, 0.003, 0.01, 0.03, ... as TF Playground's learning rates


class LogSpinBox(QDoubleSpinBox):
    """A spin box for scale-like values: arrows walk 1-3-10-30..., text accepts any number."""

    def __init__(self, minimum: float = 1e-6, maximum: float = 10.0, allow_zero: bool = False):
        super().__init__()
        self.allow_zero = allow_zero
        self.setDecimals(12)
        self.setRange(0.0 if allow_zero else minimum, maximum)
        self._min_positive = minimum
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator

        t = text.strip().replace(",", ".")
        if t in ("", "-", ".", "e", "1e", "1e-"):
            return QValidator.State.Intermediate, text, pos
        try:
            float(t)
        except ValueError:
            if t[-1:] in "e-+" and t[:-1]:
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:
        v = self.value()
        for _ in range(abs(steps)):
            v = self._next(v, up=steps > 0)
        self.setValue(v)

    def _next(self, v: float, up: bool) -> float:
        if v <= 0:
            return self._min_positive if up else 0.0
        ladder = []
        base = math.floor(math.log10(v)) - 1
        for e in range(base, base + 3):
            ladder += [m * 10.0**e for m in LOG_STEPS]
        if up:
            return next((x for x in ladder if x > v * (1 + 1e-9)), v * 3)
        down = [x for x in ladder if x < v * (1 - 1e-9)]
        if not down or down[-1] < self._min_positive:
            return 0.0 if self.allow_zero else self._min_positive
        return down[-1]


def _combo(items: dict[str, str] | list[str], tooltips: dict[str, str] | None = None) -> QComboBox:
    c = QComboBox()
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(8)  # long names elide instead of widening the panel
    pairs = items.items() if isinstance(items, dict) else [(k, k) for k in items]
    for key, text in pairs:
        c.addItem(text, key)
        if tooltips and key in tooltips:
            c.setItemData(c.count() - 1, tooltips[key], Qt.ItemDataRole.ToolTipRole)
    return c


def _set_combo(combo: QComboBox, key) -> None:
    i = combo.findData(key)
    if i >= 0 and i != combo.currentIndex():
        with QSignalBlocker(combo):
            combo.setCurrentIndex(i)


def _set_value(box, value) -> None:
    if box.value() != value:
        with QSignalBlocker(box):
            box.setValue(value)


class ControlsPanel(QScrollArea):
    """Every training hyper-parameter, as form rows in a scrollable side panel."""

    def __init__(self, controller: ExperimentController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        col = QVBoxLayout(body)
        col.setContentsMargins(8, 4, 8, 8)
        col.setSpacing(8)

        # --- loss and optimizer
        g = QGroupBox("Objective and optimizer")
        f = self._form(g)
        self.loss = _combo(LOSS_NAMES, {k: LOSS_INFO[k].description for k in LOSS_NAMES})
        self.loss.setToolTip("What training minimises. The output activation follows the loss.")
        self.output = _combo([])
        self.output.setToolTip("Output activations that go with this loss; changing it resets the weights")
        self.optimizer = _combo(OPTIMIZER_NAMES, OPTIMIZER_TIPS)
        self.optimizer.setToolTip(
            "How the gradient becomes a step, or, beyond gradient descent, how curvature or random "
            "search does. Changes apply live (a marker on the curves)."
        )
        self.lr = LogSpinBox(1e-6, 100.0)
        self.lr.setToolTip("Learning rate: step size. Too large diverges, too small crawls. Applies live.")
        self.batch = QSpinBox()
        self.batch.setRange(1, 1_000_000)
        self.batch.setKeyboardTracking(False)
        self.batch.setToolTip("Training points averaged per step. Applies live.")
        f.addRow("Loss", self.loss)
        f.addRow("Output", self.output)
        f.addRow("Optimizer", self.optimizer)
        f.addRow("Learning rate", self.lr)
        f.addRow("Batch size", self.batch)
        col.addWidget(g)

        self.opt_group = QGroupBox("Optimizer settings")
        self.opt_form = self._form(self.opt_group)
        self.opt_widgets: dict[str, object] = {}
        self._opt_built_for = None
        col.addWidget(self.opt_group)

        # --- schedule
        g = QGroupBox("Learning-rate schedule")
        f = self._form(g)
        self.schedule = _combo(SCHEDULES)
        self.schedule.setToolTip("How the learning rate changes over time")
        self.unit = _combo({"epoch": "per epoch", "step": "per step"})
        self.step_size = QSpinBox()
        self.step_size.setRange(1, 10_000_000)
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.0001, 10.0)
        self.gamma.setDecimals(4)
        self.gamma.setSingleStep(0.05)
        self.t_max = QSpinBox()
        self.t_max.setRange(1, 10_000_000)
        self.eta_min = LogSpinBox(1e-8, 10.0, allow_zero=True)
        self.warmup = QSpinBox()
        self.warmup.setRange(0, 1_000_000)
        self.warmup.setToolTip("Linear warm-up: start at lr / warmup and reach lr after this many units")
        for w in (self.step_size, self.t_max, self.warmup, self.gamma):
            w.setKeyboardTracking(False)
        self.schedule_rows = {}
        f.addRow("Kind", self.schedule)
        for label, w in (
            ("Unit", self.unit),
            ("Step size", self.step_size),
            ("Gamma", self.gamma),
            ("T max", self.t_max),
            ("Minimum lr", self.eta_min),
            ("Warm-up", self.warmup),
        ):
            f.addRow(label, w)
            self.schedule_rows[label] = (f, w)
        col.addWidget(g)

        # --- regularization
        g = QGroupBox("Regularization")
        f = self._form(g)
        self.reg_kind = _combo({"none": "None", "l1": "L1", "l2": "L2"})
        self.reg_kind.setToolTip("Penalty on large weights: simpler boundaries, less overfitting")
        self.reg_rate = LogSpinBox(1e-6, 10.0, allow_zero=True)
        self.reg_rate.setToolTip("Strength of the penalty")
        self.clip_on = QCheckBox("Clip gradient norm")
        self.clip = LogSpinBox(1e-4, 1e6)
        self.clip.setToolTip("Rescale the gradient when its norm exceeds this value")
        f.addRow("Kind", self.reg_kind)
        f.addRow("Rate", self.reg_rate)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip_on)
        clip_row.addWidget(self.clip, 1)
        f.addRow(clip_row)
        col.addWidget(g)

        # --- initialisation
        g = QGroupBox("Initialization (resets the weights)")
        f = self._form(g)
        self.init = _combo(INITIALIZERS)
        self.init.setToolTip("How the first random weights are drawn")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Same seed, same data split and same initial weights")
        self.dtype = _combo({"float64": "float64 (double)", "float32": "float32 (single)"})
        self.dtype.setToolTip("Floating-point precision of training")
        f.addRow("Initializer", self.init)
        f.addRow("Seed", self.seed)
        f.addRow("Precision", self.dtype)
        col.addWidget(g)

        self.explain = QLabel()
        self.explain.setObjectName("dim")
        self.explain.setWordWrap(True)
        col.addWidget(self.explain)
        col.addStretch(1)

        self._connect()
        controller.specChanged.connect(self.refresh)
        controller.experimentReplaced.connect(self.refresh)
        self.refresh()

    @staticmethod
    def _form(group: QGroupBox) -> QFormLayout:
        f = QFormLayout(group)
        f.setContentsMargins(8, 6, 8, 6)
        f.setHorizontalSpacing(10)
        f.setVerticalSpacing(6)
        f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        f.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return f

    def _connect(self) -> None:
        self.loss.activated.connect(self._on_loss)
        self.output.activated.connect(self._on_output)
        self.optimizer.activated.connect(self._on_optimizer)
        self.lr.valueChanged.connect(self._on_lr)
        self.batch.valueChanged.connect(lambda v: self._edit_training("batch_size", int(v), "Batch size"))
        self.schedule.activated.connect(self._on_schedule)
        self.unit.activated.connect(self._on_schedule)
        for w in (self.step_size, self.gamma, self.t_max, self.eta_min, self.warmup):
            w.valueChanged.connect(self._on_schedule)
        self.reg_kind.activated.connect(self._on_regularization)
        self.reg_rate.valueChanged.connect(self._on_regularization)
        self.clip_on.toggled.connect(self._on_clip)
        self.clip.valueChanged.connect(self._on_clip)
        self.init.activated.connect(
            lambda _i: self._edit("network.init", self.init.currentData(), "Initializer")
        )
        self.seed.valueChanged.connect(self._on_seed)
        self.dtype.activated.connect(
            lambda _i: self._edit("training.dtype", self.dtype.currentData(), "Precision")
        )

    # -- edits -------------------------------------------------------------------------------
    @property
    def spec(self) -> ExperimentSpec:
        return self.controller.spec

    def _edit(self, path: str, value, text: str, merge: bool = False) -> None:
        from playground.errors import SpecError

        try:
            new = self.spec.with_changes(path, value)
        except SpecError as e:
            self.controller.errorOccurred.emit(str(e))
            self.refresh()
            return
        if not self.controller.edit_spec(new, text, merge_key=path if merge else None):
            self.refresh()

    def _edit_training(self, field: str, value, text: str) -> None:
        tr = replace(self.spec.training, **{field: value})
        if not self.controller.edit_spec(
            replace(self.spec, training=tr), text, merge_key="training." + field
        ):
            self.refresh()

    @Slot(int)
    def _on_loss(self, _i: int) -> None:
        loss = self.loss.currentData()
        spec = self.spec
        allowed = LOSS_OUTPUTS[loss]
        net = spec.network
        if net.output_activation not in allowed:
            net = replace(net, output_activation=allowed[0])
        new = replace(spec, network=net, training=replace(spec.training, loss=loss))
        self.controller.edit_spec(new, f"Loss: {LOSS_NAMES[loss]}")
        self.refresh()

    @Slot(int)
    def _on_output(self, _i: int) -> None:
        out = self.output.currentData()
        self.controller.edit_spec(
            replace(self.spec, network=replace(self.spec.network, output_activation=out)), f"Output: {out}"
        )

    @Slot(int)
    def _on_optimizer(self, _i: int) -> None:
        name = self.optimizer.currentData()
        opt = OptimizerSpec(name=name, lr=self.spec.training.optimizer.lr, params={})
        new = replace(self.spec, training=replace(self.spec.training, optimizer=opt))
        if not self._method_fits(new) or not self.controller.edit_spec(
            new, f"Optimizer: {OPTIMIZER_NAMES[name]}"
        ):
            self.refresh()

    def _method_fits(self, spec: ExperimentSpec) -> bool:
        """Whether a method beyond gradient descent can train this network (Newton's size
        limit, Levenberg-Marquardt's squared errors...); says why not."""
        if not methods.is_method(spec.training.optimizer.name):
            return True
        try:
            methods.check(spec, self.controller.experiment.trainer.layout.n_params)
        except PlaygroundError as e:
            self.controller.statusMessage.emit(str(e))
            self.controller.errorOccurred.emit(str(e))
            return False
        return True

    @Slot(float)
    def _on_lr(self, value: float) -> None:
        opt = replace(self.spec.training.optimizer, lr=float(value))
        new = replace(self.spec, training=replace(self.spec.training, optimizer=opt))
        if not self.controller.edit_spec(new, f"Learning rate {value:g}", merge_key="training.optimizer.lr"):
            self.refresh()

    def _on_opt_param(self, key: str, value) -> None:
        opt = self.spec.training.optimizer
        params = dict(opt.params)
        params[key] = value
        new = replace(self.spec, training=replace(self.spec.training, optimizer=replace(opt, params=params)))
        if not self._method_fits(new) or not self.controller.edit_spec(
            new, PARAM_LABELS.get(key, key), merge_key="opt." + key
        ):
            self.refresh()

    @Slot()
    def _on_schedule(self, *_args) -> None:
        s = replace(
            self.spec.training.schedule,
            kind=self.schedule.currentData(),
            unit=self.unit.currentData(),
            step_size=self.step_size.value(),
            gamma=self.gamma.value(),
            t_max=self.t_max.value(),
            eta_min=self.eta_min.value(),
            warmup=self.warmup.value(),
        )
        self._edit_training("schedule", s, "Schedule")

    @Slot()
    def _on_regularization(self, *_args) -> None:
        r = replace(
            self.spec.training.regularization, kind=self.reg_kind.currentData(), rate=self.reg_rate.value()
        )
        self._edit_training("regularization", r, "Regularization")

    @Slot()
    def _on_clip(self, *_args) -> None:
        self._edit_training(
            "clip_norm", self.clip.value() if self.clip_on.isChecked() else None, "Gradient clipping"
        )

    @Slot(int)
    def _on_seed(self, value: int) -> None:
        self._edit("seed", int(value), f"Seed {value}")

    # -- view ----------------------------------------------------------------------------------
    @Slot()
    def refresh(self, *_args) -> None:
        spec = self.spec
        tr, net = spec.training, spec.network
        task = self.controller.experiment.dataset.task
        n_train = max(1, self.controller.experiment.dataset.n_train)
        # losses this task allows
        for i in range(self.loss.count()):
            key = self.loss.itemData(i)
            ok = not (task == "regression" and key in CLASSIFICATION_ONLY_LOSSES)
            self.loss.model().item(i).setEnabled(ok)
        _set_combo(self.loss, tr.loss)
        with QSignalBlocker(self.output):
            self.output.clear()
            for out in LOSS_OUTPUTS[tr.loss]:
                if task == "regression" and out == "softmax":
                    continue
                self.output.addItem(out, out)
                desc = ACTIVATION_INFO[out].description if out in ACTIVATION_INFO else out
                self.output.setItemData(self.output.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
        _set_combo(self.output, net.output_activation)
        self.output.setEnabled(self.output.count() > 1)
        _set_combo(self.optimizer, tr.optimizer.name)
        self.optimizer.setToolTip(OPTIMIZER_TIPS.get(tr.optimizer.name, ""))
        _set_value(self.lr, tr.optimizer.lr)
        self.lr.setEnabled(not methods.is_method(tr.optimizer.name))  # the methods take no step size
        self.batch.setMaximum(max(n_train, tr.batch_size))
        _set_value(self.batch, tr.batch_size)
        self._refresh_optimizer_params()
        s = tr.schedule
        _set_combo(self.schedule, s.kind)
        _set_combo(self.unit, s.unit)
        for box, v in (
            (self.step_size, s.step_size),
            (self.gamma, s.gamma),
            (self.t_max, s.t_max),
            (self.eta_min, s.eta_min),
            (self.warmup, s.warmup),
        ):
            _set_value(box, v)
        shown = {
            "constant": ("Unit", "Warm-up"),
            "step": ("Unit", "Step size", "Gamma", "Warm-up"),
            "exponential": ("Unit", "Gamma", "Warm-up"),
            "cosine": ("Unit", "T max", "Minimum lr", "Warm-up"),
        }.get(s.kind, ())
        for label, (form, w) in self.schedule_rows.items():
            form.setRowVisible(w, label in shown)
        _set_combo(self.reg_kind, tr.regularization.kind)
        _set_value(self.reg_rate, tr.regularization.rate)
        self.reg_rate.setEnabled(tr.regularization.kind != "none")
        with QSignalBlocker(self.clip_on):
            self.clip_on.setChecked(tr.clip_norm is not None)
        _set_value(self.clip, tr.clip_norm if tr.clip_norm is not None else 1.0)
        self.clip.setEnabled(tr.clip_norm is not None)
        _set_combo(self.init, net.init)
        _set_value(self.seed, spec.seed)
        _set_combo(self.dtype, tr.dtype)
        self.explain.setText(
            f"The output activation follows the loss: {LOSS_NAMES[tr.loss]} works with "
            f"{' or '.join(LOSS_OUTPUTS[tr.loss])}. Learning rate, optimizer, batch size, schedule and "
            "regularization apply live; initializer, seed and precision reset the weights."
        )

    def _refresh_optimizer_params(self) -> None:
        opt = self.spec.training.optimizer
        resolved = opt.resolved()
        if self._opt_built_for != opt.name:
            self._build_optimizer_form(opt.name)
        for key, w in self.opt_widgets.items():
            v = resolved[key]
            if isinstance(w, QCheckBox):
                with QSignalBlocker(w):
                    w.setChecked(bool(v))
            elif isinstance(w, tuple):
                _set_value(w[0], float(v[0]))
                _set_value(w[1], float(v[1]))
            else:
                _set_value(w, v)

    def _build_optimizer_form(self, name: str) -> None:
        while self.opt_form.rowCount():
            self.opt_form.removeRow(0)
        self.opt_widgets = {}
        self.opt_group.setTitle(f"{OPTIMIZER_NAMES[name]} settings")
        for key, default in OPTIMIZER_DEFAULTS[name].items():
            if key == "lr":
                continue
            label = PARAM_LABELS.get(key, key)
            if isinstance(default, bool):
                w = QCheckBox()
                w.toggled.connect(lambda on, k=key: self._on_opt_param(k, bool(on)))
                self.opt_form.addRow(label, w)
            elif isinstance(default, tuple):
                b1, b2 = QDoubleSpinBox(), QDoubleSpinBox()
                for b in (b1, b2):
                    b.setRange(0.0, 0.9999)
                    b.setDecimals(4)
                    b.setSingleStep(0.01)
                    b.setKeyboardTracking(False)
                    b.valueChanged.connect(
                        lambda _v, k=key, pair=(b1, b2): self._on_opt_param(
                            k, [pair[0].value(), pair[1].value()]
                        )
                    )
                row = QHBoxLayout()
                row.addWidget(b1)
                row.addWidget(b2)
                self.opt_form.addRow(label, row)
                w = (b1, b2)
            elif isinstance(default, int):
                w = QSpinBox()
                w.setRange(0 if (name, key) == ("cmaes", "population") else 1, 100_000)
                w.setSpecialValueText("auto" if (name, key) == ("cmaes", "population") else "")
                w.setKeyboardTracking(False)
                w.valueChanged.connect(lambda v, k=key: self._on_opt_param(k, int(v)))
                self.opt_form.addRow(label, w)
            else:
                if key in ("momentum", "alpha", "dampening"):
                    w = QDoubleSpinBox()
                    w.setRange(0.0, 0.999 if key != "momentum" else 0.9999)
                    w.setDecimals(4)
                    w.setSingleStep(0.05)
                    w.setKeyboardTracking(False)
                elif key in UNIT_PARAMS:
                    w = QDoubleSpinBox()
                    w.setRange(1e-6, 1.0)
                    w.setDecimals(6)
                    w.setSingleStep(0.01)
                    w.setKeyboardTracking(False)
                else:
                    w = LogSpinBox(1e-12, 1e12 if key.endswith("_max") else 100.0, allow_zero=key != "eps")
                w.valueChanged.connect(lambda v, k=key: self._on_opt_param(k, float(v)))
                self.opt_form.addRow(label, w)
            self.opt_widgets[key] = w
        self._opt_built_for = name
        self.opt_group.setVisible(bool(self.opt_widgets))


def epoch_text(epoch: float) -> str:
    """The toolbar's epoch counter: "Epoch 0" before training (as at start-up), two decimals
    while below 10 (each step moves it), whole epochs with separators after."""
    if epoch == 0:
        return "Epoch 0"
    return f"Epoch {epoch:,.0f}" if epoch >= 10 else f"Epoch {epoch:.2f}"


class TrainingToolBar(QToolBar):
    """Play/pause (Space), step one batch, step one epoch, reset, new seed, and live counters."""

    def __init__(self, controller: ExperimentController, parent: QWidget | None = None):
        super().__init__("Training", parent)
        self.setObjectName("training_toolbar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.controller = controller
        style = self.style()
        from PySide6.QtWidgets import QStyle

        sp = QStyle.StandardPixmap
        self.play_action = QAction(style.standardIcon(sp.SP_MediaPlay), "Play", self)
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        # Space is a character in a text field: while one has focus it types there, not plays
        space_guard().add(self.play_action)
        self.play_action.setToolTip("Train / pause (Space)")
        self.play_action.triggered.connect(controller.toggle_play)
        self.step_action = QAction(style.standardIcon(sp.SP_MediaSeekForward), "Step", self)
        self.step_action.setToolTip("Train one batch (one optimizer step)")
        self.step_action.setShortcut(QKeySequence("Ctrl+Right"))
        self.step_action.triggered.connect(controller.step_once)
        self.epoch_action = QAction(style.standardIcon(sp.SP_MediaSkipForward), "Epoch", self)
        self.epoch_action.setToolTip("Train one epoch (one pass over the training set)")
        self.epoch_action.setShortcut(QKeySequence("Ctrl+Shift+Right"))
        self.epoch_action.triggered.connect(controller.step_epoch)
        self.reset_action = QAction(style.standardIcon(sp.SP_BrowserReload), "Reset", self)
        self.reset_action.setToolTip("Start again from the same initial weights (same seed)")
        self.reset_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reset_action.triggered.connect(controller.reset)
        self.seed_action = QAction("New seed", self)
        self.seed_action.setToolTip("Start from different random weights and data split")
        self.seed_action.triggered.connect(controller.new_seed)
        for a in (self.play_action, self.step_action, self.epoch_action, self.reset_action, self.seed_action):
            self.addAction(a)
        self.addSeparator()
        self.epoch_label = QLabel("Epoch 0")
        self.epoch_label.setObjectName("metric")
        self.epoch_label.setMinimumWidth(110)
        self.loss_label = QLabel("")
        self.loss_label.setMinimumWidth(260)
        self.rate_label = QLabel("")
        self.rate_label.setObjectName("dim")
        for w in (self.epoch_label, self.loss_label, self.rate_label):
            w.setContentsMargins(8, 0, 8, 0)
            self.addWidget(w)
        controller.trainingStateChanged.connect(self._on_state)
        controller.snapshot.connect(self._on_snapshot)
        controller.experimentReplaced.connect(self._on_replaced)
        self._on_state(False)

    @Slot(bool)
    def _on_state(self, running: bool) -> None:
        from PySide6.QtWidgets import QStyle

        icon = QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(icon))
        self.play_action.setText("Pause" if running else "Play")
        if not running:
            self.rate_label.setText("")

    @Slot()
    def _on_replaced(self) -> None:
        self.epoch_label.setText(epoch_text(0))
        self.loss_label.setText("")

    @Slot(object)
    def _on_snapshot(self, snap) -> None:
        self.epoch_label.setText(epoch_text(snap.epoch))
        m = snap.metrics
        sample = m.get("sample_size")  # a large split's live loss is estimated on a sample
        parts = []
        for key, label in (("train_loss", "train loss"), ("test_loss", "test loss")):
            v = m.get(key)
            if v is not None and v == v:
                parts.append(f"{label} {'≈' if sample else ''}{v:.4f}")
        self.loss_label.setText("   ".join(parts))
        tip = (
            f"Estimated on {int(sample):,} rows of each set (every n-th row) while training; "
            "the plotted history rows are computed on every row"
            if sample
            else ""
        )
        if self.loss_label.toolTip() != tip:
            self.loss_label.setToolTip(tip)
        self.rate_label.setText(
            f"{snap.steps_per_s:,.0f} steps/s" if snap.running and snap.steps_per_s else ""
        )
