"""An upstream for relay tests: a real websockets server on 127.0.0.1 that records what it saw, and
helpers to read data frames, closes and handshakes out of recordings."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.frames import Frame
from websockets.http11 import Request, Response

from tui.wire.reader import SessionReader
from tui.wire.tap import FrameTap
from tui.wire.writer import SessionWriter

Handler = Callable[[ServerConnection], Awaitable[None]]


class RecordingServerConnection(ServerConnection):
    """websockets' own asyncio server connection, recorded by a `FrameTap`: the upstream is a third
    party's server, scripted with websockets' internals where a test needs odd frames, so it is
    recorded by wrapping them (rtui itself never does: tests/system/test_architecture.py)."""

    tap: FrameTap | None = None

    def attach(self, tap: FrameTap) -> None:
        self.tap = tap
        protocol = self.protocol
        send_frame, recv_frame, send_response = protocol.send_frame, protocol.recv_frame, protocol.send_response

        def recording_send_frame(frame: Frame) -> None:
            tap.frame_sent(frame)
            send_frame(frame)

        def recording_recv_frame(frame: Frame) -> None:
            tap.frame_received(frame)
            recv_frame(frame)

        def recording_send_response(response: Response) -> None:
            tap.handshake_response(response)
            send_response(response)

        protocol.send_frame = recording_send_frame  # type: ignore[method-assign]
        protocol.recv_frame = recording_recv_frame  # type: ignore[method-assign]
        protocol.send_response = recording_send_response  # type: ignore[method-assign]

    def process_event(self, event: Any) -> None:
        if self.request is None and isinstance(event, Request) and self.tap is not None:
            self.tap.handshake_request(event)
        super().process_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.tap is not None:
            protocol = self.protocol
            self.tap.on_end(protocol.close_sent, protocol.close_rcvd, protocol.parser_exc, exc)


def recording_connection_factory(
    attach: Callable[[RecordingServerConnection], FrameTap | None],
) -> Callable[..., RecordingServerConnection]:
    def create_connection(protocol: Any, server: Server, **kwargs: Any) -> RecordingServerConnection:
        connection = RecordingServerConnection(protocol, server, **kwargs)
        tap = attach(connection)
        if tap is not None:
            connection.attach(tap)
        return connection

    return create_connection


@dataclass
class Upstream:
    url: str
    recording: Path
    requests: list[Any] = field(default_factory=list)
    connections: list[RecordingServerConnection] = field(default_factory=list)


@asynccontextmanager
async def upstream_server(tmp_path: Path, handler: Handler, **serve_kwargs: Any) -> AsyncIterator[Upstream]:
    """Serves `handler`, recording its side into tmp_path/upstream.jsonl (mode "mock")."""
    writer = SessionWriter(tmp_path / "upstream.jsonl", mode="mock", url="ws://127.0.0.1")
    upstream = Upstream("", writer.path)

    def attach(connection: RecordingServerConnection) -> FrameTap:
        upstream.connections.append(connection)
        return FrameTap(writer, writer.new_conn(), "server")

    def process_request(connection: ServerConnection, request: Any) -> None:
        upstream.requests.append(request)

    async def guarded(ws: ServerConnection) -> None:
        try:
            await handler(ws)
        except Exception:
            pass

    serve_kwargs.setdefault("max_size", None)
    serve_kwargs.setdefault("ping_interval", None)
    serve_kwargs.setdefault("compression", None)
    async with serve(
        guarded,
        "127.0.0.1",
        0,
        create_connection=recording_connection_factory(attach),
        process_request=process_request,
        **serve_kwargs,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        upstream.url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        try:
            yield upstream
        finally:
            server.close()
            await asyncio.wait_for(server.wait_closed(), 10)
            writer.close()


def records(path: Path) -> list[dict[str, Any]]:
    with SessionReader(path) as reader:
        return list(reader)


def data_frames(path: Path, conn: int | None = None, direction: str | None = None) -> list[tuple[str, str, bytes]]:
    """(dir, opcode, exact bytes) of every data frame, in file order."""
    out = []
    for record in records(path):
        if record["kind"] != "frame":
            continue
        if conn is not None and record["conn"] != conn:
            continue
        if direction is not None and record["dir"] != direction:
            continue
        payload = record["text"].encode() if "text" in record else base64.b64decode(record["data_b64"])
        out.append((record["dir"], record["opcode"], payload))
    return out


def kinds(path: Path, kind: str, conn: int | None = None) -> list[dict[str, Any]]:
    return [r for r in records(path) if r["kind"] == kind and (conn is None or r["conn"] == conn)]


UPGRADE_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    "Sec-WebSocket-Version": "13",
}


async def raw_handshake(port: int, headers: dict[str, str], path: str = "/v1/realtime?model=gpt-realtime") -> tuple[int, bytes]:
    """Sends an upgrade request with exactly `headers` (a browser's Origin, a rebinding page's Host)
    and returns the relay's status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"GET {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items()), "", ""]
        writer.write("\r\n".join(lines).encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split(b" ", 2)[1])
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        body = await asyncio.wait_for(reader.readexactly(length), 10) if status != 101 else b""
        return status, body
    finally:
        writer.close()
