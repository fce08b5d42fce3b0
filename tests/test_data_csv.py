"""CSV reading, tabular datasets, shipped data sets and every bad-input case."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from playground.data import build_dataset, csv_reader, make_tabular_dataset, read_csv_table, resolve_data_path
from playground.errors import DataError

DATASETS = Path(__file__).resolve().parents[1] / "resources" / "datasets"


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_bytes(text.encode("utf-8"))
    return p


def csv_spec(path, **kw):
    base = dict(
        kind="csv",
        name="",
        n_samples=0,
        noise=0.0,
        train_fraction=0.8,
        n_classes=3,
        features=(),
        seed=None,
        path=str(path),
        target=None,
        task=None,
        normalize=None,
        missing="drop",
        delimiter=None,
        header=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def error_of(fn, *args, **kw) -> DataError:
    with pytest.raises(DataError) as e:
        fn(*args, **kw)
    return e.value


NUMERIC = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n"


# ------------------------------------------------------------------------- reading


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_sniffing(tmp_path, delim):
    p = write(tmp_path, NUMERIC.replace(",", delim))
    t = read_csv_table(p)
    assert t.delimiter == delim
    assert t.names == ["a", "b", "label"]
    assert [c.kind for c in t.columns] == ["numeric", "numeric", "text"]
    np.testing.assert_array_equal(t["a"].values, [1, 3, 5, 7, 9])
    assert t["label"].values.tolist() == ["x", "y", "x", "y", "x"]
    assert t.row_numbers.tolist() == [2, 3, 4, 5, 6]


def test_semicolon_with_decimal_comma(tmp_path):
    p = write(tmp_path, "a;b;c\n1,5;2;x\n3,25;4;y\n")
    t = read_csv_table(p)
    assert t.delimiter == ";"
    assert t["a"].kind == "numeric"
    np.testing.assert_allclose(t["a"].values, [1.5, 3.25])


def test_explicit_delimiter(tmp_path):
    p = write(tmp_path, "a;b\n1;2\n3;4\n")
    t = read_csv_table(p, delimiter=";")
    assert t.names == ["a", "b"]
    t = read_csv_table(write(tmp_path, "a\tb\n1\t2\n", "t.csv"), delimiter="\\t")
    assert t.names == ["a", "b"]


def test_bom_and_crlf(tmp_path):
    p = write(tmp_path, b"\xef\xbb\xbfa,b,label\r\n1,2,x\r\n3,4,y\r\n")
    t = read_csv_table(p)
    assert t.names == ["a", "b", "label"]  # no BOM in the first name
    np.testing.assert_array_equal(t["b"].values, [2, 4])
    assert t["label"].values.tolist() == ["x", "y"]
    assert t.row_numbers.tolist() == [2, 3]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    p = write(tmp_path, 'a,b,c\n1,"hello, world",x\n2,"multi\nline",y\n3,"say ""hi""",x\n4,plain,y\n')
    t = read_csv_table(p)
    assert t["b"].values.tolist() == ["hello, world", "multi\nline", 'say "hi"', "plain"]
    assert t.row_numbers.tolist() == [2, 3, 5, 6]  # the multi-line record moves later lines down
    np.testing.assert_array_equal(t["a"].values, [1, 2, 3, 4])


def test_quoted_numbers_take_numeric_column(tmp_path):
    p = write(tmp_path, '"a","b"\n"1.5","2"\n"3","4"\n')
    t = read_csv_table(p)
    assert t.names == ["a", "b"] and t["a"].kind == "numeric"
    np.testing.assert_array_equal(t["a"].values, [1.5, 3])


