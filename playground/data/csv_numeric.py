"""All-numeric CSV files at C speed: a numba parser over the bytes of the data lines.

``read_numeric(path, offset, delimiter, ncols)`` parses every line from byte ``offset`` on
as exactly ``ncols`` plain numbers separated by one delimiter character, into a float64
array shaped (ncols, rows) (each column contiguous). It accepts only what it can convert
exactly as Python's ``float`` does, and returns None on anything else (a missing value,
text, a space, a blank or ragged line, a lone CR, a number it cannot round exactly), so
that the robust reader in ``csv_reader`` reads that file instead. The result therefore
never differs from the robust reader's; tests compare the two on generated tables.

A number is ``[+-]digits[.digits][(e|E)[+-]digits]`` (or ``.digits``) with at most 18
significant digits and a value m x 10^k, |k| <= 22, m <= 2^53: m and 10^k are exact
doubles, so one IEEE multiplication or division rounds it correctly (Clinger's fast path,
the one every strtod takes first). Longer or extreme numbers go to the robust reader.
Lines end in LF or CRLF. The work is split into line-aligned chunks parsed by two threads
(the kernels release the GIL). It reports no progress: a file it gives up on halfway is
read again by the robust reader, whose progress then starts from the beginning.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

# No fastmath here: the division below must stay one correctly rounded IEEE division.
_JIT = {"nogil": True, "cache": True}
CHUNK_BYTES = 8 << 20
_POW10 = np.array([10.0**k for k in range(23)])  # all exact doubles
_LF, _CR = 10, 13
_MAX_MANTISSA = 2**53


@numba.njit(**_JIT)
def _count_rows(buf, start, end):
    """Lines in buf[start:end] (the last one may lack its LF)."""
    n = 0
    for i in range(start, end):
        if buf[i] == _LF:
            n += 1
    if end > start and buf[end - 1] != _LF:
        n += 1
    return n


@numba.njit(**_JIT)
def _parse_rows(buf, start, end, delim, out, row0):
    """Parse the lines of buf[start:end] into out[:, row0:]; returns the rows parsed, or -1
    at the first thing the fast path does not accept."""
    ncols = out.shape[0]
    i = start
    row = row0
    while i < end:
        for col in range(ncols):
            neg = False
            c = buf[i] if i < end else 0
            if c == 45 or c == 43:  # - +
                neg = c == 45
                i += 1
            m = 0
            nd = 0  # significant digits in m
            digits = 0
            frac = 0  # digits after the decimal point
            dot = False
            while i < end:
                c = buf[i]
                if c == 46 and not dot:  # .
                    dot = True
                    i += 1
                    continue
                if not 48 <= c <= 57:
                    break
                d = c - 48
                if m > 0 or d > 0:
                    nd += 1
                if nd > 18:
                    return -1
                m = m * 10 + d
                digits += 1
                if dot:
                    frac += 1
                i += 1
            if digits == 0:
                return -1
            e = 0
            if i < end and (buf[i] == 101 or buf[i] == 69):  # e E
                i += 1
                eneg = False
                if i < end and (buf[i] == 45 or buf[i] == 43):
                    eneg = buf[i] == 45
                    i += 1
                ed = 0
                while i < end and 48 <= buf[i] <= 57:
                    if e < 10000:
                        e = e * 10 + (buf[i] - 48)
                    ed += 1
                    i += 1
                if ed == 0:
                    return -1
                if eneg:
                    e = -e
            k = e - frac
            if m == 0:
                v = 0.0
            elif m > _MAX_MANTISSA or k > 22 or k < -22:
                return -1
            elif k >= 0:
                v = float(m) * _POW10[k]
            else:
                v = float(m) / _POW10[-k]
            out[col, row] = -v if neg else v
            # what follows a number: the delimiter between fields, a line end after the last
            if col < ncols - 1:
                if i >= end or buf[i] != delim:
                    return -1
                i += 1
            elif i < end:
                if buf[i] == _CR:
                    i += 1
                    if i >= end or buf[i] != _LF:
                        return -1
                if i < end:
                    if buf[i] != _LF:
                        return -1
                    i += 1
        row += 1
    return row - row0


def _line_offset(buf: np.ndarray, lines: int) -> int:
    """Byte offset of the start of physical line ``lines + 1`` (LF, CRLF or CR end a line)."""
    pos = 0
    for _ in range(lines):
        lf = _find(buf, _LF, pos)
        cr = _find(buf, _CR, pos)
        if lf < 0 and cr < 0:
            return len(buf)
        if cr >= 0 and (lf < 0 or cr < lf):
            pos = cr + 2 if cr + 1 < len(buf) and buf[cr + 1] == _LF else cr + 1
        else:
            pos = lf + 1
    return pos


def _find(buf: np.ndarray, byte: int, pos: int, window: int = 1 << 16) -> int:
    while pos < len(buf):
        hit = np.flatnonzero(buf[pos : pos + window] == byte)
        if hit.size:
            return pos + int(hit[0])
        pos += window
    return -1


def _chunks(buf: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """Line-aligned (start, end) pieces of about CHUNK_BYTES."""
    out = []
    while start < end:
        cut = min(end, start + CHUNK_BYTES)
        if cut < end:
            nl = _find(buf, _LF, cut)
            cut = end if nl < 0 else nl + 1
        out.append((start, cut))
        start = cut
    return out


def read_numeric(
    path: str | os.PathLike,
    skip_lines: int,
    delimiter: str,
    ncols: int,
) -> np.ndarray | None:
    """The data lines after the first ``skip_lines`` lines of the file, as (ncols, rows)
    float64, or None if they are not all plain numbers (see the module docstring)."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in "0123456789+-.eE \r\n":
        return None
    buf = np.fromfile(Path(path), dtype=np.uint8)
    base = 3 if buf[:3].tobytes() == b"\xef\xbb\xbf" else 0
    start = base + _line_offset(buf[base:], skip_lines)
    end = len(buf)
    while end > start and buf[end - 1] in (_LF, _CR):  # trailing line ends: no more rows
        end -= 1
    if end <= start:
        return None
    pieces = _chunks(buf, start, end)
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda p: _count_rows(buf, p[0], p[1]), pieces))
        out = np.empty((ncols, sum(counts)), dtype=np.float64)
        row0 = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        jobs = [
            pool.submit(_parse_rows, buf, a, b, ord(delimiter), out, int(r))
            for (a, b), r in zip(pieces, row0, strict=True)
        ]
        ok = [job.result() for job in jobs] == counts
    return out if ok else None
