"""Sequence data: toy generators for recurrent networks, and the spec checks of sequences.

Every sequence Dataset holds ``X_*`` as float64 ``(n, length, features)`` (PyTorch's
``batch_first``), ``y_*`` as int64 class indices (classification) or float64
``(n, n_targets)`` (regression), and ``raw_*`` as the ``(n, length * features)`` inputs
before normalisation (views of ``X_*`` when there is none), named ``input_names`` step by
step: ``x[t-19] ... x[t]`` for a forecast, ``step 0 value, step 0 marker, ...`` otherwise.
Its pipeline maps ``raw`` to ``X`` flattened (the identity, or per-feature offsets and
scales repeated for every step).

The generators (``SEQUENCE_DATASETS``, names the spec stores in ``data.name``):

- Forecasting (``sine``, ``sines``; ``timeseries.py`` cuts a CSV the same way): one series
  of ``n_samples + length`` points cut into windows of ``length`` steps, each predicting
  the next value. Split in time order: the first ``round(train_fraction * n)`` windows
  train, the rest test, never shuffled. ``sines`` with length 20, n_samples 3980, noise
  0.05, train_fraction 0.8 and seed 0 is W5 of BENCHMARKS.md exactly (``peers.py``: the
  noise is ``default_rng(seed).normal(0, noise, n_points)``).
- i.i.d. tasks (``adding``, ``copy``, ``parity``): each sample drawn on its own from the
  seed, a seeded random split. ``noise`` adds gaussian noise of that standard deviation to
  every input once the target is fixed.
- ``text`` (``text.py``): windows of characters, one-hot, predicting the next character
  (``noise`` does not apply).

What a forecast's ``info`` holds for drawing prediction against truth over time:
``forecast`` True; ``series`` float64 (T,), the target series in the units of ``y``;
``train_time`` / ``test_time`` int64, the time index (into ``series``) of each sample's target,
so ``y_train[i, 0] == series[train_time[i]]`` and a prediction for sample i is drawn at
``train_time[i]``; ``window``, ``horizon``; ``target_offset`` / ``target_scale`` (``y *
scale + offset`` is in the data's own units; 0 and 1 when nothing is normalised);
``inputs_are_target`` (the only input is the target series, so forecasts beyond the data
can feed predictions back in: ``rollout``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from playground.data.csv_reader import available_memory
from playground.data.dataset import NORMALIZATIONS, Dataset, FeaturePipeline, _mean_std
from playground.errors import DataError, SpecError
from playground.registry import Registry

MAX_LENGTH = 10_000  # steps per sequence (and a time series' window or horizon)
MAX_SEQUENCE_SAMPLES = 10_000_000
MAX_COPY_SYMBOLS = 50
FLOAT_BYTES = 8
# W5 of BENCHMARKS.md as a data spec (the same arrays as shared/bench/peers.py, in float64)
W5_DATA = {"kind": "sequence", "name": "sines", "length": 20, "n_samples": 3980, "noise": 0.05,
           "train_fraction": 0.8, "seed": 0}  # fmt: skip


@dataclass(frozen=True)
class SequenceArgs:
    """The settings of one build, resolved from the DataSpec (defaults filled in)."""

    name: str
    n: int
    length: int
    lag: int | None
    noise: float
    n_classes: int
    train_fraction: float
    normalize: str
    seed: int
    path: str | None = None


@dataclass(frozen=True)
class SequenceSource:
    """A named sequence data set. ``build(args) -> Dataset``; ``n_features(args)`` gives the
    features per step (None: known only once a file is read)."""

    name: str
    description: str
    task: str  # "classification" | "regression"
    default_length: int
    min_length: int
    build: Callable[[SequenceArgs], Dataset]
    n_features: Callable[[SequenceArgs], int | None]
    forecast: bool = False


SEQUENCE_DATASETS: Registry[SequenceSource] = Registry("sequence data set")


def _register(source: SequenceSource) -> SequenceSource:
    return SEQUENCE_DATASETS.register(source.name, source)


# --------------------------------------------------------------------------- helpers


def time_split(n: int, train_fraction: float) -> int:
    """Samples that train in a time-order split: round(train_fraction * n), clamped so that
    train and test both get one (W5's int(0.8 * 3980) = 3184 is the same number)."""
    return min(max(int(round(float(train_fraction) * n)), 1), n - 1)


def check_sequence_memory(n: int, length: int, features: int, source: str, available: int | None = None):
    """DataError naming ``source`` if ``n`` sequences of ``length`` x ``features`` (float64,
    with their raw copies) cannot fit in the memory available now."""
    need = 2 * n * length * features * FLOAT_BYTES
    if need < 64 << 20 and available is None:
        return
    available = available_memory() if available is None else available
    if available is not None and need > available:
        raise DataError(
            f"{n:,} sequences of {length:,} steps x {features:,} features need about {need / 1e6:,.0f} MB "
            f"of memory as numbers (with their raw copies), but only {available / 1e6:,.0f} MB is "
            "available; use fewer samples (data.n_samples) or shorter sequences (data.length)",
            file=source,
        )


def step_names(length: int, features: list[str]) -> list[str]:
    """``step 0 value, step 0 marker, step 1 value, ...`` (the raw columns' order)."""
    return [f"step {t} {f}" for t in range(length) for f in features]


def lag_names(window: int, series: list[str]) -> list[str]:
    """``x[t-19], ..., x[t]`` for one series named x; every series per step for several."""
    return [
        f"{s}[t-{window - 1 - j}]" if j < window - 1 else f"{s}[t]" for j in range(window) for s in series
    ]


def fit_series_scaling(M: np.ndarray, normalize: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (offset, scale) of the rows ``M`` (T, F), as ``FeaturePipeline.fit``
    computes them: standard (mean, std), minmax (centre, half range: [-1, 1]), none (0, 1)."""
    k = M.shape[1]
    if normalize == "none" or M.shape[0] == 0:
        return np.zeros(k), np.ones(k)
    if normalize == "standard":
        offset, sd = _mean_std(M)
        return offset, np.where(sd > 1e-12, sd, 1.0)
    lo, hi = M.min(axis=0), M.max(axis=0)
    half = hi / 2.0 - lo / 2.0
    return lo / 2.0 + hi / 2.0, np.where(half > 1e-12, half, 1.0)


def forecast_dataset(
    inputs: np.ndarray,
    target: np.ndarray,
    window: int,
    horizon: int,
    train_fraction: float,
    normalize: str,
    input_names: list[str],
    target_name: str,
    info: dict,
    inputs_are_target: bool,
) -> Dataset:
    """Windows of a multivariate series: sample i sees rows i .. i+window-1 of ``inputs``
    (T, F) and predicts ``target`` (T,) at row i+window-1+horizon. Split in time order;
    the normalisation of the inputs and of the target is fitted on the rows up to the last
    training target only (so nothing of the test part leaks into it)."""
    T, F = inputs.shape
    n = T - window - horizon + 1
    t_all = np.arange(n, dtype=np.int64) + (window - 1 + horizon)
    n_train = time_split(n, train_fraction)
    fit_rows = int(t_all[n_train - 1]) + 1
    offset, scale = fit_series_scaling(inputs[:fit_rows], normalize)
    t_off, t_scale = fit_series_scaling(target[:fit_rows].reshape(-1, 1), normalize)
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (inputs - offset) / scale
        series = (target - t_off[0]) / t_scale[0]
    if not (np.isfinite(Z).all() and np.isfinite(series).all()):
        raise DataError("values too large to normalise; rescale the data", file=info.get("source"))
    raw_windows = np.lib.stride_tricks.sliding_window_view(inputs, window, axis=0)[:n]  # (n, F, window)
    raw = np.ascontiguousarray(raw_windows.transpose(0, 2, 1)).reshape(n, window * F)
    X = np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(Z, window, axis=0)[:n].transpose(0, 2, 1)
    )
    y = series[t_all].reshape(-1, 1).astype(np.float64)
    pipeline = FeaturePipeline(
        normalize=normalize, offset=np.tile(offset, window), scale=np.tile(scale, window)
    )
    if normalize == "none":
        raw_train, raw_test = X[:n_train].reshape(n_train, -1), X[n_train:].reshape(n - n_train, -1)
    else:
        raw_train, raw_test = raw[:n_train], raw[n_train:]
    info = {
        "n_rows": T,
        "rows_dropped": 0,
        **info,
        "forecast": True,
        "series": series,
        "train_time": t_all[:n_train],
        "test_time": t_all[n_train:],
        "window": window,
        "horizon": horizon,
        "target_offset": float(t_off[0]),
        "target_scale": float(t_scale[0]),
        "inputs_are_target": bool(inputs_are_target),
        "normalize": normalize,
    }
    return Dataset(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        raw_train=raw_train,
        raw_test=raw_test,
        input_names=list(input_names),
        feature_names=list(input_names),
        task="regression",
        class_names=None,
        target_names=[target_name],
        pipeline=pipeline,
        info=info,
    )


def rollout(predict: Callable[[np.ndarray], np.ndarray], ds: Dataset, n_steps: int) -> np.ndarray:
    """Forecasts beyond the data of a one-series forecast (``info["inputs_are_target"]``,
    horizon 1): the last ``window`` values of ``info["series"]`` go in, each prediction is
    appended and fed back. ``predict`` maps X (n, window, 1) to (n, 1). Returns (n_steps,)
    in the units of ``y`` (time indices ``len(series) ..``)."""
    info = ds.info
    if not info.get("inputs_are_target") or info.get("horizon") != 1:
        raise ValueError("rollout needs a forecast whose only input is its target, with horizon 1")
    w = int(info["window"])
    buf = list(np.asarray(info["series"], dtype=np.float64)[-w:])
    out = np.empty(int(n_steps))
    for i in range(int(n_steps)):
        p = np.asarray(predict(np.asarray(buf[-w:]).reshape(1, w, 1)), dtype=np.float64).reshape(-1)
        out[i] = p[0]
        buf.append(p[0])
    return out


def _iid_dataset(
    X: np.ndarray, y: np.ndarray, a: SequenceArgs, features: list[str], task: str, **kw
) -> Dataset:
    """A Dataset of independent sequences X (n, length, F): a seeded random split, the
    normalisation (if any) per feature fitted on the training samples."""
    n, length, F = X.shape
    rng = np.random.default_rng(np.random.SeedSequence([a.seed, 0x5E0]))
    perm = rng.permutation(n)
    n_train = time_split(n, a.train_fraction)
    tr, te = perm[:n_train], perm[n_train:]
    raw = X.reshape(n, length * F)
    offset, scale = fit_series_scaling(X[tr].reshape(-1, F), a.normalize)
    pipeline = FeaturePipeline(
        normalize=a.normalize, offset=np.tile(offset, length), scale=np.tile(scale, length)
    )
    Z = X if a.normalize == "none" else (X - offset) / scale
    X_train, X_test = np.ascontiguousarray(Z[tr]), np.ascontiguousarray(Z[te])
    if a.normalize == "none":
        raw_train, raw_test = X_train.reshape(n_train, -1), X_test.reshape(n - n_train, -1)
    else:
        raw_train, raw_test = raw[tr], raw[te]
    names = step_names(length, features)
    return Dataset(
        X_train=X_train,
        y_train=y[tr],
        X_test=X_test,
        y_test=y[te],
        raw_train=raw_train,
        raw_test=raw_test,
        input_names=names,
        feature_names=list(names),
        task=task,
        class_names=kw.get("class_names"),
        target_names=kw.get("target_names", []),
        pipeline=pipeline,
        info={
            "source": f"sequence:{a.name}",
            "n_rows": n,
            "rows_dropped": 0,
            "noise": a.noise,
            "seed": a.seed,
            "length": length,
            "step_features": list(features),
            "forecast": False,
            "normalize": a.normalize,
            **kw.get("info", {}),
        },
    )


def _add_noise(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise > 0:
        X += rng.normal(0.0, noise, X.shape)
    return X


# --------------------------------------------------------------------------- forecasting


def sine_series(n_points: int, noise: float, seed: int) -> np.ndarray:
    """x_t = sin(0.2 t) + N(0, noise^2), t = 0 .. n_points-1."""
    t = np.arange(n_points)
    return np.sin(0.2 * t) + np.random.default_rng(seed).normal(0.0, noise, n_points)


def sines_series(n_points: int, noise: float, seed: int) -> np.ndarray:
    """x_t = sin(0.2 t) + 0.5 sin(0.31 t) + N(0, noise^2): W5's series (peers.py)."""
    t = np.arange(n_points)
    rng = np.random.default_rng(seed)
    return np.sin(0.2 * t) + 0.5 * np.sin(0.31 * t) + rng.normal(0.0, noise, len(t))


def _forecast_builder(series_fn: Callable[[int, float, int], np.ndarray]):
    def build(a: SequenceArgs) -> Dataset:
        check_sequence_memory(a.n, a.length, 1, f"sequence:{a.name}")
        x = series_fn(a.n + a.length, a.noise, a.seed)
        info = {"source": f"sequence:{a.name}", "noise": a.noise, "seed": a.seed, "length": a.length}
        return forecast_dataset(
            x.reshape(-1, 1), x, a.length, 1, a.train_fraction, a.normalize,
            lag_names(a.length, ["x"]), "x[t+1]", info, inputs_are_target=True,
        )  # fmt: skip

    return build


_register(
    SequenceSource(
        "sine",
        "one sine wave, sin(0.2 t) plus noise; forecast the next value",
        "regression", 20, 1, _forecast_builder(sine_series), lambda a: 1, forecast=True,
    )
)  # fmt: skip
_register(
    SequenceSource(
        "sines",
        "sum of two sines, sin(0.2 t) + 0.5 sin(0.31 t) plus noise (W5); forecast the next value",
        "regression", 20, 1, _forecast_builder(sines_series), lambda a: 1, forecast=True,
    )
)  # fmt: skip


# --------------------------------------------------------------------------- i.i.d. tasks


def adding_samples(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem (Hochreiter & Schmidhuber 1997): step features (value uniform in
    [0, 1], marker 0/1); one marker in the first half, one in the second; the target is the
    sum of the two marked values. X (n, length, 2), y (n, 1)."""
    X = np.zeros((n, length, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, (n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    rows = np.arange(n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = (X[rows, first, 0] + X[rows, second, 0]).reshape(-1, 1)
    return X, y


def copy_samples(
    n: int, length: int, lag: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """The copy (memory) task: features = k symbol channels and a recall marker. One symbol
    (one-hot) at step ``length - 2 - lag``, then ``lag`` blank steps, then the recall marker
    at the last step; the class is the symbol. Returns X (n, length, k+1), y, the symbol's step."""
    X = np.zeros((n, length, k + 1))
    y = np.asarray(rng.permutation(np.arange(n) % k), dtype=np.int64)
    at = length - 2 - lag
    X[np.arange(n), at, y] = 1.0
    X[:, length - 1, k] = 1.0
    return X, y, at


def parity_samples(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bit strings of ``length`` (one feature, 0/1); the class is their parity (1: odd)."""
    bits = rng.integers(0, 2, (n, length))
    return bits.astype(np.float64).reshape(n, length, 1), (bits.sum(axis=1) % 2).astype(np.int64)


def _gen_rng(a: SequenceArgs) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([a.seed, 0x5E1]))


def copy_symbols(k: int) -> list[str]:
    return [chr(65 + i) if i < 26 else f"S{i}" for i in range(k)]


def _build_adding(a: SequenceArgs) -> Dataset:
    check_sequence_memory(a.n, a.length, 2, f"sequence:{a.name}")
    rng = _gen_rng(a)
    X, y = adding_samples(a.n, a.length, rng)
    _add_noise(X, a.noise, rng)
    return _iid_dataset(X, y, a, ["value", "marker"], "regression", target_names=["sum"])


def _build_copy(a: SequenceArgs) -> Dataset:
    k = a.n_classes
    check_sequence_memory(a.n, a.length, k + 1, f"sequence:{a.name}")
    lag = a.length - 2 if a.lag is None else a.lag
    rng = _gen_rng(a)
    X, y, at = copy_samples(a.n, a.length, lag, k, rng)
    _add_noise(X, a.noise, rng)
    symbols = copy_symbols(k)
    info = {"lag": lag, "symbol_step": at, "chance_accuracy": 1.0 / k}
    return _iid_dataset(X, y, a, [*symbols, "recall"], "classification", class_names=symbols, info=info)


def _build_parity(a: SequenceArgs) -> Dataset:
    check_sequence_memory(a.n, a.length, 1, f"sequence:{a.name}")
    rng = _gen_rng(a)
    X, y = parity_samples(a.n, a.length, rng)
    _add_noise(X, a.noise, rng)
    return _iid_dataset(X, y, a, ["bit"], "classification", class_names=["even", "odd"])


_register(
    SequenceSource(
        "adding",
        "the adding problem: random values, two of them marked; predict the sum of the marked two",
        "regression", 20, 2, _build_adding, lambda a: 2,
    )
)  # fmt: skip
_register(
    SequenceSource(
        "copy",
        "memory: a symbol, `lag` blank steps, then recall it (a plain RNN forgets as the lag grows)",
        "classification", 20, 2, _build_copy, lambda a: a.n_classes + 1,
    )
)  # fmt: skip
_register(
    SequenceSource(
        "parity",
        "a bit string; is the number of ones odd?",
        "classification", 8, 1, _build_parity, lambda a: 1,
    )
)  # fmt: skip


def _build_text(a: SequenceArgs) -> Dataset:
    from playground.data.text import build_text_dataset

    return build_text_dataset(a.path, a.length, a.n, a.train_fraction)


def _text_features(a: SequenceArgs) -> int | None:
    if a.path:
        return None
    from playground.data.text import shipped_alphabet

    return len(shipped_alphabet())


_register(
    SequenceSource(
        "text",
        "characters of a text (Alice in Wonderland, chapters I-VI, or your own .txt); predict the next one",
        "classification", 40, 1, _build_text, _text_features,
    )
)  # fmt: skip


# --------------------------------------------------------------------------- spec


def _int(path: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise SpecError(path, f"must be a whole number, got {v!r}")
    if not lo <= v <= hi:
        raise SpecError(path, f"must be between {lo:,} and {hi:,}, got {v:,}")
    return int(v)


def _args(d, seed: int | None = None) -> SequenceArgs:
    """The resolved settings of a kind-"sequence" DataSpec; SpecError names a bad field."""
    name = d.name
    if name not in SEQUENCE_DATASETS:
        raise SpecError(
            "data.name", f"unknown sequence data set {name!r}; choose one of: {', '.join(SEQUENCE_DATASETS)}"
        )
    src = SEQUENCE_DATASETS[name]
    length = (
        src.default_length if d.length is None else _int("data.length", d.length, src.min_length, MAX_LENGTH)
    )
    lag = None
    if d.lag is not None:
        if name != "copy":
            raise SpecError("data.lag", "applies to the copy task only (data.name 'copy')")
        lag = _int("data.lag", d.lag, 0, max(0, length - 2))
        if length < 2:  # pragma: no cover - min_length of copy is 2
            raise SpecError("data.length", "the copy task needs at least 2 steps")
    n = _int("data.n_samples", d.n_samples, 2, MAX_SEQUENCE_SAMPLES)
    noise = d.noise
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= float(noise) <= 1.0:
        raise SpecError("data.noise", f"must be a number in [0, 1], got {noise!r}")
    k = d.n_classes
    if name == "copy":
        k = _int("data.n_classes", k, 2, MAX_COPY_SYMBOLS)
    if d.features:
        raise SpecError(
            "data.features", "does not apply to sequence data (each generator has its own inputs)"
        )
    if d.target:
        raise SpecError("data.target", "does not apply to sequence data (each generator has its own target)")
    if d.task is not None and d.task != src.task:
        raise SpecError("data.task", f"{name!r} is a {src.task} task")
    if d.path and name != "text":
        raise SpecError("data.path", "applies to the text data set only (data.name 'text')")
    normalize = d.normalize or "none"
    if normalize not in NORMALIZATIONS:
        raise SpecError(
            "data.normalize",
            f"unknown normalization {normalize!r}; choose one of: {', '.join(NORMALIZATIONS)}",
        )
    if name == "text" and normalize != "none":
        raise SpecError("data.normalize", "text is one-hot characters: normalisation does not apply ('none')")
    frac = float(d.train_fraction)
    if not 0.0 < frac < 1.0:
        raise SpecError("data.train_fraction", f"must be between 0 and 1, got {frac}")
    s = d.seed if d.seed is not None else seed
    s = 0 if s is None else int(s) & 0xFFFFFFFFFFFFFFFF
    return SequenceArgs(name, n, length, lag, float(noise), int(k), frac, normalize, s, d.path or None)


def validate_sequence_spec(d) -> None:
    """SpecError("data.<field>", ...) for a kind-"sequence" DataSpec that cannot be built:
    an unknown name, a length, lag, n_samples, noise or n_classes out of range, a field
    that does not apply (features, target, path but for text, a task of the wrong kind)."""
    _args(d)


def validate_timeseries_spec(d) -> None:
    """SpecError for a CSV time series (kind "csv" with ``window``): window and horizon
    between 1 and MAX_LENGTH, columns distinct names, regression only, no ``features``."""
    _int("data.window", d.window, 1, MAX_LENGTH)
    _int("data.horizon", d.horizon, 1, MAX_LENGTH)
    for i, c in enumerate(d.columns):
        if not isinstance(c, str) or not c:
            raise SpecError(f"data.columns[{i}]", f"must be a column name, got {c!r}")
    if len(set(d.columns)) != len(d.columns):
        raise SpecError("data.columns", "lists a column twice")
    if d.features:
        raise SpecError("data.features", "a time series' input columns are data.columns")
    if d.task not in (None, "regression"):
        raise SpecError("data.task", "a time series forecast is a regression (leave task unset)")
    if d.target is not None and not isinstance(d.target, str):
        raise SpecError("data.target", f"must be a column name, got {d.target!r}")


def sequence_input_shape(d) -> tuple[int, int] | None:
    """(length, features) of one sample as far as the spec tells: None when known only once
    a file is read (a user's text: its alphabet)."""
    if d.kind == "csv":
        return (int(d.window), len(d.columns) or 1)
    a = _args(d)
    f = SEQUENCE_DATASETS[a.name].n_features(a)
    return None if f is None else (a.length, int(f))


def build_sequence_dataset(spec, seed: int | None = 0, text: str | None = None) -> Dataset:
    """The Dataset of a kind-"sequence" DataSpec (``seed``: the experiment's, used when
    ``spec.seed`` is None). ``text``: the user's text of a ``"text"`` spec with a ``path``, as
    a session embedded it (the file is not read)."""
    a = _args(spec, seed)
    if text is not None and a.name == "text" and a.path:
        from playground.data.text import user_text_dataset

        return user_text_dataset(text, str(a.path), a.length, a.n, a.train_fraction)
    return SEQUENCE_DATASETS[a.name].build(a)


__all__ = [
    "SEQUENCE_DATASETS",
    "W5_DATA",
    "SequenceArgs",
    "SequenceSource",
    "build_sequence_dataset",
    "check_sequence_memory",
    "forecast_dataset",
    "rollout",
    "sequence_input_shape",
    "validate_sequence_spec",
    "validate_timeseries_spec",
]
