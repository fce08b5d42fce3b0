"""Robust, bounded-memory CSV reading.

``read_csv_table(path)`` returns a :class:`Table`: named columns, each numeric (float64 with
NaN for missing cells) or text (an object array of ``str``), plus missing masks and the
1-based source line of every data row so later errors can point at the file position.

How it reads:

* The file is read in binary blocks of about 1 MiB that always end on a record boundary
  (a newline outside quotes), so no block ever splits a quoted field.
* Each block is checked for NUL bytes and strict UTF-8 (a BOM is dropped), and decoded.
* Fast path: a block is parsed with ``numpy.loadtxt`` (C code) when every column seen so
  far is numeric. If that fails for any reason (a missing token, text, ragged rows, blank
  lines...) the block is re-parsed with the :mod:`csv` module and converted column by
  column, falling back to a per-cell scan that pin-points the exact row and column.
* If a column turns out to be text only after earlier blocks were stored as numbers, the
  file is read again with that column forced to text (rare: only for files over 1 MiB).

Every failure is a :class:`~playground.errors.DataError` naming the file and, where it
applies, the row (line number as a text editor shows it) and column.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playground.errors import DataError

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "?", "null", "None"})
DELIMITERS = (",", ";", "\t", "|")
BLOCK_BYTES = 1 << 20
SAMPLE_CHARS = 64 * 1024
MEMORY_FACTOR = 4  # refuse files larger than available memory / MEMORY_FACTOR
_BOM = b"\xef\xbb\xbf"
_MISSING_AS_NAN = {t: "nan" for t in MISSING_TOKENS}
_QUOTE = '"'

__all__ = [
    "Column",
    "Table",
    "read_csv_table",
    "available_memory",
    "is_number",
    "MISSING_TOKENS",
]


@dataclass
class Column:
    """One CSV column.

    ``values``: float64 (NaN where missing) for numeric columns; an object array of
    stripped ``str`` ('' where missing) for text columns. ``missing``: bool mask.
    For text columns ``n_numeric`` counts the non-missing cells that parse as numbers and
    ``first_text_row``/``first_text_value`` locate the first cell that does not (what made
    the column text); tabular uses them to report a stray word in a numeric column.
    """

    name: str
    kind: str
    values: np.ndarray
    missing: np.ndarray
    n_numeric: int = 0
    first_text_row: int | None = None
    first_text_value: str | None = None

    @property
    def n_missing(self) -> int:
        return int(self.missing.sum())

    @property
    def n_present(self) -> int:
        return int(self.missing.size - self.missing.sum())


@dataclass
class Table:
    """A parsed CSV file: columns in file order plus the source line of each row."""

    source: str
    columns: list[Column]
    row_numbers: np.ndarray  # int64 (n_rows,), 1-based line where each record starts
    delimiter: str = ","
    has_header: bool = True
    info: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.row_numbers.shape[0])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise DataError(
            f"no column named {name!r}; available columns: {', '.join(self.names)}",
            file=self.source,
            column=name,
        )

    def __getitem__(self, name: str) -> Column:
        return self.column(name)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)


def is_number(text: str) -> bool:
    t = text.strip()
    if t in MISSING_TOKENS:
        return False
    try:
        float(t)
    except ValueError:
        return False
    return True


def available_memory() -> int | None:
    """Bytes of memory available to this process, or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


class _Restart(Exception):
    def __init__(self, column: int):
        self.column = column


# ----------------------------------------------------------------------------- blocks


def _iter_blocks(path: Path, fname: str, size: int, progress, block_bytes: int):
    """Yield (text, first_line_number) blocks that end on a record boundary."""
    line_no = 1
    done = 0
    first = True
    with open(path, "rb") as f:
        while True:
            b = f.read(block_bytes)
            if not b:
                break
            if not b.endswith(b"\n"):
                b += f.readline()
            # A newline inside quotes is not a record boundary: keep reading until the
            # number of quote characters in the block is even.
            if b.count(b'"') % 2:
                b = bytearray(b)  # in-place appends: linear, not quadratic, on a lone quote
                while True:
                    more = f.readline()
                    if not more:
                        break
                    b += more
                    if more.count(b'"') % 2:
                        break
            done += len(b)
            if first:
                first = False
                if b.startswith(_BOM):
                    b = b[3:]
            b = bytes(b)
            nul = b.find(b"\x00")
            if nul >= 0:
                raise DataError(
                    "contains NUL bytes: this looks like a binary file, not a CSV text file",
                    file=fname,
                    row=line_no + b.count(b"\n", 0, nul),
                )
            try:
                text = b.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(
                    f"byte 0x{b[e.start]:02x} is not valid UTF-8 text; save the file as UTF-8 "
                    "(this may also be a binary file)",
                    file=fname,
                    row=line_no + b.count(b"\n", 0, e.start),
                ) from None
            yield text, line_no
            line_no += b.count(b"\n")
            if progress is not None:
                progress(min(1.0, done / size) if size else 1.0)


