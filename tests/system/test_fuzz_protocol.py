"""The protocol decoders under hostile events: what a recording or a client can put in a frame.

`record_line` (the timeline of `rtui show`, the headless printer and the TUI's log) must describe
any record the reader accepts, and the mock must answer any client frame with events, a close or a
drop: never an exception, never a hang. Malformed JSON, wrong types in every field, huge fields and
invalid UTF-8 are all things a buggy client sends."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.mock.config import MockConfig
from tui.mock.session import Close, Drop, Handshake, MockSession, Send
from tui.protocol.events import CLIENT_EVENTS
from tui.protocol.session import validate_session_update
from tui.protocol.summary import RunCollapser, frame_event, record_line
from tui.show.render import line_text
from tui.wire.reader import check_record

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SERVER_TYPES = [
    "session.created",
    "session.updated",
    "error",
    "response.done",
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "rate_limits.updated",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "conversation.item.added",
    "conversation.item.input_audio_transcription.completed",
    "response.output_text.done",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.just("A" * 100_001),
    st.just("sk-" + "x" * 30),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=10
)
event_keys = st.sampled_from(
    [
        "type",
        "event_id",
        "audio",
        "delta",
        "error",
        "session",
        "response",
        "item",
        "item_id",
        "response_id",
        "rate_limits",
        "transcript",
        "text",
        "audio_start_ms",
        "audio_end_ms",
        "content_index",
        "status_details",
    ]
)
event_types = st.one_of(st.sampled_from(SERVER_TYPES + sorted(CLIENT_EVENTS)), values)


@st.composite
def events(draw: st.DrawFn) -> dict:
    event = {"type": draw(event_types)}
    for key in draw(st.lists(event_keys, max_size=6)):
        event[key] = draw(values)
    for nested in ("error", "response", "item", "session"):
        if nested in event and draw(st.booleans()):
            event[nested] = draw(
                st.dictionaries(
                    event_keys | st.sampled_from(["status", "content", "role", "param", "code", "message"]), values, max_size=4
                )
            )
    return event


payloads = st.one_of(
    events().map(lambda e: orjson.dumps(e).decode()),
    values.map(lambda v: orjson.dumps(v).decode()),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", "replace")),
)


@st.composite
def frame_records(draw: st.DrawFn) -> dict:
    record = {
        "seq": draw(st.integers(1, 10**6)),
        "t_ns": draw(st.integers(0, 10**13)),
        "conn": draw(st.integers(0, 5)),
        "kind": "frame",
        "dir": draw(st.sampled_from(["c2s", "s2c"])),
        "size": draw(st.integers(0, 10**9)),
    }
    if draw(st.booleans()):
        record.update(opcode="text", text=draw(payloads))
    else:
        data = draw(st.one_of(payloads.map(str.encode), st.binary(max_size=80)))
        record.update(
            opcode=draw(st.sampled_from(["binary", "text"])),
            data_b64=draw(st.one_of(st.just(base64.b64encode(data).decode()), st.text(max_size=12))),
        )
    for key in draw(st.lists(st.sampled_from(["type", "redacted", "fragments"]), max_size=2)):
        record[key] = draw(values)
    return record


@st.composite
def other_records(draw: st.DrawFn) -> dict:
    kind = draw(
        st.sampled_from(
            ["close", "end", "handshake_request", "handshake_response", "ping", "pong", "error", "mark", "later_kind"]
        )
    )
    record = {
        "seq": draw(st.integers(1, 10**6)),
        "t_ns": draw(st.integers(0, 10**13)),
        "conn": 1,
        "kind": kind,
        "dir": draw(st.sampled_from(["c2s", "s2c", "local"])),
        "code": draw(st.integers(0, 70_000)),
        "reason": draw(st.text(max_size=10)),
    }
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "by",
                    "first",
                    "closed_by",
                    "clean",
                    "exception",
                    "url",
                    "subprotocols",
                    "status",
                    "body",
                    "data_b64",
                    "message",
                    "note",
                    "headers",
                ]
            ),
            max_size=5,
        )
    ):
        record[key] = draw(values)
    return record


@FUZZ
@given(records=st.lists(st.one_of(frame_records(), other_records()), min_size=1, max_size=12))
def test_any_record_the_reader_accepts_gets_a_timeline_line(records):
    collapser = RunCollapser()
    for record in records:
        if check_record(record) is not None:
            continue  # the reader would have reported it as a problem instead
        frame_event(record) if record["kind"] == "frame" else None
        line = record_line(record)
        assert isinstance(line_text(line), str)
        for folded in collapser.push(line):
            assert isinstance(line_text(folded), str)
    for folded in collapser.flush():
        assert isinstance(line_text(folded), str)


def _check_outputs(outputs: list) -> None:
    for output in outputs:
        assert isinstance(output, (Send, Close, Drop))
        if isinstance(output, Send):
            event = output.event()
            assert isinstance(event, dict) and isinstance(event.get("type"), str)


ITEM_ID_EVENTS = ("conversation.item.retrieve", "conversation.item.delete", "conversation.item.truncate")


@FUZZ
@given(
    frames=st.lists(
        st.one_of(payloads, events().map(lambda e: orjson.dumps(e).decode()), st.binary(max_size=40)), min_size=1, max_size=8
    )
)
def test_the_mock_answers_any_client_frame_without_crashing(frames):
    session = MockSession(MockConfig(realtime=False, binary_policy="error"), Handshake(conn_index=1), wall_clock=1_700_000_000.0)
    now = 100.0
    _check_outputs(session.start(now))
    for frame in frames:
        now += 0.02
        outputs = session.receive_binary(frame, now) if isinstance(frame, bytes) else session.receive_text(frame, now)
        _check_outputs(outputs)
        _check_outputs(session.poll(now + 5))


@FUZZ
@given(
    session=st.one_of(
        values,
        st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "instructions",
                    "audio",
                    "output_modalities",
                    "voice",
                    "tools",
                    "tool_choice",
                    "temperature",
                    "max_output_tokens",
                    "turn_detection",
                    "modalities",
                    "include",
                ]
            ),
            values,
            max_size=5,
        ),
    )
)
def test_session_update_validation_answers_every_shape_with_an_error_or_none(session):
    error = validate_session_update(session)
    if error is not None:
        assert error.message and error.code


# Inputs the fuzz once found crashing the timeline decoder, the engine and the mock: regression tests.
KNOWN_CRASHES = [
    {"seq": 1, "t_ns": 0, "conn": 1, "kind": "frame", "dir": "s2c", "opcode": "text", "text": '{"type":[]}', "size": 11},
    {"seq": 1, "t_ns": 0, "conn": 1, "kind": "handshake_request", "dir": "c2s", "url": None},
    {"seq": 1, "t_ns": 0, "conn": 1, "kind": "handshake_request", "dir": "c2s", "url": "ws://x/", "subprotocols": [None]},
    {"seq": 1, "t_ns": 0, "conn": 1, "kind": "handshake_response", "dir": "s2c", "status": 400, "body": ["x"]},
    {"seq": 1, "t_ns": 0, "conn": 0, "kind": "error", "dir": "local", "message": None},
]


@pytest.mark.parametrize("record", KNOWN_CRASHES, ids=lambda r: f"{r['kind']}")
def test_known_malformed_records_get_a_line(record):
    # The first is a valid record with an odd payload; the reader now refuses the others at the
    # boundary (a wrong-typed field is damage), and the timeline still copes with them all.
    assert (check_record(record) is None) == (record is KNOWN_CRASHES[0])
    assert isinstance(line_text(record_line(record)), str)


async def test_a_server_event_with_a_list_type_does_not_close_the_client():
    from tests.wire_support import scripted_server
    from tui.wire.client import open_connection
    from tui.wire.writer import SessionWriter

    async def handler(ws):
        await ws.send('{"type":[]}')
        await ws.send('{"type":"session.created"}')
        await ws.wait_closed()

    async with scripted_server(handler) as url:
        writer = SessionWriter(None, mode="live", url=url)
        writer.add_listener(record_line)  # what the engine, the relay view and the replay view do
        ws = await open_connection(url, writer=writer)
        assert await ws.recv() == '{"type":[]}'
        assert await ws.recv() == '{"type":"session.created"}'
        await ws.close()


@pytest.mark.parametrize("kind", ITEM_ID_EVENTS)
def test_the_mock_answers_a_list_item_id_with_an_error_event(kind):
    session = MockSession(MockConfig(realtime=False), Handshake(conn_index=1), wall_clock=1_700_000_000.0)
    session.start(0.0)
    frame = orjson.dumps({"type": kind, "item_id": [], "content_index": 0, "audio_end_ms": 0}).decode()
    outputs = session.receive_text(frame, 0.1)
    assert [o.event()["type"] for o in outputs if isinstance(o, Send)] == ["error"]


def test_the_mock_answers_an_item_of_list_type_with_an_error_event():
    session = MockSession(MockConfig(realtime=False), Handshake(conn_index=1), wall_clock=1_700_000_000.0)
    session.start(0.0)
    outputs = session.receive_text('{"type":"conversation.item.create","item":{"type":[]}}', 0.1)
    assert [o.event()["type"] for o in outputs if isinstance(o, Send)] == ["error"]
