"""CsvImportDialog: reading in the background, roles, the resulting DataSpec, errors with row/column."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from playground.app.dialogs.csv import CsvImportDialog
from playground.spec import DataSpec


@pytest.fixture
def open_dialog(qtbot):
    made = []

    def make(path=None, **kw):
        dlg = CsvImportDialog(str(path) if path is not None else None, **kw)
        qtbot.addWidget(dlg)
        made.append(dlg)
        qtbot.waitUntil(lambda: not dlg.is_busy(), timeout=5000)
        return dlg

    yield make
    for d in made:
        d.shutdown()  # no reader thread may outlive the test


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_file_gives_the_right_data_spec(open_dialog, tmp_path, qtbot):
    rows = "\n".join(f"{i * 0.1:.1f};{(i % 7) * 1.5};{'yes' if i % 3 else 'no'};id{i}" for i in range(40))
    path = _write(tmp_path, "good.csv", "height;weight;label;name\n" + rows + "\n")
    dlg = open_dialog(path)
    assert dlg.table is not None and dlg.table.n_rows == 40
    assert dlg.roles == ["feature", "feature", "feature", "target"]  # last column is the default target
    dlg.set_target("label")
    dlg.set_role(3, "ignore")
    dlg.train_pct.setValue(75)
    dlg.normalize.setCurrentIndex(dlg.normalize.findText("min-max"))
    dlg.normalize.activated.emit(dlg.normalize.currentIndex())
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=5000)
    assert dlg.ok_button.isEnabled()
    assert not dlg.error_box.isVisible()
    assert dlg.task_summary() == ("classification", 2)
    assert dlg.data_spec() == DataSpec(
        kind="csv",
        path=str(path),
        target="label",
        features=("height", "weight"),
        task=None,
        missing="drop",
        normalize="minmax",
        train_fraction=0.75,
        delimiter=None,
        header=None,
    )
    assert "40 rows" in dlg.info.text() and "classification, 2 classes" in dlg.info.text()


def test_ragged_row_is_reported_with_its_row_and_disables_ok(open_dialog, tmp_path):
    path = _write(tmp_path, "ragged.csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n11,12,13\n")
    dlg = open_dialog(path)
    assert dlg.error is not None
    text = dlg.error_label.text()
    assert "Row 4" in text and "4 fields" in text
    assert not dlg.ok_button.isEnabled()
    assert not dlg.error_box.isHidden()
    m = dlg.preview_model
    assert m.lines[m.error_row] == 4  # the bad line is highlighted in the preview
    assert dlg.preview.currentIndex().row() == m.error_row


def test_non_numeric_cell_names_row_and_column(open_dialog, tmp_path):
    lines = [f"{i},{i * 2},{i % 2}" for i in range(30)]
    lines[9] = "9,abc,1"  # file line 11 (header is line 1)
    path = _write(tmp_path, "typo.csv", "x,y,t\n" + "\n".join(lines) + "\n")
    dlg = open_dialog(path)
    text = dlg.error_label.text()
    assert "Row 11" in text and "\u201cy\u201d" in text and "'abc'" in text
    assert not dlg.ok_button.isEnabled()
    m = dlg.preview_model
    assert m.error_col == 1 and m.lines[m.error_row] == 11
    idx = dlg.preview.currentIndex()
    assert (idx.row(), idx.column()) == (m.error_row, 1)
    # ignoring the broken column makes the choices valid again
    dlg.set_role(1, "ignore")
    dlg.validate()
    assert dlg.is_busy() or dlg.error is None


def test_error_far_down_the_file_is_brought_into_the_preview(open_dialog, tmp_path):
    lines = [f"{i},{i % 2}" for i in range(600)]
    lines[499] = "oops,1"  # file line 501
    path = _write(tmp_path, "late.csv", "x,t\n" + "\n".join(lines) + "\n")
    dlg = open_dialog(path)
    m = dlg.preview_model
    assert "Row 501" in dlg.error_label.text()
    assert 501 in m.lines and m.lines[m.error_row] == 501
    assert m.rowCount() <= 210  # 200 first rows plus the rows around the problem


def test_sample_drop_down_loads_iris(open_dialog, qtbot):
    dlg = open_dialog()
    assert not dlg.ok_button.isEnabled()  # nothing chosen yet
    index = dlg.samples.findText("iris.csv")
    assert index > 0
    dlg.samples.setCurrentIndex(index)
    dlg.samples.activated.emit(index)
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=5000)
    spec = dlg.data_spec()
    assert spec.path == "iris.csv"  # shipped samples are stored by name
    assert spec.target == "species"
    assert spec.features == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert dlg.task_summary() == ("classification", 3)


def test_change_starts_from_the_current_settings(open_dialog, qtbot):
    current = DataSpec(
        kind="csv",
        path="iris.csv",
        target="petal_width",
        features=("sepal_length",),
        task="regression",
        normalize="none",
        train_fraction=0.6,
    )
    dlg = open_dialog(data_spec=current)
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=5000)
    spec = dlg.data_spec()
    assert (spec.target, spec.features, spec.task, spec.normalize, spec.train_fraction) == (
        "petal_width",
        ("sepal_length",),
        "regression",
        "none",
        0.6,
    )
    assert dlg.task_summary() == ("regression", 0)


def _iris_like(tmp_path):
    rows = [
        f"{5 + (i % 7) * 0.1:.1f},{3 + (i % 5) * 0.1:.1f},{1 + i % 4},{0.2 + (i % 3) * 0.1:.1f},{i // 50}"
        for i in range(150)
    ]
    return _write(tmp_path, "iris.csv", "150,4,setosa,versicolor,virginica\n" + "\n".join(rows) + "\n")


def test_scikit_learn_count_row_is_skipped_and_labels_are_classes(open_dialog, tmp_path, qtbot):
    dlg = open_dialog(_iris_like(tmp_path))
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=300_000)
    assert dlg.table.n_rows == 150 and dlg.table.names[-1] == "target"
    assert dlg.preview_model.lines[0] == 2  # the preview starts at line 2
    note = dlg.format_note.text()
    assert "Skipped line 1: a count row" in note and "No header row" in note
    assert dlg.roles == ["feature"] * 4 + ["target"]
    assert dlg.task_summary() == ("classification", 3)
    assert "'target' has 3 distinct integer values" in dlg.info.text()
    assert dlg.roles_model.types[-1] == "integer, 3 values"
    tip = dlg.roles_model.data(dlg.roles_model.index(4, 1), Qt.ItemDataRole.ToolTipRole)
    assert "class labels" in tip
    # "skip 0 lines": the count row is read as data, and the preview shows it at once
    dlg.skip.setValue(0)
    qtbot.waitUntil(lambda: not dlg.is_busy(), timeout=300_000)
    assert dlg.preview_model.names == ["150", "4", "setosa", "versicolor", "virginica"]  # as the user asked
    assert "Header on line 1" in dlg.format_note.text() and "Skipped" not in dlg.format_note.text()
    dlg.skip.setValue(-1)  # back to auto
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=300_000)
    assert dlg.preview_model.lines[0] == 2 and dlg.skip.text() == "auto"


def test_skip_lines_chooses_the_header_line(open_dialog, tmp_path, qtbot):
    body = "".join(f"{i * 0.5},{(i * 3) % 7},{'ab'[i % 2]}\n" for i in range(20))
    path = _write(tmp_path, "notes.csv", "exported by lab 3, sheet 2\nunits: cm, kg\nx,y,label\n" + body)
    dlg = open_dialog(path)
    dlg.header.setCurrentIndex(dlg.header.findText("no"))  # a first read with other column names
    dlg.header.activated.emit(dlg.header.currentIndex())
    qtbot.waitUntil(lambda: not dlg.is_busy(), timeout=300_000)
    dlg.header.setCurrentIndex(dlg.header.findText("auto"))
    dlg.skip.setValue(2)
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=300_000)
    assert dlg.table.names == ["x", "y", "label"]
    assert dlg.preview_model.names == ["x", "y", "label"] and dlg.preview_model.lines[0] == 4
    assert "Header on line 3" in dlg.format_note.text()
    assert dlg.roles == ["feature", "feature", "target"]  # roles of the old names do not carry over
    assert dlg.data_spec().target == "label"


def test_whitespace_delimiter(open_dialog, tmp_path, qtbot):
    rows = "".join(f"  {i * 0.5:<6} {(i * 3) % 7}\t{'ab'[i % 2]}\n" for i in range(20))
    path = _write(tmp_path, "ws.txt", "x   y  label\n" + rows)
    dlg = open_dialog(path)
    dlg.delimiter.setCurrentIndex(dlg.delimiter.findText("whitespace"))
    dlg.delimiter.activated.emit(dlg.delimiter.currentIndex())
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=300_000)
    assert dlg.preview_model.names == ["x", "y", "label"]
    assert dlg.preview_model.data(dlg.preview_model.index(1, 0)) == "0.5"
    assert "whitespace" in dlg.format_note.text()
    assert dlg.data_spec().delimiter == " "


def test_id_column_starts_ignored(open_dialog, tmp_path, qtbot):
    rows = "".join(f"{i + 1},{i * 0.5},{'ab'[i % 2]}\n" for i in range(30))
    dlg = open_dialog(_write(tmp_path, "ids.csv", "id,x,label\n" + rows))
    qtbot.waitUntil(lambda: not dlg.is_busy() and dlg.is_valid(), timeout=300_000)
    assert dlg.roles == ["ignore", "feature", "target"]
    assert dlg.roles_model.types[0] == "integer, an id"
    assert dlg.data_spec().features == ("x",)


def test_error_preview_of_a_whitespace_file_after_skipped_lines(open_dialog, tmp_path, qtbot):
    rows = [f"{i}  {i * 0.5}\t{i % 2}" for i in range(12)]
    rows[7] = "7 3.5 1 99"  # file line 11 has a fourth field
    path = _write(
        tmp_path, "ws.txt", "title of the table\nsecond note line\nx y t\n" + "\n".join(rows) + "\n"
    )
    dlg = open_dialog(path)
    dlg.delimiter.setCurrentIndex(dlg.delimiter.findText("whitespace"))
    dlg.skip.setValue(2)
    qtbot.waitUntil(lambda: not dlg.is_busy(), timeout=300_000)
    assert "Row 11" in dlg.error_label.text() and "4 fields" in dlg.error_label.text()
    m = dlg.preview_model
    assert m.names[:3] == ["x", "y", "t"] and m.lines[0] == 4
    assert m.lines[m.error_row] == 11 and m.data(m.index(m.error_row, 3)) == "99"


def test_browse_starts_where_the_last_csv_was_chosen(open_dialog, tmp_path, qtbot, monkeypatch):
    """Browse… opens in the folder of the last CSV picked (remembered across dialogs)."""
    from PySide6.QtWidgets import QFileDialog

    folder = tmp_path / "datasets"
    folder.mkdir()
    path = _write(folder, "a.csv", "x,y\n" + "\n".join(f"{i},{i % 2}" for i in range(20)) + "\n")
    starts = []

    def fake_open(_parent, _title, start, _filter):
        starts.append(start)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    first = open_dialog()
    first._browse()
    qtbot.waitUntil(lambda: first.table is not None, timeout=5000)
    second = open_dialog()  # a new dialog without a file
    second._browse()
    assert starts[1] == str(folder) and starts[0] != str(folder)