# ------------------------------------------------------------------ dialect and header


def _reader(text: str, delimiter: str):
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar=_QUOTE,
        doublequote=True,
        skipinitialspace=True,
        strict=False,
    )


def _sample_records(sample: str, delimiter: str, limit: int = 100) -> list[list[str]]:
    out = []
    try:
        for row in _reader(sample, delimiter):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            out.append(row)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _sniff_delimiter(sample: str) -> str:
    """Pick among , ; TAB | the delimiter that splits the sample into a consistent number
    (> 1) of fields per record; csv.Sniffer breaks ties, then the order TAB ; | ,."""
    scores = {}
    for d in DELIMITERS:
        recs = _sample_records(sample, d, limit=50)
        if not recs:
            continue
        counts = [len(r) for r in recs]
        mode = max(set(counts), key=counts.count)
        if mode <= 1:
            continue
        scores[d] = (counts.count(mode) / len(counts), mode)
    if not scores:
        return ","
    best = max(s[0] for s in scores.values())
    tied = [d for d, s in scores.items() if s[0] == best]
    if len(tied) == 1:
        return tied[0]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in tied:
        return sniffed
    for d in ("\t", ";", "|", ","):
        if d in tied:
            return d
    return tied[0]  # pragma: no cover


def _detect_header(records: list[list[str]]) -> bool:
    first, rest = records[0], records[1:]
    if not rest:
        return not any(is_number(v) for v in first)
    score = 0
    for j, h in enumerate(first):
        vals = [r[j].strip() for r in rest if len(r) > j and r[j].strip() not in MISSING_TOKENS]
        if vals and all(is_number(v) for v in vals):
            score += -1 if is_number(h) else 1
    if score:
        return score > 0
    # all text columns: a header names its column, so its value does not recur below
    for j, h in enumerate(first):
        if h.strip() in {r[j].strip() for r in rest if len(r) > j}:
            return False
    return True


