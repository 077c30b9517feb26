"""Peer processes for the wire benchmarks, each on 127.0.0.1 and printing `PORT` on its first line.

    python _servers.py echo    # sends every message back
    python _servers.py sink    # counts messages; answers the text "done" with "count N"

They run as separate processes so the client being measured has a core of its own on a 2-core box.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def sink(ws: ServerConnection) -> None:
    count = 0
    async for message in ws:
        if message == "done":
            await ws.send(f"count {count}")
            count = 0
        else:
            count += 1


async def main(kind: str) -> None:
    handler = {"echo": echo, "sink": sink}[kind]
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except KeyboardInterrupt:
        pass
