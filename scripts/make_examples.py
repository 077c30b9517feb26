"""Regenerates sessions/examples/: small sessions recorded by rtui's own recording client against the
in-process mock server, one per story (see sessions/examples/README.md). Run it with
scripts/make-examples [NAME...]; it replaces the files it writes and nothing else.

Each story is a short scripted client (several misbehave on purpose, as the apps in docs/protocol.md
section 5 do), plus one session of the product itself (`rtui --headless` against its embedded mock).
The client side is recorded (mode "live"), like a session of the live TUI; the
voice turn is also kept as the mock's own recording (mode "mock") so server-side recordings are
covered too.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import orjson
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tui.mock import (
    CloseAfter,
    DelayFrames,
    DropConnection,
    MockConfig,
    MockServer,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    StallFrames,
    WithholdPongs,
)
from tui.wire.client import ConnectOptions, RecordingClientConnection, open_connection
from tui.wire.writer import SessionWriter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "sessions" / "examples"
VOICE = ROOT / "tui" / "mock" / "voice.wav"
GA_UPDATE = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "instructions": "Answer briefly.",
        "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 200}}},
    },
}


def speech(ms: int) -> bytes:
    """The first `ms` of the mock's own voice clip (24 kHz pcm16): loud enough for the server VAD."""
    with wave.open(str(VOICE)) as clip:
        return clip.readframes(24 * ms)


def silence(ms: int) -> bytes:
    return bytes(48 * ms)


def append(chunk: bytes) -> str:
    return orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}).decode()


def event(**fields: object) -> str:
    return orjson.dumps(fields).decode()


async def stream(ws: RecordingClientConnection, pcm: bytes, chunk_ms: int = 40) -> None:
    step = 48 * chunk_ms
    for offset in range(0, len(pcm), step):
        await ws.send(append(pcm[offset : offset + step]))


async def until(ws: RecordingClientConnection, kind: str, timeout: float = 10) -> dict:
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message.get("type") == kind:
            return message


async def drain(ws: RecordingClientConnection) -> None:
    """Reads until the connection ends (the server's close, or a drop)."""
    try:
        while True:
            await ws.recv()
    except ConnectionClosed:
        pass
    await ws.wait_closed()


# -- stories -----------------------------------------------------------------------------------


async def voice_turn_barge_in(url: str, writer: SessionWriter) -> None:
    """A spoken question, the answer streaming in real time, the user talking over it (barge-in):
    the response is cancelled, the client truncates the answer to what it played, then hangs up."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", event_id="evt_client_1", **{"session": GA_UPDATE["session"]}))
    await until(ws, "session.updated")
    await stream(ws, silence(200) + speech(900) + silence(400))
    item = None
    deltas = 0
    while deltas < 3:  # let the answer play for 300 ms
        message = orjson.loads(await ws.recv())
        if message["type"] == "response.output_item.added":
            item = message["item"]["id"]
        deltas += message["type"] == "response.output_audio.delta"
    await stream(ws, speech(500))  # the user talks over the answer
    await until(ws, "input_audio_buffer.speech_started")
    await until(ws, "response.done")
    await ws.send(event(type="conversation.item.truncate", item_id=item, content_index=0, audio_end_ms=300))
    await until(ws, "conversation.item.truncated")
    await ws.close(1000, "bye")


async def seed_binary_append(url: str, writer: SessionWriter) -> None:
    """Story 1 of docs/protocol.md section 5: an iOS-style client sends its first append as a binary
    frame (`.data`) of 100 ms of 16 kHz audio; an OpenAI-compatible server closes 1000 with an empty reason."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    pcm16k = speech(67)[:3200]
    await ws.send(append(pcm16k).encode())  # bytes: a binary frame
    await drain(ws)


async def beta_header(url: str, writer: SessionWriter) -> None:
    """Story 2: the retired beta header: error beta_api_shape_disabled, then close 4000."""
    ws = await open_connection(url, ConnectOptions(extra_headers=[("OpenAI-Beta", "realtime=v1")]), writer=writer)
    await drain(ws)