def _unique_names(raw: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for j, n in enumerate(raw):
        n = n.strip() or f"column {j + 1}"
        base, k = n, 2
        while n in seen:
            n = f"{base}.{k}"
            k += 1
        seen.add(n)
        names.append(n)
    return names


def _normalise_delimiter(d: str) -> str:
    if d in ("\\t", "tab", "TAB"):
        return "\t"
    if len(d) != 1:
        raise DataError(f"delimiter must be a single character, got {d!r}")
    return d


# ----------------------------------------------------------------------------- parsing


class _ColumnBuilder:
    def __init__(self, name: str, text: bool):
        self.name = name
        self.text = text
        self.values: list[np.ndarray] = []
        self.missing: list[np.ndarray] = []
        self.n_numeric = 0
        self.first_text_row: int | None = None
        self.first_text_value: str | None = None

    def add_numeric(self, arr: np.ndarray) -> None:
        self.values.append(arr)
        self.missing.append(np.isnan(arr))

    def add_cells(self, cells, rows: np.ndarray, block_index: int) -> None:
        """Convert one block of string cells, carefully."""
        if not self.text:
            try:
                arr = np.array(cells, dtype=np.float64)
            except ValueError:
                try:  # missing tokens such as NA / ? / empty -> NaN, still vectorised
                    arr = np.array([_MISSING_AS_NAN.get(c.strip(), c) for c in cells], dtype=np.float64)
                except ValueError:
                    arr = None
            if arr is not None:
                self.add_numeric(arr)
                return
            n = len(cells)
            vals = np.full(n, np.nan)
            for i, s in enumerate(cells):
                t = s.strip()
                if t in MISSING_TOKENS:
                    continue
                try:
                    vals[i] = float(t)
                except ValueError:
                    if block_index > 0 and self.values:
                        raise _Restart(-1) from None
                    self.text = True
                    break
            else:
                self.add_numeric(vals)
                return
        # text column
        strs = [s.strip() for s in cells]
        miss = np.fromiter((s in MISSING_TOKENS for s in strs), dtype=bool, count=len(strs))
        numeric_cache: dict[str, bool] = {}
        for i, s in enumerate(strs):
            if miss[i]:
                strs[i] = ""
                continue
            isnum = numeric_cache.get(s)
            if isnum is None:
                isnum = numeric_cache[s] = is_number(s)
            if isnum:
                self.n_numeric += 1
            elif self.first_text_row is None:
                self.first_text_row = int(rows[i])
                self.first_text_value = s
        arr = np.empty(len(strs), dtype=object)
        arr[:] = strs
        self.values.append(arr)
        self.missing.append(miss)

    def build(self) -> Column:
        if self.text:
            vals = np.concatenate(self.values) if self.values else np.empty(0, dtype=object)
        else:
            vals = np.concatenate(self.values) if self.values else np.empty(0)
        miss = np.concatenate(self.missing) if self.missing else np.empty(0, dtype=bool)
        return Column(
            name=self.name,
            kind="text" if self.text else "numeric",
            values=vals,
            missing=miss,
            n_numeric=self.n_numeric if self.text else int(miss.size - miss.sum()),
            first_text_row=self.first_text_row,
            first_text_value=self.first_text_value,
        )


def _decimal_comma(col: Column) -> Column:
    """A text column whose values are all numbers written with a decimal comma ("1,5", as in
    semicolon-separated European files) becomes numeric."""
    if col.kind != "text" or col.n_present == 0:
        return col
    present = col.values[~col.missing]
    if not any("," in s for s in present):
        return col
    vals = np.full(col.values.shape[0], np.nan)
    for i, s in enumerate(col.values):
        if col.missing[i]:
            continue
        t = s.replace(",", ".")
        if t.count(".") > 1:
            return col
        try:
            vals[i] = float(t)
        except ValueError:
            return col
    return Column(
        name=col.name, kind="numeric", values=vals, missing=col.missing.copy(), n_numeric=col.n_present
    )


def _count_lines(text: str) -> int:
    n = text.count("\n")
    if text and not text.endswith("\n"):
        n += 1
    return n


def _parse_block_careful(text, start_line, delimiter, ncols, names, fname):
    """csv-module parse of one block -> (rows, line numbers)."""
    reader = _reader(text, delimiter)
    rows: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for row in reader:
            line = start_line + prev
            prev = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip() and ncols > 1):
                continue
            if len(row) != ncols:
                raise DataError(
                    f"has {len(row)} fields but the header has {ncols} "
                    f"({', '.join(names[:8])}{', ...' if ncols > 8 else ''}); "
                    "check the delimiter and quoting",
                    file=fname,
                    row=line,
                )
            rows.append(row)
            starts.append(line)
    except csv.Error as e:
        raise DataError(f"cannot parse CSV: {e}", file=fname, row=start_line + reader.line_num) from None
    return rows, starts


def read_csv_table(
    path: str | os.PathLike,
    delimiter: str | None = None,
    header: bool | None = None,
    progress: Callable[[float], None] | None = None,
    max_bytes: int | None = None,
    *,
    block_bytes: int = BLOCK_BYTES,
) -> Table:
    """Read a CSV file into a :class:`Table`.

    ``delimiter``: None sniffs among ``, ; TAB |``. ``header``: None detects it (a first
    row with text above numeric columns is a header). ``progress(fraction)`` is called
    after each block of about 1 MiB. ``max_bytes`` refuses larger files. Files that cannot
    fit in available memory are refused too.
    """
    p = Path(path)
    fname = str(path)
    try:
        if not p.exists():
            raise DataError("file not found", file=fname)
        if p.is_dir():
            raise DataError("is a directory, not a CSV file", file=fname)
        size = p.stat().st_size
    except OSError as e:
        raise DataError(f"cannot read file: {e.strerror or e}", file=fname) from None
    if size == 0:
        raise DataError("file is empty", file=fname)
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"file is {size / 1e6:.1f} MB, larger than the limit of {max_bytes / 1e6:.1f} MB", file=fname
        )
    avail = available_memory()
    if avail is not None and size * MEMORY_FACTOR > avail:
        raise DataError(
            f"file is {size / 1e6:.0f} MB but only {avail / 1e6:.0f} MB of memory is available; "
            f"reading it needs about {MEMORY_FACTOR}x its size",
            file=fname,
        )
    if delimiter is not None:
        delimiter = _normalise_delimiter(delimiter)
    force_text: set[int] = set()
    while True:
        try:
            table = _read(p, fname, size, delimiter, header, progress, block_bytes, force_text)
        except _Restart as r:
            force_text.add(r.column)
            continue
        except OSError as e:
            raise DataError(f"cannot read file: {e.strerror or e}", file=fname) from None
        if progress is not None:
            progress(1.0)
        return table


