"""The CSV import dialog: read a table, pick target / feature / ignored columns and options.

Reading and validation run as a background :class:`~playground.app.tasks.Task`
(``read_csv_table`` reports progress), so the dialog
stays responsive on large files. Problems (``DataError`` with row and column) are shown
inside the dialog in a red message area, the offending cell or row is highlighted and
scrolled to in the preview, and OK stays disabled until the choices make a valid data set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from playground.app import colors
from playground.data.csv_reader import (
    WHITESPACE,
    Table,
    is_number,
    read_csv_table,
    sniff_delimiter,
    whitespace_line,
)
from playground.data.tabular import (
    MAX_AUTO_CLASSES,
    default_features,
    integer_distinct,
    is_id_like,
    make_tabular_dataset,
)
from playground.errors import DataError
from playground.spec import DEFAULT_TRAIN_FRACTION, DataSpec

from ..tasks import Task

PREVIEW_ROWS = 200
_ROOT = QModelIndex()  # the invalid "root" index of a flat model
ROLES = ("feature", "target", "ignore")
DELIMITERS = (("auto", None), (",", ","), (";", ";"), ("tab", "\t"), ("|", "|"), ("whitespace", WHITESPACE))
HEADERS = (("auto", None), ("yes", True), ("no", False))
TASKS = (("auto", None), ("classification", "classification"), ("regression", "regression"))
MISSING = (("drop rows", "drop"), ("stop with error", "error"))
NORMALIZE = (("standard", "standard"), ("min-max", "minmax"), ("none", "none"))


def samples_dir() -> Path:
    from playground.data.build import datasets_dir

    return datasets_dir()


def sample_files() -> list[Path]:
    d = samples_dir()
    return sorted(d.glob("*.csv")) if d.is_dir() else []


def _as_data_error(e: Exception) -> DataError:
    """A job's error as the dialog shows it: a DataError, or one naming what else went wrong."""
    return e if isinstance(e, DataError) else DataError(f"{type(e).__name__}: {e}")


# ----------------------------------------------------------------------------- reading


def _read(path: str, delimiter, header, skip_rows, progress) -> dict:
    table = read_csv_table(path, delimiter=delimiter, header=header, skip_rows=skip_rows, progress=progress)
    distinct, types = {}, []
    for c in table.columns:  # counted here, in the reading thread, not in the GUI thread
        if c.kind == "text":
            n = distinct[c.name] = len(np.unique(c.values[~c.missing].astype(str)))
            types.append(f"text, {n:,} value{'s' if n != 1 else ''}")
        elif is_id_like(c):
            types.append("integer, an id")
        else:
            k = integer_distinct(c)
            types.append(
                f"integer, {k} value{'s' if k != 1 else ''}"
                if k is not None and k <= MAX_AUTO_CLASSES
                else "numeric"
            )
    return {"table": table, "distinct": distinct, "types": types}


