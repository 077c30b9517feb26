"""Serving a recording's server side (`rtui mock --serve FILE`).

A `websockets` server on 127.0.0.1 that plays the recorded server side to every client that
connects, each connection afresh: the recorded handshake answer (a refusal with its status and
body, or the chosen subprotocol), then the recorded server frames byte for byte with causal gating,
checking the client's frames after normalization, then the recorded ending. Its own keepalive is off
(the recorded pings are sent instead) and pongs follow the recording (tui.replay.player).
Connections are recorded with the same taps as every rtui server when a writer is given.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tui.replay.player import Outcome, PongPolicy, Player
from tui.replay.script import Script
from tui.replay.timing import Clock, Timing
from tui.wire.format import C2S
from tui.wire.server import RecordingServerConnection
from tui.wire.tap import FrameTap
from tui.wire.writer import SessionWriter


def recorded_path(script: Script) -> str:
    if script.request and isinstance(script.request.get("path"), str):
        return script.request["path"]
    url = script.header.get("url") or ""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def refusal(script: Script) -> Response | None:
    """The recorded handshake refusal (e.g. 401), or None when the recording was accepted."""
    response = script.response
    if not response or response.get("status") in (None, 101):
        return None
    status = int(response["status"])
    try:
        phrase = response.get("reason") or HTTPStatus(status).phrase
    except ValueError:
        phrase = "Refused"
    body = (response.get("body") or "").encode()
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return Response(status, phrase, headers, body)


@dataclass
class ServedRecording:
    url: str
    server: Server
    writer: SessionWriter | None = None  # records the connections accepted from now on
    outcomes: asyncio.Queue[Outcome] = field(default_factory=asyncio.Queue)

    async def next_outcome(self, timeout: float | None = None) -> Outcome:
        return await asyncio.wait_for(self.outcomes.get(), timeout)


@contextlib.asynccontextmanager
async def serve_recording(
    script: Script,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    timing: Timing = Timing(),
    timeout: float = 10.0,
    writer: SessionWriter | None = None,
    clock: Clock | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> AsyncIterator[ServedRecording]:
    """Serves `script`'s server side until the block exits; yields the URL and each connection's outcome."""
    served: ServedRecording | None = None
    answered = script.answered_pings(C2S)
    policies: dict[int, PongPolicy] = {}

    def create_connection(protocol: Any, server: Server, **kwargs: Any) -> ServerConnection:
        connection = RecordingServerConnection(protocol, server, **kwargs)
        policy = PongPolicy(answered)
        policy.install(connection.protocol)  # under the tap: withheld pings are still recorded
        policies[id(connection)] = policy
        recorder = served.writer if served is not None else writer
        if recorder is not None:
            connection.attach(FrameTap(recorder, recorder.new_conn(), "server"))
        return connection

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        return refusal(script)

    def select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
        chosen = script.response.get("subprotocol") if script.response else None
        return chosen if chosen and chosen in offered else None

    async def handler(connection: ServerConnection) -> None:
        player = Player(
            script,
            "server",
            connection,
            timing=timing,
            timeout=timeout,
            clock=clock,
            pong_policy=policies.pop(id(connection), None),
        )
        outcome = await player.run()
        assert served is not None
        served.outcomes.put_nowait(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    async with serve(
        handler,
        host,
        port,
        create_connection=create_connection,
        process_request=process_request,
        select_subprotocol=select_subprotocol,
        ping_interval=None,
        max_size=None,
        compression=None,
        close_timeout=timeout,
    ) as server:
        bound = server.sockets[0].getsockname()
        served = ServedRecording(f"ws://{host}:{bound[1]}{recorded_path(script)}", server, writer)
        yield served
        server.close()
        await server.wait_closed()
