"""The mock's session state machine, fed events directly (no sockets)."""

from __future__ import annotations

import base64

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mock_support import SERVER_EVENT, append_event, events_of, speech_pcm, true_edges, validate
from tui.mock.audio_formats import default_voice
from tui.mock.config import MockConfig
from tui.mock.session import Close, Handshake, MockSession
from tui.mock.vad import EnergyVad, SpeechStarted, SpeechStopped

FAST = MockConfig(realtime=False)
GA_TURN = [
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.added",
    "conversation.item.done",
    "response.created",
    "rate_limits.updated",  # as the service sends it: when a response starts
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
]
GA_RESPONSE_END = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def new_session(config: MockConfig = FAST, **handshake) -> tuple[MockSession, list[dict]]:
    session = MockSession(config, Handshake(conn_index=1, **handshake), wall_clock=1_800_000_000)
    return session, events_of(session.start(0.0))


def send(session: MockSession, event: dict | str, now: float = 1.0) -> list[dict]:
    return events_of(session.receive_text(event if isinstance(event, str) else orjson.dumps(event).decode(), now))


def stream(session: MockSession, pcm: bytes, chunk_ms: int = 20) -> list[dict]:
    """Appends `pcm` in chunks, each at its real time; returns every event, deltas included."""
    events = []
    step = 48 * chunk_ms
    for index, offset in enumerate(range(0, len(pcm), step)):
        events += events_of(session.receive_text(append_event(pcm[offset : offset + step]), index * chunk_ms / 1000))
    return events


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def without_deltas(events: list[dict]) -> list[str]:
    return [k for k in kinds(events) if not k.endswith(".delta")]


def only_error(events: list[dict]) -> dict:
    assert kinds(events) == ["error"], kinds(events)
    return events[0]["error"]


def test_the_sdk_adapter_rejects_an_invalid_event():
    with pytest.raises(ValidationError):
        SERVER_EVENT.validate_python(
            {"type": "input_audio_buffer.speech_started", "event_id": "event_1", "audio_start_ms": "0"}, strict=True
        )
    with pytest.raises(ValidationError):
        validate(
            {
                "type": "response.audio.delta",
                "event_id": "e",
                "response_id": "r",
                "item_id": "i",
                "output_index": 0,
                "content_index": 0,
                "delta": "",
            }
        )


def test_session_created_carries_ga_defaults():
    _, events = new_session()
    assert kinds(events) == ["session.created"]
    session = events[0]["session"]
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime"
    assert session["id"].startswith("sess_") and events[0]["event_id"].startswith("event_")
    assert session["expires_at"] == 1_800_000_000 + 3600
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    detection = session["audio"]["input"]["turn_detection"]
    assert (detection["type"], detection["threshold"], detection["prefix_padding_ms"], detection["silence_duration_ms"]) == (
        "server_vad",
        0.5,
        300,
        200,
    )


def test_transcription_intent_gets_a_transcription_session_without_responses():
    session, events = new_session(model=None, intent="transcription")
    assert events[0]["session"]["type"] == "transcription"
    error = only_error(send(session, {"type": "response.create"}))
    assert (error["code"], error["param"]) == ("invalid_value", "type")


def tone(seconds: float, frequency: float = 440, amplitude: int = 8000) -> bytes:
    """A sine as 24 kHz PCM16, loud enough for the VAD."""
    samples = np.arange(round(seconds * 24_000))
    return (np.sin(samples * 2 * np.pi * frequency / 24_000) * amplitude).astype("<i2").tobytes()


def transcribed_turn(session: MockSession, model: str) -> list[dict]:
    """Asks for input transcription, then appends 1.5 s of audio and commits it."""
    kind = session.session["type"]
    update = {
        "type": "session.update",
        "session": {"type": kind, "audio": {"input": {"transcription": {"model": model}, "turn_detection": None}}},
    }
    assert kinds(send(session, update)) == ["session.updated"]
    events = stream(session, tone(1.5))
    return events + send(session, {"type": "input_audio_buffer.commit"}, now=2.0)


