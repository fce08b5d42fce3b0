"""The layer stack editor: every hidden layer of any kind, its output shape and parameter count.

A table lists the input, each hidden layer (dense, conv2d, maxpool2d, avgpool2d, flatten),
the flattens a dense layer adds in front of images, and the output layer, each with its
output shape and parameter count from ``playground.shapes.stack_report``. Buttons add a
layer of a chosen kind after the selected one, remove it or move it; the form below edits
the selected layer's settings.

Every valid stack goes through ``controller.edit_spec`` (one undo step per edit; dragging a
spin box merges into one). A stack that cannot be built on the current data (a kernel
larger than its input, a conv after a flatten, ...) is kept here as a *draft*: the table
shows it, its failing layer and the reason in red, the network keeps training as it was,
and Play is refused with that reason until the stack is fixed (or an undo / another edit
of the spec drops the draft).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from playground.shapes import ShapeError, format_shape, stack_report
from playground.spec import ACTIVATIONS, PADDINGS, RNN_ACTIVATIONS, LayerSpec

KIND_NAMES = {
    "conv2d": "Convolution (conv2d)",
    "maxpool2d": "Max pooling (maxpool2d)",
    "avgpool2d": "Average pooling (avgpool2d)",
    "flatten": "Flatten",
    "dense": "Dense",
    "rnn": "Simple RNN (rnn)",
    "lstm": "LSTM",
    "gru": "GRU",
}
RECURRENT = ("rnn", "lstm", "gru")
ERROR_COLOR = "#d62728"

# what a new layer of each kind starts as (W4's choices for the image layers)
NEW_LAYERS = {
    "dense": LayerSpec(units=8, activation="relu"),
    "conv2d": LayerSpec(kind="conv2d", filters=8, kernel_size=3, padding="same", activation="relu"),
    "maxpool2d": LayerSpec(kind="maxpool2d", size=2),
    "avgpool2d": LayerSpec(kind="avgpool2d", size=2),
    "flatten": LayerSpec(kind="flatten"),
    "rnn": LayerSpec(kind="rnn", units=16, activation="tanh"),
    "lstm": LayerSpec(kind="lstm", units=16, forget_bias=1.0),
    "gru": LayerSpec(kind="gru", units=16),
}

# the form's fields: (widget key, label, which kinds show it); a key names the LayerSpec field,
# except "cell", the rnn's own activation choice (tanh or relu, as torch.nn.RNN)
FIELDS = (
    ("units", "Units", ("dense", *RECURRENT)),
    ("cell", "Activation", ("rnn",)),
    ("return_sequences", "Output", RECURRENT),
    ("bptt", "Backprop through time", RECURRENT),
    ("forget_bias", "Forget-gate bias", ("lstm",)),
    ("filters", "Filters", ("conv2d",)),
    ("kernel_size", "Kernel size", ("conv2d",)),
    ("size", "Window", ("maxpool2d", "avgpool2d")),
    ("stride", "Stride", ("conv2d", "maxpool2d", "avgpool2d")),
    ("padding", "Padding", ("conv2d",)),
    ("activation", "Activation", ("dense", "conv2d")),
    ("dropout", "Dropout", ("dense", "conv2d")),
    ("bias", "Bias", ("conv2d",)),
)


def describe_layer(layer: LayerSpec) -> str:
    """One line per layer: ``conv2d 8@3x3 same relu``, ``maxpool2d 2x2``, ``dense 8 tanh``."""
    kind = layer.kind
    drop = f" dropout {layer.dropout:g}" if getattr(layer, "dropout", 0) else ""
    if kind == "conv2d":
        stride = f" stride {layer.stride}" if layer.stride not in (None, 1) else ""
        bias = "" if layer.bias else " no bias"
        k = layer.kernel_size
        return f"conv2d {layer.filters}@{k}x{k} {layer.padding}{stride} {layer.activation}{drop}{bias}"
    if kind in ("maxpool2d", "avgpool2d"):
        stride = f" stride {layer.stride}" if layer.stride is not None and layer.stride != layer.size else ""
        return f"{kind} {layer.size}x{layer.size}{stride}"
    if kind == "flatten":
        return "flatten"
    if kind in RECURRENT:
        act = f" {layer.activation}" if kind == "rnn" else ""
        seq = " every step" if layer.return_sequences else ""
        bptt = f" bptt {layer.bptt}" if layer.bptt else ""
        return f"{kind} {layer.units}{act}{seq}{bptt}"
    return f"dense {layer.units} {layer.activation}{drop}"


class LayersPanel(QWidget):
    """Edit ``network.hidden`` of any kinds; shapes and parameter counts as they are edited."""

    draftChanged = Signal(str)  # the reason the shown stack is invalid ("" once it is valid)

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._draft: tuple[LayerSpec, ...] | None = None  # an invalid stack shown, not applied
        self._error: ShapeError | None = None
        self._row_layer: list[int | None] = []  # table row -> index in hidden (None: not a layer)
        self._selected: int | None = None
        self._updating = False

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(6)
        lay.addLayout(self._build_buttons())
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Layer", "Output", "Params"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection)
        lay.addWidget(self.table, 1)
        self.total_label = QLabel()
        self.total_label.setObjectName("dim")
        lay.addWidget(self.total_label)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.form_title = QLabel()
        f = self.form_title.font()
        f.setBold(True)
        self.form_title.setFont(f)
        lay.addWidget(self.form_title)
        lay.addLayout(self._build_form())

        controller.specChanged.connect(self._on_spec_changed)
        controller.experimentReplaced.connect(self._on_spec_changed)
        controller.trainingStateChanged.connect(self._on_training_state)
        self.refresh()

    # -- construction ----------------------------------------------------------------------
    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(4)
        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setToolTip("Add a layer after the selected one")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        self.add_actions: dict[str, QAction] = {}
        for kind in ("conv2d", "maxpool2d", "avgpool2d", "flatten", "rnn", "lstm", "gru", "dense"):
            if kind == "rnn":
                menu.addSeparator()
            a = menu.addAction(KIND_NAMES[kind])
            a.triggered.connect(lambda _=False, k=kind: self.add_layer(k))
            self.add_actions[kind] = a
        self.add_button.setMenu(menu)
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.remove_button.setToolTip("Remove the selected layer")
        self.remove_button.clicked.connect(lambda: self.remove_layer())
        self.up_button = QToolButton()
        self.up_button.setText("\u2191")
        self.up_button.setToolTip("Move the selected layer up")
        self.up_button.clicked.connect(lambda: self.move_layer(-1))
        self.down_button = QToolButton()
        self.down_button.setText("\u2193")
        self.down_button.setToolTip("Move the selected layer down")
        self.down_button.clicked.connect(lambda: self.move_layer(1))
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(4)
        self.form = form
        w: dict[str, QWidget] = {}
        for name, lo, hi in (
            ("units", 1, 100_000),
            ("filters", 1, 100_000),
            ("kernel_size", 1, 1024),
            ("size", 1, 1024),
        ):
            s = QSpinBox()
            s.setRange(lo, hi)
            s.setKeyboardTracking(False)
            s.valueChanged.connect(lambda v, n=name: self._set_field(n, int(v)))
            w[name] = s
        stride = QSpinBox()
        stride.setRange(0, 1024)
        stride.setSpecialValueText("default")
        stride.setToolTip("Stride (default: 1 for a convolution, the window for pooling)")
        stride.setKeyboardTracking(False)
        stride.valueChanged.connect(lambda v: self._set_field("stride", None if v == 0 else int(v)))
        w["stride"] = stride
        pad = QComboBox()
        pad.addItems(list(PADDINGS))
        pad.setToolTip("valid: no padding (the image shrinks); same: the output keeps the size (stride 1)")
        pad.currentTextChanged.connect(lambda t: self._set_field("padding", t))
        w["padding"] = pad
        act = QComboBox()
        act.addItems(list(ACTIVATIONS))
        act.currentTextChanged.connect(lambda t: self._set_field("activation", t))
        w["activation"] = act
        drop = QDoubleSpinBox()
        drop.setRange(0.0, 0.95)
        drop.setSingleStep(0.05)
        drop.setDecimals(2)
        drop.setKeyboardTracking(False)
        drop.valueChanged.connect(lambda v: self._set_field("dropout", round(float(v), 4)))
        w["dropout"] = drop
        bias = QCheckBox("learn a bias per filter")
        bias.toggled.connect(lambda on: self._set_field("bias", bool(on)))
        w["bias"] = bias
        cell = QComboBox()
        cell.addItems(list(RNN_ACTIVATIONS))
        cell.setToolTip("The simple RNN's nonlinearity (torch.nn.RNN: tanh or relu)")
        cell.currentTextChanged.connect(lambda t: self._set_field("activation", t))
        w["cell"] = cell
        seq = QCheckBox("every step (return_sequences)")
        seq.setToolTip(
            "Off: the last step's hidden state goes on (sequence to one). On: every step's, for a "
            "recurrent layer above (a dense layer sees the steps flattened)"
        )
        seq.toggled.connect(lambda on: self._set_field("return_sequences", bool(on)))
        w["return_sequences"] = seq
        bptt = QSpinBox()
        bptt.setRange(0, 100_000)
        bptt.setSpecialValueText("full")
        bptt.setSuffix(" steps")
        bptt.setToolTip(
            "Truncated backpropagation through time: the gradient flows back this many steps "
            "from the end (full: through the whole sequence)"
        )
        bptt.setKeyboardTracking(False)
        bptt.valueChanged.connect(lambda v: self._set_field("bptt", None if v == 0 else int(v)))
        w["bptt"] = bptt
        fb = QDoubleSpinBox()
        fb.setRange(-10.0, 10.0)
        fb.setSingleStep(0.5)
        fb.setDecimals(2)
        fb.setKeyboardTracking(False)
        fb.setToolTip(
            "The forget gate's bias at the start (resets the weights). 0 is PyTorch's default; "
            "1 (Keras' unit_forget_bias) lets the LSTM keep its cell state from the first step, "
            "so gradients reach far back at once"
        )
        fb.valueChanged.connect(lambda v: self._set_field("forget_bias", round(float(v), 4)))
        w["forget_bias"] = fb
        self.fields = w
        for name, label, _kinds in FIELDS:
            form.addRow(label, w[name])
        return form

    # -- reading ---------------------------------------------------------------------------
    def hidden(self) -> tuple[LayerSpec, ...]:
        """The stack shown: the draft while it is invalid, else the spec's."""
        return self._draft if self._draft is not None else tuple(self.controller.spec.network.hidden)

    def _dataset(self):
        exp = getattr(self.controller, "experiment", None)
        return exp.dataset if exp is not None else None

    def _io(self) -> tuple[tuple[int, ...], int]:
        """(input shape per sample, output units) of the current data and network."""
        exp = self.controller.experiment
        return exp.dataset.input_shape, int(exp.trainer.layout.sizes[-1])

    def report(self, hidden=None):
        """``shapes.stack_report`` of ``hidden`` (default: the stack shown) on the current data."""
        shape, n_out = self._io()
        return stack_report(shape, tuple(self.hidden() if hidden is None else hidden), n_out)

    @property
    def error_text(self) -> str:
        """Why the shown stack cannot be built ("" when it can)."""
        return str(self._error) if self._error is not None else ""

    def can_train(self) -> bool:
        return self._draft is None

    def rows_text(self) -> list[tuple[str, str, str]]:
        """What the table shows, row by row: (layer, output shape, parameters)."""
        out = []
        for r in range(self.table.rowCount()):
            out.append(tuple(self.table.item(r, c).text() for c in range(3)))
        return out

    # -- state -> widgets ------------------------------------------------------------------
    def _on_spec_changed(self, *_args) -> None:
        self._draft = None  # the spec moved (an edit here, undo, another panel): show it
        self._error = None
        self.refresh()

    def refresh(self) -> None:
        hidden = self.hidden()
        try:
            rows, err = self.report(hidden)
        except Exception as e:  # no experiment yet: nothing to measure against
            rows, err = [], None
            self.total_label.setText(str(e))
        self._error = err
        shape, _n_out = self._io()
        self._updating = True
        try:
            self._fill_table(hidden, rows, err, shape)
        finally:
            self._updating = False
        total = sum(r.n_params for r in rows) if err is None else None
        self.total_label.setText(
            f"{len(hidden)} hidden layer{'s' if len(hidden) != 1 else ''}"
            + (f" \u00b7 {total:,} parameters" if total is not None else "")
        )
        self.error_label.setVisible(err is not None)
        if err is not None:
            self.error_label.setText(f"Cannot build this stack: {err}")
        self.draftChanged.emit(self.error_text)
        self._show_form()

    def _fill_table(self, hidden, rows, err, shape) -> None:
        table = self.table
        items: list[tuple[str, str, str, int | None, str]] = []  # text, shape, params, index, style
        items.append((f"input ({self._input_name()})", format_shape(shape), "", None, "dim"))
        by_index: dict[int, list] = {}
        out_rows = []
        for r in rows:
            if r.index is None:
                out_rows.append(r)
            else:
                by_index.setdefault(r.index, []).append(r)
        for i, layer in enumerate(hidden):
            for r in by_index.get(i, []):
                if r.implicit:
                    items.append(
                        ("  (flatten before the dense layer)", format_shape(r.shape), "0", None, "dim")
                    )
            done = [r for r in by_index.get(i, []) if not r.implicit]
            if done:
                items.append(
                    (
                        f"{i + 1}. {describe_layer(layer)}",
                        format_shape(done[0].shape),
                        f"{done[0].n_params:,}",
                        i,
                        "",
                    )
                )
            elif err is not None and err.index == i:
                items.append((f"{i + 1}. {describe_layer(layer)}", "invalid", "", i, "error"))
            else:
                items.append((f"{i + 1}. {describe_layer(layer)}", "\u2014", "", i, "dim"))
        for r in out_rows:
            if r.implicit:
                items.append(("  (flatten before the output)", format_shape(r.shape), "0", None, "dim"))
            else:
                items.append(
                    (
                        f"output dense {self.controller.spec.network.output_activation}",
                        format_shape(r.shape),
                        f"{r.n_params:,}",
                        None,
                        "dim",
                    )
                )
        if err is not None and err.index is None:
            items.append(("output", "invalid", "", None, "error"))
        elif not out_rows:
            items.append(("output", "\u2014", "", None, "dim"))
        table.setRowCount(len(items))
        self._row_layer = []
        italic = QFont(table.font())
        italic.setItalic(True)
        for row, (text, shp, params, index, style) in enumerate(items):
            self._row_layer.append(index)
            for c, value in enumerate((text, shp, params)):
                it = QTableWidgetItem(value)
                if c > 0:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if index is None:
                    it.setFlags(Qt.ItemFlag.ItemIsEnabled)
                    it.setFont(italic)
                if style == "error":
                    it.setForeground(QColor(ERROR_COLOR))
                    it.setToolTip(self.error_text)
                elif style == "dim":
                    it.setForeground(table.palette().placeholderText())
                table.setItem(row, c, it)
        if self._selected is not None and self._selected >= len(hidden):
            self._selected = len(hidden) - 1 if hidden else None
        if self._selected is not None and self._selected in self._row_layer:
            table.selectRow(self._row_layer.index(self._selected))
        else:
            table.clearSelection()

    def _input_name(self) -> str:
        ds = self._dataset()
        if ds is None:
            return "data"
        if ds.is_image:
            return "images"
        return "sequences" if len(ds.input_shape) == 2 else "features"

    def _show_form(self) -> None:
        hidden = self.hidden()
        i = self._selected
        layer = hidden[i] if i is not None and 0 <= i < len(hidden) else None
        n = len(hidden)
        self.remove_button.setEnabled(layer is not None)
        self.up_button.setEnabled(layer is not None and i > 0)
        self.down_button.setEnabled(layer is not None and i < n - 1)
        self.form_title.setText(
            f"Layer {i + 1}: {KIND_NAMES.get(layer.kind, layer.kind)}"
            if layer is not None
            else "Select a layer to edit it"
        )
        self._updating = True
        try:
            for name, _label, kinds in FIELDS:
                w = self.fields[name]
                visible = layer is not None and layer.kind in kinds
                self.form.setRowVisible(w, visible)
                if not visible:
                    continue
                value = getattr(layer, "activation" if name == "cell" else name)
                if isinstance(w, QSpinBox):
                    w.setValue(0 if value is None else int(value))
                elif isinstance(w, QDoubleSpinBox):
                    w.setValue(float(value))
                elif isinstance(w, QComboBox):
                    w.setCurrentText(str(value))
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
        finally:
            self._updating = False

    def _on_selection(self) -> None:
        if self._updating:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            index = self._row_layer[rows[0].row()]
            if index is not None:
                self._selected = index
        self._show_form()

    def select_layer(self, i: int | None) -> None:
        """Select hidden layer ``i`` (its settings show in the form)."""
        self._selected = i
        if i is not None and i in self._row_layer:
            self.table.selectRow(self._row_layer.index(i))
        self._show_form()

    # -- edits -----------------------------------------------------------------------------
    def set_hidden(self, hidden, text: str, merge_key: str | None = None) -> bool:
        """Show ``hidden``; apply it through ``edit_spec`` when it can be built, else keep it
        as the draft and say why. True when it was applied."""
        hidden = tuple(hidden)
        try:
            _rows, err = self.report(hidden)
        except Exception:
            err = None
        if err is None:
            spec = self.controller.spec
            new = replace(spec, network=replace(spec.network, hidden=hidden))
            kwargs = {"merge_key": merge_key} if merge_key is not None else {}
            ok = self.controller.edit_spec(new, text, **kwargs)
            if ok is not False:
                if self._draft is not None:  # an edit equal to the spec emits nothing
                    self._draft = None
                    self.refresh()
                return True
        self._draft = hidden
        self.refresh()
        if err is None:  # the controller refused it for another reason (it said why)
            self.error_label.setText("The network could not be built: see the status bar")
            self.error_label.show()
        return False

    def add_layer(self, kind: str) -> None:
        hidden = list(self.hidden())
        at = len(hidden) if self._selected is None else self._selected + 1
        hidden.insert(at, NEW_LAYERS[kind])
        self._selected = at
        self.set_hidden(hidden, f"Add {kind} layer {at + 1}")
        self.select_layer(at)

    def remove_layer(self, i: int | None = None) -> None:
        i = self._selected if i is None else i
        hidden = list(self.hidden())
        if i is None or not 0 <= i < len(hidden):
            return
        kind = hidden.pop(i).kind
        self._selected = min(i, len(hidden) - 1) if hidden else None
        self.set_hidden(hidden, f"Remove {kind} layer {i + 1}")
        self.select_layer(self._selected)

    def move_layer(self, delta: int, i: int | None = None) -> None:
        i = self._selected if i is None else i
        hidden = list(self.hidden())
        j = (i if i is not None else -1) + delta
        if i is None or not 0 <= i < len(hidden) or not 0 <= j < len(hidden):
            return
        hidden[i], hidden[j] = hidden[j], hidden[i]
        self._selected = j
        self.set_hidden(hidden, f"Move layer {i + 1} {'up' if delta < 0 else 'down'}")
        self.select_layer(j)

    def set_field(self, i: int, name: str, value) -> None:
        """Change one setting of hidden layer ``i``."""
        hidden = list(self.hidden())
        if getattr(hidden[i], name) == value:
            return
        hidden[i] = replace(hidden[i], **{name: value})
        merge = f"layers.{i}.{name}" if name in ("units", "filters", "dropout") else None
        self.set_hidden(hidden, f"Layer {i + 1} {name.replace('_', ' ')} {value}", merge)

    def _set_field(self, name: str, value) -> None:
        if self._updating or self._selected is None:
            return
        self.set_field(self._selected, name, value)
        self.select_layer(self._selected)

    # -- training guard ----------------------------------------------------------------------
    def _on_training_state(self, running: bool) -> None:
        """Play while the shown stack is invalid: refused, with the reason."""
        if running and self._draft is not None:
            self.controller.pause()
            self.controller.statusMessage.emit(
                f"Cannot train this stack: {self.error_text or 'it cannot be built'}"
            )


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: LayersPanel(c), size=(420, 560), train=False)
