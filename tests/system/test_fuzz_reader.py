"""The recording reader under hostile input: malformed lines, wrong types, huge fields, invalid
UTF-8. It must only ever report clear problems (FILE:LINE: what) or refuse a non-recording with a
`RecordingError`; never crash, never hang, never yield an invalid record. Then every reader
(show, diagnose, export, diff, replay, and the live TUI's view) over every record field and every
payload value replaced by each JSON type: no traceback, no hang, an exit status the README lists."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reader_support import HANG_S, base_recording, run_in_process
from tui.wire.fields import RECORD_FIELDS
from tui.wire.format import SCHEMA
from tui.wire.reader import RecordingError, SessionReader, check_record

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
HEADER = orjson.dumps({"kind": "header", "schema": SCHEMA, "mode": "live", "url": "ws://127.0.0.1/"}) + b"\n"

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.just("x" * 200_000),  # a huge field
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["seq", "t_ns", "conn", "kind", "dir", "opcode", "text", "data_b64", "size", "type", "code", "reason", "by", "first"]
)
kinds = st.sampled_from(
    ["frame", "close", "end", "ping", "pong", "error", "mark", "handshake_request", "handshake_response", "later_kind"]
)


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
    st.just(b"\n"),
    st.just(b"   \t\n"),
    st.just(b'{"seq": 1,\n'),
    st.just(b"\xff\xfe{}\n"),
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


# -- every reader, every record field, every JSON type ------------------------------------------
#
# One small recording holds every record kind and the events readers look into; each case replaces
# one field of one record (or of the header), or one value inside a frame's JSON payload, with a
# value of each JSON type, or removes it, and runs every reader over the file in this process:
# show, show --json, diagnose, diagnose --json, export --wav --har, diff and replay --headless. None
# may raise, hang or exit with a status the README does not list. A record the reader refuses
# reaches no consumer (it is reported as damage), so the readers run once for each distinct set of
# records the reader lets through; the reader itself checks every case. A sample goes through the
# real `rtui` in subprocesses.

WRONG_VALUES: dict[str, object] = {
    "null": None,
    "bool": True,
    "int": 0,
    "big int": 2**64 - 1,
    "negative int": -1,
    "float": 1.5,
    "string": "x",
    "list": ["x"],
    "object": {"x": 1},
}
ABSENT = object()
FieldPath = tuple[str | int, ...]


def _event(record: dict) -> dict:
    return orjson.loads(record["text"] if "text" in record else base64.b64decode(record["data_b64"]))


def _payload_paths(value: object, prefix: FieldPath = ()) -> Iterator[FieldPath]:
    if isinstance(value, dict):
        items: list[tuple[str | int, object]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value[:2]))
    else:
        return
    for key, inner in items:
        yield (*prefix, key)
        yield from _payload_paths(inner, (*prefix, key))


def all_cases() -> Iterator[tuple[str, int | None, FieldPath, object]]:
    """(case id, record index or None for the header, field or path into the payload, value)."""
    values = [*WRONG_VALUES.items(), ("absent", ABSENT)]
    header, records = base_recording()
    for name in header:
        if name not in ("kind", "schema"):
            for label, value in values:
                yield f"header.{name}={label}", None, (name,), value
    for index, record in enumerate(records):
        for name in dict.fromkeys([*record, *RECORD_FIELDS.get(record["kind"], {})]):
            for label, value in values:
                yield f"{index}:{record['kind']}.{name}={label}", index, (name,), value
        if record["kind"] == "frame":
            for path in _payload_paths(_event(record)):
                for label, value in values:
                    where = ".".join(map(str, path))
                    yield f"{index}:{record.get('type', 'frame')}.payload.{where}={label}", index, ("payload", *path), value


def _set(target: dict | list, path: FieldPath, value: object) -> None:
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is ABSENT:
        if isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            del target[path[-1]]  # type: ignore[arg-type]
    else:
        target[path[-1]] = value  # type: ignore[index]


def write_case(path: Path, index: int | None, where: FieldPath, value: object) -> Path:
    header, records = base_recording()
    if index is None:
        _set(header, where, value)
    elif where[0] == "payload":
        record = records[index]
        event = _event(record)
        _set(event, where[1:], value)
        data = orjson.dumps(event)
        if "text" in record:
            record["text"] = data.decode()
        else:
            record["data_b64"] = base64.b64encode(data).decode()
        record["size"] = len(data)
    else:
        _set(records[index], where, value)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [header, *records]))
    return path


def reader_commands(path: Path, work: Path, reference: Path) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """Every reader over `path`, each with the exit statuses the README allows it."""
    return [
        (("show", str(path)), (0, 2)),
        (("show", "--json", str(path)), (0, 2)),
        (("diagnose", str(path)), (0, 2)),
        (("diagnose", "--json", str(path)), (0, 2)),
        (("export", str(path), "--wav", str(work / "wav"), "--har", str(work / "out.har")), (0, 2)),
        (("diff", str(reference), str(path)), (0, 1, 2)),
        (("replay", str(path), "--headless", "--timeout", "1", "--output", str(work / "replayed.jsonl")), (0, 1, 2)),
    ]


def what_readers_see(path: Path) -> bytes | None:
    """The header and records the reader lets through (None when it refuses the file)."""
    try:
        with SessionReader(path) as reader:
            return orjson.dumps([reader.header, *reader])
    except RecordingError:
        return None


CASES = list(all_cases())
_seen: set[bytes] = set()  # digests of what the readers have already been run over


@pytest.mark.parametrize("case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_reader_survives_any_json_type_in_any_field(tmp_path, caplog, case):
    index, where, value = case
    reference = write_case(tmp_path / "reference.jsonl", None, ("mode",), "live")
    path = write_case(tmp_path / "case.jsonl", index, where, value)
    seen = what_readers_see(path)
    digest = hashlib.sha256(seen or b"refused").digest()
    if digest in _seen:
        return  # the readers have met exactly these records already
    for argv, allowed in reader_commands(path, tmp_path, reference):
        (tmp_path / "replayed.jsonl").unlink(missing_ok=True)
        status, out, err = run_in_process(*argv)
        assert status in allowed, f"rtui {' '.join(argv)} exited {status}\n{err}"
        assert "Traceback" not in out + err
        # websockets logs an exception in a connection handler (the served side of a replay).
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [], argv
    watch_live(path)
    _seen.add(digest)


def watch_live(path: Path) -> None:
    """The records through the view the live TUI, `rtui proxy --ui` and the TUI replay update
    from what crosses the wire (a live server can send what a file holds)."""
    from tui.engine.state import EngineState, LogBuffer
    from tui.engine.view import SessionView

    view = SessionView(EngineState(), LogBuffer())
    with contextlib.suppress(RecordingError), SessionReader(path) as reader:
        for record in reader:
            view.on_record(record)


SAMPLE = CASES[:: max(1, len(CASES) // 6)]  # each case is seven subprocesses of about a second


@pytest.mark.parametrize("case", [c[1:] for c in SAMPLE], ids=[c[0] for c in SAMPLE])
def test_the_real_rtui_survives_a_sample_of_them(tmp_path, case):
    reference = write_case(tmp_path / "reference.jsonl", None, ("mode",), "live")
    path = write_case(tmp_path / "case.jsonl", *case)
    for argv, allowed in reader_commands(path, tmp_path, reference):
        (tmp_path / "replayed.jsonl").unlink(missing_ok=True)
        result = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, timeout=HANG_S)
        assert result.returncode in allowed, f"rtui {' '.join(argv)} exited {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