def test_header_detection(tmp_path):
    assert read_csv_table(write(tmp_path, "x,y\n1,2\n3,4\n")).has_header
    t = read_csv_table(write(tmp_path, "1,2\n3,4\n5,6\n", "n.csv"))
    assert not t.has_header and t.names == ["column 1", "column 2"] and t.n_rows == 3
    assert t.row_numbers.tolist() == [1, 2, 3]
    t = read_csv_table(write(tmp_path, "1,2,a\n3,4,b\n", "n2.csv"))
    assert not t.has_header
    t = read_csv_table(write(tmp_path, "name,colour\nann,red\nbob,blue\n", "txt.csv"))
    assert t.has_header and t.n_rows == 2
    t = read_csv_table(write(tmp_path, "x,y\n1,2\n", "forced.csv"), header=False)
    assert t.n_rows == 2 and t["column 1"].kind == "text"


def test_duplicate_and_empty_header_names(tmp_path):
    t = read_csv_table(write(tmp_path, "a,a,\n1,2,3\n"))
    assert t.names == ["a", "a.2", "column 3"]


def test_missing_tokens_and_blank_lines(tmp_path):
    p = write(tmp_path, "a,b\n1,NA\n\n2,\n3,?\n4,null\n5,None\n6,nan\n7,NaN\n8,9\n\n")
    t = read_csv_table(p)
    assert t["b"].kind == "numeric"
    assert t["b"].missing.tolist() == [True] * 7 + [False]
    assert t.row_numbers.tolist() == [2, 4, 5, 6, 7, 8, 9, 10]


def test_progress_and_blocks(tmp_path):
    rows = "".join(f"{i},{i * 0.5},{'ab'[i % 2]}\n" for i in range(5000))
    p = write(tmp_path, "i,h,c\n" + rows)
    seen = []
    t = read_csv_table(p, progress=seen.append, block_bytes=4096)
    assert t.n_rows == 5000 and len(seen) > 5
    assert seen == sorted(seen) and seen[-1] == 1.0
    np.testing.assert_array_equal(t["i"].values, np.arange(5000))
    assert t.row_numbers[-1] == 5001


def test_text_column_discovered_in_later_block(tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(3000)) + "5,hello\n"
    t = read_csv_table(write(tmp_path, "a,b\n" + rows), block_bytes=2048)
    assert t["a"].kind == "numeric" and t["b"].kind == "text"
    assert t["b"].values[:3].tolist() == ["0", "1", "2"]  # original strings kept
    assert t["b"].first_text_row == 3002 and t["b"].n_numeric == 3000


def test_quoted_newline_across_block_boundary(tmp_path):
    rows = "".join(f'{i},"line {i}\nmore"\n' for i in range(400))
    t = read_csv_table(write(tmp_path, "a,b\n" + rows), block_bytes=1000)
    assert t.n_rows == 400 and t["b"].values[399] == "line 399\nmore"
    assert t.row_numbers[1] == 4


def test_max_bytes_and_memory_check(tmp_path, monkeypatch):
    p = write(tmp_path, NUMERIC)
    e = error_of(read_csv_table, p, max_bytes=10)
    assert e.file == str(p) and "limit" in e.message
    monkeypatch.setattr(csv_reader, "available_memory", lambda: 100)
    e = error_of(read_csv_table, p)
    assert e.file == str(p) and "memory" in e.message


# ------------------------------------------------------------------ tabular datasets


def test_text_target_classes_and_one_hot(tmp_path):
    p = write(tmp_path, "size,colour,kind\n1,red,cat\n2,blue,dog\n3,red,cat\n4,green,dog\n5,blue,cat\n")
    ds = make_tabular_dataset(read_csv_table(p), "kind", train_fraction=0.6, seed=0)
    assert ds.task == "classification" and ds.class_names == ["cat", "dog"]
    assert ds.input_names == ["size", "colour=blue", "colour=green", "colour=red"]
    assert ds.feature_names == ds.input_names
    assert ds.y_train.dtype == np.int64 and ds.y_train.shape == (3,)
    raw = np.vstack([ds.raw_train, ds.raw_test])
    np.testing.assert_array_equal(raw[:, 1:].sum(1), 1)  # exactly one hot
    assert ds.n_inputs == 4 and ds.n_classes == 2