async def beta_fields_client_closes(url: str, writer: SessionWriter) -> None:
    """Story 3: GA session.update with beta field names → error unknown_parameter, socket open; the
    client closes on any error, which looks like a server disconnect unless you see who closed first."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", session={"type": "realtime", "modalities": ["audio", "text"]}))
    await until(ws, "error")
    await ws.close(1000)


async def keepalive_1011(url: str, writer: SessionWriter) -> None:
    """Story 4 (and the no-pong fault): the server stops answering pings; the client's keepalive
    closes 1011 "keepalive ping timeout"."""
    ws = await open_connection(url, ConnectOptions(ping_interval=0.2, ping_timeout=0.2), writer=writer)
    await until(ws, "session.created")
    await drain(ws)


async def max_size_1009(url: str, writer: SessionWriter) -> None:
    """Story 4 (and the oversized fault): an event bigger than the client's max_size (1 MiB, the
    websockets default): the client closes 1009."""
    ws = await open_connection(url, ConnectOptions(max_size=2**20), writer=writer)
    await drain(ws)


async def dropped_1006(url: str, writer: SessionWriter) -> None:
    """Story 4 (and the drop fault): the TCP connection goes without a close frame: 1006."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", session=GA_UPDATE["session"]))
    await drain(ws)


async def session_expired(url: str, writer: SessionWriter) -> None:
    """Story 5: the session reaches its maximum duration: error session_expired, then close 1001."""
    ws = await open_connection(url, writer=writer)
    await drain(ws)


async def commit_empty(url: str, writer: SessionWriter) -> None:
    """Story 6: a manual commit of 40 ms on top of server VAD → input_audio_buffer_commit_empty; the
    socket stays open and the client hangs up."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(append(silence(40)))
    await ws.send(event(type="input_audio_buffer.commit", event_id="evt_commit"))
    await until(ws, "error")
    await ws.close(1000)


async def fault_close(url: str, writer: SessionWriter) -> None:
    """The close fault: the mock closes 4001 "bye" after the client's second frame."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", session=GA_UPDATE["session"]))
    await ws.send(append(silence(40)))
    await drain(ws)


