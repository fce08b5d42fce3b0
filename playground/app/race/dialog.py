"""The race set-up dialog: variants as rows, the settings they change as columns.

Each cell holds a value for one dotted spec path (empty = the base experiment's value); a
column's editor is a drop-down for choice settings (optimizer, initializer, activation...)
and a text field for numbers. Presets fill the table in one click. ``variants()`` returns
one overrides dict per row, validated against the base spec.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from playground.errors import SpecError
from playground.formatting import fmt
from playground.spec import ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, REGULARIZATIONS, ExperimentSpec
from playground.sweep import parse_value
from playground.variants import MAX_VARIANTS, MIN_VARIANTS, describe_overrides, variant_spec

DIALOG_MAX_VARIANTS = min(6, MAX_VARIANTS)
ALL_HIDDEN_ACTIVATIONS = "network.hidden.*.activation"  # expands to every hidden layer
# path -> (menu text, choices or None for free numbers)
SETTINGS = {
    "training.optimizer.name": ("Optimizer", OPTIMIZERS),
    "training.optimizer.lr": ("Learning rate", None),
    "training.batch_size": ("Batch size", None),
    "network.init": ("Initializer", INITIALIZERS),
    ALL_HIDDEN_ACTIVATIONS: ("Activation (all hidden layers)", ACTIVATIONS),
    "training.loss": ("Loss", LOSSES),
    "training.regularization.kind": ("Regularization", REGULARIZATIONS),
    "training.regularization.rate": ("Regularization rate", None),
    "seed": ("Seed", None),
    "training.dtype": ("Precision", ("float64", "float32")),
}
PRESET_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
PRESET_LRS = (0.001, 0.01, 0.1, 1.0)


def expand(path: str, value, spec: ExperimentSpec) -> dict:
    if path == ALL_HIDDEN_ACTIVATIONS:
        return {f"network.hidden.{i}.activation": value for i in range(len(spec.network.hidden))}
    return {path: value}


class _ChoiceDelegate(QStyledItemDelegate):
    """A drop-down editor for columns whose setting has a fixed list of choices."""

    def __init__(self, dialog: RaceDialog):
        super().__init__(dialog)
        self.dialog = dialog

    def createEditor(self, parent, option, index):
        choices = SETTINGS.get(self.dialog.paths[index.column()], ("", None))[1]
        if choices is None:
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.addItems(["", *choices])
        return combo

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            editor.setCurrentText(index.data() or "")
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText())
        else:
            super().setModelData(editor, model, index)


class RaceDialog(QDialog):
    def __init__(self, base: ExperimentSpec, n_train: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Race: compare variants")
        self.base, self.n_train = base, int(n_train)
        self.paths: list[str] = []
        self.resize(720, 420)

        intro = QLabel(
            "Each row is a variant of the current experiment; each column a setting it changes "
            "(empty cell = the current value). Variants start from the same initial weights and "
            "the same data where the network allows, and train together."
        )
        intro.setWordWrap(True)
        self.setting_combo = QComboBox()
        self.setting_combo.setEditable(True)
        for path, (text, _c) in SETTINGS.items():
            self.setting_combo.addItem(text, path)
        self.setting_combo.setToolTip("A setting to compare, or type any dotted spec path")
        self.add_setting_button = QPushButton("Add setting")
        self.remove_setting_button = QPushButton("Remove setting")
        self.add_row_button = QPushButton("Add variant")
        self.remove_row_button = QPushButton("Remove variant")
        presets = QHBoxLayout()
        presets.addWidget(QLabel("Presets:"))
        self.preset_buttons = {}
        for key, text in (
            ("optimizers", "Compare optimizers"),
            ("lrs", "Compare learning rates"),
            ("batch", "Compare batch sizes"),
        ):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=key: self.apply_preset(k))
            presets.addWidget(b)
            self.preset_buttons[key] = b
        presets.addStretch(1)
        self.preset_buttons["lrs"].setToolTip("lr " + " / ".join(fmt(v) for v in PRESET_LRS))
        self.preset_buttons["batch"].setToolTip(f"batch 1 / 10 / full ({self.n_train})")

        self.table = QTableWidget(0, 0)
        self.table.setItemDelegate(_ChoiceDelegate(self))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d93025")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start race")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        edit_row = QHBoxLayout()
        for w in (self.setting_combo, self.add_setting_button, self.remove_setting_button):
            edit_row.addWidget(w)
        edit_row.addStretch(1)
        edit_row.addWidget(self.add_row_button)
        edit_row.addWidget(self.remove_row_button)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(presets)
        lay.addLayout(edit_row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

        self.add_setting_button.clicked.connect(self._add_setting_from_combo)
        self.remove_setting_button.clicked.connect(self._remove_setting)
        self.add_row_button.clicked.connect(self.add_variant)
        self.remove_row_button.clicked.connect(self._remove_variant)
        self.apply_preset("lrs")

    # -- editing -------------------------------------------------------------------------------
    def add_setting(self, path: str) -> int:
        if path in self.paths:
            return self.paths.index(path)
        self.paths.append(path)
        col = self.table.columnCount()
        self.table.insertColumn(col)
        text = SETTINGS.get(path, (path, None))[0]
        header = QTableWidgetItem(text)
        header.setToolTip(path)
        self.table.setHorizontalHeaderItem(col, header)
        return col

    def _add_setting_from_combo(self) -> None:
        i = self.setting_combo.currentIndex()
        text = self.setting_combo.currentText().strip()
        path = self.setting_combo.itemData(i) if i >= 0 and self.setting_combo.itemText(i) == text else text
        if path:
            self.add_setting(path)

    def _remove_setting(self) -> None:
        col = self.table.currentColumn()
        if 0 <= col < len(self.paths):
            self.table.removeColumn(col)
            del self.paths[col]

    def add_variant(self, values: dict | None = None) -> None:
        if self.table.rowCount() >= DIALOG_MAX_VARIANTS:
            return
        row = self.table.rowCount()
        self.table.insertRow(row)
        for path, value in (values or {}).items():
            col = self.add_setting(path)
            self.table.setItem(
                row, col, QTableWidgetItem(fmt(value) if not isinstance(value, str) else value)
            )

    def _remove_variant(self) -> None:
        row = self.table.currentRow()
        if self.table.rowCount() > MIN_VARIANTS:
            self.table.removeRow(row if row >= 0 else self.table.rowCount() - 1)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.paths = []

    def apply_preset(self, key: str) -> None:
        self.clear()
        if key == "optimizers":
            rows = [{"training.optimizer.name": v} for v in PRESET_OPTIMIZERS]
        elif key == "lrs":
            rows = [{"training.optimizer.lr": v} for v in PRESET_LRS]
        else:
            rows = [{"training.batch_size": v} for v in (1, 10, self.n_train)]
        for r in rows:
            self.add_variant(r)

    def set_variants(self, variants: list[dict]) -> None:
        """Fill the table from overrides dicts (what ``variants()`` returns)."""
        self.clear()
        for v in variants:
            self.add_variant(v)

    # -- result --------------------------------------------------------------------------------
    def variants(self) -> list[dict]:
        """One overrides dict per row; raises SpecError naming the variant and the setting."""
        out = []
        for row in range(self.table.rowCount()):
            o: dict = {}
            for col, path in enumerate(self.paths):
                item = self.table.item(row, col)
                text = item.text().strip() if item is not None else ""
                if text:
                    o.update(expand(path, parse_value(text), self.base))
            try:
                variant_spec(self.base, o)
            except SpecError as e:
                raise SpecError(e.path, f"variant {row + 1}: {e.message}") from None
            out.append(o)
        if len(out) < MIN_VARIANTS:
            raise SpecError("", f"a race needs at least {MIN_VARIANTS} variants")
        return out

    def labels(self) -> list[str]:
        return [describe_overrides(o) for o in self.variants()]

    def accept(self) -> None:
        try:
            self.variants()
        except SpecError as e:
            self.error_label.setText(str(e))
            return
        super().accept()


if __name__ == "__main__":  # quick look: python -m playground.app.race.dialog
    from PySide6.QtWidgets import QApplication

    from playground.spec import default_spec

    app = QApplication([])
    dlg = RaceDialog(default_spec(), 100)
    if dlg.exec():
        print(dlg.variants())
