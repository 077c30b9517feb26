"""Peer processes for the wire benchmarks, each on 127.0.0.1 and printing `PORT` on its first line.

    python _servers.py echo    # sends every message back
    python _servers.py sink    # counts messages; answers the text "done" with "count N"
    python _servers.py flood IDLE_S RATE [monologue]   # a Realtime-shaped server: endless real-time
                                           # response audio, and after IDLE_S seconds RATE events/s
    python _servers.py voice   # a cheap stand-in for the mock's traffic: 1.5 s of real-time
                               # response audio every 3 s, client frames read and dropped

They run as separate processes so the client being measured has a core of its own on a 2-core box.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass  # a relay in front may close with an error code (1009 for a frame over its limit)


async def sink(ws: ServerConnection) -> None:
    count = 0
    async for message in ws:
        if message == "done":
            await ws.send(f"count {count}")
            count = 0
        else:
            count += 1


def flood(idle_s: float, rate: int, monologue: bool = False):
    """Session events, then an endless response: 100 ms of 24 kHz audio every 100 ms (so playback
    never runs dry unless the client falls behind), and from `idle_s` on, `rate` events per second
    on top (the UI flood): transcript deltas, a new item every 100 (or, with `monologue`, all of
    one item that grows without end), and every fourth a `rate_limits.updated`. Client frames are
    read and dropped."""
    import base64
    import math
    import struct
    import time

    tone = b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 330 * i / 24_000))) for i in range(2_400))
    delta = base64.b64encode(tone).decode()

    async def handler(ws: ServerConnection) -> None:
        await ws.send(
            '{"type":"session.created","event_id":"e0","session":{"type":"realtime","id":"sess_flood","model":"gpt-realtime"}}'
        )
        await ws.recv()  # session.update
        await ws.send('{"type":"session.updated","event_id":"e1","session":{"type":"realtime","id":"sess_flood"}}')
        await ws.send('{"type":"response.created","event_id":"e2","response":{"id":"resp_1","status":"in_progress"}}')
        await ws.send(
            '{"type":"response.output_item.added","event_id":"e3","response_id":"resp_1","item":{"id":"item_1","type":"message","role":"assistant"}}'
        )

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        start = time.monotonic()
        n = sent = 0
        try:
            while True:
                n += 1
                elapsed = time.monotonic() - start
                if n % 10 == 1:  # every 100 ms
                    await ws.send(
                        '{"type":"response.output_audio.delta","event_id":"a%d","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"%s"}'
                        % (n, delta)
                    )
                if elapsed >= idle_s:
                    due = int((elapsed - idle_s) * rate)
                    while sent < due:
                        sent += 1
                        if monologue or sent % 4:
                            # A transcript of ordinary length: a new item every 100 deltas (unless monologue).
                            item = "item_1" if monologue else f"item_t{sent // 100}"
                            await ws.send(
                                '{"type":"response.output_audio_transcript.delta","event_id":"t%d","response_id":"resp_1","item_id":"%s","output_index":0,"content_index":0,"delta":"w "}'  # noqa: E501 - a JSON frame reads best whole
                                % (sent, item)
                            )
                        else:
                            await ws.send(
                                '{"type":"rate_limits.updated","event_id":"r%d","rate_limits":[{"name":"requests","limit":10000,"remaining":9999,"reset_seconds":0.006}]}'
                                % sent
                            )
                await asyncio.sleep(max(0.0, start + n * 0.01 - time.monotonic()))
        except ConnectionClosed:
            pass  # the client ended the session
        finally:
            reader.cancel()

    return handler


def voice():
    """The mock's traffic shape without its work (no VAD, no session logic), so that many sessions
    measure the relay in front of it rather than the upstream: session.created, then for 1.5 s of
    every 3 s one 100 ms `response.output_audio.delta` (24 kHz pcm, as the mock sends them) every
    100 ms. One ticker serves all connections, every 10 ms a tenth of them, so that sessions send at
    different moments as independent ones would. Client frames are read and dropped."""
    import base64

    delta = base64.b64encode(bytes(4_800)).decode()
    event = (
        '{"type":"response.output_audio.delta","event_id":"a","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"%s"}'
        % delta
    )
    connections: dict[ServerConnection, int] = {}  # each one's place: which tick of 10, which turn
    ticker: list[asyncio.Task] = []
    arrivals = iter(range(1 << 62))

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            n += 1
            await asyncio.sleep(max(0.0, start + n * 0.01 - loop.time()))
            for ws, place in list(connections.items()):
                if place % 10 == n % 10 and (n // 10 + place // 10) % 30 < 15:
                    try:
                        await ws.send(event)
                    except ConnectionClosed:
                        connections.pop(ws, None)

    async def handler(ws: ServerConnection) -> None:
        if not ticker:
            ticker.append(asyncio.create_task(tick()))
        await ws.send(
            '{"type":"session.created","event_id":"e0","session":{"type":"realtime","id":"sess_voice","model":"gpt-realtime"}}'
        )
        connections[ws] = next(arrivals) * 7 % 300  # spread over the 10 ticks and the 3 s of turns
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        finally:
            connections.pop(ws, None)

    return handler


async def main(kind: str, *args: str) -> None:
    if kind == "voice":
        handler = voice()
    elif kind == "flood":
        handler = flood(float(args[0]), int(args[1]), monologue=len(args) > 2 and args[2] == "monologue")
    else:
        handler = {"echo": echo, "sink": sink}[kind]
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], *sys.argv[2:]))
    except KeyboardInterrupt:
        pass
