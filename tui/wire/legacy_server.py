"""The relay's client leg, still on `websockets.asyncio.server.serve` (tui.wire.proxy patches its
protocol; it moves to the frame pump, tui.wire.pump, next, and this module goes with it).

Pass `recording_connection_factory(attach)` as `serve(create_connection=...)`. `attach` is called for
each new connection and returns the `FrameTap` to record it with, or None to leave it unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from tui.wire.reads import read_from_heap
from tui.wire.tap import FrameTap


class RecordingServerConnection(ServerConnection):
    tap: FrameTap | None = None

    def connection_made(self, transport: Any) -> None:
        read_from_heap(transport)
        super().connection_made(transport)

    def attach(self, tap: FrameTap) -> None:
        self.tap = tap
        tap.install(self.protocol)
        send_response = self.protocol.send_response

        def recording_send_response(response: Response) -> None:
            tap.on_response(response)
            send_response(response)

        self.protocol.send_response = recording_send_response  # type: ignore[method-assign]

    def process_event(self, event: Any) -> None:
        if self.request is None and isinstance(event, Request) and self.tap is not None:
            host = event.headers.get("Host", "")
            self.tap.on_request(event, f"ws://{host}{event.path}")
        super().process_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.tap is not None:
            self.tap.on_end(self.protocol, exc)


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
