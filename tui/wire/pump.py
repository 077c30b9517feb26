"""The frame pump: rtui's own asyncio protocol around websockets' sans-I/O protocol.

`FramePump` feeds the bytes the transport reads to a `websockets` `ClientProtocol` or
`ServerProtocol` (`receive_data`, `receive_eof`), takes the frames it parsed from
`events_received()`, and writes what `data_to_send()` hands out. It uses only that public API, so
it sees every frame that crosses the wire, in wire order, without patching websockets:

- frames received are the protocol's events;
- frames the application sends go through the pump (`send`, `ping`, `close`);
- frames the protocol sends on its own while parsing are known from what it parsed: a pong for
  each ping, the echo of a close it had not sent (`close_rcvd_then_sent`), and the close of a
  connection it failed (a `close_sent` that appeared without a close received).

What the pump does with frames is policy, chosen per connection:

- `listener` (a `FrameListener`) is told of every frame, the handshake and the ending: the
  recording tap is one;
- `answer_ping` decides, ping by ping, whether its automatic pong leaves (replay withholds the
  pongs a recording shows missing, the mock's fault injection withholds them all);
- `cork` batches the writes of one event-loop turn (tui.wire.cork);
- `deliver_to` hands whole messages straight to a receiver instead of queueing them for `recv()`;
- the relay's (tui.wire.proxy): `relay_to` takes every frame received instead of messages,
  `relay` sends one on as it is, `hold_close_echo` holds websockets' echo of a close until
  `answer_close` sends the other leg's answer in its place, `on_failed` hears of the close the
  protocol failed the connection with.

Two facts of websockets' sans-I/O protocol the pump relies on (15 to 17; tests/wire/test_wire_pump.py and
the relay's tests would catch a change): while parsing, it writes nothing but its automatic answers,
and it writes each frame as one chunk of `data_to_send()`.

Like websockets' own asyncio connection it sends keepalive pings, bounds the closing handshake
with `close_timeout`, pauses reading when unread messages pile up, and waits for the transport to
drain before sending more. Compression is never negotiated: frames are recorded as they travel.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Literal, Protocol

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import USER_AGENT, Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from tui.wire.cork import CorkedTransport
from tui.wire.reads import READ_SIZE
from tui.wire.tunnel import open_tunnel

Message = str | bytes

_PONG_HEADER = 0x80 | Opcode.PONG  # first byte of a pong frame
_CLOSE_HEADER = 0x80 | Opcode.CLOSE
_QUEUE_HIGH = 16  # unread messages that pause reading (websockets' max_queue default),
_QUEUE_LOW = 4  # and the count that resumes it
WRITE_LIMIT = 2**15  # bytes waiting in the transport that make `send` wait (websockets' write_limit)


class FrameListener(Protocol):
    """What a pump tells of its connection, in wire order."""

    def frame_received(self, frame: Frame) -> None: ...

    def frame_sent(self, frame: Frame) -> None: ...

    def handshake_request(self, request: Request) -> None: ...

    def handshake_response(self, response: Response) -> None: ...

    def ended(self, pump: FramePump, exc: BaseException | None) -> None: ...


class FramePump(asyncio.BufferedProtocol):
    """One WebSocket connection: the sans-I/O `protocol` driven over an asyncio transport."""

    def __init__(
        self,
        protocol: ClientProtocol | ServerProtocol,
        *,
        listener: FrameListener | None = None,
        answer_ping: Callable[[bytes], bool] | None = None,
        cork: bool = True,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float | None = 10.0,
    ) -> None:
        self.protocol = protocol
        self.listener = listener
        self.answer_ping = answer_ping
        self.cork = cork
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.request: Request | None = None
        self.response: Response | None = None
        self.latency = 0.0
        self.transport: asyncio.Transport | CorkedTransport | None = None
        self._read_buffer = memoryview(bytearray(READ_SIZE))  # reused for every read (tui.wire.reads)
        self._loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._messages: deque[Message] = deque()
        self._message_waiter: asyncio.Future[None] | None = None
        self._receiver: Callable[[Message], None] | None = None
        self._fragments: list[bytes] = []
        self._fragment_opcode: Opcode | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._failed = False  # this side failed the connection: frames parsed after are not delivered
        # The relay's policies: every frame received goes to `relay_to` instead of being assembled
        # into messages; `hold_close_echo()` True holds websockets' echo of a close received until
        # `answer_close`; `on_failed(close)` hears of the close the protocol failed the connection with.
        self.relay_to: Callable[[Frame], None] | None = None
        self.hold_close_echo: Callable[[], bool] | None = None
        self.on_failed: Callable[[Close], None] | None = None
        self._held_echo: list[bytes] | None = None  # the echo and what follows it (a server's EOF)
        self.close_sent: Close | None = None  # the close frame this side really sent
        self.first_close: Literal["sent", "received"] | None = None  # which close frame came first, in wire order
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._close_timer: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.Task[None] | None = None
        # A server's answer to the upgrade request: a Response (from `protocol.accept` or
        # `protocol.reject`), or None to accept it as it is.
        self.answer: Callable[[FramePump, Request], Awaitable[Response | None]] | None = None
        self._answering: asyncio.Task[None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.set_write_buffer_limits(WRITE_LIMIT)
        self.transport = CorkedTransport(transport) if self.cork else transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        # The protocol copies what it is fed into its own buffer, so the read buffer is reused.
        # websockets types the data bytes, and appends any buffer.
        self.data_received(self._read_buffer[:nbytes])  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        close_sent = self.protocol.close_sent
        self.protocol.receive_data(data)
        self._after_receiving(close_sent)

    def eof_received(self) -> None:
        close_sent = self.protocol.close_sent
        self.protocol.receive_eof()
        self._after_receiving(close_sent)
        # Returning None closes the transport: WebSocket ends with its own closing handshake,
        # so nothing is written after the peer's EOF.

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._answering is not None:
            self._answering.cancel()
        self.protocol.receive_eof()  # idempotent; the protocol's state becomes CLOSED
        self.protocol.data_to_send()  # nothing can be written any more
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._keepalive is not None:
            self._keepalive.cancel()
        for waiter, _ in self._pings.values():
            if not waiter.done():
                waiter.set_exception(self.protocol.close_exc)
                waiter.exception()  # retrieved: a ping nobody awaits does not warn
        self._pings.clear()
        if not self._opened.done():
            self._opened.set_exception(exc or ConnectionError("connection closed during the opening handshake"))
            self._opened.exception()
        self._wake_reader()
        self.resume_writing()
        if self.listener is not None:
            self.listener.ended(self, exc)
        self._lost.set_result(None)

    # -- receiving ---------------------------------------------------------------------------------

    def _after_receiving(self, close_sent_before: Close | None) -> None:
        protocol = self.protocol
        events = protocol.events_received()
        writes = protocol.data_to_send()
        pongs: list[bool] = []  # the automatic pongs in `writes`, in order: True leaves, False is withheld
        listener = self.listener
        echoed = False
        for event in events:
            if isinstance(event, Frame):
                if listener is not None:
                    listener.frame_received(event)
                opcode = event.opcode
                if opcode is Opcode.PING:
                    data = bytes(event.data)
                    answered = self.answer_ping is None or self.answer_ping(data)
                    pongs.append(answered)
                    if answered and listener is not None:
                        listener.frame_sent(Frame(Opcode.PONG, data))
                elif opcode is Opcode.PONG:
                    self._acknowledge(bytes(event.data))
                elif opcode is Opcode.CLOSE:
                    if self.first_close is None:
                        self.first_close = "received"
                    if close_sent_before is None and protocol.close_rcvd_then_sent:
                        echoed = True
                        if self.hold_close_echo is not None and self.hold_close_echo():
                            writes, self._held_echo = _split_at_close(writes)
                        else:
                            self._sent(Frame(Opcode.CLOSE, event.data))
                elif self.relay_to is None and not self._failed:
                    self._assemble(event)
                if self.relay_to is not None:
                    self.relay_to(event)
            elif isinstance(event, Response):
                self._on_response(event)
            elif isinstance(event, Request):
                self._on_request(event)
        if close_sent_before is None and protocol.close_sent is not None and not echoed:
            # The protocol failed the connection while parsing (a protocol error, a message too big).
            self._sent(Frame(Opcode.CLOSE, protocol.close_sent.serialize()))
            if self.on_failed is not None:
                self.on_failed(protocol.close_sent)
        if pongs and not all(pongs):
            writes = _without_withheld_pongs(writes, pongs)
        self._write(writes)

    def _assemble(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
            if not frame.fin:
                return
            assert self._fragment_opcode is not None  # websockets refuses a continuation that starts nothing
            data, opcode = b"".join(self._fragments), self._fragment_opcode
            self._fragments, self._fragment_opcode = [], None
        elif not frame.fin:
            self._fragments, self._fragment_opcode = [bytes(frame.data)], opcode
            return
        else:
            data = bytes(frame.data)
        if opcode is Opcode.TEXT:
            try:
                message: Message = data.decode()
            except UnicodeDecodeError as exc:
                self.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                return
        else:
            message = data
        if self._receiver is not None:
            self._receiver(message)
            return
        self._messages.append(message)
        if len(self._messages) >= _QUEUE_HIGH and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter, self._message_waiter = self._message_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def deliver_to(self, receiver: Callable[[Message], None] | None) -> None:
        """Hands each whole message to `receiver` as it is parsed instead of queueing it for
        `recv()`; the messages already queued are handed over first, in order."""
        self._receiver = receiver
        if receiver is not None:
            while self._messages:
                receiver(self._messages.popleft())
            self._resume_reading()

    async def recv(self) -> Message:
        while not self._messages:
            if self._lost.done():
                raise self.protocol.close_exc
            self._message_waiter = self._loop.create_future()
            await self._message_waiter
        message = self._messages.popleft()
        if len(self._messages) <= _QUEUE_LOW:
            self._resume_reading()
        return message

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    async def __aiter__(self) -> AsyncIterator[Message]:
        """Messages until the connection closes: normally ends the loop, an error raises."""
        while True:
            try:
                yield await self.recv()
            except ConnectionClosedOK:
                return

    # -- sending -----------------------------------------------------------------------------------

    def _sent(self, frame: Frame) -> None:
        if frame.opcode is Opcode.CLOSE:
            self.close_sent = Close.parse(frame.data)
            if self.first_close is None:
                self.first_close = "sent"
        if self.listener is not None:
            self.listener.frame_sent(frame)

    def relay(self, frame: Frame) -> None:
        """Sends a frame received elsewhere as it is: the same opcode, bytes and FIN bit (the relay).
        The caller makes sure the connection is open (control frames: open or closing)."""
        protocol, data, opcode = self.protocol, frame.data, frame.opcode
        if self._held_echo is not None:
            # The far end closed and waits for the answer; until it comes, it may still get frames:
            # they go as they are, before the answer (websockets already counts this side closing).
            self._sent(frame)
            self._write([frame.serialize(mask=isinstance(protocol, ClientProtocol), extensions=[])])
            return
        if opcode is Opcode.TEXT:
            protocol.send_text(data, frame.fin)
        elif opcode is Opcode.BINARY:
            protocol.send_binary(data, frame.fin)
        elif opcode is Opcode.CONT:
            protocol.send_continuation(data, frame.fin)
        elif opcode is Opcode.PING:
            protocol.send_ping(data)
        elif opcode is Opcode.PONG:
            protocol.send_pong(data)
        else:
            raise ValueError(f"relay() sends data and ping/pong frames, not {opcode.name}")
        self._sent(frame)
        self._flush()

    def answer_close(self, data: bytes) -> None:
        """Sends `data` as the answer to the close received and held (`hold_close_echo`), in place of
        the echo websockets prepared: the relay answers with the other leg's close."""
        held, self._held_echo = self._held_echo, None
        if held is None or self.transport is None or self.transport.is_closing():
            return
        frame = Frame(Opcode.CLOSE, data)
        self._sent(frame)
        self._write([frame.serialize(mask=isinstance(self.protocol, ClientProtocol), extensions=[]), *held[1:]])

    @property
    def holds_close(self) -> bool:
        """A close was received and its answer is held (`hold_close_echo`)."""
        return self._held_echo is not None

    def _write(self, writes: list[bytes]) -> None:
        transport = self.transport
        if transport is None:
            return
        # The chunks go in one write (websockets hands out a chunk per frame); an empty chunk is its EOF.
        chunks: list[bytes] = []
        for data in writes:
            if data:
                chunks.append(data)
                continue
            if chunks:
                transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
                chunks = []
            if transport.can_write_eof():
                transport.write_eof()
        if chunks:
            transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if self.protocol.close_expected() and self._close_timer is None and self.close_timeout is not None:
            self._close_timer = self._loop.call_later(self.close_timeout, transport.abort)

    def _flush(self) -> None:
        self._write(self.protocol.data_to_send())

    async def writable(self) -> None:
        """Waits until a frame may be sent (the transport drained); raises the connection's ending once
        it is closed or closing (websockets does the same: the close code and reason are known only
        once it is closed)."""
        if self.protocol.state is not State.OPEN:
            await asyncio.shield(self._lost)
            raise self.protocol.close_exc
        await self._drain()
        if self._lost.done():
            raise self.protocol.close_exc

    async def _drain(self) -> None:
        while self._writing_paused and not self._lost.done():
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    async def send(self, message: Message, *, text: bool | None = None) -> None:
        """Sends one text (`str`) or binary (`bytes`) message in one frame (`text=True` sends
        bytes as a text frame as they are)."""
        await self.writable()
        self.send_now(message, text=text)
        await self._drain()  # as websockets does: the frame is written, then the transport drains

    def send_now(self, message: Message | bytes, *, text: bool | None = None) -> None:
        """Sends one message at once, without waiting for the transport to drain (replay sends
        recorded frames exactly: `text=True` with bytes sends them as a text frame as they are).
        The caller makes sure the connection is open."""
        self.send_batch(((message, text),))

    def send_batch(self, messages: Iterable[tuple[Message | bytes, bool | None]]) -> None:
        """Sends `(message, text)` pairs as `send_now` does, one frame each, in one write: a replay
        sends the frames it has ready in one turn as a batch, and one `send` syscall (one wakeup of
        the peer) per frame would cost more than building them (BENCHMARKS.md, issue 19)."""
        protocol = self.protocol
        for message, text in messages:
            if text is None:
                text = isinstance(message, str)
            data = message.encode() if isinstance(message, str) else message
            if text:
                protocol.send_text(data)
            else:
                protocol.send_binary(data)
            self._sent(Frame(Opcode.TEXT if text else Opcode.BINARY, data))
        self._flush()

    async def ping(self, data: bytes | None = None) -> asyncio.Future[float]:
        """Sends a ping; the returned future ends with the latency once its pong arrives."""
        await self.writable()
        if data is None:
            data = os.urandom(4)
            while data in self._pings:
                data = os.urandom(4)
        waiter: asyncio.Future[float] = self._loop.create_future()
        self._pings[data] = (waiter, time.monotonic())
        self.protocol.send_ping(data)
        self._sent(Frame(Opcode.PING, data))
        self._flush()
        return waiter

    def _acknowledge(self, data: bytes) -> None:
        """A pong answers its ping and every ping sent before it (RFC 6455 lets a peer skip some)."""
        if data not in self._pings:
            return
        now = time.monotonic()
        for key in list(self._pings):
            waiter, sent_at = self._pings.pop(key)
            if not waiter.done():
                self.latency = now - sent_at
                waiter.set_result(self.latency)
            if key == data:
                break

    def send_close(self, code: int | None = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Starts the closing handshake if nothing closed yet (`code=None`: an empty close frame)."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._sent(Frame(Opcode.CLOSE, b"" if code is None else Close(code, reason).serialize()))
            self._flush()

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Starts the closing handshake (if nothing closed yet) and waits for the transport to end."""
        if self.protocol.state is State.OPEN:
            self.send_close(code, reason)
        elif self.protocol.state is State.CONNECTING and self.transport is not None:
            self.transport.abort()
        await self.wait_closed()

    def fail(self, code: int, reason: str = "") -> None:
        """Fails the connection: sends a close (when none was sent yet) and stops reading frames."""
        self._failed = True
        close_sent = self.protocol.close_sent
        self.protocol.fail(code, reason)
        if close_sent is None and self.protocol.close_sent is not None:
            self._sent(Frame(Opcode.CLOSE, self.protocol.close_sent.serialize()))
        self._flush()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)

    def add_lost_callback(self, callback: Callable[[], None]) -> None:
        """Calls `callback` once the transport has ended (after the listener heard of it)."""
        self._lost.add_done_callback(lambda _: callback())

    @property
    def lost(self) -> bool:
        return self._lost.done()

    @property
    def state(self) -> State:
        return self.protocol.state

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason

    @property
    def subprotocol(self) -> str | None:
        return self.protocol.subprotocol

    @property
    def pending_writes(self) -> int:
        """Frames written in this event-loop turn and not yet handed to the socket (the cork's)."""
        return self.transport.pending if isinstance(self.transport, CorkedTransport) else 0

    @property
    def remote_address(self) -> Any:
        return self.transport.get_extra_info("peername") if self.transport is not None else None

    # -- the opening handshake ---------------------------------------------------------------------

    def start_handshake(self, request: Request) -> None:
        """Client side: sends the upgrade request; `opened()` then waits for the response."""
        assert isinstance(self.protocol, ClientProtocol)
        self.request = request
        if self.listener is not None:
            self.listener.handshake_request(request)
        self.protocol.send_request(request)
        self._flush()

    async def opened(self) -> None:
        """Waits for the opening handshake; raises what made it fail (`InvalidStatus`, ...)."""
        await asyncio.shield(self._opened)

    def _on_response(self, response: Response) -> None:
        self.response = response
        if self.listener is not None:
            self.listener.handshake_response(response)
        self._handshake_done(response)

    def _on_request(self, request: Request) -> None:
        self.request = request
        if self.listener is not None:
            self.listener.handshake_request(request)
        if self.answer is None:
            assert isinstance(self.protocol, ServerProtocol)
            self.respond(self.protocol.accept(request))
        else:
            self._answering = self._loop.create_task(self._answer(self.answer, request))

    async def _answer(self, answer: Callable[[FramePump, Request], Awaitable[Response | None]], request: Request) -> None:
        assert isinstance(self.protocol, ServerProtocol)
        try:
            response = await answer(self, request)
        except Exception:
            self.protocol.logger.error("opening handshake failed", exc_info=True)
            response = self.protocol.reject(500, "Failed to open a WebSocket connection.\nSee server log for more information.\n")
        if self._lost.done():
            return  # the client left while the answer was worked out
        self.respond(response if response is not None else self.protocol.accept(request))

    def respond(self, response: Response) -> None:
        """Server side: answers the upgrade request (`protocol.accept(...)` or `protocol.reject(...)`)."""
        assert isinstance(self.protocol, ServerProtocol)
        self.response = response
        if self.listener is not None:
            self.listener.handshake_response(response)
        self.protocol.send_response(response)
        self._flush()
        self._handshake_done(response)

    def _handshake_done(self, response: Response) -> None:
        if self._opened.done():
            return
        exc = self.protocol.handshake_exc
        if exc is None and response.status_code != 101:
            exc = ConnectionError("the opening handshake was refused")
        if exc is not None:
            self._opened.set_exception(exc)
            self._opened.exception()
            return
        self._opened.set_result(None)
        if self.ping_interval is not None:
            self._keepalive = self._loop.create_task(self._keep_alive(self.ping_interval))

    async def _keep_alive(self, interval: float) -> None:
        """Pings every `interval`; fails the connection (1011) when a pong is `ping_timeout` late."""
        latency = 0.0
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(interval - latency)  # a slow pong shortens the wait, as in websockets
                pong = await self.ping()
                if self.ping_timeout is None:
                    continue
                try:
                    async with asyncio.timeout(self.ping_timeout):
                        latency = await pong
                except TimeoutError:
                    if self.protocol.state is State.OPEN:
                        self.fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
                    return


def _split_at_close(writes: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """What the protocol wrote while parsing, before its close echo, and from the echo on."""
    for index, data in enumerate(writes):
        if data and data[0] == _CLOSE_HEADER:
            return writes[:index], writes[index:]
    raise AssertionError("websockets echoed a close without writing one")


def _without_withheld_pongs(writes: list[bytes], pongs: list[bool]) -> list[bytes]:
    """Drops the withheld pongs from what the protocol wrote while parsing. It writes each frame
    as one chunk, and nothing but its automatic answers then, so the n-th chunk that starts as a
    pong is the answer to the n-th ping."""
    kept: list[bytes] = []
    index = 0
    for data in writes:
        if data and data[0] == _PONG_HEADER:
            answered = pongs[index] if index < len(pongs) else True
            index += 1
            if not answered:
                continue
        kept.append(data)
    return kept


async def connect(
    url: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    subprotocols: list[str] | None = None,
    max_size: int | None = 2**20,
    open_timeout: float | None = 10.0,
    proxy: str | None = None,
    make_pump: Callable[..., FramePump] = FramePump,
    **options: Any,
) -> FramePump:
    """Opens a client connection to a `ws://` or `wss://` URL, through the HTTP proxy at `proxy`
    if one is given; the pump is `make_pump(protocol, **options)`."""
    uri = parse_uri(url)
    protocol = ClientProtocol(
        uri, subprotocols=[Subprotocol(s) for s in subprotocols] if subprotocols else None, max_size=max_size
    )
    request = protocol.connect()
    request.headers["User-Agent"] = USER_AGENT
    for name, value in headers or ():
        request.headers[name] = value
    loop = asyncio.get_running_loop()
    pump = make_pump(protocol, **options)
    context = ssl.create_default_context() if uri.secure else None
    try:
        async with asyncio.timeout(open_timeout):
            if proxy is None:
                await loop.create_connection(lambda: pump, uri.host, uri.port, ssl=context)
            else:
                tunnel = await open_tunnel(proxy, uri.host, uri.port)
                if context is not None:
                    # typeshed allows None; asyncio returns a transport or raises.
                    tunnel = await loop.start_tls(tunnel, pump, context, server_hostname=uri.host)  # type: ignore[assignment]
                else:
                    tunnel.set_protocol(pump)
                pump.connection_made(tunnel)
            pump.start_handshake(request)
            await pump.opened()
    except BaseException as exc:
        if pump.transport is not None:
            pump.transport.abort()
        if isinstance(exc, TimeoutError):
            raise TimeoutError("timed out during opening handshake") from exc
        raise
    return pump
