"""Replaying a recording's client side against any server (`rtui replay FILE --to URL`).

It opens a recorded connection (`tui.wire.client.open_connection`) with the recorded request's own
headers (an `OpenAI-Beta` header included) and subprotocols, minus whatever redaction removed, plus
the caller's API key. Keepalive is off: the recorded pings are sent instead, at their positions.
Then `tui.replay.player` sends the recorded client frames byte for byte, each once the server
frames recorded before it have arrived, and reproduces the ending when the client closed first.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import InvalidStatus

from tui.replay.normalize import NormalizedItem
from tui.replay.player import Player, PongPolicy, SideOutcome
from tui.replay.report import Divergence
from tui.replay.script import Script, recorded_path
from tui.replay.tape import Tape
from tui.replay.timing import PacingClock, Timing
from tui.wire.client import ConnectOptions, RecordingClientConnection, open_connection
from tui.wire.format import S2C
from tui.wire.writer import SessionWriter

# Headers websockets writes itself, or that only made sense for the original connection.
_OWN_HEADERS = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "user-agent",
        "authorization",
        "api-key",
        "content-length",
    }
)
_REDACTED = "[redacted]"


def request_headers(script: Script) -> list[tuple[str, str]]:
    headers = script.request.get("headers", []) if script.request else []
    return [
        (str(name), str(value))
        for name, value in headers
        if str(name).lower() not in _OWN_HEADERS and _REDACTED not in str(value)
    ]


def request_subprotocols(script: Script) -> list[str]:
    offered = script.request.get("subprotocols", []) if script.request else []
    return [str(p) for p in offered if _REDACTED not in str(p)]


def target_url(url: str, script: Script) -> str:
    """`url`, taking the recorded path and query when `url` names only a host."""
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query:
        return url
    path = urlsplit(recorded_path(script))
    return urlunsplit((parts.scheme, parts.netloc, path.path, path.query, ""))


async def replay_client(
    script: Script,
    url: str,
    *,
    timing: Timing = Timing(),
    timeout: float = 10.0,
    writer: SessionWriter | None = None,
    clock: PacingClock | None = None,
    api_key: str | None = None,
    map_ids: bool = True,
    tape: Tape | None = None,
) -> SideOutcome:
    """Plays `script`'s client side against `url`; the new session is recorded into `writer`.

    With `map_ids`, recorded server ids inside client frames become the ids this server assigned
    (needed against a live server; a served recording assigns the recorded ids, so nothing changes).
    `tape`: play from a tape shared with the served side (tui.replay.full) instead of one of its own.
    """
    policy = PongPolicy(script.answered_pings(S2C))
    created: list[RecordingClientConnection] = []

    def connection_factory(protocol: Any, **kwargs: Any) -> RecordingClientConnection:
        connection = RecordingClientConnection(protocol, answer_ping=policy.answer_ping, **kwargs)
        created.append(connection)
        return connection

    options = ConnectOptions(
        api_key=api_key,
        extra_headers=request_headers(script),
        subprotocols=request_subprotocols(script),
        max_size=None,
        ping_interval=None,
        ping_timeout=None,
        open_timeout=timeout,
        close_timeout=timeout,
    )
    expected_status = script.status
    try:
        connection = await open_connection(target_url(url, script), options, writer=writer, connection_factory=connection_factory)
    except InvalidStatus as exc:
        for refused in created:  # let the recording see the refused connection end
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout):
                    await refused.wait_closed()
        outcome = SideOutcome("client")
        status = exc.response.status_code
        if status != expected_status:
            outcome.divergence = _handshake_divergence(expected_status, status)
        else:
            outcome.notes.append(f"the handshake was refused with {status}, as recorded")
        return outcome
    if expected_status not in (None, 101):
        with contextlib.suppress(Exception):
            await connection.close()
        outcome = SideOutcome("client")
        outcome.divergence = _handshake_divergence(expected_status, 101)
        return outcome
    player = Player(
        script, "client", connection, timing=timing, timeout=timeout, clock=clock, pong_policy=policy, map_ids=map_ids, tape=tape
    )
    return await player.run()


def _handshake_divergence(expected: int | None, actual: int) -> Divergence:
    return Divergence(
        S2C,
        0,
        f"the handshake was answered with {actual}, the recording has {expected}",
        NormalizedItem("event", {"handshake status": expected}, "handshake"),
        NormalizedItem("event", {"handshake status": actual}, "handshake"),
    )