def test_numeric_target_regression_and_forced_classification(tmp_path):
    p = write(tmp_path, "a,b,t\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    t = read_csv_table(p)
    ds = make_tabular_dataset(t, "t", task="regression")  # DEFAULT_TRAIN_FRACTION 0.5 of 20 rows
    assert ds.task == "regression" and ds.y_train.shape == (10, 1) and ds.y_train.dtype == np.float64
    assert ds.class_names is None and ds.target_names == ["t"]
    ds = make_tabular_dataset(t, "t", task="classification")
    assert ds.class_names == ["0", "1"] and ds.y_train.dtype == np.int64
    ds = make_tabular_dataset(t, "t")  # auto: an integer column with 2 values is a class label
    assert ds.task == "classification" and ds.class_names == ["0", "1"]
    assert ds.info["task_reason"] == "classification: 't' has 2 distinct integer values"
    ds = make_tabular_dataset(t, "a")  # 20 distinct integers: a quantity, not classes
    assert ds.task == "regression" and "20 distinct integer values" in ds.info["task_reason"]


def test_feature_subset_and_default_target(tmp_path):
    t = read_csv_table(write(tmp_path, NUMERIC))
    ds = make_tabular_dataset(t, None, train_fraction=0.6)
    assert ds.target_names == ["label"] and ds.input_names == ["a", "b"]
    ds = make_tabular_dataset(t, "label", features=["b"])
    assert ds.input_names == ["b"]


def test_normalization_fitted_on_train_only(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(5, 3, size=(200, 3))
    text = "a,b,c\n" + "".join(",".join(f"{v:.5f}" for v in r) + "\n" for r in data)
    ds = make_tabular_dataset(read_csv_table(write(tmp_path, text)), "c", train_fraction=0.5, seed=1)
    np.testing.assert_allclose(ds.X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(0), 1, atol=1e-12)
    assert np.all(ds.X_test.mean(0) != 0)
    np.testing.assert_allclose(ds.pipeline.offset, ds.raw_train.mean(0))
    ds2 = make_tabular_dataset(read_csv_table(write(tmp_path, text)), "c", normalize="none")
    np.testing.assert_array_equal(ds2.X_train, ds2.raw_train)


def test_split_is_deterministic_by_seed(tmp_path):
    t = read_csv_table(write(tmp_path, NUMERIC))
    a = make_tabular_dataset(t, "label", train_fraction=0.6, seed=3)
    b = make_tabular_dataset(t, "label", train_fraction=0.6, seed=3)
    np.testing.assert_array_equal(a.raw_train, b.raw_train)
    assert a.raw_train.shape == (3, 2) and a.raw_test.shape == (2, 2)


def test_missing_drop_and_error(tmp_path):
    p = write(tmp_path, "a,b,label\n1,2,x\n3,NA,y\n5,6,x\n7,8,\n9,10,y\n11,12,x\n")
    t = read_csv_table(p)
    ds = make_tabular_dataset(t, "label", missing="drop")
    assert ds.info["rows_dropped"] == 2 and ds.n_train + ds.n_test == 4
    assert ds.info["n_rows"] == 6
    e = error_of(make_tabular_dataset, t, "label", missing="error")
    assert (e.file, e.row, e.column) == (str(p), 3, "b")
    assert "data.csv, row 3, column 'b'" in str(e)


# ---------------------------------------------------------------- bad input errors


def test_empty_file(tmp_path):
    p = write(tmp_path, "")
    e = error_of(read_csv_table, p)
    assert e.file == str(p) and "empty" in e.message
    e = error_of(read_csv_table, write(tmp_path, "\n\n  \n", "blank.csv"))
    assert "empty" in e.message


def test_header_only(tmp_path):
    p = write(tmp_path, "a,b,c\n")
    e = error_of(read_csv_table, p)
    assert e.file == str(p) and e.row == 2 and "no data rows" in e.message


def test_missing_file(tmp_path):
    e = error_of(read_csv_table, tmp_path / "nope.csv")
    assert e.file.endswith("nope.csv") and "not found" in e.message
    e = error_of(build_dataset, csv_spec("definitely_missing_file.csv"), 0)
    assert "not found" in e.message


def test_ragged_rows(tmp_path):
    p = write(tmp_path, "a,b,c\n1,2,x\n3,4\n5,6,y\n")
    e = error_of(read_csv_table, p)
    assert (e.file, e.row) == (str(p), 3)
    assert "2 fields" in e.message and "3" in e.message
    p = write(tmp_path, "a,b\n1,2\n3,4,5\n", "extra.csv")
    e = error_of(read_csv_table, p)
    assert e.row == 3 and "3 fields" in e.message


def test_ragged_row_in_large_file_reports_exact_line(tmp_path):
    rows = [f"{i},{i}" for i in range(5000)]
    rows[4321] = "1,2,3"
    p = write(tmp_path, "a,b\n" + "\n".join(rows) + "\n")
    e = error_of(read_csv_table, p, block_bytes=4096)
    assert e.row == 4321 + 2


def test_stray_text_in_numeric_column(tmp_path):
    rows = "".join(f"{i},{i * 2},x\n" for i in range(30))
    p = write(tmp_path, "a,b,c\n" + rows + "7,oops,y\n" + "1,2,y\n")
    t = read_csv_table(p)
    e = error_of(make_tabular_dataset, t, "c")
    assert (e.file, e.row, e.column) == (str(p), 32, "b")
    assert "'oops'" in e.message and "not a number" in e.message
    e = error_of(build_dataset, csv_spec(p, target="c"), 0)
    assert (e.row, e.column) == (32, "b")


def test_text_target_with_regression_task(tmp_path):
    t = read_csv_table(p := write(tmp_path, NUMERIC))
    e = error_of(make_tabular_dataset, t, "label", task="regression")
    assert (e.file, e.row, e.column) == (str(p), 2, "label")


def test_single_class(tmp_path):
    p = write(tmp_path, "a,label\n1,x\n2,x\n3,x\n")
    e = error_of(make_tabular_dataset, read_csv_table(p), "label")
    assert (e.file, e.column) == (str(p), "label") and "single class" in e.message


def test_all_missing_target(tmp_path):
    p = write(tmp_path, "a,t\n1,NA\n2,\n3,?\n")
    e = error_of(make_tabular_dataset, read_csv_table(p), "t")
    assert (e.file, e.column) == (str(p), "t") and "all missing" in e.message


def test_unknown_target_and_feature_list_columns(tmp_path):
    p = write(tmp_path, NUMERIC)
    t = read_csv_table(p)
    e = error_of(make_tabular_dataset, t, "species")
    assert (e.file, e.column) == (str(p), "species") and "a, b, label" in e.message
    e = error_of(make_tabular_dataset, t, "label", features=["a", "zzz"])
    assert e.column == "zzz" and "a, b, label" in e.message
    e = error_of(make_tabular_dataset, t, "label", features=["a", "label"])
    assert e.column == "label"


def test_too_few_rows(tmp_path):
    p = write(tmp_path, "a,t\n1,2\n")
    e = error_of(make_tabular_dataset, read_csv_table(p), "t")
    assert e.file == str(p) and "at least 2" in e.message
    p = write(tmp_path, "a,t\n1,2\nNA,3\n", "two.csv")
    e = error_of(make_tabular_dataset, read_csv_table(p), "t")
    assert "after dropping 1" in e.message


def test_nul_bytes(tmp_path):
    p = write(tmp_path, b"a,b\n1,2\n3,\x004\n")
    e = error_of(read_csv_table, p)
    assert (e.file, e.row) == (str(p), 3) and "NUL" in e.message


def test_undecodable_utf8(tmp_path):
    p = write(tmp_path, b"a,b\n1,2\n3,caf\xe9\n")
    e = error_of(read_csv_table, p)
    assert (e.file, e.row) == (str(p), 3) and "UTF-8" in e.message


def test_binary_garbage(tmp_path):
    p = write(tmp_path, bytes(range(256)) * 10)
    e = error_of(read_csv_table, p)
    assert e.file == str(p) and e.row == 1


def test_directory_is_not_a_file(tmp_path):
    e = error_of(read_csv_table, tmp_path)
    assert "directory" in e.message


def test_infinite_value(tmp_path):
    p = write(tmp_path, "a,t\n1,2\ninf,3\n4,5\n")
    e = error_of(make_tabular_dataset, read_csv_table(p), "t")
    assert (e.row, e.column) == (3, "a")


def test_too_many_one_hot_values(tmp_path):
    p = write(tmp_path, "id,t\n" + "".join(f"id{i},{i}\n" for i in range(150)))
    e = error_of(make_tabular_dataset, read_csv_table(p), "t")
    assert e.column == "id" and "distinct" in e.message


# ------------------------------------------------------------------ shipped data sets


@pytest.mark.parametrize(
    "name,target,task,n,classes",
    [
        ("iris.csv", "species", "classification", 150, ["setosa", "versicolor", "virginica"]),
        ("wine.csv", "cultivar", "classification", 178, ["cultivar_1", "cultivar_2", "cultivar_3"]),
        ("engel.csv", "food_expenditure", "regression", 235, None),
    ],
)
def test_shipped_datasets_load(name, target, task, n, classes):
    assert (DATASETS / name).exists()
    assert resolve_data_path(name) == DATASETS / name
    ds = build_dataset(csv_spec(name), seed=0)
    assert ds.task == task and ds.class_names == classes and ds.target_names == [target]
    assert ds.n_train + ds.n_test == n and ds.info["rows_dropped"] == 0
    assert ds.n_train == round(0.8 * n)
    assert np.all(np.isfinite(ds.X_train))


def test_readme_documents_each_dataset():
    text = (DATASETS / "README.md").read_text(encoding="utf-8")
    for f in sorted(DATASETS.glob("*.csv")):
        assert f.name in text
    assert "licen" in text.lower()


def test_build_csv_uses_spec_fields(tmp_path):
    p = write(tmp_path, "a;b;label\n1;2;x\n3;4;y\n5;6;x\n7;8;y\n")
    ds = build_dataset(
        csv_spec(p, delimiter=";", target="label", features=("b",), normalize="minmax", train_fraction=0.5),
        seed=0,
    )
    assert ds.input_names == ["b"] and ds.n_train == 2
    np.testing.assert_allclose(sorted(ds.X_train[:, 0]), [-1, 1])


# ------------------------------------------------- the CSV files people actually have


def sklearn_file(tmp_path, name, n, k, classes, seed=0):
    """A file laid out like scikit-learn's sklearn/datasets/data/*.csv: a count row
    "n,k,class names...", then n rows of k features and an integer class label."""
    rng = np.random.default_rng(seed)
    head = ",".join([str(n), str(k), *classes])
    rows = [",".join(f"{v:.4g}" for v in rng.normal(5, 2, k)) + f",{i % len(classes)}" for i in range(n)]
    return write(tmp_path, head + "\n" + "\n".join(rows) + "\n", name)


@pytest.mark.parametrize(
    "name,n,k,classes",
    [
        ("iris.csv", 150, 4, ["setosa", "versicolor", "virginica"]),  # same width as the data
        ("breast_cancer.csv", 569, 30, ["malignant", "benign"]),  # fewer fields than the data
        ("wine_data.csv", 178, 13, ["class_0", "class_1", "class_2"]),
    ],
)
def test_sklearn_count_row_is_skipped_and_labels_are_classes(tmp_path, name, n, k, classes):
    p = sklearn_file(tmp_path, name, n, k, classes)
    t = read_csv_table(p)
    assert t.n_rows == n and len(t.columns) == k + 1 and not t.has_header
    assert t.row_numbers[0] == 2 and t.row_numbers[-1] == n + 1
    assert t.info["skipped_lines"] == 1 and "count row" in t.info["skip_reason"]
    assert t.names[-1] == "target" and t.names[0] == "column 1"
    ds = make_tabular_dataset(t, None)
    assert ds.task == "classification" and ds.n_classes == len(classes) and ds.n_inputs == k
    assert ds.info["task_reason"] == f"classification: 'target' has {len(classes)} distinct integer values"
    # the same through a spec, as the CLI and the app build it
    ds2 = build_dataset(csv_spec(p, target="target"))
    assert ds2.task == "classification" and ds2.n_classes == len(classes)


def test_skip_rows_chooses_the_header_line(tmp_path):
    p = write(tmp_path, "Measurements of 2024\nsource: lab 3, sheet 2\nx,y,label\n1,2,a\n3,4,b\n5,6,a\n")
    t = read_csv_table(p, skip_rows=2)
    assert t.names == ["x", "y", "label"] and t.has_header and t.row_numbers.tolist() == [4, 5, 6]
    assert t.info["skipped_lines"] == 2 and t.info["header_line"] == 3
    e = error_of(read_csv_table, p, skip_rows=6)
    assert "skipped" in e.message
    e = error_of(read_csv_table, p, skip_rows=-1)
    assert "skip" in e.message


def test_title_line_is_skipped_automatically(tmp_path):
    t = read_csv_table(write(tmp_path, "My measurements\nx,y,label\n1,2,a\n3,4,b\n5,6,a\n"))
    assert t.names == ["x", "y", "label"] and t.row_numbers.tolist() == [3, 4, 5]
    assert "title" in t.info["skip_reason"]


def test_an_ordinary_header_or_text_row_is_not_taken_for_a_count_row(tmp_path):
    t = read_csv_table(write(tmp_path, "a,b,c\n1,2,x\n3,4,y\n"))
    assert t.names == ["a", "b", "c"] and t.info["skipped_lines"] == 0
    # integers followed by text in every row: data, not a count row
    t = read_csv_table(write(tmp_path, "150,4,red\n151,4,blue\n152,5,red\n", "d.csv"))
    assert t.n_rows == 3 and t.info["skipped_lines"] == 0


def test_whitespace_separated_file(tmp_path):
    text = "  height  weight   kind\n 1.5   60\tcat  \n2.25 72.5   dog\n\n3 80 cat\n"
    t = read_csv_table(write(tmp_path, text, "ws.txt"))
    assert t.delimiter == " " and t.names == ["height", "weight", "kind"]
    np.testing.assert_array_equal(t["weight"].values, [60, 72.5, 80])
    assert t["kind"].values.tolist() == ["cat", "dog", "cat"] and t.row_numbers.tolist() == [2, 3, 5]
    for d in ("whitespace", " ", "\\s+"):
        assert read_csv_table(write(tmp_path, text, "ws.txt"), delimiter=d).names == t.names
    # a comma file with spaces after the commas stays a comma file
    assert read_csv_table(write(tmp_path, "a, b, c\n1, 2, 3\n4, 5, 6\n", "c.csv")).delimiter == ","


def test_id_column_is_ignored_by_default(tmp_path):
    rows = "".join(f"{i + 1},{i * 0.5:.1f},{(i * 7) % 5},{'ab'[i % 2]}\n" for i in range(30))
    t = read_csv_table(write(tmp_path, "PassengerId,fare,size,label\n" + rows))
    ds = make_tabular_dataset(t, "label")
    assert ds.info["features"] == ["fare", "size"] and "PassengerId" in ds.info["ignored"]
    # a named measurement that counts 1..n stays an input; an unnamed counter is an id
    t = read_csv_table(
        write(tmp_path, "size,label\n" + "".join(f"{i + 1},{'ab'[i % 2]}\n" for i in range(9)), "s.csv")
    )
    assert make_tabular_dataset(t, "label").info["features"] == ["size"]
    t = read_csv_table(write(tmp_path, "".join(f"{i},{i * 0.3:.2f},{i % 2}\n" for i in range(20)), "u.csv"))
    ds = make_tabular_dataset(t, None)
    assert ds.info["features"] == ["column 2"] and "column 1" in ds.info["ignored"]
    # an id that is the only other column is kept (better than no input at all)
    t = read_csv_table(
        write(tmp_path, "id,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(9)), "i.csv")
    )
    assert make_tabular_dataset(t, "label").info["features"] == ["id"]


def test_one_hot_inputs_have_readable_names(tmp_path):
    rows = "".join(
        f"{c},{i},{i % 2}\n" for i, c in enumerate(["red", "green", "blue", "red", "green", "red"])
    )
    ds = make_tabular_dataset(read_csv_table(write(tmp_path, "color,n,t\n" + rows)), "t", train_fraction=0.5)
    assert ds.input_names == ["color=blue", "color=green", "color=red", "n"]


def test_inch_mark_in_an_unquoted_field_is_literal(tmp_path):
    rows = "".join(f"{i},{i % 7} inch,{i % 2}\n" for i in range(3000))
    p = write(tmp_path, 'n,screen,t\n1,15" laptop,0\n' + rows + '2,"quoted, ""x""",1\n')
    small = read_csv_table(p)
    assert small["screen"].values[0] == '15" laptop' and small.n_rows == 3002
    assert small["screen"].values[-1] == 'quoted, "x"' and small.row_numbers[-1] == 3003
    for block in (7, 100, 4096):  # block reading gives exactly what whole-file reading gives
        t = read_csv_table(p, block_bytes=block)
        assert t.row_numbers.tolist() == small.row_numbers.tolist()
        assert t["screen"].values.tolist() == small["screen"].values.tolist()


@pytest.mark.parametrize("block", [5, 64, 1 << 20])
def test_unclosed_quote_is_reported_where_it_opens(tmp_path, block):
    rows = "".join(f"{i},{i * 2},{i % 3}\n" for i in range(2000))
    p = write(tmp_path, 'a,b,c\n1,2,3\r\n4,"oops,6\r7,8,9\n' + rows)
    e = error_of(read_csv_table, p, block_bytes=block)
    assert e.row == 3 and "never closed" in e.message and e.file == str(p)


@pytest.mark.parametrize("block", [3, 50, 1 << 20])
def test_mixed_line_ends_count_lines_as_an_editor_does(tmp_path, block):
    text = "a,b\r\n1,2\n3,4\r5,6\r\n7,x\n"
    t = read_csv_table(write(tmp_path, text), block_bytes=block)
    assert t.row_numbers.tolist() == [2, 3, 4, 5]
    assert t["b"].kind == "text" and t["b"].first_text_row == 5
    e = error_of(read_csv_table, write(tmp_path, "a,b\r1,2\r\n3,4\r5,6,7\n8,9\n", "r.csv"), block_bytes=block)
    assert e.row == 4 and "3 fields" in e.message
    e = error_of(read_csv_table, write(tmp_path, b"a,b\r1,2\r3,\xff\n", "u.csv"), block_bytes=block)
    assert e.row == 3 and "UTF-8" in e.message


def test_huge_values_are_normalised_or_refused(tmp_path):
    big = float(np.finfo(np.float64).max)
    rows = [f"{v!r},{i % 3},{i % 2}" for i, v in enumerate([big, -big, 1e308, 0.0, 1.0, -1e308, big, 2.0])]
    t = read_csv_table(write(tmp_path, "x,k,t\n" + "\n".join(rows) + "\n"))
    for norm in ("standard", "minmax"):
        ds = make_tabular_dataset(t, "t", normalize=norm, train_fraction=0.5)
        assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
        assert np.abs(ds.X_train).max() <= 3.0
        assert all(np.isfinite(b).all() for b in ds.raw_bounds(pad=0.1))  # plot axes stay finite
    e = error_of(make_tabular_dataset, t, "t", normalize="none")
    assert e.column == "x" and "normalization" in e.message
    e = error_of(make_tabular_dataset, t, "x", task="regression")
    assert e.column == "x" and "too large" in e.message


@pytest.mark.parametrize("block", [1, 4, 1 << 20])
def test_quoting_matches_pandas(tmp_path, block):
    # expected values from pandas 3.1 read_csv(dtype=str, keep_default_na=False, skipinitialspace=True)
    text = 'a,b,c\r\na"b"c,"q""q",  y\n"x"y, "sp","a\r\nb"\r15","","multi\nline"\n'
    t = read_csv_table(write(tmp_path, text), block_bytes=block)
    got = [[t[n].values[i] for n in ("a", "b", "c")] for i in range(t.n_rows)]
    assert got == [['a"b"c', 'q"q', "y"], ["xy", "sp", "a\r\nb"], ['15"', "", "multi\nline"]]
    assert t.row_numbers.tolist() == [2, 3, 5]


def test_header_one_field_short_names_all_but_a_row_name_column(tmp_path):
    # R's write.table layout (pandas reads the first column as the index)
    cars = ["Mazda RX4", "Datsun 710", "Valiant", "Duster 360", "Merc 240D", "Merc 230", "Fiat 128"]
    cars += ["Honda Civic", "Toyota Corolla", "Fiat X1-9", "Volvo 142E"]
    rows = "".join(f'"{c}" {20 + i * 0.5} {4 + 2 * (i % 3)} {i % 2}\n' for i, c in enumerate(cars))
    t = read_csv_table(write(tmp_path, '"mpg" "cyl" "am"\n' + rows, "mtcars.txt"))
    assert t.delimiter == " " and t.names == ["column 1", "mpg", "cyl", "am"] and t.info["row_names"]
    assert t["column 1"].values[0] == "Mazda RX4" and t["am"].values.tolist() == [i % 2 for i in range(11)]
    ds = make_tabular_dataset(t, "am")
    assert ds.info["features"] == ["mpg", "cyl"] and "column 1" in ds.info["ignored"]
    assert ds.task == "classification"


def test_files_over_one_block_read_exactly_like_one_whole_block(tmp_path):
    ends = ("\n", "\r\n", "\r")
    rows = [f"{i},{i * 0.25},{'x' if i % 5 else 'y'}{ends[i % 3]}" for i in range(90_000)]
    rows[70_000] = '70000,"a ""quoted"", text\r\nover lines",y\n'  # past the first MiB
    rows[80_000] = "80000,word,y\n"  # column b turns text only in a later block
    p = write(tmp_path, "a,b,c\n" + "".join(rows))
    assert p.stat().st_size > csv_reader.BLOCK_BYTES
    blocks = read_csv_table(p)
    whole = read_csv_table(p, block_bytes=p.stat().st_size + 1)
    assert blocks.row_numbers.tolist() == whole.row_numbers.tolist()
    assert blocks.row_numbers[70_000] == 70_002 and blocks.row_numbers[-1] == 90_002
    for name in ("a", "b", "c"):
        assert blocks[name].kind == whole[name].kind
        assert blocks[name].values.tolist() == whole[name].values.tolist()
    assert blocks["b"].values[70_000] == 'a "quoted", text\r\nover lines'
    assert blocks["b"].first_text_row == whole["b"].first_text_row == 70_002
    # an error far into the file names the same line either way
    bad = "".join(rows[:85_000]) + "1,2\n" + "".join(rows[85_000:])
    p = write(tmp_path, "a,b,c\n" + bad, "bad.csv")
    e1 = error_of(read_csv_table, p)
    e2 = error_of(read_csv_table, p, block_bytes=p.stat().st_size + 1)
    assert e1.row == e2.row == 85_003 and e1.message == e2.message
