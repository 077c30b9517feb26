"""A small scripted WebSocket server on 127.0.0.1 for wire tests: it keeps what it received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from websockets.asyncio.server import ServerConnection, serve

Handler = Callable[[ServerConnection], Awaitable[None]]


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


@asynccontextmanager
async def scripted_server(handler: Handler = echo, **serve_kwargs) -> AsyncIterator[str]:
    """Serves `handler` on a free loopback port and yields the ws:// URL."""

    async def guarded(ws: ServerConnection) -> None:
        try:
            await handler(ws)
        except Exception:
            pass  # the client side is what the tests check

    serve_kwargs.setdefault("max_size", None)
    async with serve(guarded, "127.0.0.1", 0, **serve_kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
