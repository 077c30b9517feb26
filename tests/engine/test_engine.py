"""The session engine against the real mock server on 127.0.0.1: turns, state, recording, closes."""

from __future__ import annotations

import asyncio
import base64
import wave

import orjson
import pytest

from tests.engine_support import engine_config, mock_server, speech_wav, wait_for
from tui.audio.options import make_sink, make_source
from tui.engine.commands import Mark, Reconnect, SendText, SetTalking
from tui.engine.runner import EngineThread
from tui.engine.session import Engine
from tui.mock import CloseAfter
from tui.wire.reader import SessionReader


def recorded(engine: Engine) -> list[dict]:
    assert engine.state.recording_path
    with SessionReader(engine.state.recording_path) as reader:
        records = list(reader)
    assert reader.problems == []
    return records


def sent_types(records) -> list[str]:
    return [r.get("type") for r in records if r["kind"] == "frame" and r["dir"] == "c2s"]


async def test_text_turn_fills_state_transcript_and_recording(tmp_path):
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, texts=["What is rtui?"], finish_when_input_ends=True)
        engine = Engine(config)
        outcome = await asyncio.wait_for(engine.run(), 30)
    assert outcome == "finished"
    state = engine.state
    assert state.phase == "closed"
    assert state.session_id and state.session_id.startswith("sess_")
    assert state.expires_at is not None
    roles = [(e.role, e.done) for e in state.transcript]
    assert roles == [("user", True), ("assistant", True)]
    assert state.transcript[0].text == "What is rtui?"
    assert state.transcript[1].text == server.config.voice.transcript
    assert state.close is not None and state.close.closed_by == "client" and state.close.code == 1000
    counters = state.counters
    assert counters.frames_sent == 3 and counters.frames_received > 10
    assert counters.audio_received_seconds == pytest.approx(server.config.voice.duration_ms / 1000, abs=0.01)

    records = recorded(engine)
    assert sent_types(records) == ["session.update", "conversation.item.create", "response.create"]
    update = orjson.loads(next(r["text"] for r in records if r.get("type") == "session.update"))
    assert update["session"]["type"] == "realtime"  # GA shape, no beta fields
    assert update["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    # The log buffer saw exactly what the file holds.
    entries, _, skipped = engine.log.since(0)
    assert skipped == 0 and [e.record["seq"] for e in entries] == [r["seq"] for r in records]


async def test_sixteen_khz_wav_reaches_the_wire_at_its_true_duration_and_gets_an_answer(tmp_path):
    wav = speech_wav(tmp_path / "question.wav", "Hello, can you hear me?", rate=16_000)
    with wave.open(str(wav)) as w:
        true_seconds = w.getnframes() / w.getframerate()
    answer = tmp_path / "answer.wav"
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, finish_when_input_ends=True, trailing_silence_ms=800)
        engine = Engine(config, source=make_source(str(wav)), sink=make_sink(str(answer)))
        outcome = await asyncio.wait_for(engine.run(), 60)
    assert outcome == "finished"
    records = recorded(engine)
    types = [r.get("type") for r in records if r["kind"] == "frame"]
    for expected in (
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "response.done",
    ):
        assert expected in types
    appended = sum(
        len(base64.b64decode(orjson.loads(r["text"])["audio"])) for r in records if r.get("type") == "input_audio_buffer.append"
    )
    # The file plus the trailing silence, at 24 kHz: resampled, not relabelled.
    assert appended / 48_000 == pytest.approx(true_seconds + 0.8, abs=0.03)
    # Paced in real time: the send rate the engine measured was about 1 s of audio per second.
    appends = [r for r in records if r.get("type") == "input_audio_buffer.append"]
    wall = (appends[-1]["t_ns"] - appends[0]["t_ns"]) / 1e9
    assert appended / 48_000 / wall == pytest.approx(1.0, abs=0.1)
    with wave.open(str(answer)) as w:
        assert w.getframerate() == 24_000
        assert w.getnframes() / 24_000 == pytest.approx(server.config.voice.duration_ms / 1000, abs=0.01)


