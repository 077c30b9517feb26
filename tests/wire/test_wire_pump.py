"""The frame pump (tui.wire.pump) against websockets' own asyncio client and server: it sees every
frame in wire order, including those the sans-I/O protocol sends on its own, and its policies
(withheld pongs, direct delivery) change what crosses the wire only as they say."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from tests.wire_support import scripted_server
from tui.wire import pump as wire_pump
from tui.wire.pump import FramePump
from tui.wire.server import ServerConnection as PumpServerConnection
from tui.wire.server import serve

pytestmark = pytest.mark.asyncio


class Log:
    """A `FrameListener` that keeps what it was told, as ("in"/"out", opcode name, payload)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, bytes]] = []
        self.requests: list[Request] = []
        self.responses: list[Response] = []
        self.ends: list[tuple[int | None, BaseException | None]] = []

    def frame_received(self, frame: Frame) -> None:
        self.frames.append(("in", frame.opcode.name, bytes(frame.data)))

    def frame_sent(self, frame: Frame) -> None:
        self.frames.append(("out", frame.opcode.name, bytes(frame.data)))

    def handshake_request(self, request: Request) -> None:
        self.requests.append(request)

    def handshake_response(self, response: Response) -> None:
        self.responses.append(response)

    def ended(self, pump: FramePump, exc: BaseException | None) -> None:
        self.ends.append((pump.close_code, exc))


async def test_a_client_pump_sees_every_frame_in_wire_order() -> None:
    async def handler(ws: ServerConnection) -> None:
        message = await ws.recv()
        await ws.send(f"echo {message}")
        pong = await ws.ping(b"p1")
        await pong
        await ws.send(b"\x00\x01")
        await ws.close(1000, "bye")

    log = Log()
    async with scripted_server(handler) as url:
        pump = await wire_pump.connect(url, listener=log, headers=[("X-Test", "1")])
        assert log.requests[0].headers["X-Test"] == "1"
        assert log.responses[0].status_code == 101
        await pump.send("hello")
        assert await pump.recv() == "echo hello"
        assert await pump.recv() == b"\x00\x01"
        with pytest.raises(ConnectionClosedOK):
            await pump.recv()
    assert log.frames == [
        ("out", "TEXT", b"hello"),
        ("in", "TEXT", b"echo hello"),
        ("in", "PING", b"p1"),
        ("out", "PONG", b"p1"),
        ("in", "BINARY", b"\x00\x01"),
        ("in", "CLOSE", b"\x03\xe8bye"),
        ("out", "CLOSE", b"\x03\xe8bye"),  # the protocol's echo, seen by the pump
    ]
    assert pump.close_code == 1000 and pump.close_reason == "bye"
    assert log.ends == [(1000, None)]


async def test_withheld_pongs_never_leave_and_the_others_do() -> None:
    server_log = Log()
    done = asyncio.Event()

    async def handler(pump: FramePump) -> None:
        await pump.ping(b"withheld")
        answered = await pump.ping(b"answered")
        await answered
        await pump.close()
        done.set()

    server = await serve(handler, "127.0.0.1", 0, attach=lambda connection: server_log)  # type: ignore[arg-type,return-value]
    port = server.sockets[0].getsockname()[1]
    client_log = Log()
    client = await wire_pump.connect(f"ws://127.0.0.1:{port}/", listener=client_log, answer_ping=lambda data: data != b"withheld")
    await client.wait_closed()
    await done.wait()
    server.close()
    await server.wait_closed()
    assert ("out", "PONG", b"answered") in client_log.frames
    assert ("out", "PONG", b"withheld") not in client_log.frames
    received_pongs = [f for f in server_log.frames if f[:2] == ("in", "PONG")]
    assert received_pongs == [("in", "PONG", b"answered")]


