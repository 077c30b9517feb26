"""The recording reader under hostile input: malformed lines, wrong types, huge fields, invalid
UTF-8. It must only ever report clear problems (FILE:LINE: what) or refuse a non-recording with a
`RecordingError`; never crash, never hang, never yield an invalid record."""

from __future__ import annotations

import string

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.wire.format import SCHEMA
from tui.wire.reader import RecordingError, SessionReader, check_record

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADER = orjson.dumps({"kind": "header", "schema": SCHEMA, "mode": "live", "url": "ws://127.0.0.1/"}) + b"\n"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=30), st.just("x" * 200_000),  # a huge field
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
field_names = st.sampled_from(["seq", "t_ns", "conn", "kind", "dir", "opcode", "text", "data_b64", "size", "type", "code", "reason", "by", "first"])
kinds = st.sampled_from(["frame", "close", "end", "ping", "pong", "error", "mark", "handshake_request", "handshake_response", "later_kind"])


@st.composite
def near_valid_records(draw: st.DrawFn) -> dict:
    """Records that are mostly right, with some fields wrong, missing or of the wrong type."""
    record = {
        "seq": draw(st.integers(min_value=-3, max_value=50)),
        "t_ns": draw(st.integers(min_value=-5, max_value=10**12)),
        "conn": draw(st.integers(min_value=0, max_value=3)),
        "kind": draw(kinds),
        "dir": draw(st.sampled_from(["c2s", "s2c", "local", "up", ""])),
        "opcode": draw(st.sampled_from(["text", "binary", "close", None])),
        "text": draw(st.text(max_size=40)),
        "size": draw(st.integers(min_value=0, max_value=10**9)),
        "code": draw(st.integers(min_value=0, max_value=70_000)),
        "reason": draw(st.text(max_size=10)),
    }
    for name in draw(st.lists(field_names, max_size=3)):
        if draw(st.booleans()):
            record.pop(name, None)
        else:
            record[name] = draw(json_values)
    return record


def encoded_line(record: object) -> bytes:
    return orjson.dumps(record) + b"\n"


garbage_lines = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"") + b"\n"),  # invalid UTF-8 and noise
    st.text(alphabet=string.printable, max_size=80).map(lambda t: t.replace("\n", "").encode() + b"\n"),
    json_values.map(encoded_line),
    near_valid_records().map(encoded_line),
    st.just(b"\n"), st.just(b"   \t\n"), st.just(b"{\"seq\": 1,\n"), st.just(b"\xff\xfe{}\n"),
)


def read_all(path) -> tuple[list[dict], SessionReader]:
    reader = SessionReader(path)
    records = list(reader)
    return records, reader


@FUZZ
@given(lines=st.lists(garbage_lines, max_size=25), cut=st.integers(min_value=0, max_value=60))
def test_damaged_lines_become_problems_and_valid_records_survive(tmp_path_factory, lines, cut):
    path = tmp_path_factory.mktemp("fuzz") / "damaged.jsonl"
    body = b"".join(lines)
    if cut and body:  # a recording cut off mid-write
        body = body[: max(0, len(body) - cut)]
    path.write_bytes(HEADER + body)
    records, reader = read_all(path)
    last_seq = 0
    for record in records:
        assert check_record(record) is None
        assert record["seq"] > last_seq
        last_seq = record["seq"]
    # Every line is either a record or a problem naming this file and its line.
    non_blank = sum(1 for line in body.split(b"\n") if line.strip())
    assert len(records) <= non_blank
    for problem in reader.problems:
        text = str(problem)
        assert text.startswith(f"{path}:{problem.line}: ") and len(text) > len(str(path)) + 4
        assert 2 <= problem.line <= len(lines) + 2


@FUZZ
@given(first=st.one_of(garbage_lines, st.binary(max_size=100), json_values.map(encoded_line)))
def test_anything_but_a_header_is_refused_with_a_clear_error(tmp_path_factory, first):
    path = tmp_path_factory.mktemp("fuzz") / "not-a-recording.jsonl"
    path.write_bytes(first + HEADER)
    try:
        reader = SessionReader(path)
    except RecordingError as exc:
        message = str(exc)
        assert message.startswith(f"{path}:1: ") or message.startswith(f"{path}:0: ")
        return
    # The line happened to be a valid header after all.
    assert reader.header.get("kind") == "header" and reader.header.get("schema") == SCHEMA
    reader.close()


@FUZZ
@given(schema=st.one_of(json_values, st.text(max_size=20).map(lambda s: "rtui.session/" + s)))
def test_unknown_schemas_are_refused_by_name(tmp_path_factory, schema):
    path = tmp_path_factory.mktemp("fuzz") / "schema.jsonl"
    path.write_bytes(orjson.dumps({"kind": "header", "schema": schema}) + b"\n")
    if schema == SCHEMA:
        SessionReader(path).close()
        return
    try:
        SessionReader(path)
    except RecordingError as exc:
        assert "schema" in str(exc)
    else:
        raise AssertionError(f"schema {schema!r} was accepted")


def test_a_huge_single_line_is_read_not_choked_on(tmp_path):
    path = tmp_path / "huge.jsonl"
    text = '{"type":"input_audio_buffer.append","audio":"' + "A" * 20_000_000 + '"}'
    record = {"seq": 1, "t_ns": 1, "conn": 1, "kind": "frame", "dir": "c2s", "opcode": "text", "text": text, "size": len(text)}
    path.write_bytes(HEADER + orjson.dumps(record) + b"\n" + b"\xff" * 1_000_000 + b"\n")
    records, reader = read_all(path)
    assert len(records) == 1 and records[0]["text"] == text
    assert len(reader.problems) == 1 and "not valid JSON" in reader.problems[0].message
