"""Robust, bounded-memory CSV reading.

``read_csv_table(path)`` returns a :class:`Table`: named columns, each numeric (float64 with
NaN for missing cells) or text (an object array of ``str``), plus missing masks and the
1-based source line of every data row so later errors can point at the file position.

How it reads (the result never depends on the block size; tests force tiny blocks):

* A sample of the first 64 KiB picks the delimiter (``, ; TAB |`` or whitespace), finds
  leading lines to skip (a scikit-learn count row such as ``150,4,setosa,versicolor,virginica``
  or a one-field title line) and decides whether the next record is a header.
* The file is then read in binary blocks of about 1 MiB that end on a line end. Each block
  is checked for NUL bytes and strict UTF-8 (a BOM is dropped) and decoded.
* One :mod:`csv` reader runs over the physical lines of all blocks in turn, so its quoting
  state carries on across block boundaries exactly as over the whole file. Quoting follows
  pandas' ``read_csv``: a quote opens a quoted field only at the start of a field; inside an
  unquoted field (``15"`` as an inch mark) it is a literal character.
* Fast path: a block that starts on a record boundary, holds no quote character and whose
  columns are all numeric so far is parsed by ``numpy.loadtxt`` (C code). Anything it does
  not accept (missing tokens, text, ragged rows, blank lines...) goes through the csv reader
  and a column-by-column conversion that pin-points the exact row and column.
* If a column turns out to be text only after earlier blocks were stored as numbers, the
  file is read again with that column forced to text (only for files over one block).

Lines are counted as a text editor shows them: LF, CRLF and a lone CR each end a line.
Every failure is a :class:`~playground.errors.DataError` naming the file and, where it
applies, the row (that line number) and column.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from playground.data.csv_numeric import read_numeric
from playground.errors import DataError

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "?", "null", "None"})
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = " "  # delimiter value meaning "any run of spaces and tabs" (pandas' sep=r"\s+")
WHITESPACE_NAMES = frozenset({" ", "whitespace", "space", "spaces", "\\s+", "\\s"})
BLOCK_BYTES = 1 << 20
SAMPLE_BYTES = 64 * 1024
SAMPLE_CHARS = SAMPLE_BYTES
MAX_PREAMBLE = 10  # at most this many leading lines are skipped automatically
MEMORY_FACTOR = 4  # reading needs at least this many times the file size (text cells cost more)
TABLE_FACTOR = 3  # a data set holds about this many float64 copies of its table
NUMERIC_MIN_BYTES = 4 << 20  # files from this size first try csv_numeric's all-numeric parser
_BOM = b"\xef\xbb\xbf"
_MISSING_AS_NAN = {t: "nan" for t in MISSING_TOKENS}
_QUOTE = '"'
_ODD_SPACE = re.compile(r"[^\S \t\r\n]")  # whitespace numpy would split on but the csv path keeps

# A quoted field may be as long as the file (pandas has no limit either); the csv module's
# default of 128 KiB would turn a long quoted text into an error.
csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 1 << 40)))

__all__ = [
    "Column",
    "Table",
    "read_csv_table",
    "available_memory",
    "is_number",
    "MISSING_TOKENS",
    "WHITESPACE",
    "sniff_delimiter",
    "whitespace_line",
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
    """A parsed CSV file: columns in file order plus the source line of each row.

    ``delimiter`` is ``" "`` (:data:`WHITESPACE`) for whitespace-separated files.
    ``info``: ``bytes`` (file size), ``skipped_lines`` (lines skipped before the header or
    the first data row), ``skip_reason`` (why, when they were skipped automatically),
    ``header_line`` (None without a header) and ``row_names`` (the header named all columns
    but a first one of row names, as R's write.table writes).
    """

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


def _is_count(text: str) -> bool:
    t = text.strip()
    return t.isascii() and t.isdigit()


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
    def __init__(self, columns):
        self.columns = set(columns)


def _count_lines(text: str) -> int:
    """Physical lines in ``text``: LF, CRLF and lone CR each end one (as csv/StringIO count)."""
    n = text.count("\n") + text.count("\r") - text.count("\r\n")
    if text and not text.endswith(("\n", "\r")):
        n += 1
    return n


def _count_line_ends(b: bytes) -> int:
    return b.count(b"\n") + b.count(b"\r") - b.count(b"\r\n")


def whitespace_line(s: str) -> str:
    """A physical line for whitespace splitting: tabs become spaces and trailing blanks go
    (leading blanks and runs are skipped by the csv reader's skipinitialspace)."""
    body = s.rstrip("\r\n")
    return body.replace("\t", " ").rstrip(" ") + s[len(body) :]


# ----------------------------------------------------------------------------- blocks


def _iter_blocks(path: Path, fname: str, size: int, progress, block_bytes: int):
    """Yield decoded text blocks that end on a line end (LF) or at the end of the file."""
    line_no = 1
    done = 0
    first = True
    block_bytes = max(1, int(block_bytes))
    with open(path, "rb") as f:
        while True:
            b = f.read(block_bytes)
            if not b:
                break
            if not b.endswith(b"\n"):
                b += f.readline()
            done += len(b)
            if first:
                first = False
                if b.startswith(_BOM):
                    b = b[3:]
            nul = b.find(b"\x00")
            if nul >= 0:
                raise DataError(
                    "contains NUL bytes: this looks like a binary file, not a CSV text file",
                    file=fname,
                    row=line_no + _count_line_ends(b[:nul]),
                )
            try:
                text = b.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(
                    f"byte 0x{b[e.start]:02x} is not valid UTF-8 text; save the file as UTF-8 "
                    "(this may also be a binary file)",
                    file=fname,
                    row=line_no + _count_line_ends(b[: e.start]),
                ) from None
            yield text
            line_no += _count_line_ends(b)
            if progress is not None:
                progress(min(1.0, done / size) if size else 1.0)


class _Lines:
    """The physical lines of the file, block after block, as one iterator for csv.reader:
    its quoting state therefore runs on across blocks exactly as over the whole file.

    ``line``: lines handed out (or consumed by the fast path) so far. ``past_end``: the
    reader asked for a line after the last one (a quoted field still open at the end).
    ``record``: the raw lines of the record being read (for locating an opening quote).
    """

    def __init__(self, blocks, whitespace: bool):
        self._blocks = blocks
        self._sio: io.StringIO | None = None
        self._end = 0
        self.line = 0
        self.past_end = False
        self.record: list[str] = []
        self.ws = whitespace

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            if self._sio is not None:
                s = self._sio.readline()
                if s:
                    self.line += 1
                    self.record.append(s)
                    return whitespace_line(s) if self.ws else s
                self._sio = None
            text = next(self._blocks, None)
            if text is None:
                self.past_end = True
                raise StopIteration
            self.open(text)

    def open(self, text: str) -> None:
        self._sio = io.StringIO(text, newline="")
        self._end = len(text)

    def at_block_end(self) -> bool:
        return self._sio is None or self._sio.tell() >= self._end

    def take_rest(self) -> str | None:
        """The unread rest of the current block, else the next block; None at the end."""
        if self._sio is not None:
            rest = self._sio.read()
            self._sio = None
            return rest
        return next(self._blocks, None)


def _reader(lines, delimiter: str):
    return csv.reader(
        lines,
        delimiter=delimiter,
        quotechar=_QUOTE,
        doublequote=True,
        skipinitialspace=True,
        strict=False,
    )


def _quote_origin(raw_lines: list[str], start: int, delimiter: str, ws: bool) -> tuple[int | None, bool]:
    """Scan the raw lines of one record as the csv reader does. Returns (line, still_open):
    the line where the quoted field still open at the end opened (still_open True), else
    where the first quoted field that runs over a line end opened (or None)."""
    START, FIELD, QUOTED, AFTER = 0, 1, 2, 3
    state = START
    open_line: int | None = None
    spanning: int | None = None
    for k, raw in enumerate(raw_lines):
        s = whitespace_line(raw) if ws else raw
        ln = start + k
        i, n = 0, len(s)
        while i < n:
            if state == QUOTED:
                j = s.find(_QUOTE, i)
                if j < 0:
                    if spanning is None:
                        spanning = open_line
                    break
                state, i = AFTER, j + 1
                continue
            c = s[i]
            if c in "\r\n":
                state = START
            elif state == START:
                if c == _QUOTE:
                    state, open_line = QUOTED, ln
                elif c == delimiter or c == " ":
                    pass
                else:
                    state = FIELD
            elif state == FIELD:
                if c == delimiter:
                    state = START
            else:  # AFTER: just after a closing quote
                if c == _QUOTE:
                    state = QUOTED
                elif c == delimiter:
                    state = START
                else:
                    state = FIELD
            i += 1
    if state == QUOTED:
        return open_line, True
    return spanning, False


def _unclosed_quote_error(fname, raw_lines, start, delimiter, ws) -> DataError:
    line, _ = _quote_origin(raw_lines, start, delimiter, ws)
    line = line if line is not None else start
    return DataError(
        'a quoted field opens on this line (with ") and is never closed: the quote runs to the end '
        'of the file. Close it, or double it ("") if it is part of the text',
        file=fname,
        row=line,
    )


def _next_record(reader, lines: _Lines, fname: str, delimiter: str) -> list[str] | None:
    """The next record from ``reader`` (None at the end of the file)."""
    lines.record = []
    lines.past_end = False
    start = lines.line + 1
    try:
        row = next(reader)
    except StopIteration:
        return None
    except csv.Error as e:
        line, _ = _quote_origin(lines.record, start, delimiter, lines.ws)
        raise DataError(f"cannot parse CSV: {e}", file=fname, row=line or start) from None
    if lines.past_end:
        raise _unclosed_quote_error(fname, lines.record, start, delimiter, lines.ws)
    return row


def _is_blank(row: list[str], ncols: int = 2) -> bool:
    return not row or (len(row) == 1 and not row[0].strip() and ncols != 1)


# ------------------------------------------------------------------ dialect and header


def _sample_text(path: Path) -> str:
    """The first ~64 KiB of the file, decoded leniently, cut at the last line end."""
    with open(path, "rb") as f:
        b = f.read(SAMPLE_BYTES)
        more = bool(f.read(1))
    if b.startswith(_BOM):
        b = b[3:]
    if more:
        cut = max(b.rfind(b"\n"), b.rfind(b"\r"))
        if cut >= 0:
            b = b[: cut + 1]
    return b.decode("utf-8", errors="replace").replace("\x00", " ")


def _sample_records(sample: str, delimiter: str, limit: int = 100, skip_lines: int = 0):
    """(record, first line, last line) of the first non-blank records of the sample."""
    lines = _Lines(iter([sample]), delimiter == WHITESPACE)
    reader = _reader(lines, delimiter)
    out = []
    try:
        for _ in range(skip_lines):
            next(lines)
        while len(out) < limit:
            start = lines.line + 1
            row = next(reader)
            if not _is_blank(row):
                out.append((row, start, lines.line))
    except (csv.Error, StopIteration):
        pass
    return out


def sniff_delimiter(sample: str) -> str:
    """Pick among , ; TAB | the delimiter that splits the sample into a consistent number
    (> 1) of fields per record; csv.Sniffer breaks ties, then the order TAB ; | ,.
    Whitespace is chosen only when it splits the lines strictly more consistently."""
    scores = {}
    for d in (*DELIMITERS, WHITESPACE):
        recs = [r for r, _a, _b in _sample_records(sample, d, limit=50)]
        if not recs:
            continue
        counts = [len(r) for r in recs]
        mode = max(set(counts), key=counts.count)
        if mode <= 1:
            continue
        scores[d] = (counts.count(mode) / len(counts), mode)
    ws = scores.pop(WHITESPACE, None)
    if not scores:
        return WHITESPACE if ws is not None and ws[0] >= 0.9 else ","
    best = max(s[0] for s in scores.values())
    if ws is not None and ws[0] > best and ws[0] >= 0.9:
        return WHITESPACE
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


def _detect_preamble(sample: str, delimiter: str) -> tuple[int, str | None, bool]:
    """Leading lines to skip: (number of physical lines, why, count_row).

    * a scikit-learn count row (``150,4,setosa,versicolor,virginica``: two integers, then
      names) whose shape does not match the data: fewer fields, or names above numbers;
    * a one-field title line above records of several fields.
    """
    recs = _sample_records(sample, delimiter, limit=60)
    skip, reasons, count_row = 0, [], False
    k = 0
    while k < min(MAX_PREAMBLE, len(recs) - 2):
        rest = [r for r, _a, _b in recs[k + 1 :]]
        counts = [len(r) for r in rest]
        mode = max(set(counts), key=counts.count)
        if mode < 2 or counts.count(mode) < 0.9 * len(counts):
            break
        row, first, last = recs[k]
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        ints = len(row) >= 2 and _is_count(row[0]) and _is_count(row[1])
        names_ok = ints and all(v.strip() and not is_number(v) for v in row[2:])
        if names_ok and len(row) != mode:
            pass
        elif names_ok and int(row[1]) in (mode - 1, mode):
            # same width as the data: a count row if its names sit above numeric columns
            numeric_below = False
            for j in range(2, len(row)):
                vals = [r[j].strip() for r in rest if len(r) > j and r[j].strip() not in MISSING_TOKENS]
                if vals and sum(is_number(v) for v in vals) >= 0.9 * len(vals):
                    numeric_below = True
                    break
            if not numeric_below:
                break
        elif len(row) == 1 and not is_number(row[0]):
            reasons.append(f"{where}: a title ({row[0].strip()[:40]!r})")
            skip, k = last, k + 1
            continue
        else:
            break
        names = ", ".join(v.strip() for v in row[2:])
        reasons.append(
            f"{where}: a count row ({int(row[0])} rows, {int(row[1])} columns"
            + (f"; {names}" if names else "")
            + ")"
        )
        count_row = True
        skip, k = last, k + 1
    return skip, ("; ".join(reasons) or None), count_row


def _detect_header(records: list[list[str]]) -> bool:
    if not records:
        return False
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
    if not isinstance(d, str):
        raise DataError(f"delimiter must be a single character or 'whitespace', got {d!r}")
    if d in ("\\t", "tab", "TAB", "\t"):
        return "\t"
    if d in WHITESPACE_NAMES or d.lower() in WHITESPACE_NAMES:
        return WHITESPACE
    if len(d) != 1:
        raise DataError(f"delimiter must be a single character or 'whitespace', got {d!r}")
    if d in "\r\n" or d == _QUOTE:
        raise DataError(f"{d!r} cannot be the delimiter")
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

    def add_cells(self, cells, rows: np.ndarray) -> bool:
        """Convert one chunk of string cells, carefully. False: the column must be re-read as text."""
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
                return True
            n = len(cells)
            vals = np.full(n, np.nan)
            for i, s in enumerate(cells):
                t = s.strip()
                if t in MISSING_TOKENS:
                    continue
                try:
                    vals[i] = float(t)
                except ValueError:
                    if self.values:  # numbers stored already: read again with this column as text
                        return False
                    self.text = True
                    break
            else:
                self.add_numeric(vals)
                return True
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
        return True

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


def _fields_error(row, line, ncols, names, has_header, fname, lines: _Lines, delimiter) -> DataError:
    what = "the header has" if has_header else "the first row has"
    msg = (
        f"has {len(row)} fields but {what} {ncols} "
        f"({', '.join(names[:8])}{', ...' if ncols > 8 else ''}); check the delimiter and quoting"
    )
    if line <= MAX_PREAMBLE + 2:
        msg += ", or skip the note lines above the table (skip lines)"
    if lines.line > line:  # the record ran over several lines: a quote swallowed line ends
        opened, _ = _quote_origin(lines.record, line, delimiter, lines.ws)
        if opened is not None:
            msg += (
                f"; a quoted field opening on line {opened} runs on to line {lines.line} "
                '(an unbalanced quote? double it ("") if it is part of the text)'
            )
    return DataError(msg, file=fname, row=line)


def read_csv_table(
    path: str | os.PathLike,
    delimiter: str | None = None,
    header: bool | None = None,
    progress: Callable[[float], None] | None = None,
    max_bytes: int | None = None,
    *,
    skip_rows: int | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Table:
    """Read a CSV file into a :class:`Table`.

    ``delimiter``: None sniffs among ``, ; TAB |`` and whitespace; ``" "`` or
    ``"whitespace"`` splits on runs of spaces/tabs. ``header``: None detects it (a first
    row with text above numeric columns is a header). ``skip_rows``: lines to skip before
    the header (or the first data row); None skips a leading count row or title line
    automatically (see ``table.info["skip_reason"]``). ``progress(fraction)`` is called
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
        if not p.is_file():  # a device like /dev/zero or a pipe would never end
            raise DataError("is not a regular file (a device or pipe cannot be read as CSV)", file=fname)
        size = p.stat().st_size
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read file: {getattr(e, 'strerror', None) or e}", file=fname) from None
    if size == 0:
        raise DataError("file is empty", file=fname)
    if max_bytes is not None and size > max_bytes:
        raise DataError(
            f"file is {size / 1e6:.1f} MB, larger than the limit of {max_bytes / 1e6:.1f} MB", file=fname
        )
    if delimiter is not None:
        delimiter = _normalise_delimiter(delimiter)
    if skip_rows is not None:
        if isinstance(skip_rows, bool) or not isinstance(skip_rows, (int, np.integer)) or skip_rows < 0:
            raise DataError(f"lines to skip must be a whole number >= 0, got {skip_rows!r}", file=fname)
        skip_rows = int(skip_rows)
    force_text: set[int] = set()
    while True:
        try:
            table = _read(p, fname, size, delimiter, header, skip_rows, progress, block_bytes, force_text)
        except _Restart as r:
            force_text |= r.columns
            continue
        except OSError as e:
            raise DataError(f"cannot read file: {e.strerror or e}", file=fname) from None
        if progress is not None:
            progress(1.0)
        return table


def _check_memory(fname: str, size: int, sample: str, ncols: int) -> None:
    """Refuse, before anything is allocated, a file whose data set would not fit in the
    memory available now: its rows are estimated from the sample's bytes per line, and a
    data set holds the table, its train/test rows and the network's inputs (about
    ``TABLE_FACTOR`` x the table as float64), while reading holds the file too."""
    avail = available_memory()
    if avail is None:
        return
    per_line = len(sample.encode("utf-8", "replace")) / max(1, _count_lines(sample))
    rows = size / max(per_line, 1.0)
    table = rows * ncols * 8
    need = max(MEMORY_FACTOR * size, size + TABLE_FACTOR * table)
    if need > avail:
        raise DataError(
            f"file is {size / 1e6:,.0f} MB, about {rows:,.0f} rows x {ncols} columns "
            f"({table / 1e6:,.0f} MB as numbers); loading it as a data set needs about "
            f"{need / 1e6:,.0f} MB of memory, but only {avail / 1e6:,.0f} MB is available",
            file=fname,
        )


def _fast_block(text: str, delimiter: str, ncols: int) -> np.ndarray | None:
    """numpy's C reader on a quote-free block; None unless it gives one row per line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(
                io.StringIO(text, newline=""),
                delimiter=None if delimiter == WHITESPACE else delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
            )
    except (ValueError, TypeError, csv.Error, Warning):
        return None
    if arr.shape[1] != ncols or arr.shape[0] != _count_lines(text):
        return None
    return arr


def _read(p, fname, size, delimiter, header, skip_rows, progress, block_bytes, force_text) -> Table:
    sample = _sample_text(p)
    if delimiter is None:
        delimiter = sniff_delimiter(sample)
    ws = delimiter == WHITESPACE
    skip_reason, count_row = None, False
    if skip_rows is None:
        skip, skip_reason, count_row = _detect_preamble(sample, delimiter)
    else:
        skip = skip_rows
    recs = [r for r, _a, _b in _sample_records(sample, delimiter, skip_lines=skip)]
    _check_memory(fname, size, sample, max((len(r) for r in recs), default=1))
    has_header = _detect_header(recs) if header is None else bool(header)
    # R's write.table (and pandas' implicit index): a header one field shorter than every
    # data row names all columns but the first, which holds row names
    row_names = has_header and len(recs) >= 2 and all(len(r) == len(recs[0]) + 1 for r in recs[1:])

    lines = _Lines(_iter_blocks(p, fname, size, progress, block_bytes), ws)
    reader = _reader(lines, delimiter)
    for _ in range(skip):
        try:
            next(lines)
        except StopIteration:
            break
    skipped = lines.line
    first = None
    first_line = 0
    while True:
        first_line = lines.line + 1
        row = _next_record(reader, lines, fname, delimiter)
        if row is None:
            break
        if not _is_blank(row):
            first = row
            break
    if first is None:
        if skipped:
            raise DataError(f"has no rows after the {skipped} skipped line(s)", file=fname)
        raise DataError("file is empty (only blank lines)", file=fname)
    ncols = len(first)
    rows: list[list[str]] = []
    starts: list[int] = []
    if has_header:
        names = _unique_names([""] + first if row_names else first)
        ncols = len(names)
    else:
        names = [f"column {j + 1}" for j in range(ncols)]
        if count_row and ncols > 1:
            names[-1] = "target"  # scikit-learn's layout: features, then the integer class label
        rows.append(first)
        starts.append(first_line)
    data_start = lines.line + 1
    info = {
        "bytes": size,
        "skipped_lines": skipped,
        "skip_reason": skip_reason,
        "header_line": first_line if has_header else None,
        "row_names": row_names,
    }
    if not ws and not force_text and size >= NUMERIC_MIN_BYTES:
        top = data_start if has_header else first_line
        values = read_numeric(p, top - 1, delimiter, ncols)
        if values is not None:  # every data line is plain numbers: the fast path's result
            n = values.shape[1]
            none_missing = np.zeros(n, dtype=bool)
            none_missing.flags.writeable = False  # one mask for all columns: never written
            columns = [Column(c, "numeric", values[j], none_missing, n) for j, c in enumerate(names)]
            rn = np.arange(top, top + n, dtype=np.int64)
            return Table(fname, columns, rn, delimiter=delimiter, has_header=has_header, info=info)
    cols = [_ColumnBuilder(n, j in force_text) for j, n in enumerate(names)]
    row_numbers: list[np.ndarray] = []

    def flush() -> None:
        if not rows:
            return
        line_arr = np.asarray(starts, dtype=np.int64)
        columns = list(zip(*rows))
        rows.clear()
        starts.clear()
        failed = [j for j, c in enumerate(cols) if not c.add_cells(columns[j], line_arr)]
        if failed:
            raise _Restart(failed)
        row_numbers.append(line_arr)

    def slow_until_block_end() -> None:
        while not lines.at_block_end():
            line = lines.line + 1
            row = _next_record(reader, lines, fname, delimiter)
            if row is None:
                break
            if _is_blank(row, ncols):
                continue
            if len(row) != ncols:
                raise _fields_error(row, line, ncols, names, has_header, fname, lines, delimiter)
            rows.append(row)
            starts.append(line)

    while True:
        start_line = lines.line + 1
        text = lines.take_rest()
        if text is None:
            break
        if not text:
            continue
        quote_free = _QUOTE not in text
        if quote_free and not any(c.text for c in cols) and not (ws and _ODD_SPACE.search(text)):
            arr = _fast_block(text, delimiter, ncols)
            if arr is not None:
                flush()
                for j, c in enumerate(cols):
                    c.add_numeric(np.ascontiguousarray(arr[:, j]))
                row_numbers.append(np.arange(start_line, start_line + arr.shape[0], dtype=np.int64))
                lines.line += _count_lines(text)
                continue
        if quote_free and not ws:
            # without quotes every physical line is one record: the csv reader runs on the
            # block directly (C speed), with the same dialect and so the same result
            direct = _reader(io.StringIO(text, newline=""), delimiter)
            for i, row in enumerate(direct):
                if _is_blank(row, ncols):
                    continue
                if len(row) != ncols:
                    raise _fields_error(
                        row, start_line + i, ncols, names, has_header, fname, lines, delimiter
                    )
                rows.append(row)
                starts.append(start_line + i)
            lines.line += _count_lines(text)
            flush()
            continue
        lines.open(text)
        slow_until_block_end()
        flush()
    flush()
    rn = np.concatenate(row_numbers) if row_numbers else np.empty(0, dtype=np.int64)
    if rn.size == 0:
        if has_header:
            raise DataError("has a header row but no data rows", file=fname, row=data_start)
        raise DataError("has no data rows", file=fname)
    columns = [c.build() for c in cols]
    if delimiter != ",":
        columns = [_decimal_comma(c) for c in columns]
    return Table(fname, columns, rn, delimiter=delimiter, has_header=has_header, info=info)
