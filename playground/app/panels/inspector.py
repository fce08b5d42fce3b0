"""The Step inspector view: one optimizer step, phase by phase, with every number, and back.

The numbers are :class:`playground.inspector.Inspector`'s, computed in the training worker
(``controller.call_in_worker``) while the run is paused: the view pauses it on Step. The
phases are four buttons:

- **Forward**: every neuron's pre-activation z and activation a for the chosen sample of
  the step's batch, or the batch mean;
- **Loss**: the batch's loss (what the step minimises) and the sample's;
- **Gradients**: the table of every weight and bias with its value and gradient (the
  sample's or the batch's);
- **Update**: the same table with the update (predicted by torch.optim's formulas before
  the step, the engine's ``theta_after - theta_before`` after it) and every internal term
  of the optimizer (velocity, moments, bias-corrected moments, denominators, the effective
  step), with its scalars (bias corrections, step size) above the table.

Step trains one step and shows it; Back restores the exact state before the last step (a
ring of states in the core, ``Inspector.back``) and asks for a snapshot, so the toolbar,
the plots and this view show the earlier step again. Numbers are written with
``NUMBER_DIGITS`` significant digits; a cell's tooltip has all of them.

The network drawing shows the phase too: ``drawingChanged`` carries a
:class:`~playground.app.phase_drawing.PhaseDrawing` of the phase shown (the neurons' values,
or every weight's and bias's gradient or update, the numbers of the table), and None when the
view stops showing a step (its dock closed, Play pressed, a new experiment), so the drawing
shows the weights again. The main window connects it to ``NetworkView.show_phase``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.app.phase_drawing import PhaseDrawing
from playground.inspector import Inspector

PHASES = ("Forward", "Loss", "Gradients", "Update")
NUMBER_DIGITS = 6
MAX_ROWS = 5000  # parameters listed at most (a large network's first ones; the text says so)


def num(v: float) -> str:
    """A table cell's text."""
    v = float(v)
    return f"{v:.{NUMBER_DIGITS}g}" if np.isfinite(v) else "–"


def parameter_labels(names, shapes, kinds) -> list[tuple[int, str]]:
    """(layer, label) of every parameter in the flat order: dense W[i→j] is the weight from
    input i to neuron j (W is (fan_in, fan_out)), b[j] its bias; other arrays name[index]."""
    out = []
    for l, (arr_names, arr_shapes, kind) in enumerate(zip(names, shapes, kinds, strict=True)):
        for name, shape in zip(arr_names, arr_shapes, strict=True):
            for idx in np.ndindex(*shape):
                if kind == "dense" and name == "W":
                    text = f"W[{idx[0] + 1}→{idx[1] + 1}]"
                elif kind == "dense" and name == "b":
                    text = f"b[{idx[0] + 1}]"
                else:
                    text = f"{name}[{','.join(str(i) for i in idx)}]"
                out.append((l, text))
    return out