def _raw_records(
    path: str, delimiter, header, err_row: int | None, limit: int = PREVIEW_ROWS, skip_rows: int | None = None
) -> dict:
    """When the reader fails, show the file as plain split lines around the problem."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        head = f.read(64 * 1024)
        if delimiter is None:
            try:
                delimiter = sniff_delimiter(head)
            except Exception:  # noqa: BLE001 - a guess is enough for a preview
                delimiter = ","
        f.seek(0)
        skip = skip_rows or 0
        for _ in range(skip):
            f.readline()
        lines = (whitespace_line(s) for s in f) if delimiter == WHITESPACE else f
        reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True, strict=False)
        records: list[tuple[int, list[str]]] = []
        prev = skip
        try:
            for rec in reader:
                line = prev + 1
                prev = skip + reader.line_num
                if not rec:
                    continue
                near = err_row is not None and abs(line - err_row) <= 2
                if len(records) < limit + 1 or near:
                    records.append((line, rec))
                if len(records) > limit and (err_row is None or line > err_row + 2):
                    break
        except csv.Error:
            pass
    names: list[str] = []
    if records:
        first = records[0][1]
        looks_header = not any(is_number(v) for v in first)
        if header is True or (header is None and looks_header):
            names = [v.strip() or f"column {j + 1}" for j, v in enumerate(first)]
            records = records[1:]
    width = max([len(names)] + [len(r) for _, r in records])
    names += [f"column {j + 1}" for j in range(len(names), width)]
    return {"names": names, "records": records}


def _format_cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{float(v):.6g}"
    return str(v)


# ----------------------------------------------------------------------------- models


class PreviewModel(QAbstractTableModel):
    """The first rows of the file (plus the rows around an error further down)."""

    def __init__(self, dialog: CsvImportDialog):
        super().__init__(dialog)
        self.dialog = dialog
        self.names: list[str] = []
        self.kinds: list[str] = []
        self.lines: list[int] = []  # file line of each shown row
        self._cell = lambda r, c: ""
        self.error_row: int | None = None  # model row
        self.error_col: int | None = None

    def set_table(self, table: Table, error_line: int | None = None) -> None:
        self.beginResetModel()
        self.names = table.names
        self.kinds = [c.kind for c in table.columns]
        idx = list(range(min(PREVIEW_ROWS, table.n_rows)))
        if error_line is not None:
            k = int(np.searchsorted(table.row_numbers, error_line))
            extra = [i for i in range(max(0, k - 2), min(table.n_rows, k + 3)) if i >= len(idx)]
            idx += extra
        rows = np.asarray(idx, dtype=np.int64)
        self.lines = [int(n) for n in table.row_numbers[rows]] if len(rows) else []
        cols = [c.values for c in table.columns]
        miss = [c.missing for c in table.columns]
        self._cell = lambda r, c: "" if miss[c][rows[r]] else _format_cell(cols[c][rows[r]])
        self.error_row = self.error_col = None
        self.endResetModel()

    def set_records(self, names: list[str], records: list[tuple[int, list[str]]]) -> None:
        self.beginResetModel()
        self.names = names
        self.kinds = ["" for _ in names]
        self.lines = [line for line, _ in records]
        recs = [r for _, r in records]
        self._cell = lambda r, c: recs[r][c].strip() if c < len(recs[r]) else ""
        self.error_row = self.error_col = None
        self.endResetModel()

    def clear(self) -> None:
        self.set_records([], [])

    def mark_error(self, line: int | None, column: int | None) -> QModelIndex | None:
        """Highlight the row of file line ``line`` and column ``column``; returns the cell to show."""
        self.error_row = self.lines.index(line) if line is not None and line in self.lines else None
        self.error_col = column
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self.error_row is None and self.error_col is None:
            return None
        return self.index(self.error_row or 0, self.error_col or 0)

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.names)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(r, c)
        err_cell = r == self.error_row and (c == self.error_col or self.error_col is None)
        if role == Qt.ItemDataRole.BackgroundRole:
            if err_cell:
                return QColor(255, 70, 60, 150)
            if c == self.error_col or r == self.error_row:
                return QColor(255, 70, 60, 45)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if not err_cell and self.dialog.role_of(c) == "ignore":
                return self.dialog.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and c < len(self.kinds) and self.kinds[c] == "numeric":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and section < len(self.lines):
                return str(self.lines[section])
            if role == Qt.ItemDataRole.ToolTipRole:
                return "line in the file"
            return None
        if section >= len(self.names):
            return None
        role_name = self.dialog.role_of(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self.names[section]}\n{role_name}" if role_name else self.names[section]
        if role == Qt.ItemDataRole.FontRole and role_name == "target":
            f = QFont(self.dialog.font())
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole:
            if section == self.error_col:
                return QColor(colors.ERROR_RED)
            if role_name == "target":
                return QColor(colors.BLUE)
            if role_name == "ignore":
                return self.dialog.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{self.names[section]}: {role_name or '?'} (right-click to change)"
        return None


class RolesModel(QAbstractTableModel):
    """One row per CSV column: name, type, role (editable)."""

    HEADERS = ("Column", "Type", "Role")

    def __init__(self, dialog: CsvImportDialog):
        super().__init__(dialog)
        self.dialog = dialog
        self.names: list[str] = []
        self.types: list[str] = []

    def set_columns(self, names: list[str], types: list[str]) -> None:
        self.beginResetModel()
        self.names, self.types = list(names), list(types)
        self.endResetModel()

    def refresh(self) -> None:
        if self.names:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.names) - 1, 2))

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.names)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else 3

    def flags(self, index: QModelIndex):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return f | Qt.ItemFlag.ItemIsEditable if index.column() == 2 else f

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        role_name = self.dialog.role_of(r)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return (self.names[r], self.types[r], role_name)[c]
        if role == Qt.ItemDataRole.ForegroundRole:
            if role_name == "target" and c != 1:
                return QColor(colors.BLUE)
            if role_name == "ignore" or c == 1:
                return self.dialog.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.FontRole and role_name == "target":
            f = QFont(self.dialog.font())
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and c == 2:
            return "Click to choose: feature (an input), target (what to predict) or ignore"
        if role == Qt.ItemDataRole.ToolTipRole and c == 1:
            t = self.types[r]
            if t.endswith("an id"):
                return "A different whole number on every row (an id): ignored unless you choose it"
            if t.startswith("integer"):
                return "Whole numbers with few values: as the target, task auto treats them as class labels"
            return None
        return None

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if index.column() != 2 or value not in ROLES:
            return False
        self.dialog.set_role(index.row(), value)
        return True

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class _RoleDelegate(QStyledItemDelegate):
    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.addItems(list(ROLES))
        combo.activated.connect(lambda _=0, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QComboBox, index) -> None:
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole))

    def setModelData(self, editor: QComboBox, model, index) -> None:
        model.setData(index, editor.currentText())


# ----------------------------------------------------------------------------- dialog


def _combo(items) -> QComboBox:
    c = QComboBox()
    for text, value in items:
        c.addItem(text, value)
    return c


def _set_combo(c: QComboBox, value) -> None:
    for i in range(c.count()):
        if c.itemData(i) == value:
            c.setCurrentIndex(i)
            return


class CsvImportDialog(QDialog):
    """Import a CSV file; ``data_spec()`` is the result once accepted.

    ``path``: a file to open right away (e.g. dropped on the window). ``data_spec``: the
    current CSV settings to start from ("Change…").
    """

    loaded = Signal()  # a read finished (ok or not); for tests and status bars
    validated = Signal(bool)

    def __init__(
        self, path: str | None = None, parent: QWidget | None = None, *, data_spec: DataSpec | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Import CSV data")
        self.resize(980, 660)
        self.table: Table | None = None
        self.roles: list[str] = []
        self.error: DataError | None = None
        self._valid = False
        self._summary: dict = {}
        self._distinct: dict[str, int] = {}
        self._jobs: list[Task] = []
        self._read_job: Task | None = None
        self._validate_job: Task | None = None
        self._wanted = data_spec
        self._path: str | None = None
        self._build()
        if data_spec is not None:
            _set_combo(self.delimiter, data_spec.delimiter)
            _set_combo(self.header, data_spec.header)
            self.skip.setValue(-1 if data_spec.skip_rows is None else int(data_spec.skip_rows))
            _set_combo(self.task, data_spec.task)
            _set_combo(self.missing, data_spec.missing)
            _set_combo(self.normalize, data_spec.normalize or "standard")
            self.train_pct.setValue(int(round(data_spec.train_fraction * 100)))
            if data_spec.window is not None:  # a time series: its window, horizon and columns
                self.series_check.setChecked(True)
                self.window_spin.setValue(int(data_spec.window))
                self.horizon_spin.setValue(int(data_spec.horizon))
        start = path or (data_spec.path if data_spec is not None else None)
        if start:
            self.load(str(start))
        else:
            self._update_ok()

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 12, 14, 12)
        lay.setSpacing(10)

        file_row = QHBoxLayout()
        file_row.setSpacing(6)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("Choose a .csv file, drop one on the window, or pick a sample")
        self.path_edit.editingFinished.connect(self._path_edited)
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        self.samples = QComboBox()
        self.samples.addItem("Samples")
        for p in sample_files():
            self.samples.addItem(p.name, str(p))
        self.samples.setToolTip("Small data sets shipped with the app (see resources/datasets/README.md)")
        self.samples.activated.connect(self._sample_chosen)
        file_row.addWidget(QLabel("File"))
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)
        file_row.addWidget(self.samples)
        lay.addLayout(file_row)

        opts = QHBoxLayout()
        opts.setSpacing(10)
        fmt = QGroupBox("File format")
        g = QGridLayout(fmt)
        self.delimiter = _combo(DELIMITERS)
        self.header = _combo(HEADERS)
        g.addWidget(QLabel("Delimiter"), 0, 0)
        g.addWidget(self.delimiter, 0, 1)
        g.addWidget(QLabel("Header row"), 1, 0)
        g.addWidget(self.header, 1, 1)
        self.skip = QSpinBox()
        self.skip.setRange(-1, 10_000)
        self.skip.setSpecialValueText("auto")
        self.skip.setValue(-1)
        self.skip.setSuffix(" lines")
        self.skip.setKeyboardTracking(False)
        self.skip.setToolTip(
            "Lines before the header (or the first data row) to skip. auto skips a count row such as "
            "scikit-learn's \u201c150,4,setosa,versicolor,virginica\u201d or a one-field title line"
        )
        g.addWidget(QLabel("Skip"), 2, 0)
        g.addWidget(self.skip, 2, 1)
        self.format_note = QLabel()
        self.format_note.setObjectName("dim")
        self.format_note.setWordWrap(True)
        self.format_note.setMaximumWidth(260)
        g.addWidget(self.format_note, 3, 0, 1, 2)
        learn = QGroupBox("Learning task")
        h = QGridLayout(learn)
        self.task = _combo(TASKS)
        self.task.setToolTip(
            "auto: a text target, or whole numbers with at most 10 distinct values, is classification; "
            "other numbers are regression"
        )
        self.missing = _combo(MISSING)
        self.missing.setToolTip("Rows with an empty or NA cell in a used column")
        self.normalize = _combo(NORMALIZE)
        self.normalize.setToolTip("Scaling of the inputs, fitted on the training rows")
        self.train_pct = QSpinBox()
        self.train_pct.setRange(5, 95)
        self.train_pct.setSingleStep(5)
        self.train_pct.setValue(round(DEFAULT_TRAIN_FRACTION * 100))
        self.train_pct.setSuffix("% train")
        self.train_pct.setKeyboardTracking(False)
        h.addWidget(QLabel("Task"), 0, 0)
        h.addWidget(self.task, 0, 1)
        h.addWidget(QLabel("Missing values"), 1, 0)
        h.addWidget(self.missing, 1, 1)
        h.addWidget(QLabel("Normalization"), 0, 2)
        h.addWidget(self.normalize, 0, 3)
        h.addWidget(QLabel("Split"), 1, 2)
        h.addWidget(self.train_pct, 1, 3)
        # a time series: windows of past values -> the target some steps ahead (a recurrent
        # network's data; the split in time order, the scaling fitted on the earlier part)
        self.series_check = QCheckBox("Time series: windows of")
        self.series_check.setToolTip(
            "Each sample is the last N rows of the input columns (the target's own history when "
            "no feature is chosen); the target is its value some rows ahead. Split in time order."
        )
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 10_000)
        self.window_spin.setValue(20)
        self.window_spin.setSuffix(" rows")
        self.window_spin.setKeyboardTracking(False)
        self.horizon_spin = QSpinBox()
        self.horizon_spin.setRange(1, 10_000)
        self.horizon_spin.setPrefix("predict ")
        self.horizon_spin.setSuffix(" ahead")
        self.horizon_spin.setKeyboardTracking(False)
        series_row = QHBoxLayout()
        series_row.addWidget(self.series_check)
        series_row.addWidget(self.window_spin)
        series_row.addWidget(self.horizon_spin)
        series_row.addStretch(1)
        h.addLayout(series_row, 2, 0, 1, 4)
        h.setColumnStretch(1, 1)
        h.setColumnStretch(3, 1)
        opts.addWidget(fmt)
        opts.addWidget(learn, 1)
        lay.addLayout(opts)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.roles_model = RolesModel(self)
        self.roles_view = QTableView()
        self.roles_view.setModel(self.roles_model)
        self.roles_view.setItemDelegateForColumn(2, _RoleDelegate(self.roles_view))
        self.roles_view.setEditTriggers(
            QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.CurrentChanged
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.roles_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.roles_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.roles_view.verticalHeader().hide()
        self.roles_view.setShowGrid(False)
        self.roles_view.setAlternatingRowColors(True)
        hh = self.roles_view.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(2, 96)
        self.roles_view.verticalHeader().setDefaultSectionSize(26)
        self.roles_view.clicked.connect(
            lambda ix: self.preview.scrollTo(self.preview_model.index(0, ix.row()))
        )
        self.preview_model = PreviewModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setAlternatingRowColors(True)
        self.preview.verticalHeader().setDefaultSectionSize(22)
        self.preview.horizontalHeader().setDefaultSectionSize(96)
        self.preview.horizontalHeader().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.preview.horizontalHeader().customContextMenuRequested.connect(self._header_menu)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Columns"))
        ll.addWidget(self.roles_view)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.preview_label = QLabel("Preview")
        rl.addWidget(self.preview_label)
        rl.addWidget(self.preview)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 660])
        lay.addWidget(split, 1)

        status = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(180)
        self.progress.hide()
        self.info = QLabel()
        self.info.setObjectName("dim")
        self.info.setWordWrap(True)
        status.addWidget(self.progress)
        status.addWidget(self.info, 1)
        lay.addLayout(status)

        self.error_box = QFrame()
        self.error_box.setObjectName("csvError")
        self.error_box.setStyleSheet(
            f"#csvError {{ border: 1px solid {colors.ERROR_RED}; border-radius: 6px;"
            " background: rgba(217, 48, 37, 0.12); }"
            f"#csvError QLabel {{ color: {colors.ERROR_RED}; }}"
        )
        el = QHBoxLayout(self.error_box)
        el.setContentsMargins(10, 7, 10, 7)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        el.addWidget(self.error_label, 1)
        self.error_box.hide()
        lay.addWidget(self.error_box)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use this data")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        self.delimiter.activated.connect(self._reread)
        self.header.activated.connect(self._reread)
        self.skip.valueChanged.connect(self._reread)
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(60)
        self._validate_timer.timeout.connect(self.validate)
        for c in (self.task, self.missing, self.normalize):
            c.activated.connect(self._validate_timer.start)
        self.train_pct.valueChanged.connect(self._validate_timer.start)
        self.series_check.toggled.connect(self._series_toggled)
        self.window_spin.valueChanged.connect(self._validate_timer.start)
        self.horizon_spin.valueChanged.connect(self._validate_timer.start)
        self._series_toggled(self.series_check.isChecked())

    def sizeHint(self) -> QSize:
        return QSize(980, 660)

    # -- roles -------------------------------------------------------------------------------
    def role_of(self, column: int) -> str:
        return self.roles[column] if 0 <= column < len(self.roles) else ""

    def set_role(self, column: int, role: str) -> None:
        """Give a column a role; a new target turns the old target into a feature."""
        if role == "target":
            self.roles = ["feature" if r == "target" else r for r in self.roles]
        self.roles[column] = role
        self.roles_model.refresh()
        self.preview_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(0, len(self.roles) - 1))
        self.preview.viewport().update()
        self._validate_timer.start()

    def set_target(self, name: str) -> None:
        self.set_role(self.table.names.index(name), "target")

    def _header_menu(self, pos) -> None:
        col = self.preview.horizontalHeader().logicalIndexAt(pos)
        if self.table is None or col < 0:
            return
        menu = QMenu(self)
        for role in ROLES:
            act = QAction(f"Use as {role}", menu)
            act.setCheckable(True)
            act.setChecked(self.role_of(col) == role)
            act.triggered.connect(lambda _=False, r=role: self.set_role(col, r))
            menu.addAction(act)
        menu.exec(self.preview.horizontalHeader().mapToGlobal(pos))

    def _default_roles(self, table: Table) -> list[str]:
        """The wanted roles ("Change…") or the defaults of make_tabular_dataset: the last
        column is the target; ids and free text (too many values to one-hot) are ignored."""
        names = table.names
        want = self._wanted
        target = want.target if want is not None and want.target in names else names[-1]
        wanted_inputs = (want.features or want.columns) if want is not None else ()
        if wanted_inputs and any(f in names for f in wanted_inputs):
            roles = ["feature" if n in wanted_inputs else "ignore" for n in names]
        else:
            feats, _ignored = default_features(table, target, self._distinct)
            roles = ["feature" if n in feats else "ignore" for n in names]
        roles[names.index(target)] = "target"
        return roles

    # -- reading -----------------------------------------------------------------------------
    def _browse(self) -> None:
        from playground.app import settings

        start = str(Path(self._path).parent) if self._path else str(settings.last_folder("csv"))
        path, _ = QFileDialog.getOpenFileName(
            self, "Import CSV data", start, "CSV files (*.csv *.tsv *.txt);;All files (*)"
        )
        if path:
            settings.set_last_folder("csv", path)
            self.load(path)

    def _path_edited(self) -> None:
        text = self.path_edit.text().strip()
        if text and text != self._path:
            self.load(text)

    def _sample_chosen(self, index: int) -> None:
        if index > 0:
            self.load(self.samples.itemData(index))
        self.samples.setCurrentIndex(0)

    def load_sample(self, name: str) -> None:
        self.load(str(samples_dir() / name))

    def skip_rows(self) -> int | None:
        """Lines to skip before the header: None for auto."""
        v = self.skip.value()
        return None if v < 0 else v

    def _reread(self, *_args) -> None:
        if self._path:
            self.load(self._path, keep_roles=True)

    def load(self, path: str, keep_roles: bool = False) -> None:
        """Read ``path`` in the background; the preview fills in when done."""
        from playground.data.build import resolve_data_path

        resolved = str(resolve_data_path(path))
        if keep_roles and self.table is not None:
            target = next((n for n, r in zip(self.table.names, self.roles) if r == "target"), None)
            feats = tuple(n for n, r in zip(self.table.names, self.roles) if r == "feature")
            self._wanted = DataSpec(kind="csv", path=resolved, target=target, features=feats)
        elif not keep_roles and self._path is not None and resolved != self._path:
            self._wanted = None
        self._path = resolved
        self.path_edit.setText(resolved)
        self.table = None
        self.roles = []
        self._set_valid(False)
        self._show_error(None)
        self.preview_model.clear()
        self.roles_model.set_columns([], [])
        self.info.setText(f"Reading {Path(resolved).name}\u2026")
        self.progress.setValue(0)
        self.progress.show()
        delim, header, skip = self.delimiter.currentData(), self.header.currentData(), self.skip_rows()
        self.format_note.setText("")
        if self._read_job is not None:
            self._read_job.cancel()
        job = Task(lambda state: _read(resolved, delim, header, skip, state.progress), self)
        job.progressed.connect(self._read_progress)
        job.succeeded.connect(self._read_done)
        job.failed.connect(self._read_failed)
        self._read_job = job
        self._start(job)

    def _start(self, job: Task) -> None:
        """Start a job whose result slots are already connected (a quick job may finish at once)."""
        job.finished.connect(self._job_finished)
        self._jobs.append(job)
        job.start()

    def _job_finished(self) -> None:
        self._jobs = [j for j in self._jobs if j.isRunning()]
        self._update_ok()

    def _read_progress(self, fraction: float) -> None:
        if self.sender() is self._read_job:
            self.progress.setValue(int(fraction * 1000))

    def _read_done(self, result: dict) -> None:
        if self.sender() is not self._read_job:
            return
        self._read_job = None
        self.progress.hide()
        table: Table = result["table"]
        self._distinct = result["distinct"]
        self.table = table
        self.roles = self._default_roles(table)
        self.roles_model.set_columns(table.names, result["types"])
        self.preview_model.set_table(table)
        self._update_preview_label()
        self.format_note.setText(self._format_text(table))
        self.loaded.emit()
        self.validate()

    @staticmethod
    def _format_text(table: Table) -> str:
        """What the reader made of the file layout: delimiter, skipped lines, header line."""
        delim = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar", WHITESPACE: "whitespace"}
        parts = [f"Delimiter: {delim.get(table.delimiter, repr(table.delimiter))}"]
        skipped = int(table.info.get("skipped_lines", 0) or 0)
        reason = table.info.get("skip_reason")
        if skipped:
            what = f"line {skipped}" if skipped == 1 else f"lines 1\u2013{skipped}"
            parts.append(f"Skipped {reason}" if reason else f"Skipped {what}")
        line = table.info.get("header_line")
        parts.append(f"Header on line {line}" if table.has_header and line else "No header row")
        return "\n".join(parts)

    def _read_failed(self, err: Exception) -> None:
        if self.sender() is not self._read_job:
            return
        err = _as_data_error(err)
        self._read_job = None
        self.progress.hide()
        self.info.setText("")
        self._show_error(err)
        path = self._path
        if path and Path(path).is_file() and err.row is not None:
            try:
                raw = _raw_records(
                    path,
                    self.delimiter.currentData(),
                    self.header.currentData(),
                    err.row,
                    skip_rows=self.skip_rows(),
                )
            except OSError:
                raw = None
            if raw is not None:
                self.preview_model.set_records(raw["names"], raw["records"])
                self._update_preview_label(raw=True)
                self._highlight(err)
        self.loaded.emit()
        self._update_ok()

    def _update_preview_label(self, raw: bool = False) -> None:
        m = self.preview_model
        if raw:
            self.preview_label.setText("Preview (the file as plain lines, up to the problem)")
        elif self.table is not None:
            self.preview_label.setText(
                f"Preview: first {min(PREVIEW_ROWS, self.table.n_rows):,} of {self.table.n_rows:,} rows, "
                f"{m.columnCount():,} columns (right-click a column header to change its role)"
            )

    # -- validation --------------------------------------------------------------------------
    def _series_toggled(self, on: bool) -> None:
        for w in (self.window_spin, self.horizon_spin):
            w.setEnabled(on)
        self.task.setEnabled(not on)  # a time series' target is a number: regression
        self._validate_timer.start()

    def is_series(self) -> bool:
        return self.series_check.isChecked()

    def _choices(self) -> dict:
        """The column roles and options: make_tabular_dataset's and DataSpec's fields by name
        (a time series: the timeseries builder's, with the feature columns as its inputs)."""
        names = self.table.names if self.table is not None else []
        target = next((n for n, r in zip(names, self.roles) if r == "target"), None)
        feats = tuple(n for n, r in zip(names, self.roles) if r == "feature")
        if self.is_series():
            return {
                "target": target,
                "columns": feats,
                "window": self.window_spin.value(),
                "horizon": self.horizon_spin.value(),
                "missing": self.missing.currentData(),
                "normalize": self.normalize.currentData(),
                "train_fraction": self.train_pct.value() / 100,
            }
        return {
            "target": target,
            "features": feats,
            "task": self.task.currentData(),
            "missing": self.missing.currentData(),
            "normalize": self.normalize.currentData(),
            "train_fraction": self.train_pct.value() / 100,
        }

    def validate(self) -> None:
        """Check the current choices with make_tabular_dataset (in the background)."""
        if self.table is None:
            return
        ch = self._choices()
        self._set_valid(False)
        if ch["target"] is None:
            self._show_error(DataError("choose a target column (the value to predict)"))
            return
        if not self.is_series() and not ch["features"]:
            self._show_error(DataError("choose at least one feature column (an input)"))
            return
        table = self.table
        series = self.is_series()

        def run(_state):
            if series:
                from playground.data.timeseries import timeseries_dataset_from_table

                ds = timeseries_dataset_from_table(
                    table, DataSpec(kind="csv", path=table.source, **ch), seed=0
                )
            else:
                ds = make_tabular_dataset(table, **ch, seed=0)
            return {
                "choices": ch,
                "task": ds.task,
                "n_classes": ds.n_classes,
                "n_inputs": ds.n_inputs,
                "n_train": ds.n_train,
                "n_test": ds.n_test,
                "rows_dropped": ds.info.get("rows_dropped", 0),
                "task_reason": ds.info.get("task_reason", ""),
            }

        if self._validate_job is not None:
            self._validate_job.cancel()
        job = Task(run, self)
        job.succeeded.connect(self._validate_done)
        job.failed.connect(self._validate_failed)
        self._validate_job = job
        self._start(job)
        self.info.setText("Checking\u2026")

    def _validate_done(self, summary: dict) -> None:
        if self.sender() is not self._validate_job:
            return
        self._validate_job = None
        if summary["choices"] != self._choices():  # changed while checking: check again
            self.validate()
            return
        self._summary = summary
        self._show_error(None)
        self.preview_model.mark_error(None, None)
        s = summary
        kind = f"classification, {s['n_classes']} classes" if s["task"] == "classification" else "regression"
        if s["choices"].get("task", "") is None and s.get("task_reason"):
            kind += f" (auto \u2013 {s['task_reason'].split(': ', 1)[-1]})"
        inputs = s["choices"].get("features", s["choices"].get("columns")) or (s["choices"]["target"],)
        parts = [
            f"{self.table.n_rows:,} rows",
            f"{len(inputs)} input columns \u2192 {s['n_inputs']} inputs",
            f"target {s['choices']['target']}",
            kind,
            f"{s['n_train']:,} train / {s['n_test']:,} test",
        ]
        if s["rows_dropped"]:
            parts.append(f"{s['rows_dropped']:,} rows with missing values dropped")
        self.info.setText(" \u00b7 ".join(parts))
        self._set_valid(True)
        self.validated.emit(True)

    def _validate_failed(self, err: Exception) -> None:
        if self.sender() is not self._validate_job:
            return
        err = _as_data_error(err)
        self._validate_job = None
        self.info.setText("")
        self._show_error(err)
        self._highlight(err)
        self.validated.emit(False)

    # -- errors ------------------------------------------------------------------------------
    @staticmethod
    def error_text(err: DataError) -> str:
        where = []
        if err.row is not None:
            where.append(f"Row {err.row}")
        if err.column is not None:
            where.append(
                f"column \u201c{err.column}\u201d" if isinstance(err.column, str) else f"column {err.column}"
            )
        msg = err.message
        if where:
            where[0] = where[0][0].upper() + where[0][1:]
            return f"{', '.join(where)}: {msg}"
        return msg[:1].upper() + msg[1:]

    def _show_error(self, err: DataError | None) -> None:
        self.error = err
        self.error_box.setVisible(err is not None)
        self.error_label.setText("" if err is None else "\u26a0  " + self.error_text(err))
        if err is not None:
            self._set_valid(False)

    def _highlight(self, err: DataError) -> None:
        names = self.preview_model.names
        col = None
        if isinstance(err.column, str) and err.column in names:
            col = names.index(err.column)
        elif isinstance(err.column, int) and 0 <= err.column < len(names):
            col = err.column
        if err.row is not None and self.table is not None and err.row not in self.preview_model.lines:
            self.preview_model.set_table(self.table, error_line=err.row)  # bring the row into view
        index = self.preview_model.mark_error(err.row, col)
        if index is not None and index.isValid():
            self.preview.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            # current but not selected: the red highlight stays visible
            self.preview.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        if col is not None and col < self.roles_model.rowCount():
            self.roles_view.selectRow(col)

    # -- result ------------------------------------------------------------------------------
    def _set_valid(self, ok: bool) -> None:
        self._valid = ok
        self._update_ok()

    def _update_ok(self) -> None:
        busy = self._read_job is not None or self._validate_job is not None
        self.ok_button.setEnabled(self._valid and not busy and self.error is None)

    def is_busy(self) -> bool:
        return self._read_job is not None or self._validate_job is not None or self._validate_timer.isActive()

    def is_valid(self) -> bool:
        return self.ok_button.isEnabled()

    def data_spec(self) -> DataSpec:
        """The DataSpec of the current (validated) choices."""
        ch = self._choices()
        path = self._path or ""
        p = Path(path)
        try:
            if p.parent.resolve() == samples_dir().resolve():
                path = p.name  # shipped samples by name: sessions stay portable
        except OSError:
            pass
        return DataSpec(
            kind="csv",
            path=path,
            **ch,
            delimiter=self.delimiter.currentData(),
            header=self.header.currentData(),
            skip_rows=self.skip_rows(),
        )

    def task_summary(self) -> tuple[str, int] | None:
        """(task, n_classes) of the validated choices, for adapting loss and output."""
        if not self._summary:
            return None
        return self._summary["task"], self._summary["n_classes"]

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def shutdown(self) -> None:
        """Stop background reads (a running QThread must not outlive the dialog)."""
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            job.wait()
        self._jobs = []
        self._read_job = self._validate_job = None

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from playground.app.theme import apply_theme

    apply_theme("dark" if "--dark" in sys.argv else "light", app)
    args = [a for a in sys.argv[1:] if not a.startswith("--") and not a.endswith(".png")]
    dlg = CsvImportDialog(args[0] if args else str(samples_dir() / "iris.csv"))
    if "--grab" in sys.argv:
        out = sys.argv[sys.argv.index("--grab") + 1]
        dlg.show()
        QTimer.singleShot(1500, lambda: (dlg.grab().save(out), app.quit()))
        app.exec()
    else:
        dlg.exec()
        print(dlg.data_spec() if dlg.result() else "cancelled")
