"""Serving WebSocket connections on frame pumps (the mock server and replay's served side): `serve`.

Each accepted TCP connection is a `ServerConnection` (a `FramePump` over websockets' sans-I/O
`ServerProtocol`). `attach(connection)` may give it a `FrameTap` to record it; `answer(connection,
request)` decides the upgrade (a `Response` refuses it, None accepts); `handler(connection)` then
serves it and the connection is closed when the handler returns (1011 if it raised), as
websockets' `serve` does. With `http_handler`, requests other than GET (a POST with a body) are answered
by `http_handler` instead, on the same port (tui.wire.front).
"""

from __future__ import annotations

import asyncio
import http
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import USER_AGENT, Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from tui.wire.front import DEFAULT_MAX_BODY, FrontDoor, HttpHandler
from tui.wire.pump import FramePump
from tui.wire.tap import FrameTap

log = logging.getLogger("rtui.server")


class ServerConnection(FramePump):
    """A served connection; `tap` records it when one was attached."""

    tap: FrameTap | None = None

    def attach(self, tap: FrameTap) -> None:
        self.tap = tap
        self.listener = tap


Handler = Callable[[ServerConnection], Awaitable[None]]
Answer = Callable[[ServerConnection, Request], "Response | None | Awaitable[Response | None]"]


class Server:
    """Listening sockets and the connections they accepted; `close()` ends both."""

    def __init__(
        self, handler: Handler, *, make_connection: Callable[[], ServerConnection], answer: Answer | None = None
    ) -> None:
        self.handler = handler
        self.make_connection = make_connection
        self.user_answer = answer
        self.connections: set[ServerConnection] = set()
        self.handlers: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self._closed = asyncio.get_running_loop().create_future()

    @property
    def sockets(self) -> Sequence[Any]:
        assert self.server is not None
        return self.server.sockets

    def _new_connection(self) -> ServerConnection:
        connection = self.make_connection()
        # The pump hands itself to `answer`, so this one gets a ServerConnection; typed for any pump.
        connection.answer = self._answer  # type: ignore[assignment]
        self.connections.add(connection)
        connection.add_lost_callback(lambda: self.connections.discard(connection))
        task = asyncio.get_running_loop().create_task(self._serve(connection))
        self.handlers.add(task)
        task.add_done_callback(self.handlers.discard)
        return connection

    async def _answer(self, connection: ServerConnection, request: Request) -> Response:
        assert isinstance(connection.protocol, ServerProtocol)
        response: Response | None = None
        if self.user_answer is not None:
            answered = self.user_answer(connection, request)
            response = await answered if inspect.isawaitable(answered) else answered
        if response is None:
            response = connection.protocol.accept(request)
        response.headers["Server"] = USER_AGENT
        if response.status_code == http.HTTPStatus.SWITCHING_PROTOCOLS and not self.is_serving():
            response = connection.protocol.reject(http.HTTPStatus.SERVICE_UNAVAILABLE, "Server is shutting down.\n")
        return response

    async def _serve(self, connection: ServerConnection) -> None:
        try:
            await connection.opened()
        except Exception:
            return  # refused, or broken during the handshake: nothing to serve
        try:
            await self.handler(connection)
        except ConnectionClosed:
            pass
        except Exception:
            log.error("connection handler failed", exc_info=True)
            await connection.close(CloseCode.INTERNAL_ERROR)
            return
        await connection.close()

    def is_serving(self) -> bool:
        return self.server is not None and self.server.is_serving()

    def close(self, close_connections: bool = True) -> None:
        """Stops listening and, with `close_connections`, closes open connections with 1001."""
        asyncio.get_running_loop().create_task(self._close(close_connections))

    async def _close(self, close_connections: bool) -> None:
        if self.server is not None:
            self.server.close()
        if close_connections:
            closing = [asyncio.ensure_future(c.close(CloseCode.GOING_AWAY)) for c in self.connections if c.state is State.OPEN]
            if closing:
                await asyncio.wait(closing)
        if self.server is not None:
            await self.server.wait_closed()
        if self.handlers:
            await asyncio.wait(self.handlers)
        if not self._closed.done():
            self._closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def serve_forever(self) -> None:
        assert self.server is not None
        await self.server.serve_forever()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()


async def serve(
    handler: Handler,
    host: str | None,
    port: int | None,
    *,
    attach: Callable[[ServerConnection], FrameTap | None] | None = None,
    answer: Answer | None = None,
    select_subprotocol: Callable[[ServerConnection, Sequence[str]], str | None] | None = None,
    max_size: int | None = 2**20,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    close_timeout: float | None = 10.0,
    connection_class: type[ServerConnection] = ServerConnection,
    http_handler: HttpHandler | None = None,
    max_http_body: int = DEFAULT_MAX_BODY,
    **create_server: Any,
) -> Server:
    """Starts serving on `host:port` (`create_server` goes to `loop.create_server`, e.g. `reuse_port`);
    `http_handler` answers the plain HTTP requests (anything but GET), bodies up to `max_http_body` bytes."""
    server: Server

    def make_connection() -> ServerConnection:
        connection: ServerConnection | None = None

        def choose(protocol: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
            assert select_subprotocol is not None and connection is not None
            chosen = select_subprotocol(connection, offered)
            return Subprotocol(chosen) if chosen is not None else None

        protocol = ServerProtocol(select_subprotocol=choose if select_subprotocol else None, max_size=max_size)
        connection = connection_class(
            protocol, ping_interval=ping_interval, ping_timeout=ping_timeout, close_timeout=close_timeout
        )
        if attach is not None:
            tap = attach(connection)
            if tap is not None:
                connection.attach(tap)
        return connection

    server = Server(handler, make_connection=make_connection, answer=answer)
    loop = asyncio.get_running_loop()
    if http_handler is None:
        factory: Callable[[], asyncio.BaseProtocol] = server._new_connection
    else:

        def factory() -> asyncio.BaseProtocol:
            return FrontDoor(server._new_connection, http_handler, max_http_body)

    server.server = await loop.create_server(factory, host, port, **create_server)
    return server
