"""GanSettingsForm: both networks' builders and optimizers, the noise and k, in one form.

For each network: its hidden layers (units, comma-separated), their activation, the
optimizer, learning rate and batch size; then the noise's dimension and distribution, the
discriminator steps per generator step and the gradient penalty's weight. Every edit goes
to ``GanController.set_spec`` (live for optimizer settings, batch sizes and k; a new
trainer for layers and noise); a value the spec refuses is reported with the field's path
and the form shows the experiment's values again. The form follows ``specChanged`` (a loaded session).
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.errors import SpecError
from playground.gan.spec import NOISE_DISTRIBUTIONS, OPTIMIZERS, GanLayerSpec, GanSpec
from playground.spec import ACTIVATIONS

from .. import colors
from .controller import GanController

NETS = (("generator", "Generator"), ("discriminator", "Discriminator"))


class _NetBox(QGroupBox):
    def __init__(self, title: str, on_edit):
        super().__init__(title)
        form = QFormLayout(self)
        self.layers = QLineEdit()
        self.layers.setToolTip("Units of each hidden layer, comma-separated (e.g. 16, 16)")
        self.layers.editingFinished.connect(on_edit)
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.currentIndexChanged.connect(on_edit)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.currentIndexChanged.connect(on_edit)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 10.0)
        self.lr.setSingleStep(1e-4)
        self.lr.editingFinished.connect(on_edit)
        self.batch = QSpinBox()
        self.batch.setRange(1, 1 << 16)
        self.batch.editingFinished.connect(on_edit)
        form.addRow("Hidden layers", self.layers)
        form.addRow("Activation", self.activation)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch)


class GanSettingsForm(QWidget):
    def __init__(self, controller: GanController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._syncing = False
        self.boxes = {name: _NetBox(title, self._edited) for name, title in NETS}
        row = QHBoxLayout()
        for box in self.boxes.values():
            row.addWidget(box)
        shared = QFormLayout()
        self.noise_dim = QSpinBox()
        self.noise_dim.setRange(1, 256)
        self.noise_dim.editingFinished.connect(self._edited)
        self.noise_dist = QComboBox()
        self.noise_dist.addItems(list(NOISE_DISTRIBUTIONS))
        self.noise_dist.currentIndexChanged.connect(self._edited)
        self.d_steps = QSpinBox()
        self.d_steps.setRange(1, 1000)
        self.d_steps.setToolTip("Discriminator steps per generator step (k)")
        self.d_steps.editingFinished.connect(self._edited)
        self.gp_weight = QDoubleSpinBox()
        self.gp_weight.setRange(0.0, 1000.0)
        self.gp_weight.setToolTip("Weight of the gradient penalty (Wasserstein + gradient penalty)")
        self.gp_weight.editingFinished.connect(self._edited)
        noise = QHBoxLayout()
        noise.addWidget(self.noise_dim)
        noise.addWidget(self.noise_dist)
        shared.addRow("Noise", noise)
        shared.addRow("D steps per G step", self.d_steps)
        shared.addRow("Gradient penalty", self.gp_weight)
        self.error = QLabel("")
        self.error.setStyleSheet(f"color: {colors.ERROR_RED}")
        self.error.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addLayout(shared)
        lay.addWidget(self.error)
        controller.specChanged.connect(self._spec_changed)
        self.sync(controller.spec)

    @Slot(object)
    def sync(self, spec: GanSpec) -> None:
        """Show ``spec`` (signals blocked: showing is not editing)."""
        self._syncing = True
        try:
            for name, box in self.boxes.items():
                net = getattr(spec, name)
                box.layers.setText(", ".join(str(h.units) for h in net.hidden))
                act = net.hidden[0].activation if net.hidden else "relu"
                box.activation.setCurrentText(act)
                box.optimizer.setCurrentText(net.optimizer.name)
                box.lr.setValue(net.optimizer.lr)
                box.batch.setValue(net.batch_size)
            self.noise_dim.setValue(spec.noise.dim)
            self.noise_dist.setCurrentText(spec.noise.distribution)
            self.d_steps.setValue(spec.training.d_steps)
            self.gp_weight.setValue(spec.training.gp_weight)
        finally:
            self._syncing = False

    @Slot(object)
    def _spec_changed(self, spec: GanSpec) -> None:
        """The experiment changed (an edit taken, a session opened, a lesson variant): an
        error about an earlier refused edit no longer applies."""
        self.error.setText("")
        self.sync(spec)

    def spec_from_form(self) -> GanSpec:
        """The controller's spec with the form's values (SpecError names a refused field)."""
        spec = self.controller.spec
        d = spec.to_dict()
        for name, box in self.boxes.items():
            try:
                units = [int(u) for u in box.layers.text().replace(";", ",").split(",") if u.strip()]
            except ValueError:
                raise SpecError(f"{name}.hidden", "write the units of each layer, comma-separated") from None
            old = getattr(spec, name)
            slope = old.hidden[0].negative_slope if old.hidden else 0.01
            act = box.activation.currentText()
            d[name]["hidden"] = [GanLayerSpec(u, act, slope).__dict__ for u in units]
            opt_name = box.optimizer.currentText()
            params = old.optimizer.params if opt_name == old.optimizer.name else {}
            d[name]["optimizer"] = {"name": opt_name, "lr": box.lr.value(), "params": dict(params)}
            d[name]["batch_size"] = box.batch.value()
        d["noise"] = {"dim": self.noise_dim.value(), "distribution": self.noise_dist.currentText()}
        d["training"]["d_steps"] = self.d_steps.value()
        d["training"]["gp_weight"] = self.gp_weight.value()
        return GanSpec.from_dict(d)

    def _edited(self, *_args) -> None:
        if self._syncing:
            return
        try:
            new = self.spec_from_form()
        except SpecError as e:  # say why, and show the experiment's values again
            self.error.setText(str(e))
            self.sync(self.controller.spec)
            return
        self.error.setText("")
        if new != self.controller.spec:
            self.controller.set_spec(new)