class InspectorView(QWidget):
    """Forward / Loss / Gradients / Update of one step; Step and Back."""

    drawingChanged = Signal(object)  # a PhaseDrawing for the network drawing, or None

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.inspector: Inspector | None = None
        self.breakdown = None
        self.done = False  # whether the breakdown's step has been taken (the update is the engine's)
        self._labels: list[tuple[int, str]] = []
        self.drawn: PhaseDrawing | None = None  # what the network drawing was last given

        self.sample = QSpinBox()
        self.sample.setSpecialValueText("batch mean")
        self.sample.setPrefix("sample ")
        self.sample.setRange(0, 0)
        self.sample.setToolTip(
            "The row of the step's batch shown in Forward and Gradients (0: the batch mean)"
        )
        self.sample.valueChanged.connect(lambda _v: self.refresh())
        self.phase_buttons = QButtonGroup(self)
        top = QHBoxLayout()
        top.addWidget(self.sample)
        for i, name in enumerate(PHASES):
            b = QPushButton(name)
            b.setCheckable(True)
            self.phase_buttons.addButton(b, i)
            top.addWidget(b)
        self.phase_buttons.button(0).setChecked(True)
        self.phase_buttons.idClicked.connect(lambda _i: self._show_phase())
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Pause and train one step (one batch), then show it")
        self.step_button.clicked.connect(self.step)
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("Go back to the exact state before the last step")
        self.back_button.clicked.connect(self.back)
        top.addStretch(1)
        top.addWidget(self.step_button)
        top.addWidget(self.back_button)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.loss_text = QLabel("")
        self.loss_text.setObjectName("metric")
        self.terms_text = QLabel("")
        self.terms_text.setWordWrap(True)
        self.forward_table = QTableWidget(0, 4)
        self.forward_table.setHorizontalHeaderLabels(
            ["Layer", "Neuron", "z (pre-activation)", "a (activation)"]
        )
        self.param_table = QTableWidget(0, 5)
        for t in (self.forward_table, self.param_table):
            t.verticalHeader().setVisible(False)
            t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tables = QStackedWidget()
        self.tables.addWidget(self.forward_table)
        self.tables.addWidget(self.param_table)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.loss_text)
        lay.addWidget(self.terms_text)
        lay.addWidget(self.tables, 1)

        controller.experimentReplaced.connect(self._on_replaced)
        controller.trainingStateChanged.connect(self._on_training_state)
        controller.specChanged.connect(lambda _spec: self.refresh())  # a new lr, optimizer...
        controller.snapshot.connect(self._on_snapshot)
        self._on_replaced()

    # -- state ------------------------------------------------------------------------------
    @property
    def phase(self) -> str:
        return PHASES[max(0, self.phase_buttons.checkedId())]

    def set_phase(self, name: str) -> None:
        self.phase_buttons.button(PHASES.index(name)).setChecked(True)
        self._show_phase()

    def _on_replaced(self) -> None:
        self.inspector = Inspector(self.controller.experiment)
        self.breakdown = None
        self._emit_drawing()  # the old experiment's step: the drawing shows the weights
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_stale", False):
            self.refresh()
        else:
            self._emit_drawing()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        if not event.spontaneous():  # the dock closed (not the window minimised)
            self._emit_drawing()

    def _on_training_state(self, running: bool) -> None:
        if not running:
            self.refresh()
        else:
            self._emit_drawing()  # Play: the drawing follows the training again

    def _on_snapshot(self, snap) -> None:
        """Steps taken elsewhere (the toolbar's Step, Epoch) while paused: show the next one."""
        bd = self.breakdown
        if snap.running or bd is None:
            return
        if snap.step != bd.step + (1 if self.done else 0):
            self.refresh()

    def _chosen_sample(self) -> int | None:
        v = self.sample.value()
        return None if v == 0 else v - 1

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the next step (not taken yet), if the run is paused; a hidden view (its dock
        closed) asks the worker nothing until it is shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        if getattr(self.controller, "running", False):
            self.status.setText("Training: pause to inspect a step")
            self._emit_drawing()
            return
        ins, sample = self.inspector, self._chosen_sample()
        try:
            bd = self.controller.call_in_worker(lambda exp: ins.preview(sample))
        except (ValueError, TimeoutError) as e:
            self.status.setText(str(e))
            self.breakdown = None
            self._emit_drawing()
            return
        self.show_breakdown(bd, done=False)

    def step(self) -> None:
        if getattr(self.controller, "running", False):
            self.controller.pause()
        ins, sample = self.inspector, self._chosen_sample()
        bd = self.controller.call_in_worker(lambda exp: ins.step(sample))
        self.show_breakdown(bd, done=True)
        self.controller.request_snapshot()

    def back(self) -> None:
        ins = self.inspector
        if not ins.can_back:
            self.status.setText("No earlier step is kept: step forward first")
            return
        if getattr(self.controller, "running", False):
            self.controller.pause()
        self.controller.call_in_worker(lambda exp: ins.back(1))
        self.controller.request_snapshot()
        self.refresh()

    # -- drawing ----------------------------------------------------------------------------
    def show_breakdown(self, bd, done: bool) -> None:
        self.breakdown, self.done = bd, done
        B = len(bd.rows)
        if self.sample.maximum() != B:
            self.sample.blockSignals(True)
            self.sample.setRange(0, B)
            self.sample.blockSignals(False)
        tr = self.controller.experiment.trainer
        if not self._labels or len(self._labels) != tr.layout.n_params:
            names = tr.layout.names()
            shapes = [tuple(a.shape for a in arrs) for arrs in tr.layout.views(tr.theta)]
            kinds = [layer.kind for layer in tr.plan.layers]
            self._labels = parameter_labels(names, shapes, kinds)
        what = (
            "the batch mean"
            if bd.sample is None
            else f"sample {bd.sample + 1} (training row {bd.rows[bd.sample]})"
        )
        state = "done" if done else "(next)"
        head = f"Step {bd.step + 1} {state}: a batch of {B} rows, {bd.optimizer}, lr {num(bd.lr)}"
        kept = self.inspector.can_back
        self.status.setText(f"{head}; showing {what}. Back: {kept} step{'' if kept == 1 else 's'} kept")
        self.back_button.setEnabled(self.inspector.can_back > 0)
        loss = f"Loss of the batch {num(bd.batch_loss)}"
        if bd.sample_loss is not None:
            loss += f"   of the sample {num(bd.sample_loss)}"
        if done and bd.loss_after is not None:
            loss += f"   → after the step {num(bd.loss_after)}"
        self.loss_text.setText(loss)
        self._fill_forward(bd)
        self._fill_params(bd)
        self._show_phase()

    def _fill_forward(self, bd) -> None:
        rows = [("input", f"x{k + 1}", None, v) for k, v in enumerate(np.ravel(bd.inputs))]
        for l, a in enumerate(bd.post):
            z = bd.pre[l] if bd.pre is not None else np.full(a.shape, np.nan)
            label = "output" if l == len(bd.post) - 1 else f"layer {l + 1}"
            rows += [(label, str(k + 1), z[k], a[k]) for k in range(a.size)]
        t = self.forward_table
        t.setRowCount(len(rows))
        for r, (layer, neuron, z, a) in enumerate(rows):
            for c, text in enumerate((layer, neuron, "" if z is None else num(z), num(a))):
                t.setItem(r, c, QTableWidgetItem(text))

    def param_columns(self, bd) -> list[str]:
        update = "Update" if self.done else "Update (predicted)"
        return ["Layer", "Parameter", "Value", "Gradient", update, *bd.terms.keys()]

    def _fill_params(self, bd) -> None:
        cols = self.param_columns(bd)
        t = self.param_table
        n = min(len(self._labels), MAX_ROWS)
        t.setColumnCount(len(cols))
        t.setHorizontalHeaderLabels(cols)
        t.setRowCount(n)
        update = bd.update if self.done else bd.predicted
        series = [bd.theta_before, bd.grad, update, *bd.terms.values()]
        for r in range(n):
            layer, label = self._labels[r]
            t.setItem(r, 0, QTableWidgetItem(str(layer + 1)))
            t.setItem(r, 1, QTableWidgetItem(label))
            for c, arr in enumerate(series, start=2):
                if arr is None:
                    t.setItem(r, c, QTableWidgetItem("–"))
                    continue
                item = QTableWidgetItem(num(arr[r]))
                item.setToolTip(repr(float(arr[r])))
                t.setItem(r, c, item)

    def _show_phase(self) -> None:
        bd, phase = self.breakdown, self.phase
        if bd is None:
            return
        self.tables.setCurrentIndex(0 if phase in ("Forward", "Loss") else 1)
        n_cols = self.param_table.columnCount()
        for c in range(n_cols):
            self.param_table.setColumnHidden(c, phase == "Gradients" and c >= 4)
        scalars = [f"{k} {num(v)}" for k, v in bd.scalars.items()]
        extra = []
        if np.any(bd.penalty_grad):
            extra.append("the penalty's gradient is added to the weights'")
        if bd.clip_coef < 1:
            extra.append(f"the gradient is clipped by {num(bd.clip_coef)}")
        if phase == "Update":
            if not bd.terms:
                extra.append(
                    f"{bd.optimizer} has no per-parameter formula here: the update is after − before"
                )
            self.terms_text.setText("; ".join(scalars + extra))
        elif phase == "Gradients":
            self.terms_text.setText("; ".join(extra) or "Gradient of the loss shown, per weight and bias")
        else:
            self.terms_text.setText("")
        self.terms_text.setVisible(bool(self.terms_text.text()))
        self.loss_text.setStyleSheet("font-weight: bold" if phase == "Loss" else "")
        self._emit_drawing()

    # -- the network drawing ------------------------------------------------------------------
    def drawing(self) -> PhaseDrawing | None:
        """The phase shown, for the network drawing (None: no step is shown, or the view is
        hidden or the run is training)."""
        bd = self.breakdown
        if bd is None or not self.isVisible() or getattr(self.controller, "running", False):
            return None
        ins = self.inspector
        tr = self.controller.experiment.trainer
        if len(bd.theta_before) != tr.layout.n_params:
            return None  # a step of the network before the last edit
        what = "the batch mean" if bd.sample is None else f"sample {bd.sample + 1}"
        step = f"step {bd.step + 1}{' (done)' if self.done else ''}"
        phase = self.phase
        if phase in ("Forward", "Loss"):
            loss = f"batch loss {num(bd.batch_loss)}"
            if bd.sample_loss is not None:
                loss += f", sample loss {num(bd.sample_loss)}"
            target = np.ravel(bd.target)
            if 0 < target.size <= 6:
                mean = " (batch mean)" if bd.sample is None else ""
                loss += f"; target{mean} " + ", ".join(f"{float(t):.3g}" for t in target)
            title = f"Step inspector: {phase.lower()} pass of {step}, {what}"
            return PhaseDrawing(
                phase=phase.lower(),
                title=title if phase == "Forward" else f"Step inspector: loss of {step}, {what}",
                neurons=(np.ravel(bd.inputs), *bd.post),
                pre=None if bd.pre is None else tuple(bd.pre),
                note=loss,
            )
        dense = all(layer.kind == "dense" for layer in tr.plan.layers)
        if phase == "Gradients":
            flat, note = bd.grad, ""
            if np.any(bd.penalty_grad) or bd.clip_coef < 1:
                note = "the data loss's gradient (the step adds the penalty's and clips)"
            return PhaseDrawing(
                phase="gradient",
                title=f"Step inspector: gradient of the loss, {step}, {what}",
                symbol="\u2202L/\u2202w",
                bias_symbol="\u2202L/\u2202b",
                params=tuple(tuple(a) for a in ins.unflat(flat)) if dense else None,
                note=note,
            )
        flat = bd.update if self.done else bd.predicted
        source = "the engine's" if self.done else "predicted by the optimizer's formulas"
        if flat is None:
            source = f"{bd.optimizer} has no formula here: press Step to see it"
        return PhaseDrawing(
            phase="update",
            title=f"Step inspector: update of {step} ({bd.optimizer}, the whole batch)",
            symbol="\u0394w",
            bias_symbol="\u0394b",
            params=tuple(tuple(a) for a in ins.unflat(flat)) if dense and flat is not None else None,
            note=source,
        )

    def _emit_drawing(self) -> None:
        d = self.drawing()
        if d is None and self.drawn is None:
            return
        self.drawn = d
        self.drawingChanged.emit(d)

    def cell_text(self, row: int, column: str) -> str:
        """The text of a parameter row's cell under a column heading (tests, tools)."""
        cols = self.param_columns(self.breakdown)
        return self.param_table.item(row, cols.index(column)).text()


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: InspectorView(c), size=(900, 700))