def _read(p, fname, size, delimiter, header, progress, block_bytes, force_text) -> Table:
    blocks = _iter_blocks(p, fname, size, progress, block_bytes)
    cols: list[_ColumnBuilder] | None = None
    names: list[str] = []
    row_numbers: list[np.ndarray] = []
    ncols = 0
    has_header = False
    data_start = 1
    block_index = 0
    for text, start_line in blocks:
        if cols is None:
            if not text.strip():
                continue  # leading blank block (cannot really happen, blocks are >= 1 MiB)
            sample = text if len(text) <= SAMPLE_CHARS else text[: text.rfind("\n", 0, SAMPLE_CHARS) + 1]
            if not sample.strip():
                sample = text
            if delimiter is None:
                delimiter = _sniff_delimiter(sample)
            # first record (skipping blank lines) decides the column count / header
            reader = _reader(text, delimiter)
            first = None
            skip = 0
            try:
                for row in reader:
                    if row and not (len(row) == 1 and not row[0].strip()):
                        first = row
                        break
                skip = reader.line_num
            except csv.Error as e:
                raise DataError(
                    f"cannot parse CSV: {e}", file=fname, row=start_line + reader.line_num
                ) from None
            if first is None:
                raise DataError("file is empty (only blank lines)", file=fname)
            ncols = len(first)
            if header is None:
                has_header = _detect_header(_sample_records(sample, delimiter))
            else:
                has_header = bool(header)
            if has_header:
                names = _unique_names(first)
                sio = io.StringIO(text, newline="")
                for _ in range(skip):
                    sio.readline()
                text = sio.read()
                start_line += skip
                data_start = start_line
            else:
                names = [f"column {j + 1}" for j in range(ncols)]
            cols = [_ColumnBuilder(n, j in force_text) for j, n in enumerate(names)]
        if not text.strip():
            continue
        # ---- fast path: all-numeric block parsed by numpy's C reader
        arr = None
        if not any(c.text for c in cols):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    arr = np.loadtxt(
                        io.StringIO(text, newline=""),
                        delimiter=delimiter,
                        dtype=np.float64,
                        comments=None,
                        ndmin=2,
                        quotechar=_QUOTE,
                    )
            except (ValueError, TypeError, csv.Error, Warning):
                arr = None
            if arr is not None and (arr.shape[1] != ncols or arr.shape[0] != _count_lines(text)):
                arr = None
        if arr is not None:
            for j, c in enumerate(cols):
                c.add_numeric(np.ascontiguousarray(arr[:, j]))
            row_numbers.append(np.arange(start_line, start_line + arr.shape[0], dtype=np.int64))
        else:
            rows, starts = _parse_block_careful(text, start_line, delimiter, ncols, names, fname)
            if not rows:
                continue
            lines = np.asarray(starts, dtype=np.int64)
            columns = list(zip(*rows))
            del rows
            for j, c in enumerate(cols):
                try:
                    c.add_cells(columns[j], lines, block_index)
                except _Restart:
                    raise _Restart(j) from None
            row_numbers.append(lines)
        block_index += 1
    if cols is None:
        raise DataError("file is empty (only blank lines)", file=fname)
    rn = np.concatenate(row_numbers) if row_numbers else np.empty(0, dtype=np.int64)
    if rn.size == 0:
        if has_header:
            raise DataError("has a header row but no data rows", file=fname, row=data_start)
        raise DataError("has no data rows", file=fname)
    columns = [c.build() for c in cols]
    if delimiter != ",":
        columns = [_decimal_comma(c) for c in columns]
    return Table(
        source=fname,
        columns=columns,
        row_numbers=rn,
        delimiter=delimiter,
        has_header=has_header,
        info={"bytes": size},
    )
