"""The all-numeric CSV fast path (csv_numeric) gives exactly what the robust reader gives.

Each file is read twice, the fast path forced on (any size) and off; tables must agree to
the bit: names, kinds, values (including the sign of zero), missing masks, source lines,
info. Hypothesis writes the numeric tables in many spellings; files the fast path does
not accept (missing values, text, spaces, blank lines, a lone CR, long numbers) must fall
back to the robust reader, not fail.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import playground.data.csv_reader as csv_reader
from playground.data.csv_numeric import read_numeric
from playground.data.csv_reader import read_csv_table
from playground.errors import DataError

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _write(data: bytes) -> str:
    fd, path = tempfile.mkstemp(suffix=".csv")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _read(path, fast: bool, monkeypatch, **kw):
    monkeypatch.setattr(csv_reader, "NUMERIC_MIN_BYTES", 0 if fast else 1 << 62)
    try:
        return read_csv_table(path, **kw)
    except DataError as e:
        return ("error", str(e), e.row, e.column)


def _same(a, b) -> None:
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
        return
    assert a.names == b.names and a.info == b.info
    assert (a.delimiter, a.has_header) == (b.delimiter, b.has_header)
    np.testing.assert_array_equal(a.row_numbers, b.row_numbers)
    for x, y in zip(a.columns, b.columns, strict=True):
        assert (x.kind, x.n_numeric, x.first_text_row, x.first_text_value) == (
            y.kind,
            y.n_numeric,
            y.first_text_row,
            y.first_text_value,
        )
        np.testing.assert_array_equal(x.missing, y.missing)
        if x.kind == "numeric":
            assert x.values.tobytes() == y.values.tobytes()  # bit for bit, -0.0 included
        else:
            assert list(x.values) == list(y.values)


def _agree(data: bytes, monkeypatch, **kw):
    path = _write(data)
    try:
        fast = _read(path, True, monkeypatch, **kw)
        _same(fast, _read(path, False, monkeypatch, **kw))
        return fast
    finally:
        os.unlink(path)


def _spell(v: float, how: str) -> str:
    if how == "repr":
        return repr(v)
    if how == "g6":
        return f"{v:.6g}"
    if how == "e":
        return f"{v:.4e}".replace("e+0", "E").replace("e-0", "e-")
    if how == "int":
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    if how == "plus":
        return f"+{abs(v):.3f}" if v >= 0 else f"{v:.3f}"
    return f"{v:.17g}"  # "g17": up to 17 digits, beyond the fast path's 18 at times


FLOATS = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**6), 10**6).map(float),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 0.1, 2**53 + 1.0]),
)


@FUZZ
@given(
    table=st.lists(st.lists(FLOATS, min_size=3, max_size=3), min_size=1, max_size=40),
    how=st.sampled_from(["repr", "g6", "e", "int", "plus", "g17"]),
    delim=st.sampled_from([",", ";", "\t", "|"]),
    eol=st.sampled_from(["\n", "\r\n"]),
    header=st.booleans(),
    bom=st.booleans(),
    trailing=st.sampled_from(["", "\n", "\n\n"]),
)
def test_numeric_tables_read_the_same(monkeypatch, table, how, delim, eol, header, bom, trailing):
    lines = [delim.join(_spell(v, how) for v in row) for row in table]
    if header:
        lines.insert(0, delim.join(["a", "b", "target"]))
    text = eol.join(lines) + trailing
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    _agree(data, monkeypatch, header=header, delimiter=delim)


TOKENS = st.sampled_from(
    ["1", "-2.5", "3e2", ".5", "1.", "+7", "-0", "0.000123", "1e-5", "12345678901234567890", "1e400",
     "NA", "", " 4", "4 ", "x", "1,5", "nan", "inf", "1_0", "0x1", "1e", "-", ".", "1.2.3", "\r", "\n"]
)  # fmt: skip


@FUZZ
@given(cells=st.lists(st.lists(TOKENS, min_size=2, max_size=2), min_size=1, max_size=25))
def test_unusual_cells_fall_back_to_the_robust_reader(monkeypatch, cells):
    text = "a,b\n" + "".join(",".join(r) + "\n" for r in cells)
    _agree(text.encode(), monkeypatch, header=True, delimiter=",")


def test_plain_numbers_take_the_fast_path(tmp_path):
    p = tmp_path / "n.csv"
    p.write_bytes(b"a,b\n1,2.5\r\n-0,3e2\n.5,1.\n")
    vals = read_numeric(p, 1, ",", 2)
    assert vals is not None and vals.shape == (2, 3)
    assert vals[0].tolist() == [1.0, -0.0, 0.5] and np.signbit(vals[0, 1])
    assert vals[1].tolist() == [2.5, 300.0, 1.0]


@pytest.mark.parametrize(
    "body",
    [b"1,\n", b"1,x\n", b"1, 2\n", b"1,2\n\n3,4\n", b"1,2\r3,4\n", b"1,2,3\n", b"1,12345678901234567890\n"],
)
def test_the_fast_path_declines_what_it_cannot_read_exactly(tmp_path, body):
    p = tmp_path / "d.csv"
    p.write_bytes(b"a,b\n" + body)
    assert read_numeric(p, 1, ",", 2) is None


def test_a_word_late_in_a_large_file_is_still_located(monkeypatch):
    rows = "".join(f"{i},{i * 0.5}\n" for i in range(20_000))
    table = _agree(("a,b\n" + rows + "7,oops\n" + rows).encode(), monkeypatch)
    b = table.column("b")
    assert b.kind == "text" and b.first_text_row == 20_002 and b.first_text_value == "oops"
    ragged = _agree(("a,b\n" + rows + "7\n" + rows).encode(), monkeypatch)
    assert ragged[0] == "error" and ragged[2] == 20_002


def test_block_size_does_not_matter(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    data = rng.normal(size=(3000, 4))
    text = "a,b,c,d\n" + "".join(",".join(repr(float(v)) for v in r) + "\n" for r in data)
    p = tmp_path / "b.csv"
    p.write_text(text)
    monkeypatch.setattr(csv_reader, "NUMERIC_MIN_BYTES", 0)
    fast = read_csv_table(p)
    monkeypatch.setattr(csv_reader, "NUMERIC_MIN_BYTES", 1 << 62)
    _same(fast, read_csv_table(p, block_bytes=777))
    np.testing.assert_array_equal(np.column_stack([c.values for c in fast.columns]), data)


def test_warmup_compiles_the_numeric_parser():
    """`playground warmup` (and the installers) compile the parser with the other kernels, so
    a first large CSV does not wait for it."""
    from playground.data import csv_numeric
    from playground.engine.warmup import _warm_up_csv_parser

    _warm_up_csv_parser()
    assert csv_numeric._parse_rows.signatures and csv_numeric._count_rows.signatures
