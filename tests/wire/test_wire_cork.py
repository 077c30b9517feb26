"""A client's frames written in one event-loop turn leave in one socket write, and none is lost or
held back: against a real server on 127.0.0.1, and the transport wrapper's own rules."""

from __future__ import annotations

import asyncio

from tests.wire_support import scripted_server
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.cork import CorkedTransport


class CountingTransport:
    """Stands for an asyncio transport: keeps each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.eof = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.aborted = self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_a_turns_first_write_leaves_at_once_and_the_rest_together_at_its_end():
    inner = CountingTransport()
    corked = CorkedTransport(inner)  # type: ignore[arg-type]
    for n in range(5):
        corked.write(b"frame%d;" % n)
    assert inner.writes == [b"frame0;"] and corked.get_write_buffer_size() == 28
    await asyncio.sleep(0)
    assert inner.writes == [b"frame0;", b"frame1;frame2;frame3;frame4;"]
    await asyncio.sleep(0)
    corked.write(b"alone")  # a new turn: a live audio chunk is not held back
    assert inner.writes[2:] == [b"alone"]


async def test_a_burst_past_the_limit_is_written_without_waiting_for_the_turn():
    inner = CountingTransport()
    corked = CorkedTransport(inner, limit=100)  # type: ignore[arg-type]
    for _ in range(8):
        corked.write(b"x" * 30)
    assert [len(w) for w in inner.writes] == [30, 120]  # the fifth write reached the limit
    await asyncio.sleep(0)
    assert [len(w) for w in inner.writes] == [30, 120, 90]


async def test_closing_writes_what_waits_first_and_aborting_drops_it():
    inner = CountingTransport()
    corked = CorkedTransport(inner)  # type: ignore[arg-type]
    corked.write(b"data frame")
    corked.write(b"close frame")
    corked.write_eof()
    assert inner.writes == [b"data frame", b"close frame"] and inner.eof
    corked.write(b"last")
    corked.close()
    assert inner.writes[-1] == b"last" and inner.closing

    inner = CountingTransport()
    corked = CorkedTransport(inner)  # type: ignore[arg-type]
    corked.write(b"sent")
    corked.write(b"never sent")
    corked.abort()
    await asyncio.sleep(0)
    assert inner.writes == [b"sent"] and inner.aborted
    assert corked.get_extra_info("peername") == "info:peername"


async def test_writes_after_the_connection_was_lost_are_dropped_not_raised():
    inner = CountingTransport()
    corked = CorkedTransport(inner)  # type: ignore[arg-type]
    corked.write(b"sent")
    corked.write(b"too late")
    inner.closing = True
    await asyncio.sleep(0)
    assert inner.writes == [b"sent"]


async def test_a_burst_arrives_whole_and_in_order_and_a_lone_frame_is_not_held_back():
    received: list[str] = []

    async def collect(ws):
        async for message in ws:
            received.append(message)
            if message == "ping?":
                await ws.send("pong!")

    async with scripted_server(collect) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        burst = [f'{{"type":"input_audio_buffer.append","n":{n},"audio":"{"A" * 1300}"}}' for n in range(500)]
        for text in burst:
            await ws.send(text)
        # One frame on its own, then nothing else sent: it must still leave.
        await ws.send("ping?")
        assert await asyncio.wait_for(ws.recv(), 5) == "pong!"
        await ws.close()
    assert received == [*burst, "ping?"]
