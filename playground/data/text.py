"""Character-level text data, and generating text from a model's next-character guesses.

A text becomes sequence data (``"data": {"kind": "sequence", "name": "text"}``): its
alphabet is the sorted set of the characters it contains (``class_names``, one class per
character; ``info["alphabet"]`` as one string), each sample a window of ``length``
characters one-hot ``(length, alphabet size)``, the target the character after it. The
windows start at ``n_samples`` evenly spaced places over the whole text (every place when
the text has fewer), and the split is in reading order: the first ``train_fraction`` of
the windows train, the rest (the end of the text) test. ``info["seed_text"]`` is the first
test window, a start for ``sample_text`` the model has not trained on.

The shipped text is chapters I-VI of Lewis Carroll's *Alice's Adventures in Wonderland*
(Project Gutenberg eBook #11, public domain in the USA; ``resources/datasets/README.md``).
``path`` reads a user's UTF-8 ``.txt`` instead (line ends CRLF / CR read as LF).

``sample_text`` is plain numpy: the app's text view calls it with a ``predict`` that runs
the network, as the training goes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from playground.data.dataset import Dataset, FeaturePipeline
from playground.errors import DataError
from playground.resources import datasets_dir

SHIPPED_TEXT = "alice.txt"
MAX_TEXT_BYTES = 50 << 20
MAX_ALPHABET = 256


def _display(c: str) -> str:
    return {"\n": "\\n", "\t": "\\t", " ": "space"}.get(c, c)


def read_text(path: str | Path, shown: str | None = None) -> str:
    """A UTF-8 text file as one string (a BOM dropped, CRLF and CR as LF); DataError naming
    the file (and the line of a byte that is not UTF-8) if it cannot be read."""
    shown = str(path) if shown is None else shown
    p = Path(path)
    try:
        if not p.exists():
            raise DataError(f"file not found (looked in {Path.cwd()} and {datasets_dir()})", file=shown)
        if not p.is_file():
            raise DataError(
                "is not a regular file (a folder, device or pipe cannot be read as text)", file=shown
            )
        size = p.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise DataError(
                f"is {size / 1e6:,.1f} MB; a text for a character model may be at most "
                f"{MAX_TEXT_BYTES / 1e6:,.0f} MB (use an excerpt)",
                file=shown,
            )
        data = p.read_bytes()
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read file: {getattr(e, 'strerror', None) or e}", file=shown) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        raise DataError(
            f"is not UTF-8 text: byte 0x{data[e.start]:02x} cannot be decoded (save the file as UTF-8)",
            file=shown,
            row=line,
            column=col,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError("contains a NUL character: this is not a text file", file=shown, row=line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@lru_cache(maxsize=1)
def shipped_text() -> str:
    return read_text(datasets_dir() / SHIPPED_TEXT)


def shipped_alphabet() -> str:
    return "".join(sorted(set(shipped_text())))


def one_hot_windows(codes: np.ndarray, starts: np.ndarray, length: int, k: int) -> np.ndarray:
    """X (n, length, k): X[i, j, codes[starts[i] + j]] = 1."""
    n = len(starts)
    X = np.zeros((n, length, k))
    idx = starts[:, None] + np.arange(length)[None, :]
    X[np.arange(n)[:, None], np.arange(length)[None, :], codes[idx]] = 1.0
    return X


def text_dataset(
    text: str, length: int, n_samples: int, train_fraction: float, source: str, shown: str | None = None
) -> Dataset:
    """The Dataset of ``text``: ``n_samples`` windows of ``length`` one-hot characters, each
    predicting the next character (see the module docstring)."""
    from playground.data.sequences import check_sequence_memory, step_names, time_split

    shown = source if shown is None else shown
    if len(text) < length + 2:
        raise DataError(
            f"is too short: {len(text):,} characters, but windows of {length} and the character after "
            f"each, for training and for testing, need at least {length + 2}",
            file=shown,
        )
    alphabet = "".join(sorted(set(text)))
    k = len(alphabet)
    if k > MAX_ALPHABET:
        raise DataError(
            f"has {k:,} distinct characters; a character model takes at most {MAX_ALPHABET}", file=shown
        )
    lookup = {c: i for i, c in enumerate(alphabet)}
    codes = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    available = len(text) - length  # windows with a next character
    n = min(int(n_samples), available)
    starts = (np.arange(n, dtype=np.int64) * available) // n  # evenly spaced, distinct, increasing
    check_sequence_memory(n, length, k, shown)
    X = one_hot_windows(codes, starts, length, k)
    y = codes[starts + length]
    n_train = time_split(n, train_fraction)
    names = step_names(length, [repr(c) for c in alphabet])
    X_train, X_test = X[:n_train], X[n_train:]
    first_test = int(starts[n_train])
    return Dataset(
        X_train=X_train,
        y_train=y[:n_train],
        X_test=X_test,
        y_test=y[n_train:],
        raw_train=X_train.reshape(n_train, -1),
        raw_test=X_test.reshape(n - n_train, -1),
        input_names=names,
        feature_names=list(names),
        task="classification",
        class_names=list(alphabet),
        target_names=[],
        pipeline=FeaturePipeline(),
        info={
            "source": source,
            "n_rows": n,
            "rows_dropped": 0,
            "length": length,
            "forecast": False,
            "alphabet": alphabet,
            "alphabet_display": [_display(c) for c in alphabet],
            "n_chars": len(text),
            "starts_train": starts[:n_train],
            "starts_test": starts[n_train:],
            "seed_text": text[first_test : first_test + length],
            "n_samples_capped": n < int(n_samples),
        },
    )


def build_text_dataset(path: str | None, length: int, n_samples: int, train_fraction: float) -> Dataset:
    """The shipped text (``path`` None) or a user's UTF-8 file (relative paths as for CSVs:
    the current directory, then ``resources/datasets/``)."""
    if not path:
        return text_dataset(shipped_text(), length, n_samples, train_fraction, f"text:{SHIPPED_TEXT}")
    from playground.data.build import resolve_data_path
    from playground.spec import short_path

    text = read_text(resolve_data_path(path), shown=short_path(path))
    return user_text_dataset(text, str(path), length, n_samples, train_fraction)


def user_text_dataset(text: str, path: str, length: int, n_samples: int, train_fraction: float) -> Dataset:
    """The Dataset of a user's text read from ``path`` (or embedded in a session that was
    trained on it: the file may have moved since); it keeps the text for the next save."""
    from playground.spec import short_path

    ds = text_dataset(text, length, n_samples, train_fraction, path, shown=short_path(path))
    ds.info["path"] = path
    ds.text = text
    return ds


def sample_text(
    predict: Callable[[np.ndarray], np.ndarray],
    alphabet: str | Sequence[str],
    seed_text: str,
    n_chars: int,
    temperature: float = 1.0,
    rng: np.random.Generator | None = None,
    *,
    length: int | None = None,
) -> str:
    """Generate ``n_chars`` characters after ``seed_text``, one at a time: the last
    ``length`` characters (default ``len(seed_text)``) go in one-hot as X (1, length, k);
    ``predict(X)`` gives the next character's probabilities (1, k); the next character is
    drawn with probabilities p ** (1 / temperature) renormalised (temperature 0: the most
    likely one, no randomness). Returns the generated characters only."""
    chars = list(alphabet)
    k = len(chars)
    lookup = {c: i for i, c in enumerate(chars)}
    if len(lookup) != k:
        raise ValueError("the alphabet lists a character twice")
    t = float(temperature)
    if not (t >= 0.0 and np.isfinite(t)):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    L = len(seed_text) if length is None else int(length)
    if L < 1 or len(seed_text) < L:
        raise ValueError(f"the seed text needs at least {max(L, 1)} characters, got {len(seed_text)}")
    unknown = [c for c in seed_text[-L:] if c not in lookup]
    if unknown:
        raise ValueError(f"the seed text has a character not in the alphabet: {unknown[0]!r}")
    if t > 0.0 and rng is None:
        rng = np.random.default_rng()
    window = [lookup[c] for c in seed_text[-L:]]
    X = np.zeros((1, L, k))
    out = []
    for _ in range(int(n_chars)):
        X[:] = 0.0
        X[0, np.arange(L), window] = 1.0
        p = np.asarray(predict(X), dtype=np.float64).reshape(-1)
        if p.shape[0] != k:
            raise ValueError(f"predict gave {p.shape[0]} probabilities for an alphabet of {k}")
        if t == 0.0:
            j = int(np.argmax(p))
        else:
            with np.errstate(divide="ignore"):
                logp = np.log(np.clip(p, 0.0, None)) / t
            finite = np.isfinite(logp)
            if not finite.any():
                j = int(np.argmax(p))
            else:
                q = np.where(finite, np.exp(logp - logp[finite].max()), 0.0)
                c = np.cumsum(q)
                j = min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), k - 1)
        out.append(chars[j])
        window = window[1:] + [j]
    return "".join(out)