@pytest.mark.parametrize(("intent", "model"), [(None, "gpt-4o-mini-transcribe"), ("transcription", "whisper-1")])
def test_input_transcription_follows_the_commit_when_the_session_asks_for_it(intent, model):
    handshake = {"model": None, "intent": intent} if intent else {}
    session, _ = new_session(**handshake)
    events = transcribed_turn(session, model)  # every event validated against the SDK's types
    assert kinds(events)[:3] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    item_id = events[0]["item_id"]
    deltas = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.delta"]
    (completed,) = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert {e["item_id"] for e in deltas + [completed]} == {item_id} and completed["content_index"] == 0
    assert completed["transcript"] == "(mock transcript of 1.5 s of audio)" == "".join(e["delta"] for e in deltas)
    if model == "whisper-1":
        assert completed["usage"] == {"type": "duration", "seconds": 1.5}
    else:
        usage = completed["usage"]
        assert usage["type"] == "tokens" and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    if intent is None:  # the conversation keeps it: retrieving the item shows the transcript
        retrieved = send(session, {"type": "conversation.item.retrieve", "item_id": item_id}, now=3.0)
        assert retrieved[0]["item"]["content"][0]["transcript"] == completed["transcript"]


def test_no_transcription_events_unless_the_session_asks_for_them():
    session, _ = new_session()
    send(session, {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    stream(session, tone(0.5))
    events = send(session, {"type": "input_audio_buffer.commit"}, now=2.0)
    assert kinds(events) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]


def silence_until(session: MockSession, start_s: float, end_s: float) -> list[dict]:
    """Streams 20 ms chunks of silence from `start_s` to `end_s`, each at its own time."""
    events = []
    for n in range(round((end_s - start_s) / 0.02)):
        events += events_of(session.receive_text(append_event(bytes(960)), start_s + n * 0.02))
    return events


def idle_session(timeout_ms: int = 5000) -> MockSession:
    session, _ = new_session()
    update = {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": timeout_ms}}},
        },
    }
    assert kinds(send(session, update, now=0.1)) == ["session.updated"]
    answered = send(session, {"type": "response.create"}, now=1.0)
    assert kinds(answered)[-2:] == ["conversation.item.done", "response.done"]
    return session


