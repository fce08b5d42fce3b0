"""Character-level text: one-hot windows predicting the next character, the shipped text,
a user's file (not found, not UTF-8, too short), and sample_text (temperature 0 is the
argmax, T > 0 reproducible from the rng and following the probabilities)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground.data.build import build_dataset
from playground.data.sequences import sequence_input_shape
from playground.data.text import sample_text, shipped_alphabet, text_dataset
from playground.errors import DataError
from playground.spec import DataSpec


def _decode(ds, X):
    return ["".join(ds.class_names[j] for j in x.argmax(axis=1)) for x in X]


def test_windows_are_one_hot_and_the_target_is_the_next_character():
    text = "abracadabra, said the cat; abracadabra!\n" * 3
    ds = text_dataset(text, 5, 1000, 0.5, "test")
    alphabet = "".join(sorted(set(text)))
    assert ds.class_names == list(alphabet) and ds.info["alphabet"] == alphabet
    n = len(text) - 5
    assert ds.n_train + ds.n_test == n and ds.info["n_samples_capped"]
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert X.shape == (n, 5, len(alphabet)) and X.dtype == np.float64 and y.dtype == np.int64
    assert (X.sum(axis=2) == 1).all() and set(np.unique(X)) == {0.0, 1.0}
    starts = np.concatenate([ds.info["starts_train"], ds.info["starts_test"]])
    np.testing.assert_array_equal(starts, np.arange(n))  # reading order, never shuffled
    for i in (0, 7, n - 1):
        assert _decode(ds, X[i : i + 1])[0] == text[i : i + 5]
        assert alphabet[y[i]] == text[i + 5]
    first = int(ds.info["starts_test"][0])
    assert ds.info["seed_text"] == text[first : first + 5]


def test_evenly_spaced_windows_when_fewer_are_asked():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    ds = text_dataset(text, 10, 50, 0.8, "test")
    starts = np.concatenate([ds.info["starts_train"], ds.info["starts_test"]])
    assert len(starts) == 50 and (np.diff(starts) > 0).all() and starts[-1] > 900
    assert ds.n_train == 40 and not ds.info["n_samples_capped"]


def test_shipped_text_through_the_spec():
    d = DataSpec(kind="sequence", name="text", length=30, n_samples=300)
    ds = build_dataset(d, seed=0)
    assert ds.input_shape == sequence_input_shape(d) == (30, len(shipped_alphabet()))
    assert "".join(ds.class_names) == shipped_alphabet() and "A" in ds.class_names
    assert _decode(ds, ds.X_train[:1])[0].startswith("CHAPTER I.")
    assert ds.info["source"] == "text:alice.txt"


def test_a_users_file(tmp_path):
    p = tmp_path / "mine.txt"
    p.write_bytes(b"\xef\xbb\xbfhello world\r\nhello again\r\n")
    d = DataSpec(kind="sequence", name="text", length=4, path=str(p))
    assert sequence_input_shape(d) is None  # its alphabet is known once read
    ds = build_dataset(d)
    assert "\r" not in ds.class_names and "\ufeff" not in ds.class_names and "\n" in ds.class_names
    assert ds.n_train + ds.n_test == len("hello world\nhello again\n") - 4


def test_clear_errors_for_a_users_file(tmp_path):
    with pytest.raises(DataError, match="not found") as e:
        build_dataset(DataSpec(kind="sequence", name="text", path=str(tmp_path / "none.txt")))
    assert "none.txt" in str(e.value)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("first line\nsecond caf\u00e9 line\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8") as e:
        build_dataset(DataSpec(kind="sequence", name="text", path=str(bad)))
    assert (e.value.row, e.value.column) == (
        2,
        11,
    )  # the 11th character of line 2 and "latin1.txt" in str(e.value)
    short = tmp_path / "short.txt"
    short.write_text("tiny", encoding="utf-8")
    with pytest.raises(DataError, match="too short"):
        build_dataset(DataSpec(kind="sequence", name="text", path=str(short), length=10))


class _Bigram:
    """A fake model: next-character probabilities from the last character only."""

    def __init__(self, k, seed=0):
        self.P = np.random.default_rng(seed).dirichlet(np.ones(k), size=k)
        self.calls = 0

    def __call__(self, X):
        self.calls += 1
        assert X.ndim == 3 and (X.sum(axis=2) == 1).all()
        return self.P[X[:, -1, :].argmax(axis=1)]


def test_sample_text_temperature_zero_is_the_argmax():
    alphabet = "abcd"
    model = _Bigram(4)
    out = sample_text(model, alphabet, "abca", 12, temperature=0.0)
    assert len(out) == 12 and model.calls == 12
    last, expect = "a", []
    for _ in range(12):
        last = alphabet[int(model.P[alphabet.index(last)].argmax())]
        expect.append(last)
    assert out == "".join(expect)
    assert sample_text(model, alphabet, "abca", 12, temperature=0.0) == out


def test_sample_text_with_a_temperature_is_reproducible_and_follows_the_probabilities():
    alphabet = "xyz"
    model = _Bigram(3, seed=1)
    a = sample_text(model, alphabet, "xy", 2000, 1.0, np.random.default_rng(7))
    b = sample_text(model, alphabet, "xy", 2000, 1.0, np.random.default_rng(7))
    assert a == b and a != sample_text(model, alphabet, "xy", 2000, 1.0, np.random.default_rng(8))
    prev = "y" + a[:-1]  # transition frequencies match the model's at T = 1
    for i, c in enumerate(alphabet):
        nxt = [a[j] for j in range(len(a)) if prev[j] == c]
        freq = np.array([nxt.count(d) for d in alphabet]) / len(nxt)
        np.testing.assert_allclose(freq, model.P[i], atol=0.08)
    model.P = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.25, 0.25, 0.5]])  # best >= 1.6x the next
    cold = sample_text(model, alphabet, "xy", 500, 0.02, np.random.default_rng(7))  # odds >= 1.6**50
    assert cold == sample_text(model, alphabet, "xy", 500, 0.0)  # a low temperature: the argmax


def test_sample_text_refuses_bad_input():
    model = _Bigram(2)
    with pytest.raises(ValueError, match="not in the alphabet"):
        sample_text(model, "ab", "abc", 3, 0.0)
    with pytest.raises(ValueError, match="temperature"):
        sample_text(model, "ab", "ab", 3, -1.0)
    with pytest.raises(ValueError, match="at least"):
        sample_text(model, "ab", "ab", 3, 0.0, length=5)
    assert len(sample_text(model, "ab", "bbab", 3, 0.0, length=2)) == 3


def test_a_session_of_a_users_text_opens_after_the_file_is_gone(tmp_path):
    """The text is embedded in the session (as a CSV table is): the file moved or deleted,
    the session still opens and resumes exactly; a session without the member (saved
    before texts were embedded) reads the file again."""
    import zipfile

    import playground
    from playground.session import document

    p = tmp_path / "mine.txt"
    p.write_text("the quick brown fox jumps over the lazy dog. " * 8, encoding="utf-8")
    spec = {
        "data": {"kind": "sequence", "name": "text", "path": str(p), "length": 6, "n_samples": 120},
        "network": {"hidden": [{"kind": "rnn", "units": 8}]},
        "training": {"batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}},
    }
    exp = playground.Experiment.from_spec(spec)
    exp.train(steps=5)
    path = exp.save(tmp_path / "text.playground")
    with zipfile.ZipFile(path) as zf:
        assert document.TEXT_MEMBER in zf.namelist()
    p.unlink()
    back = playground.load(path)
    assert back.dataset.text == exp.dataset.text
    assert back.dataset.class_names == exp.dataset.class_names
    exp.train(steps=5)
    back.train(steps=5)
    np.testing.assert_array_equal(back.trainer.theta, exp.trainer.theta)
    again = playground.load(back.save(tmp_path / "again.playground"))  # re-saved without the file
    assert again.dataset.text == exp.dataset.text

    p.write_text(exp.dataset.text, encoding="utf-8")  # an older session: no text member
    old = tmp_path / "old.playground"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == document.TEXT_MEMBER:
                continue
            if info.filename == document.DOCUMENT:
                doc = json.loads(data)
                del doc["data"]["text"]
                doc["members"] = {k: v for k, v in doc["members"].items() if k != document.TEXT_MEMBER}
                data = json.dumps(doc).encode()
            dst.writestr(info, data)
    assert playground.load(old).dataset.text == exp.dataset.text
