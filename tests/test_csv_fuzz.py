"""Property-based tests of the CSV reader (hypothesis): any text either reads or raises the
project's DataError; the block size never changes the result; numeric tables round-trip."""

from __future__ import annotations

import csv
import io
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.data import make_tabular_dataset, read_csv_table
from playground.data.csv_reader import MISSING_TOKENS, is_number
from playground.errors import DataError

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# The characters that matter to a CSV reader, plus a few that should not.
PIECES = st.sampled_from(
    [",", ";", "\t", " ", "|", '"', '""', "\n", "\r", "\r\n", "1", "2.5", "-3e2", "1e308", "x", "NA", "", "?",
     "nan", "inf", "é", "\ufeff", "15\"", "\x0c", "\u2028", "\xa0", "0", "a b", "150,4,x,y"]
)  # fmt: skip
CSV_TEXT = st.lists(PIECES, min_size=0, max_size=60).map("".join)


def _write(data: bytes) -> str:
    fd, path = tempfile.mkstemp(suffix=".csv")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _outcome(path: str, **kw):
    """A comparable summary of reading ``path``: the table's contents or the error."""
    try:
        t = read_csv_table(path, **kw)
    except DataError as e:
        return ("error", e.message, e.row, e.column)
    cols = []
    for c in t.columns:
        vals = (
            c.values.tolist() if c.kind == "text" else [None if np.isnan(v) else float(v) for v in c.values]
        )
        cols.append((c.name, c.kind, vals, c.missing.tolist(), c.n_numeric, c.first_text_row))
    return ("table", t.delimiter, t.has_header, t.row_numbers.tolist(), cols, t.info.get("skipped_lines"))


@FUZZ
@given(text=CSV_TEXT)
def test_any_text_reads_or_raises_data_error(text):
    path = _write(text.encode("utf-8"))
    try:
        out = _outcome(path)  # anything but DataError escapes and fails the test
        if out[0] == "table":
            assert len(out[3]) > 0 and all(len(c[2]) == len(out[3]) for c in out[4])
            assert out[3] == sorted(out[3]) and out[3][0] >= 1
    finally:
        os.unlink(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_read_or_raise_data_error(data):
    path = _write(data)
    try:
        _outcome(path)
    finally:
        os.unlink(path)


@FUZZ
@given(
    text=CSV_TEXT,
    block=st.sampled_from([1, 2, 5, 17, 64]),
    delimiter=st.sampled_from([None, None, " ", ";"]),
    skip=st.sampled_from([None, None, 0, 1]),
)
def test_block_size_never_changes_the_result(text, block, delimiter, skip):
    path = _write(text.encode("utf-8"))
    try:
        kw = {"delimiter": delimiter, "skip_rows": skip}
        assert _outcome(path, block_bytes=block, **kw) == _outcome(path, **kw)
    finally:
        os.unlink(path)


ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)


@FUZZ
@given(
    table=st.integers(1, 5).flatmap(
        lambda k: st.lists(st.lists(FLOATS, min_size=k, max_size=k), min_size=1, max_size=40)
    ),
    endings=st.lists(ENDINGS, min_size=1, max_size=5),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    header=st.booleans(),
    block=st.sampled_from([3, 50, 1 << 20]),
)
def test_numeric_tables_round_trip(table, endings, delimiter, header, block):
    k = len(table[0])
    names = [f"c{j}" for j in range(k)]
    lines = ([delimiter.join(names)] if header else []) + [
        delimiter.join(repr(v) for v in row) for row in table
    ]
    text = "".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
    path = _write(text.encode("utf-8"))
    try:
        t = read_csv_table(path, delimiter=delimiter, header=header, block_bytes=block, skip_rows=0)
        assert t.n_rows == len(table)
        got = np.column_stack([t.columns[j].values for j in range(k)])
        np.testing.assert_array_equal(got, np.asarray(table, dtype=np.float64))
        first = 2 if header else 1
        assert t.row_numbers.tolist() == list(range(first, first + len(table)))
        if header:
            assert t.names == names
    finally:
        os.unlink(path)


@settings(max_examples=60, deadline=None)
@given(
    column=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1.7976931348623157e308),
        min_size=6,
        max_size=30,
    ),
    normalize=st.sampled_from(["standard", "minmax", "none"]),
)
def test_normalised_inputs_are_finite_or_the_column_is_refused(column, normalize):
    text = "x,y\n" + "".join(f"{v!r},{i % 2}\n" for i, v in enumerate(column))
    path = _write(text.encode())
    try:
        t = read_csv_table(path)
        try:
            ds = make_tabular_dataset(t, "y", normalize=normalize, task="classification", train_fraction=0.5)
        except DataError as e:
            assert e.column == "x"
            return
        assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    finally:
        os.unlink(path)


TEXT_CELL = st.text(alphabet='ab xé,;"\n\r\t|15', min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s not in MISSING_TOKENS and not is_number(s)
)


@FUZZ
@given(
    rows=st.lists(st.tuples(FLOATS, TEXT_CELL, TEXT_CELL), min_size=2, max_size=30),
    ending=ENDINGS,
    block=st.sampled_from([1, 9, 1 << 20]),
)
def test_quoted_text_tables_written_by_csv_writer_round_trip(rows, ending, block):
    buf = io.StringIO(newline="")
    # minimal quoting quotes only the line terminator's characters: with "\n" or "\r" alone a
    # bare CR or LF in a text would end the line for any reader (pandas too), so quote all text
    w = csv.writer(
        buf, lineterminator=ending, quoting=csv.QUOTE_MINIMAL if ending == "\r\n" else csv.QUOTE_NONNUMERIC
    )
    w.writerow(["num", "s1", "s2"])
    w.writerows(rows)
    path = _write(buf.getvalue().encode("utf-8"))
    try:
        t = read_csv_table(path, delimiter=",", header=True, skip_rows=0, block_bytes=block)
        assert t.n_rows == len(rows)
        np.testing.assert_array_equal(t["num"].values, [r[0] for r in rows])
        assert t["s1"].values.tolist() == [r[1] for r in rows]
        assert t["s2"].values.tolist() == [r[2] for r in rows]
    finally:
        os.unlink(path)