def test_idle_timeout_after_a_response_commits_the_silence_and_answers():
    session = idle_session(5000)
    assert session.next_deadline() == pytest.approx(6.0)
    before = silence_until(session, 1.0, 6.0)  # 5 s of silence: nothing yet
    assert "input_audio_buffer.timeout_triggered" not in kinds(before)
    events = events_of(session.poll(6.0))
    assert kinds(events)[:5] == [
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    triggered = events[0]
    assert (triggered["audio_start_ms"], triggered["audio_end_ms"]) == (0, 5000)
    assert events[1]["item_id"] == triggered["item_id"]


def test_speech_before_the_idle_timeout_cancels_it():
    session = idle_session(5000)
    speech = tone(1.0, frequency=300, amplitude=12_000)
    events = silence_until(session, 1.0, 2.0)
    for n, offset in enumerate(range(0, len(speech), 960)):  # 1 s of speech from 2 s on
        events += events_of(session.receive_text(append_event(speech[offset : offset + 960]), 2.0 + n * 0.02))
    assert "input_audio_buffer.speech_started" in kinds(events)
    assert "input_audio_buffer.timeout_triggered" not in kinds(events_of(session.poll(6.5)))


def test_beta_handshake_gets_the_error_then_4000():
    session = MockSession(FAST, Handshake(conn_index=1, beta=True))
    outputs = session.start(0.0)
    assert events_of(outputs)[0]["error"]["code"] == "beta_api_shape_disabled"
    assert outputs[-1] == Close(4000, "invalid_request_error.beta_api_shape_disabled")


def test_session_update_is_confirmed_with_the_merged_session():
    session, _ = new_session()
    events = send(session, {"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})
    assert kinds(events) == ["session.updated"]
    assert events[0]["session"]["instructions"] == "Be brief."
    assert events[0]["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"


def test_rejected_update_changes_nothing_and_echoes_the_client_event_id():
    session, _ = new_session()
    events = send(
        session,
        {"type": "session.update", "event_id": "evt_1", "session": {"type": "realtime", "instructions": "x", "voice": "ash"}},
    )
    assert only_error(events) == {
        "type": "invalid_request_error",
        "code": "unknown_parameter",
        "message": "Unknown parameter: 'session.voice'.",
        "param": "session.voice",
        "event_id": "evt_1",
    }
    assert session.session["instructions"] != "x"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_type"),
        ('{"event_id": "e"}', "invalid_event"),
        ('{"type": "response.audio.delta"}', "invalid_value"),
        ('{"type": "transcription_session.update"}', "invalid_value"),
        ('{"type": "session.update"}', "missing_required_parameter"),
        ('{"type": "input_audio_buffer.append"}', "missing_required_parameter"),
        ('{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_value"),
        ('{"type": "input_audio_buffer.append", "audio": "AA=="}', "invalid_value"),  # 1 byte of pcm16 is odd
        ('{"type": "input_audio_buffer.commit"}', "input_audio_buffer_commit_empty"),
        ('{"type": "response.cancel"}', "response_cancel_not_active"),
        (
            '{"type": "conversation.item.truncate", "item_id": "item_x", "content_index": 0, "audio_end_ms": 0}',
            "item_truncate_invalid_item_id",
        ),
        ('{"type": "conversation.item.retrieve", "item_id": "item_x"}', "item_retrieve_invalid_item_id"),
        ('{"type": "conversation.item.delete", "item_id": "item_x"}', "item_delete_invalid_item_id"),
        ('{"type": "conversation.item.create"}', "missing_required_parameter"),
        (
            '{"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "text", "text": "hi"}]}}',  # noqa: E501 - a JSON frame reads best whole
            "invalid_value",
        ),
        ('{"type": "response.create", "response": {"modalities": ["text"]}}', "unknown_parameter"),
        ('{"type": "output_audio_buffer.clear"}', "invalid_value"),
    ],
)
def test_bad_input_gets_the_error_and_the_session_goes_on(frame, code):
    session, _ = new_session()
    assert only_error(send(session, frame))["code"] == code
    assert kinds(send(session, {"type": "input_audio_buffer.clear"})) == ["input_audio_buffer.cleared"]


def test_commit_needs_100ms_of_audio():
    session, _ = new_session()
    send(session, {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    send(session, append_event(bytes(4798)))
    error = only_error(send(session, {"type": "input_audio_buffer.commit"}))
    assert error["message"] == (
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
        "but buffer only has 99.96ms of audio."
    )
    send(session, append_event(bytes(2)))
    committed = send(session, {"type": "input_audio_buffer.commit"})
    assert kinds(committed) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert committed[1]["item"]["role"] == "user" and committed[0]["item_id"] == committed[1]["item"]["id"]
    # A manual commit never starts a response, and the buffer is empty again.
    assert only_error(send(session, {"type": "input_audio_buffer.commit"}))["code"] == "input_audio_buffer_commit_empty"


def test_vad_turn_in_ga_order_with_edges_within_100ms(tmp_path):
    pcm = speech_pcm(tmp_path, "Testing the voice activity detector.")
    start, end = true_edges(pcm)
    session, _ = new_session()
    events = stream(session, pcm)
    assert without_deltas(events) == GA_TURN + GA_RESPONSE_END
    started, stopped = events[0], events[1]
    assert abs(started["audio_start_ms"] + 300 - start) <= 100  # reported start includes prefix_padding_ms
    assert abs(stopped["audio_end_ms"] - 200 - end) <= 100  # reported end includes silence_duration_ms
    assert started["item_id"] == stopped["item_id"] == events[2]["item_id"]


def test_response_audio_is_the_clip_in_100ms_deltas_with_its_transcript():
    session, _ = new_session()
    events = send(session, {"type": "response.create"})
    voice = default_voice()
    audio = [base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"]
    assert all(len(chunk) == 4800 for chunk in audio[:-1]) and b"".join(audio) == voice.pcm
    words = [e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"]
    assert "".join(words) == voice.transcript
    done = events[kinds(events).index("response.done")]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["transcript"] == voice.transcript
    # Each transcript delta comes before the audio delta it belongs to.
    first_word = kinds(events).index("response.output_audio_transcript.delta")
    assert first_word < kinds(events).index("response.output_audio.delta")


def test_realtime_pacing_releases_one_delta_per_100ms():
    session, _ = new_session(MockConfig(realtime=True))
    first = send(session, {"type": "response.create"}, now=10.0)
    assert kinds(first).count("response.output_audio.delta") == 1
    assert session.next_deadline() == pytest.approx(10.1)
    assert kinds(events_of(session.poll(10.05))) == []
    assert kinds(events_of(session.poll(10.1))).count("response.output_audio.delta") == 1
    assert kinds(events_of(session.poll(10.35))).count("response.output_audio.delta") == 2


def test_second_response_cancel_and_barge_in(tmp_path):
    session, _ = new_session(MockConfig(realtime=True))
    send(session, {"type": "response.create"}, now=0.0)
    error = only_error(send(session, {"type": "response.create", "event_id": "evt_2"}, now=0.05))
    assert error["code"] == "conversation_already_has_active_response" and error["event_id"] == "evt_2"
    assert session.response is not None and error["message"].startswith(
        f"Conversation already has an active response in progress: {session.response.id}."
    )
    cancelled = send(session, {"type": "response.cancel"}, now=0.3)
    assert without_deltas(cancelled) == GA_RESPONSE_END
    response = cancelled[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"][0]["status"] == "incomplete"
    # Barge-in: speech while a response plays cancels it with turn_detected.
    send(session, {"type": "response.create"}, now=1.0)
    events = stream(session, speech_pcm(tmp_path, "Stop talking please."))
    done = [e for e in events if e["type"] == "response.done"]
    assert done[0]["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert kinds(events).index("input_audio_buffer.speech_started") < kinds(events).index("response.done")


def test_truncate_is_checked_against_the_audio_sent():
    session, _ = new_session(MockConfig(realtime=True))
    created = send(session, {"type": "response.create"}, now=0.0)
    item_id = created[2]["item"]["id"]
    events_of(session.poll(0.25))  # three deltas: 300 ms sent
    truncate = {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0}
    error = only_error(send(session, {**truncate, "audio_end_ms": 1500}, now=0.26))
    assert error["code"] == "invalid_value" and error["param"] == "audio_end_ms"
    assert error["message"] == "Audio content of 300ms is already shorter than 1500ms"
    truncated = send(session, {**truncate, "audio_end_ms": 250}, now=0.27)
    assert kinds(truncated) == ["conversation.item.truncated"]
    assert (truncated[0]["item_id"], truncated[0]["content_index"], truncated[0]["audio_end_ms"]) == (item_id, 0, 250)


def test_truncate_a_user_item_is_refused():
    session, _ = new_session()
    added = send(
        session,
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        },
    )
    error = only_error(
        send(
            session,
            {"type": "conversation.item.truncate", "item_id": added[0]["item"]["id"], "content_index": 0, "audio_end_ms": 0},
        )
    )
    assert error["code"] == "unsupported_content_type"


def test_text_item_then_text_response_retrieve_and_delete():
    session, _ = new_session()
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello?"}]}
    added = send(session, {"type": "conversation.item.create", "item": item})
    assert kinds(added) == ["conversation.item.added", "conversation.item.done"]
    item_id = added[0]["item"]["id"]
    events = send(session, {"type": "response.create", "response": {"output_modalities": ["text"]}})
    assert "response.output_audio.delta" not in kinds(events)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == default_voice().transcript
    assert kinds(events)[-2:] == ["conversation.item.done", "response.done"]
    assert kinds(events)[:2] == ["response.created", "rate_limits.updated"]
    assert send(session, {"type": "conversation.item.retrieve", "item_id": item_id})[0]["item"]["id"] == item_id
    assert send(session, {"type": "conversation.item.delete", "item_id": item_id})[0]["item_id"] == item_id
    assert (
        only_error(send(session, {"type": "conversation.item.retrieve", "item_id": item_id}))["code"]
        == "item_retrieve_invalid_item_id"
    )


def test_turn_detection_null_means_push_to_talk(tmp_path):
    session, _ = new_session()
    send(session, {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    assert stream(session, speech_pcm(tmp_path, "Push to talk.")) == []
    committed = send(session, {"type": "input_audio_buffer.commit"}, now=5.0)
    assert kinds(committed) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert "response.done" in kinds(send(session, {"type": "response.create"}, now=5.1))


def test_vad_threshold_is_honoured(tmp_path):
    quiet = (np.frombuffer(speech_pcm(tmp_path, "Quietly now."), dtype="<i2") // 8).astype("<i2").tobytes()  # about -18 dB
    loud_only, _ = new_session()
    send(
        loud_only,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.95}}}},
        },
    )
    assert "input_audio_buffer.speech_started" not in kinds(stream(loud_only, quiet))
    default, _ = new_session()
    assert "input_audio_buffer.speech_started" in kinds(stream(default, quiet))


def test_g711_session_speaks_g711():
    session, _ = new_session()
    send(
        session,
        {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcmu"}}}}},
    )
    events = send(session, {"type": "response.create"})
    chunks = [base64.b64decode(e["delta"]) for e in events if e["type"] == "response.output_audio.delta"]
    assert len(chunks[0]) == 800  # 100 ms of 8 kHz, one byte a sample
    assert events[0]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


def test_ids_are_reproducible_from_the_seed():
    def transcript(seed):
        session = MockSession(MockConfig(realtime=False, seed=seed), Handshake(conn_index=1), wall_clock=0)
        outputs = session.start(0.0) + session.receive_text('{"type": "response.create"}', 1.0)
        return [o.data for o in outputs]

    assert transcript(7) == transcript(7)
    assert transcript(7) != transcript(8)


def test_expiry_sends_session_expired_then_1001():
    session, _ = new_session(MockConfig(realtime=False, session_max=2.0))
    assert session.next_deadline() == 2.0
    assert events_of(session.poll(1.9)) == []
    outputs = session.poll(2.0)
    assert events_of(outputs)[0]["error"]["code"] == "session_expired"
    assert events_of(outputs)[0]["error"]["message"] == "Your session hit the maximum duration of 2 seconds."
    assert outputs[-1] == Close(1001, "")
    assert session.receive_text('{"type": "response.create"}', 3.0) == []


@pytest.mark.parametrize(("policy", "expected"), [("close", [Close(1000, "")]), ("ignore", [])])
def test_binary_frame_policy(policy, expected):
    session, _ = new_session(MockConfig(realtime=False, binary_policy=policy))
    assert session.receive_binary(b'{"type":"response.create"}', 1.0) == expected


def test_binary_frame_error_policy():
    session, _ = new_session(MockConfig(realtime=False, binary_policy="error"))
    assert only_error(events_of(session.receive_binary(b"\x00\x01", 1.0)))["code"] == "invalid_event"


# -- the VAD on its own ------------------------------------------------------------------------

_RATE = 24000
_SEGMENT = st.tuples(st.booleans(), st.integers(min_value=1, max_value=60))  # (speech?, length in 5 ms units)


def _signal(segments: list[tuple[bool, int]]) -> np.ndarray:
    """Speech as a -12 dBFS tone, silence as -70 dBFS noise (below the default -50 dBFS level)."""
    rng = np.random.default_rng(0)
    parts = []
    for speech, units in segments:
        n = units * _RATE // 200
        t = np.arange(n) / _RATE
        parts.append(8000 * np.sin(2 * np.pi * 440 * t) if speech else rng.normal(0, 10, n))
    return np.concatenate(parts).astype(np.int16)


@settings(max_examples=60, deadline=None)
@given(segments=st.lists(_SEGMENT, min_size=1, max_size=12), cuts=st.lists(st.integers(min_value=0, max_value=1)))
def test_vad_edges_do_not_depend_on_how_the_audio_is_chunked(segments, cuts):
    # One call sees every frame through its frame loop; chunks of 20 ms or less (as clients send)
    # mostly take the shortcuts for silence and for speech going on: both must decide the same edges.
    samples = _signal(segments)
    whole = EnergyVad(_RATE, silence_duration_ms=200)
    expected = whole.feed(samples)
    chunked = EnergyVad(_RATE, silence_duration_ms=200)
    sizes = [120, 480] + [240 * (1 + c) + 37 * c for c in cuts]  # whole frames and odd sizes
    edges, position, index = [], 0, 0
    while position < len(samples):
        size = sizes[index % len(sizes)]
        edges += chunked.feed(samples[position : position + size])
        position, index = position + size, index + 1
    assert edges == expected
    assert (chunked.position_ms, chunked.in_speech) == (whole.position_ms, whole.in_speech)


def test_vad_reports_speech_start_and_the_end_of_the_last_loud_frame():
    vad = EnergyVad(_RATE, silence_duration_ms=200)
    edges = []
    samples = _signal([(False, 20), (True, 60), (False, 60)])  # 100 ms quiet, 300 ms speech, 300 ms quiet
    for start in range(0, len(samples), 480):
        edges += vad.feed(samples[start : start + 480])
    assert edges == [SpeechStarted(onset_ms=100), SpeechStopped(end_ms=400)]


def test_vad_clicks_in_separate_chunks_are_not_speech():
    # 20 ms chunks: a 10 ms click ends one, the next is silent, a 10 ms click starts the third.
    vad = EnergyVad(_RATE, silence_duration_ms=200)
    samples = _signal([(False, 2), (True, 2), (False, 4), (True, 2), (False, 2)])
    edges = [edge for start in range(0, len(samples), 480) for edge in vad.feed(samples[start : start + 480])]
    assert edges == [] and not vad.in_speech
