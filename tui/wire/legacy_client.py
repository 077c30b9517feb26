"""The relay's upstream leg, still on websockets' asyncio client (tui.wire.proxy patches its
protocol; it moves to the frame pump, tui.wire.pump, next, and this module goes with it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.http11 import Request, Response

from tui.wire.client import ConnectOptions, is_loopback, proxy_for
from tui.wire.cork import CorkedTransport
from tui.wire.reads import read_from_heap
from tui.wire.tap import FrameTap
from tui.wire.writer import SessionWriter

_ABORT_GRACE_S = 1.0


class RecordingClientConnection(ClientConnection):
    """A `ClientConnection` whose frames, handshake and ending go to a `FrameTap` when one is attached."""

    tap: FrameTap | None = None
    cork_writes = True  # see tui.wire.cork; the relay batches its own writes

    def connection_made(self, transport: Any) -> None:
        read_from_heap(transport)
        super().connection_made(CorkedTransport(transport) if self.cork_writes else transport)

    def attach(self, tap: FrameTap, url: str, proxy: str | None = None) -> None:
        """`proxy`: the proxy the connection goes through, recorded with the request (evidence for
        diagnose's proxy-environment finding)."""
        self.tap = tap
        tap.install(self.protocol)
        send_request = self.protocol.send_request
        process_response = self.protocol.process_response

        def recording_send_request(request: Request) -> None:
            if proxy is None:
                tap.on_request(request, url)
            else:
                tap.on_request(request, url, proxy=tap.writer.redactor.url(proxy))
            send_request(request)

        def recording_process_response(response: Response) -> None:
            # Called as the response is parsed, before any frame that follows it in the same read.
            tap.on_response(response)
            process_response(response)

        self.protocol.send_request = recording_send_request  # type: ignore[method-assign]
        self.protocol.process_response = recording_process_response  # type: ignore[method-assign]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.tap is not None:
            self.tap.on_end(self.protocol, exc)


async def open_connection(
    url: str,
    options: ConnectOptions | None = None,
    *,
    writer: SessionWriter | None = None,
    conn: int | None = None,
    connection_factory: Callable[..., RecordingClientConnection] = RecordingClientConnection,
) -> RecordingClientConnection:
    """Connects to `url`, recording into `writer` (under `conn`, or a new id) when one is given.

    `connection_factory` builds the connection from its protocol (the relay passes a subclass that
    forwards frames instead of queueing messages).

    A failed handshake or connection is recorded as an `error` record before the exception
    propagates, so a refused session still leaves evidence.
    """
    options = options or ConnectOptions()
    if writer is not None and options.api_key:
        writer.redactor.add_secret(options.api_key)
    conn_id = conn if conn is not None else (writer.new_conn() if writer is not None else 0)
    proxy = None if is_loopback(url) else options.proxy
    used_proxy = proxy_for(url) if proxy is True else (proxy or None)

    attempts: list[RecordingClientConnection] = []

    def create_connection(protocol: Any, **kwargs: Any) -> RecordingClientConnection:
        connection = connection_factory(protocol, **kwargs)
        if writer is not None:
            connection.attach(FrameTap(writer, conn_id, "client"), url, proxy=used_proxy)
        attempts.append(connection)
        return connection

    try:
        connection = await connect(
            url,
            additional_headers=options.headers(),
            subprotocols=list(options.subprotocols) or None,  # type: ignore[arg-type]
            compression=options.compression,
            max_size=options.max_size,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            open_timeout=options.open_timeout,
            close_timeout=options.close_timeout,
            proxy=proxy,
            create_connection=create_connection,
        )
    except Exception as exc:
        if writer is not None:
            writer.error(conn_id, f"connection to {writer.redactor.url(url)} failed: {type(exc).__name__}: {exc}")
            await _transport_ended(attempts)
        raise
    return connection


async def _transport_ended(attempts: Sequence[RecordingClientConnection]) -> None:
    """Waits for a failed attempt's aborted transport to end, so that its `end` record is always
    written (a caller that closes the writer at once would otherwise lose it to a race)."""
    if attempts:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_ABORT_GRACE_S):
                await attempts[-1].wait_closed()
