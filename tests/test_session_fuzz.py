"""Property-based tests of the session reader: any damage to a valid session file either
loads (and then trains and saves again) or raises SessionError naming the file; never
another exception, a hang or a crash (issue 9)."""

from __future__ import annotations

import copy
import io
import json
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import playground
from playground.errors import SessionError
from playground.session import SessionWarning

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sessions"
FIXTURE = FIXTURES / "v1_spiral_adam.playground"
DATA = FIXTURE.read_bytes()
with zipfile.ZipFile(FIXTURE) as _zf:
    MEMBERS = {i.filename: _zf.read(i) for i in _zf.infolist()}
DOC = json.loads(MEMBERS["session.json"])

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def loads_or_session_error(path: Path) -> None:
    try:
        with warnings.catch_warnings():  # a changed seed rebuilds other data: a warning, not an error
            warnings.simplefilter("ignore", SessionWarning)
            exp = playground.load(path)
    except SessionError as e:
        msg = str(e)
        assert path.name in msg and "\n" not in msg, msg
        return
    # what loads is usable: it trains, and what it saves loads again
    exp.train(steps=2)
    out = path.with_name("resaved.playground")
    try:
        exp.save(out)
    except SessionError as e:
        assert out.name in str(e)
        assert not out.exists()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SessionWarning)
        assert playground.load(out).step == exp.step


@st.composite
def byte_mutations(draw):
    data = bytearray(DATA)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.sampled_from([0, 0xFF, 0x7F, ord("{"), ord("'"), ord("9")]))
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[i : i + draw(st.integers(1, 16))]
    return bytes(data)


@FUZZ
@given(byte_mutations())
def test_random_byte_mutations(tmp_path, data):
    p = tmp_path / "mutated.playground"
    p.write_bytes(data)
    loads_or_session_error(p)


@FUZZ
@given(st.integers(0, len(DATA) - 1))
def test_truncations(tmp_path, n):
    p = tmp_path / "cut.playground"
    p.write_bytes(DATA[:n])
    loads_or_session_error(p)


@FUZZ
@given(st.sampled_from(sorted(MEMBERS)), st.integers(0, 10_000), st.integers(0, 255))
def test_byte_changed_inside_one_member(tmp_path, name, offset, value):
    """The zip stays valid (the CRC is recomputed): only the reader's own checks stand."""
    m = dict(MEMBERS)
    raw = bytearray(m[name])
    raw[offset % len(raw)] = value
    m[name] = bytes(raw)
    p = tmp_path / "member.playground"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in m.items():
            zf.writestr(k, v)
    loads_or_session_error(p)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -1, 2**63, 2**64, 0, 23, 24]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix, k
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix, i
            yield from _paths(v, (*prefix, i))


def _fixture(name: str) -> tuple[dict[str, bytes], dict, list]:
    with zipfile.ZipFile(FIXTURES / name) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    doc = json.loads(members["session.json"])
    return members, doc, list(_paths(doc))


FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.playground"))
PARSED = {name: _fixture(name) for name in FIXTURE_NAMES}


@st.composite
def mutated_documents(draw, name: str = FIXTURE.name):
    _, base, paths = PARSED[name]
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        parent_path, key = draw(st.sampled_from(paths))
        parent = doc
        try:
            for k in parent_path:
                parent = parent[k]
            if draw(st.booleans()):
                parent[key] = draw(VALUES)
            else:
                del parent[key]
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed or replaced it
            continue
    return doc


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_session_json(tmp_path, name, data):
    doc = data.draw(mutated_documents(name))
    try:
        text = json.dumps(doc).encode()
    except ValueError:  # an integer beyond Python's digit limit
        return
    p = tmp_path / "doc.playground"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in {**PARSED[name][0], "session.json": text}.items():
            zf.writestr(k, v)
    p.write_bytes(buf.getvalue())
    loads_or_session_error(p)


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.playground")), ids=lambda p: p.stem)
def test_every_fixture_survives_its_truncations(tmp_path, fixture):
    data = fixture.read_bytes()
    for n in sorted({0, 1, 3, 4, 22, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}):
        p = tmp_path / f"cut{n}.playground"
        p.write_bytes(data[:n])
        loads_or_session_error(p)
