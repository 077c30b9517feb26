"""The official openai SDK (test-only) runs a whole real-time voice turn against the mock."""

from __future__ import annotations

import asyncio
import base64

import openai
import orjson

from mock_support import speech_pcm, true_edges, validate
from tui.mock import MockConfig, MockServer
from tui.mock.audio_formats import default_voice

CHUNK_MS = 20


async def test_sdk_voice_turn_in_real_time(tmp_path):
    pcm = speech_pcm(tmp_path, "Hello mock, please answer me.", lead_s=0.5, tail_s=0.8)
    true_start, true_end = true_edges(pcm)
    async with MockServer(MockConfig(realtime=True)) as server:
        client = openai.AsyncOpenAI(api_key="sk-test-not-a-real-key", websocket_base_url=server.base_url)
        # websockets would route even 127.0.0.1 through an http(s)_proxy from the environment.
        async with client.realtime.connect(model="gpt-realtime", websocket_connection_options={"proxy": None}) as conn:

            async def next_event():
                data = await asyncio.wait_for(conn.recv_bytes(), 10)
                validate(orjson.loads(data))  # strict, against the SDK's RealtimeServerEvent
                return conn.parse_event(data)

            created = await next_event()
            assert created.type == "session.created" and created.session.model == "gpt-realtime"
            await conn.session.update(session={"type": "realtime", "instructions": "Answer briefly."})
            updated = await next_event()
            assert updated.type == "session.updated" and updated.session.instructions == "Answer briefly."

            async def stream_microphone():
                loop = asyncio.get_running_loop()
                start = loop.time()
                step = 48 * CHUNK_MS
                for index, offset in enumerate(range(0, len(pcm), step)):
                    await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[offset : offset + step]).decode())
                    await asyncio.sleep(max(0.0, start + (index + 1) * CHUNK_MS / 1000 - loop.time()))

            microphone = asyncio.create_task(stream_microphone())
            events = []
            while not events or events[-1].type != "response.done":
                events.append(await next_event())
            await microphone

    kinds = [e.type for e in events]
    started = events[kinds.index("input_audio_buffer.speech_started")]
    stopped = events[kinds.index("input_audio_buffer.speech_stopped")]
    # The reported edges include the prefix padding and the silence duration (GA defaults 300/200 ms).
    assert abs(started.audio_start_ms + 300 - true_start) <= 100
    assert abs(stopped.audio_end_ms - 200 - true_end) <= 100
    assert (
        kinds.index("input_audio_buffer.committed") < kinds.index("response.created") < kinds.index("response.output_audio.delta")
    )
    audio = b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta")
    assert audio == default_voice().pcm
    transcript = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
    assert transcript == default_voice().transcript
    assert events[-1].response.status == "completed"


async def test_sdk_gets_input_transcription_after_its_commit(tmp_path):
    pcm = speech_pcm(tmp_path, "Transcribe me.", lead_s=0.2, tail_s=0.2)
    async with MockServer(MockConfig(realtime=False)) as server:
        client = openai.AsyncOpenAI(api_key="sk-test-not-a-real-key", websocket_base_url=server.base_url)
        async with client.realtime.connect(model="gpt-realtime", websocket_connection_options={"proxy": None}) as conn:

            async def next_event():
                data = await asyncio.wait_for(conn.recv_bytes(), 10)
                validate(orjson.loads(data))
                return conn.parse_event(data)

            assert (await next_event()).type == "session.created"
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}, "turn_detection": None}},
                }
            )
            updated = await next_event()
            assert updated.session.audio.input.transcription.model == "gpt-4o-mini-transcribe"
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())
            await conn.input_audio_buffer.commit()
            events = [await next_event()]
            while events[-1].type != "conversation.item.input_audio_transcription.completed":
                events.append(await next_event())

    committed, completed = events[0], events[-1]
    assert committed.type == "input_audio_buffer.committed" and completed.item_id == committed.item_id
    assert completed.transcript == f"(mock transcript of {len(pcm) / 48_000:.1f} s of audio)"
    assert completed.usage.type == "tokens" and completed.usage.total_tokens > 0
    deltas = [e.delta for e in events if e.type == "conversation.item.input_audio_transcription.delta"]
    assert "".join(deltas) == completed.transcript