async def test_push_to_talk_commits_and_asks_for_a_response(tmp_path):
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, turn_mode="push_to_talk")
        engine = Engine(config, source=make_source("tone:440"), sink=make_sink("null"))
        task = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.session_id is not None)
        await asyncio.sleep(0.3)  # not talking: nothing is sent
        engine.submit(SetTalking(True))
        await asyncio.sleep(0.4)
        engine.submit(SetTalking(False))
        await wait_for(lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        engine.submit(SetTalking(True))
        engine.submit(SetTalking(False))  # a press too short for the 100 ms commit rule
        await wait_for(lambda: any("100 ms" in n for n in engine.state.notices))
        engine.stop()
        assert await asyncio.wait_for(task, 10) == "stopped"
    types = sent_types(recorded(engine))
    update = types.index("session.update")
    first_append = types.index("input_audio_buffer.append")
    assert types[update + 1] == "input_audio_buffer.clear" and first_append == update + 2
    commit = types.index("input_audio_buffer.commit")
    assert types[commit + 1] == "response.create"
    assert 15 <= types[first_append:commit].count("input_audio_buffer.append") <= 25  # ~400 ms of 20 ms chunks
    assert types[-1] == "input_audio_buffer.clear"  # the short press was discarded, not committed
    update_event = orjson.loads(next(r["text"] for r in recorded(engine) if r.get("type") == "session.update"))
    assert update_event["session"]["audio"]["input"]["turn_detection"] is None


async def test_server_close_is_explained_and_ends_the_run(tmp_path):
    async with mock_server(faults=(CloseAfter(code=4001, reason="rtui test fault", after_frames=2),)) as server:
        config = engine_config(server.url_for(), tmp_path, texts=["hi", "again"])
        engine = Engine(config)
        outcome = await asyncio.wait_for(engine.run(), 30)
    assert outcome == "closed"
    close = engine.state.close
    assert close is not None
    assert (close.code, close.reason, close.closed_by) == (4001, "rtui test fault", "server")
    assert "The server closed the connection with 4001" in close.explanation
    assert "'rtui test fault'" in close.explanation
    assert close.last_lines and close.last_lines[-1].label == "close"


async def test_refused_handshake_says_why(tmp_path):
    async with mock_server(require_key="sk-right-key-0123456789abcdef") as server:
        config = engine_config(server.url_for(), tmp_path, texts=["hi"])
        config.endpoint.api_key = "sk-wrong-key-0123456789abcdef"
        engine = Engine(config)
        outcome = await asyncio.wait_for(engine.run(), 30)
    assert outcome == "refused"
    assert engine.state.close is not None
    assert "HTTP 401" in engine.state.close.explanation and "OPENAI_API_KEY" in engine.state.close.explanation
    raw = open(engine.state.recording_path, "rb").read()
    assert b"sk-wrong-key-0123456789abcdef" not in raw


async def test_reconnect_and_mark_land_in_the_same_recording(tmp_path):
    async with mock_server() as server:
        engine = Engine(engine_config(server.url_for(), tmp_path))
        task = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.session_id is not None)
        first_session = engine.state.session_id
        engine.submit(Mark("before reconnect"))
        engine.submit(Reconnect())
        await wait_for(lambda: engine.state.phase == "open" and engine.state.session_id != first_session)
        engine.stop()
        assert await asyncio.wait_for(task, 10) == "stopped"
    records = recorded(engine)
    assert {r["conn"] for r in records if r["kind"] == "frame"} == {1, 2}
    assert [r.get("type") for r in records if r["kind"] == "frame" and r["dir"] == "s2c"].count("session.created") == 2
    mark = next(r for r in records if r["kind"] == "mark")
    assert mark["note"] == "before reconnect"
    first_end = next(r for r in records if r["kind"] == "end")
    assert first_end["conn"] == 1 and first_end["closed_by"] == "client"


async def test_missing_device_is_a_notice_and_the_session_carries_on(tmp_path):
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, texts=["hi"], finish_when_input_ends=True)
        engine = Engine(config, source=make_source("mic", device="no-such-device-rtui"), sink=make_sink("null"))
        outcome = await asyncio.wait_for(engine.run(), 30)
    assert outcome == "finished"
    assert any("Carrying on without audio input" in n for n in engine.state.notices)
    assert engine.state.transcript[-1].role == "assistant" and engine.state.transcript[-1].done


def test_engine_thread_takes_commands_from_another_thread(tmp_path):
    import time

    async def serve_until(stop: asyncio.Event, ready: list) -> None:
        async with mock_server() as server:
            ready.append(server.url_for())
            await stop.wait()

    import threading

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready: list[str] = []
    server_thread = threading.Thread(target=loop.run_until_complete, args=(serve_until(stop, ready),))
    server_thread.start()
    try:
        while not ready:
            time.sleep(0.01)
        engine = Engine(engine_config(ready[0], tmp_path))
        runner = EngineThread(engine)
        runner.start()
        deadline = time.monotonic() + 10
        while engine.state.session_id is None and time.monotonic() < deadline:
            time.sleep(0.02)
        engine.submit(SendText("from the UI thread"))
        while not any(e.role == "assistant" and e.done for e in engine.state.transcript) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(e.role == "assistant" and e.done for e in engine.state.transcript)
        runner.stop()
        assert runner.outcome == "stopped" and not runner.running
    finally:
        loop.call_soon_threadsafe(stop.set)
        server_thread.join(10)


async def test_under_a_view_a_closed_session_waits_for_reconnect(tmp_path):
    async with mock_server(faults=(CloseAfter(code=4001, reason="gone", after_frames=1),)) as server:
        config = engine_config(server.url_for(), tmp_path, stay_after_close=True)
        engine = Engine(config)
        task = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.close is not None and engine.state.close.code == 4001)
        await asyncio.sleep(0.2)
        assert not task.done()  # the card stays up; the engine waits for the user
        first_session = engine.state.session_id
        engine.submit(Reconnect())
        await wait_for(lambda: engine.state.session_id not in (None, first_session))
        await wait_for(lambda: engine.state.phase == "closed")  # the fault closes the new one too
        engine.stop()
        assert await asyncio.wait_for(task, 10) == "stopped"
    records = recorded(engine)
    assert [r["conn"] for r in records if r["kind"] == "end"] == [1, 2]
