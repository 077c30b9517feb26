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
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tui.replay.player import Player, PongPolicy, SideOutcome
from tui.replay.report import unused_lines
from tui.replay.script import Script, recorded_path
from tui.replay.tape import Tape
from tui.replay.timing import PacingClock, Timing
from tui.stopping import stop_on_signals
from tui.wire.format import C2S
from tui.wire.server import Server, ServerConnection, serve
from tui.wire.tap import FrameTap
from tui.wire.writer import SessionWriter


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
    content_type = next(
        (value for name, value in response.get("headers") or [] if str(name).lower() == "content-type"),
        "text/plain; charset=utf-8",
    )
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return Response(status, phrase, headers, body)


class ReplayServerConnection(ServerConnection):
    pong_policy: PongPolicy | None = None


@dataclass
class ServedRecording:
    url: str
    server: Server
    writer: SessionWriter | None = None  # records the connections accepted from now on
    tape: Tape | None = None  # the next connection plays from this tape (shared), others each from their own
    outcomes: asyncio.Queue[SideOutcome] = field(default_factory=asyncio.Queue)
    recordings: list[Path] = field(default_factory=list)

    async def next_outcome(self, timeout: float | None = None) -> SideOutcome:
        async with asyncio.timeout(timeout):
            return await self.outcomes.get()


@contextlib.asynccontextmanager
async def serve_recording(
    script: Script,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    timing: Timing = Timing(),
    timeout: float = 10.0,
    writer: SessionWriter | None = None,
    record_dir: str | os.PathLike[str] | None = None,
    clock: PacingClock | None = None,
) -> AsyncIterator[ServedRecording]:
    """Serves `script`'s server side until the block exits; yields the URL and each connection's outcome.

    Connections are recorded into `writer` (or `served.writer`, which can be set later), or each into
    its own file in `record_dir` (mode "replay").
    """
    served: ServedRecording | None = None
    answered = script.answered_pings(C2S)

    def attach(connection: ServerConnection) -> FrameTap | None:
        assert isinstance(connection, ReplayServerConnection)
        connection.pong_policy = PongPolicy(answered)
        connection.answer_ping = connection.pong_policy.answer_ping  # withheld pings are still recorded
        recorder = served.writer if served is not None else writer
        if recorder is None and record_dir is not None and served is not None:
            recorder = SessionWriter.create(record_dir, mode="replay", url=served.url)
            assert recorder.path is not None  # made in record_dir
            served.recordings.append(recorder.path)
            connection.add_lost_callback(recorder.close)
        return FrameTap(recorder, recorder.new_conn(), "server") if recorder is not None else None

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        return refusal(script)

    def select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
        chosen = script.response.get("subprotocol") if script.response else None
        return chosen if chosen and chosen in offered else None

    async def handler(connection: ServerConnection) -> None:
        assert served is not None and isinstance(connection, ReplayServerConnection)
        tape, served.tape = served.tape, None
        player = Player(
            script,
            "server",
            connection,
            timing=timing,
            timeout=timeout,
            clock=clock,
            pong_policy=connection.pong_policy,
            tape=tape,
        )
        outcome = await player.run()
        served.outcomes.put_nowait(outcome)

    async with await serve(
        handler,
        host,
        port,
        attach=attach,
        answer=process_request,
        select_subprotocol=select_subprotocol,
        ping_interval=None,
        max_size=None,
        close_timeout=timeout,
        connection_class=ReplayServerConnection,
    ) as server:
        bound = server.sockets[0].getsockname()
        served = ServedRecording(f"ws://{host}:{bound[1]}{recorded_path(script)}", server, writer)
        yield served
        server.close()
        await server.wait_closed()


def outcome_lines(outcome: SideOutcome) -> list[str]:
    lines = list(outcome.notes)
    if outcome.pongs_withheld:
        lines.append(f"withheld {outcome.pongs_withheld} pong(s), as recorded")
    if outcome.divergence is not None:
        lines.append(outcome.divergence.report())
    lines.extend(unused_lines("recorded client frames never received", outcome.not_received, outcome.not_received_count))
    if outcome.not_sent:
        lines.append(f"recorded server steps not performed: {outcome.not_sent_count} (from seq {outcome.not_sent[0].seq})")
    lines.append(outcome.ending() + (": as recorded" if outcome.ok else ": DIVERGED"))
    return lines


async def serve_until_stopped(
    script: Script, *, host: str, port: int, timing: Timing, timeout: float, record_dir: str | os.PathLike[str] | None = None
) -> int:
    """`rtui mock --serve FILE`: serves until Ctrl-C, printing one report per connection."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            served = await stack.enter_async_context(
                serve_recording(script, host=host, port=port, timing=timing, timeout=timeout, record_dir=record_dir)
            )
        except OSError as exc:
            print(
                f"rtui mock: cannot listen on {host}:{port}: {exc.strerror}; pick another --port (0 picks a free one).",
                file=sys.stderr,
            )
            return 1
        print(f"listening on {served.url}", flush=True)
        print(f"serving the server side of {script.describe()} {timing.describe()}", flush=True)
        stopping = asyncio.ensure_future(stop_on_signals().wait())
        count = 0
        while True:
            getter = asyncio.ensure_future(served.outcomes.get())
            await asyncio.wait({getter, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            count += 1
            for line in outcome_lines(getter.result()):
                print(f"connection {count}: {line}", flush=True)
    return 0