async def fault_delay(url: str, writer: SessionWriter) -> None:
    """The delay fault: every server frame 0.2 s late; the session itself is fine and the client hangs up."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", session=GA_UPDATE["session"]))
    await until(ws, "session.updated")
    await ws.close(1000)


async def fault_stall(url: str, writer: SessionWriter) -> None:
    """The stall fault: the server sends nothing more after session.created; the client gives up
    waiting for session.updated and closes 4000 with its own reason."""
    ws = await open_connection(url, writer=writer)
    await until(ws, "session.created")
    await ws.send(event(type="session.update", session=GA_UPDATE["session"]))
    try:
        await until(ws, "session.updated", timeout=0.5)
    except TimeoutError:
        await ws.close(4000, "client: no session.updated within 0.5 s")


async def fault_invalid_json(url: str, writer: SessionWriter) -> None:
    """The invalid-json fault: a text frame that is not JSON; this client closes 1007 on it."""
    ws = await open_connection(url, writer=writer)
    while True:
        text = await ws.recv()
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            await ws.close(1007, "client: unparseable server event")
            return


async def fault_reject(url: str, writer: SessionWriter) -> None:
    """The reject fault: the handshake is refused with HTTP 503."""
    try:
        await open_connection(url, writer=writer)
    except InvalidStatus:
        return
    raise RuntimeError("the handshake was expected to be refused")


Story = Callable[[str, SessionWriter], Awaitable[None]]
STORIES: dict[str, tuple[Story, MockConfig, bool]] = {
    # name: (client, mock settings, keep the mock's own recording too)
    "voice-turn-barge-in": (voice_turn_barge_in, MockConfig(realtime=True), True),
    "story1-binary-append-close-1000": (seed_binary_append, MockConfig(realtime=False), False),
    "story2-beta-header-close-4000": (beta_header, MockConfig(realtime=False), False),
    "story3-beta-fields-client-closes": (beta_fields_client_closes, MockConfig(realtime=False), False),
    "story4-keepalive-no-pong-1011": (keepalive_1011, MockConfig(realtime=False, faults=(WithholdPongs(),)), False),
    "story4-max-size-1009": (max_size_1009, MockConfig(realtime=False, faults=(OversizedEvent(),)), False),
    "story4-dropped-1006": (dropped_1006, MockConfig(realtime=False, faults=(DropConnection(after_frames=1),)), False),
    "story5-session-expired-1001": (session_expired, MockConfig(realtime=False, session_max=0.3), False),
    "story6-commit-empty": (commit_empty, MockConfig(realtime=False), False),
    "fault-close-4001": (
        fault_close,
        MockConfig(realtime=False, faults=(CloseAfter(code=4001, reason="bye", after_frames=2),)),
        False,
    ),
    "fault-delay": (fault_delay, MockConfig(realtime=False, faults=(DelayFrames(seconds=0.2),)), False),
    "fault-stall": (fault_stall, MockConfig(realtime=False, faults=(StallFrames(after_frames=1),)), False),
    "fault-invalid-json": (fault_invalid_json, MockConfig(realtime=False, faults=(SendInvalidJson(),)), False),
    "fault-reject-503": (fault_reject, MockConfig(realtime=False, faults=(RejectHandshake(status=503),)), False),
}


# A tool whose output rtui sends without the response.create that must follow it ("respond": false).
FORGETFUL_TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "output": {"city": "Paris", "temperature_c": 18, "conditions": "sunny"},
        "respond": False,
    }
]
# The product itself: `rtui --headless` against its embedded mock (file name: its arguments).
ENGINE_EXAMPLES: dict[str, list[str]] = {
    # The voice clip as the microphone.
    "engine-headless-voice-turn": ["--input", str(VOICE), "--output", "null"],
    # The classic tool stall: the call's output goes back, no response.create follows, the session
    # sits idle until the client gives up (--response-timeout) and closes.
    "tool-output-without-response": [
        "--input",
        "none",
        "--output",
        "null",
        "--tools",
        "{tools}",
        "--text",
        "What is the weather in Paris?",
        "--response-timeout",
        "2",
    ],
}


async def make_with_engine(name: str) -> list[Path]:
    path = OUT / f"{name}.jsonl"
    with TemporaryDirectory() as tmp:
        tools = Path(tmp) / "tools.json"
        tools.write_bytes(orjson.dumps(FORGETFUL_TOOLS))
        arguments = [argument.replace("{tools}", str(tools)) for argument in ENGINE_EXAMPLES[name]]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tui",
            "--headless",
            "--mock",
            *arguments,
            "--record-dir",
            tmp,
            stdout=asyncio.subprocess.DEVNULL,
        )
        if await process.wait() != 0:
            raise RuntimeError(f"rtui --headless failed with status {process.returncode}")
        (recording,) = Path(tmp).glob("*.jsonl")
        path.write_bytes(recording.read_bytes())
    return [path]


async def make(name: str) -> list[Path]:
    if name in ENGINE_EXAMPLES:
        return await make_with_engine(name)
    story, config, keep_mock_side = STORIES[name]
    written = []
    with TemporaryDirectory() as tmp:
        config = MockConfig(**{**config.__dict__, "record_dir": Path(tmp)})
        async with MockServer(config) as server:
            path = OUT / f"{name}.jsonl"
            path.unlink(missing_ok=True)
            url = server.url_for("gpt-realtime")
            with SessionWriter(path, mode="live", url=url) as writer:
                await story(url, writer)
                await asyncio.sleep(0.2)  # let the end of the connection reach the recording
            written.append(path)
        if keep_mock_side and server.recordings:
            mock_path = OUT / f"{name}.mock-side.jsonl"
            mock_path.write_bytes(server.recordings[0].read_bytes())
            written.append(mock_path)
    return written


async def main(names: list[str]) -> int:
    known = [*STORIES, *ENGINE_EXAMPLES]
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"make-examples: unknown example {unknown[0]!r}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or known:
        for path in await make(name):
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
