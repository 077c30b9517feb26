"""Helpers for the mock server's tests: SDK validation of server events, speech WAVs made with
espeak-ng, and a small client that checks every event it receives."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter
from websockets.asyncio.client import ClientConnection, connect

from tui.mock.session import Output, Send

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


def validate(event: dict[str, Any]) -> dict[str, Any]:
    """Checks an event against the openai SDK's RealtimeServerEvent types (strict); returns it."""
    SERVER_EVENT.validate_python(event, strict=True)
    return event


def events_of(outputs: list[Output]) -> list[dict[str, Any]]:
    """The server events among a session's outputs, each validated against the SDK."""
    return [validate(o.event()) for o in outputs if isinstance(o, Send)]


def speech_pcm(tmp_path: Path, text: str, *, lead_s: float = 1.0, tail_s: float = 1.0) -> bytes:
    """`text` spoken by espeak-ng as 24 kHz mono PCM16, with silence before and after."""
    wav = tmp_path / "speech.wav"
    raw = tmp_path / "speech.raw"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
    subprocess.run(
        [
            "sox",
            str(wav),
            "-r",
            "24000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
            str(raw),
            "pad",
            str(lead_s),
            str(tail_s),
        ],
        check=True,
    )
    return raw.read_bytes()


def true_edges(pcm: bytes, rate: int = 24000) -> tuple[float, float]:
    """Where speech really starts and ends (ms): the first and last 10 ms with any sound (> -60 dBFS)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    frame = rate // 100
    frames = x[: len(x) // frame * frame].reshape(-1, frame)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-60 / 20))
    return float(loud[0] * 10), float((loud[-1] + 1) * 10)


def append_event(chunk: bytes) -> str:
    return orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}).decode()


class Client:
    """A websockets client that validates every event it receives against the SDK."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(orjson.dumps(event).decode() if isinstance(event, dict) else event)

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        event = validate(orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout)))
        self.received.append(event)
        return event

    async def until(self, kind: str, timeout: float = 10) -> list[dict[str, Any]]:
        """Events up to and including the first of type `kind`."""
        seen = []
        while True:
            event = await self.recv(timeout)
            seen.append(event)
            if event["type"] == kind:
                return seen

    async def stream(self, pcm: bytes, *, chunk_ms: int = 20, realtime: bool = True) -> None:
        """Appends PCM16 24 kHz audio in chunks, paced like a microphone when `realtime`."""
        step = 48 * chunk_ms
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), step)):
            await self.ws.send(append_event(pcm[offset : offset + step]))
            if realtime:
                await asyncio.sleep(max(0.0, start + (index + 1) * chunk_ms / 1000 - loop.time()))


async def open_client(url: str, **kwargs: Any) -> Client:
    kwargs.setdefault("proxy", None)
    return Client(await connect(url, **kwargs))
