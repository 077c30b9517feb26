"""Helpers for diagnose tests: recordings written by SessionWriter on a controlled clock, and a client
that behaves like the seed report (docs/protocol.md section 5, story 1)."""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from tui.wire.client import ConnectOptions, open_connection
from tui.wire.format import C2S, LOCAL, S2C
from tui.wire.writer import SessionWriter


class Clock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


class Script:
    """Writes a recording as a live client would have seen it, at chosen times (seconds)."""

    def __init__(self, path: Path, monkeypatch: Any, *, mode: str = "live", header_extra: dict | None = None) -> None:
        self.clock = Clock()
        monkeypatch.setattr("tui.wire.writer.time.monotonic_ns", self.clock)
        self.writer = SessionWriter(
            path, mode=mode, url="wss://api.openai.com/v1/realtime?model=gpt-realtime", header_extra=header_extra
        )
        self.path = path
        self.conn = self.writer.new_conn()
        self.first_close: str | None = None

    def at(self, seconds: float) -> Script:
        self.clock.ns = int(seconds * 1e9)
        return self

    def handshake(self, headers: list[list[str]] | None = None, status: int = 101, **request: Any) -> Script:
        self.writer.record(
            "handshake_request",
            C2S,
            self.conn,
            url="wss://api.openai.com/v1/realtime?model=gpt-realtime",
            path="/v1/realtime?model=gpt-realtime",
            headers=headers or [["Authorization", "Bearer [redacted]"]],
            subprotocols=[],
            **request,
        )
        self.writer.record(
            "handshake_response",
            S2C,
            self.conn,
            status=status,
            reason="Switching Protocols" if status == 101 else "Unauthorized",
            headers=[],
            subprotocol=None,
            extensions=[],
        )
        return self

    def send(self, event: dict[str, Any] | str | bytes, *, binary: bool = False) -> int:
        data = event if isinstance(event, (str, bytes)) else orjson.dumps(event).decode()
        if binary and isinstance(data, str):
            data = data.encode()
        return self.writer.frame(self.conn, C2S, data)

    def receive(self, event: dict[str, Any] | str) -> int:
        data = event if isinstance(event, str) else orjson.dumps(event).decode()
        return self.writer.frame(self.conn, S2C, data)

    def close(self, direction: str, code: int, reason: str = "") -> int:
        first = self.first_close is None
        self.first_close = self.first_close or direction
        return self.writer.record(
            "close", direction, self.conn, code=code, reason=reason, by="client" if direction == C2S else "server", first=first
        )

    def end(self, code: int, closed_by: str | None, **fields: Any) -> int:
        return self.writer.record(
            "end",
            LOCAL,
            self.conn,
            code=code,
            reason="",
            closed_by=closed_by,
            clean=closed_by is not None,
            side="client",
            **fields,
        )

    def done(self) -> Path:
        self.writer.close()
        return self.path


def session_created(**session: Any) -> dict[str, Any]:
    base = {
        "type": "realtime",
        "id": "sess_1",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": {"type": "server_vad"}}},
    }
    base.update(session)
    return {"type": "session.created", "event_id": "ev_1", "session": base}


def error_event(code: str, message: str = "", param: str | None = None) -> dict[str, Any]:
    return {
        "type": "error",
        "event_id": "ev_e",
        "error": {"type": "invalid_request_error", "code": code, "message": message, "param": param},
    }


def tone_chunk(rate: int, seconds: float, frequency: float = 440.0, start: int = 0) -> bytes:
    """`seconds` of a sine at `rate` as 16-bit little-endian pcm (what a microphone tap would hand over)."""
    n = int(round(rate * seconds))
    t = (np.arange(start, start + n) / rate).astype(np.float64)
    return (np.sin(2 * math.pi * frequency * t) * 8000).astype("<i2").tobytes()


def append_event(pcm: bytes) -> bytes:
    return orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})


async def seed_story_client(
    url: str, writer: SessionWriter | None, *, binary: bool = True, seconds: float = 2.0, rate: int = 16000, chunk_s: float = 0.1
) -> tuple[int | None, str | None]:
    """The iOS client of the seed report: waits for session.created, then at once sends 100 ms chunks
    of 16 kHz audio (labelled as the session's 24 kHz pcm) every 100 ms, as binary frames of JSON
    (`binary=True`, like URLSessionWebSocketTask `.data`) or text frames, for `seconds` or until the
    connection closes. Returns the close code and reason it saw (None when it was still open)."""
    ws = await open_connection(url, ConnectOptions(ping_interval=None), writer=writer)
    try:
        while True:
            event = orjson.loads(await ws.recv())
            if event.get("type") == "session.created":
                break

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.ensure_future(drain())
        start = time.monotonic()
        sample = 0
        index = 0
        try:
            while time.monotonic() - start < seconds:
                pcm = tone_chunk(rate, chunk_s, start=sample)
                sample += len(pcm) // 2
                payload = append_event(pcm)
                await ws.send(payload if binary else payload.decode())
                index += 1
                delay = start + index * chunk_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        except Exception:
            pass  # the connection closed under us: the diagnosis explains it
        if ws.protocol.close_rcvd is None:
            await ws.close()
        await asyncio.wait_for(ws.wait_closed(), 10)
        reader.cancel()
        received = ws.protocol.close_rcvd
        return (received.code, received.reason) if received else (None, None)
    finally:
        await ws.close()


@asynccontextmanager
async def connect_proxy(target_port: int) -> AsyncIterator[str]:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that tunnels every request to 127.0.0.1:target_port
    (so a client can reach a local server under another host name, as through a corporate proxy)."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        request = await client_reader.readuntil(b"\r\n\r\n")
        if not request.startswith(b"CONNECT "):
            client_writer.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            client_writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        client_writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
