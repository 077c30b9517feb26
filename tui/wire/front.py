"""The front door of a server that answers plain HTTP requests beside WebSocket upgrades on one port.

websockets' sans-I/O server reads only GET requests without a body (a WebSocket handshake has none),
so a `POST` (the mock's `/v1/realtime/client_secrets`) cannot reach it. `FrontDoor` is the asyncio
protocol a listening socket starts each connection with: it reads the request line, and

- a `GET` is a WebSocket upgrade: the connection is handed, with the bytes read so far, to a frame
  pump (`transport.set_protocol`), which from then on owns the socket as it would have from the start;
- anything else is read here (head and body, both bounded, within `REQUEST_TIMEOUT_S`), given to the
  caller's `HttpHandler`, and answered with its `Response`; the connection then closes (no keep-alive).

Hostile input is bounded: a head over `MAX_HEAD` bytes gets 431, a body over `max_body` 413 (before
it is read), a body without `Content-Length` 411, `Transfer-Encoding` 501, a malformed head 400, and a
request that does not arrive in time 408.
"""

from __future__ import annotations

import asyncio
import http
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response

log = logging.getLogger("rtui.server")

MAX_HEAD = 16 * 1024  # request line and headers
DEFAULT_MAX_BODY = 1024 * 1024  # a session configuration with many tools fits easily
REQUEST_TIMEOUT_S = 10.0  # for the whole request, head and body (a slow client cannot hold a socket)
UPGRADE_METHOD = b"GET"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: Headers
    body: bytes


HttpHandler = Callable[[HttpRequest], "Response | Awaitable[Response]"]


def json_response(status: int, body: object) -> Response:
    """A response with a JSON body, closing the connection after it."""
    data = orjson.dumps(body)
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Connection", "close")])
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def _plain(status: int, text: str) -> Response:
    data = text.encode()
    headers = Headers(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data))), ("Connection", "close")]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


class FrontDoor(asyncio.Protocol):
    """One accepted connection until its request line says what it is."""

    def __init__(self, upgrade: Callable[[], asyncio.BaseProtocol], handler: HttpHandler, max_body: int) -> None:
        self.upgrade = upgrade
        self.handler = handler
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: tuple[str, str, Headers] | None = None
        self._body_length = 0
        self._done = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._timer = asyncio.get_running_loop().call_later(REQUEST_TIMEOUT_S, self._timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._buffer += data
        if self._head is None:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0 and len(self._buffer) < MAX_HEAD:
                return
            if line_end >= 0 and self._buffer[:line_end].split(b" ", 1)[0] == UPGRADE_METHOD:
                self._hand_over()
                return
            self._read_head()
        if self._head is not None and len(self._buffer) >= self._body_length:
            self._answer_request()

    def _hand_over(self) -> None:
        """A GET: the frame pump takes the connection, starting with what was read."""
        assert self.transport is not None
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
        pump = self.upgrade()
        self.transport.set_protocol(pump)
        pump.connection_made(self.transport)
        data, self._buffer = memoryview(bytes(self._buffer)), bytearray()
        if isinstance(pump, asyncio.BufferedProtocol):
            while data:
                buffer = memoryview(pump.get_buffer(len(data)))
                size = min(len(buffer), len(data))
                buffer[:size] = data[:size]
                pump.buffer_updated(size)
                data = data[size:]
        else:
            assert isinstance(pump, asyncio.Protocol)
            pump.data_received(bytes(data))

    def _read_head(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) >= MAX_HEAD:
                self._reply(_plain(431, "Request header fields too large.\n"))
            return
        if end > MAX_HEAD:
            self._reply(_plain(431, "Request header fields too large.\n"))
            return
        try:
            head = self._buffer[:end].decode("ascii").split("\r\n")
            method, path, version = head[0].split(" ")
            if not version.startswith("HTTP/1."):
                raise ValueError(version)
            headers = Headers()
            for line in head[1:]:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    raise ValueError(line)
                headers[name] = value.strip()
        except (UnicodeDecodeError, ValueError):
            self._reply(_plain(400, "Malformed HTTP request.\n"))
            return
        if "Transfer-Encoding" in headers:
            self._reply(_plain(501, "Transfer-Encoding is not supported; send Content-Length.\n"))
            return
        lengths = set(headers.get_all("Content-Length"))
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
            self._reply(_plain(400, "Malformed Content-Length.\n"))
            return
        length = int(next(iter(lengths))) if lengths else 0
        if not lengths and method in ("POST", "PUT", "PATCH"):
            self._reply(_plain(411, "Content-Length required.\n"))
            return
        if length > self.max_body:
            self._reply(_plain(413, f"Request body too large (at most {self.max_body} bytes).\n"))
            return
        del self._buffer[: end + 4]
        self._head = (method, path, headers)
        self._body_length = length

    def _answer_request(self) -> None:
        assert self._head is not None
        method, path, headers = self._head
        request = HttpRequest(method, path, headers, bytes(self._buffer[: self._body_length]))
        self._done = True
        self._task = asyncio.get_running_loop().create_task(self._handle(request))

    async def _handle(self, request: HttpRequest) -> None:
        try:
            answered = self.handler(request)
            response = await answered if inspect.isawaitable(answered) else answered
        except Exception:
            log.error("HTTP handler failed", exc_info=True)
            response = _plain(500, "Internal server error.\n")
        self._reply(response)

    def _timed_out(self) -> None:
        if not self._done:
            self._reply(_plain(408, "Request timeout.\n"))

    def _reply(self, response: Response) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            response.headers["Connection"] = "close"
            self.transport.write(response.serialize())
            self.transport.close()
