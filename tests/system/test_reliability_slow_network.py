"""A slow network: the server stops reading while the microphone keeps capturing. The engine must
not buffer without bound: the bytes waiting to be sent stay capped, the capture queue drops the
chunks it cannot hold and counts them, the stats line shows the drops, and once the network
recovers the session goes on and the recording holds every frame that was sent.

The network is made slow with tiny kernel socket buffers on both ends (otherwise loopback absorbs
megabytes, a minute of audio) and a server that pauses reading; audio comes from a real PortAudio
device (the virtual microphone, tests/audio_support.py) fed a tone."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from audio_support import virtual_audio  # noqa: F401 - fixture
from tests.engine_support import engine_config, wait_for
from tui.app.present import stats_text
from tui.audio.capture import MicrophoneSource
from tui.engine.session import Engine
from tui.wire.reader import SessionReader

pytestmark = pytest.mark.audio

RATE = 48_000
STALL_S = 4.0
TINY_BUFFER = 4096
# websockets pauses `send` above 32 KiB waiting in the transport; one more frame may be in flight.
SEND_BUFFER_BOUND = 64 * 1024


def session_event(kind: str) -> str:
    return orjson.dumps({"type": kind, "event_id": f"event_{kind}", "session": {"type": "realtime", "id": "sess_slow"}}).decode()


async def test_a_server_that_stops_reading_bounds_the_send_queue_and_counts_drops(virtual_audio, tmp_path, monkeypatch):
    pair = virtual_audio.devices(RATE)
    monkeypatch.setenv("PULSE_SOURCE", pair.mic_monitor)
    monkeypatch.setenv("PULSE_SINK", pair.speaker)
    tone = tmp_path / "tone.wav"
    subprocess.run(
        ["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(tone), "synth", "12", "sine", "440", "vol", "0.3"], check=True
    )

    stalled, resume = asyncio.Event(), asyncio.Event()
    received = 0

    async def slow_server(ws: ServerConnection) -> None:
        nonlocal received
        await ws.send(session_event("session.created"))
        await ws.recv()  # session.update
        await ws.send(session_event("session.updated"))
        ws.transport.pause_reading()  # the network stops delivering
        stalled.set()
        await resume.wait()
        ws.transport.resume_reading()
        async for _ in ws:
            received += 1

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TINY_BUFFER)  # inherited by accepted sockets
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    player = None
    async with serve(slow_server, sock=listener, max_size=None):
        url = f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/realtime?model=gpt-realtime"
        engine = Engine(engine_config(url, tmp_path), source=MicrophoneSource(samplerate=RATE, chunk_ms=20))
        run = asyncio.create_task(engine.run())
        player = subprocess.Popen(["paplay", f"--device={pair.mic}", str(tone)], env=virtual_audio.env)
        try:
            await wait_for(lambda: engine.state.phase == "open" and engine._ws is not None, 10)
            engine._ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TINY_BUFFER)
            await asyncio.wait_for(stalled.wait(), 10)
            waiting, deadline = 0, asyncio.get_running_loop().time() + STALL_S
            while asyncio.get_running_loop().time() < deadline:
                waiting = max(waiting, engine._ws.transport.get_write_buffer_size())
                await asyncio.sleep(0.05)
            await wait_for(lambda: engine.state.counters.dropped_chunks > 0, 5)
            counters = engine.state.counters
            assert waiting <= SEND_BUFFER_BOUND
            # The drops are counted and shown (the stats line reads "drop N").
            assert f"drop {counters.dropped_chunks + counters.capture_overflows}" in stats_text(counters)
            # The queue holds 2 s of chunks; the rest of the stall's audio is dropped, not buffered.
            assert counters.dropped_chunks >= 25
            resume.set()
            sent_before = counters.frames_sent
            await wait_for(lambda: engine.state.counters.frames_sent > sent_before + 25, 10)  # flowing again
        finally:
            resume.set()
            player.kill()  # not terminate(): a paplay stuck on the sound server may not heed SIGTERM
            player.wait(timeout=10)
            engine.stop()
            outcome = await asyncio.wait_for(run, 15)
    assert outcome == "stopped"

    with SessionReader(engine.state.recording_path) as reader:
        records = list(reader)
    assert reader.problems == []
    appends = [r for r in records if r.get("type") == "input_audio_buffer.append"]
    assert len([r for r in records if r["kind"] == "frame" and r["dir"] == "c2s"]) == engine.state.counters.frames_sent
    assert len(appends) <= received  # every append the server got was sent, and recorded
