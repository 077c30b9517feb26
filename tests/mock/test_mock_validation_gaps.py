"""Where the mock used to say OK (or error) unlike the service: the voice is fixed once the assistant has
spoken, `audio/pcm` needs no `rate`, an unknown `previous_item_id` is named as the param, the rate
limits come as a response starts, and input transcription arrives beside the response (and can fail).
Every event is checked against the SDK's RealtimeServerEvent type (mock_support.events_of)."""

from __future__ import annotations

import base64

import numpy as np
import orjson

from mock_support import events_of, open_client
from tui.mock import MockConfig, MockServer, parse_fault
from tui.mock.session import Handshake, MockSession

FAST = MockConfig(realtime=False)


def new_session() -> MockSession:
    session = MockSession(FAST, Handshake(conn_index=1), wall_clock=1_800_000_000)
    events_of(session.start(0.0))
    return session


def send(session: MockSession, event: dict, now: float = 1.0) -> list[dict]:
    return events_of(session.receive_text(orjson.dumps(event).decode(), now))


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def voice_update(voice: object) -> dict:
    return {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": voice}}}}


def tone_turn(rate: int = 24000) -> bytes:
    """A second of silence, a second of a loud tone (speech to an energy VAD), a second of silence."""
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    silence = np.zeros(rate, dtype="<i2")
    return np.concatenate([silence, tone, silence]).tobytes()


def test_the_voice_is_fixed_once_the_assistant_has_spoken():
    session = new_session()
    assert kinds(send(session, voice_update("cedar"))) == ["session.updated"]  # no audio yet: allowed
    assert "response.done" in kinds(send(session, {"type": "response.create"}))
    (error,) = send(session, {**voice_update("alloy"), "event_id": "evt_voice"})
    assert error["error"] == {
        "type": "invalid_request_error",
        "code": "cannot_update_voice",
        "message": "Cannot update a conversation's voice if assistant audio is present.",
        "param": None,
        "event_id": "evt_voice",
    }
    assert session.session["audio"]["output"]["voice"] == "cedar"  # the whole update was rejected
    # Resending the same voice (clients that resend their whole configuration) is no change.
    assert kinds(send(session, voice_update({"id": "cedar"}))) == ["session.updated"]
    # A text-only answer produces no audio, so it does not fix the voice.
    text_only = new_session()
    send(text_only, {"type": "response.create", "response": {"output_modalities": ["text"]}})
    assert kinds(send(text_only, voice_update("alloy"))) == ["session.updated"]


def test_pcm_without_rate_is_24khz():
    session = new_session()
    fmt = {"type": "audio/pcm"}
    (updated,) = send(
        session,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"format": fmt}, "output": {"format": fmt}}},
        },
    )
    assert updated["type"] == "session.updated"
    assert updated["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert updated["session"]["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_an_unknown_previous_item_id_is_named_as_the_param():
    session = new_session()
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
    (error,) = send(session, {"type": "conversation.item.create", "previous_item_id": "item_nope", "item": item})
    assert error["error"]["param"] == "previous_item_id" and "item_nope" in error["error"]["message"]


def test_rate_limits_arrive_as_the_response_starts():
    events = send(new_session(), {"type": "response.create"})
    assert kinds(events)[:3] == ["response.created", "rate_limits.updated", "response.output_item.added"]
    assert kinds(events).count("rate_limits.updated") == 1
    limits = {limit["name"]: limit for limit in events[1]["rate_limits"]}
    assert limits["tokens"]["remaining"] < limits["tokens"]["limit"]


def test_input_transcription_follows_the_response_that_vad_started():
    session = new_session()
    send(
        session,
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}},
        },
    )
    pcm, step, events = tone_turn(), 960, []
    for index, offset in enumerate(range(0, len(pcm), step)):
        chunk = pcm[offset : offset + step]
        events += send(
            session, {"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}, now=index * 0.02
        )
    order = kinds(events)
    completed = order.index("conversation.item.input_audio_transcription.completed")
    assert order.index("input_audio_buffer.committed") < order.index("response.created") < completed
    assert events[completed]["item_id"] == events[order.index("input_audio_buffer.committed")]["item_id"]


async def test_the_transcription_failed_fault_fails_each_transcription_after_it_fires():
    fault = parse_fault("transcription-failed,after-frames=1")
    async with MockServer(MockConfig(realtime=False, faults=(fault,))) as server:
        client = await open_client(server.url_for())
        try:
            await client.until("session.created")
            await client.send(
                {
                    "type": "session.update",
                    "session": {
                        "type": "realtime",
                        "audio": {"input": {"transcription": {"model": "whisper-1"}, "turn_detection": None}},
                    },
                }
            )
            await client.until("session.updated")
            await client.stream(tone_turn()[:48000], realtime=False)
            await client.send({"type": "input_audio_buffer.commit"})
            events = await client.until("conversation.item.input_audio_transcription.failed")
        finally:
            await client.ws.close()
    failed = events[-1]
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    assert failed["item_id"] == committed["item_id"] and failed["content_index"] == 0
    assert failed["error"]["code"] == "transcription_failed" and failed["error"]["message"]
    assert "conversation.item.input_audio_transcription.completed" not in kinds(events)