async def test_a_server_pump_records_the_upgrade_and_the_close_it_fails_with() -> None:
    log = Log()
    got: list[str | bytes] = []

    async def handler(pump: FramePump) -> None:
        async for message in pump:
            got.append(message)

    server = await serve(handler, "127.0.0.1", 0, max_size=10, attach=lambda connection: log)  # type: ignore[arg-type,return-value]
    port = server.sockets[0].getsockname()[1]
    async with ws_connect(f"ws://127.0.0.1:{port}/v1/realtime?model=x") as ws:
        await ws.send("short")
        await ws.send("x" * 50)
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
    server.close()
    await server.wait_closed()
    assert log.requests[0].path == "/v1/realtime?model=x"
    assert log.responses[0].status_code == 101
    assert got == ["short"]
    assert log.frames[0] == ("in", "TEXT", b"short")
    assert log.frames[-1][:2] == ("out", "CLOSE")
    assert log.frames[-1][2][:2] == (1009).to_bytes(2, "big")  # message too big, sent by the protocol


async def test_fragments_arrive_as_one_message_and_direct_delivery_keeps_the_order() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("first")
        await ws.send(["frag", "ment"])  # one message in three frames
        await ws.send(b"last")
        await ws.recv()

    log = Log()
    async with scripted_server(handler) as url:
        pump = await wire_pump.connect(url, listener=log)
        assert await pump.recv() == "first"
        delivered: list[str | bytes] = []
        all_three = asyncio.Event()

        def receiver(message: str | bytes) -> None:
            delivered.append(message)
            if len(delivered) == 2:
                all_three.set()

        pump.deliver_to(receiver)
        await all_three.wait()
        await pump.send("done")
        await pump.close()
    assert delivered == ["fragment", b"last"]
    assert [f[1] for f in log.frames if f[0] == "in"][:4] == ["TEXT", "TEXT", "CONT", "CONT"]


async def test_sending_on_a_closed_pump_raises_its_ending() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.close(1001, "going")

    async with scripted_server(handler) as url:
        pump = await wire_pump.connect(url)
        await pump.wait_closed()
        with pytest.raises(ConnectionClosed) as raised:
            await pump.send("late")
    assert raised.value.rcvd is not None and raised.value.rcvd.code == 1001


@asynccontextmanager
async def _refusing_server() -> AsyncIterator[int]:
    def refuse(connection: PumpServerConnection, request: Request) -> Response:
        assert isinstance(connection.protocol, ServerProtocol)
        return connection.protocol.reject(403, "no\n")

    async def never(pump: FramePump) -> None:
        raise AssertionError("a refused connection has no handler")

    server = await serve(never, "127.0.0.1", 0, answer=refuse)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_refused_handshake_raises_the_status_and_records_the_response() -> None:
    from websockets.exceptions import InvalidStatus

    log = Log()
    async with _refusing_server() as port:
        with pytest.raises(InvalidStatus):
            await wire_pump.connect(f"ws://127.0.0.1:{port}/", listener=log)
    assert [r.status_code for r in log.responses] == [403]


async def test_a_held_close_echo_lets_frames_through_and_is_answered_with_another_close() -> None:
    """The relay's policy: the close received is not echoed at once; frames sent meanwhile still
    reach the closing peer, then the answer given in place of the echo."""
    log = Log()
    held = asyncio.Event()

    async def handler(pump: FramePump) -> None:
        pump.relay_to = lambda frame: held.set() if frame.opcode.name == "CLOSE" else None
        pump.hold_close_echo = lambda: True
        await held.wait()
        assert pump.holds_close
        pump.relay(Frame(Opcode.TEXT, b"still in flight"))
        pump.answer_close((4000).to_bytes(2, "big") + b"answered")
        await pump.wait_closed()

    server = await serve(handler, "127.0.0.1", 0, attach=lambda connection: log)  # type: ignore[arg-type,return-value]
    port = server.sockets[0].getsockname()[1]
    async with ws_connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.close(1000, "client first")
        # websockets' client kept reading until the answer: the frame sent meanwhile was on the wire first.
    server.close()
    await server.wait_closed()
    assert ws.close_code == 4000 and ws.close_reason == "answered"
    assert log.frames[-3:] == [
        ("in", "CLOSE", (1000).to_bytes(2, "big") + b"client first"),
        ("out", "TEXT", b"still in flight"),
        ("out", "CLOSE", (4000).to_bytes(2, "big") + b"answered"),
    ]
    assert log.ends[0][0] == 1000  # what the server side received
