"""A Realtime client connection that records every frame: `open_connection`.

It is a frame pump (tui.wire.pump: `send`, `recv`, `close`, `async for` as with websockets) with a
`FrameTap` as its listener. It speaks GA: a Bearer key and no `OpenAI-Beta` header, unless a caller
asks otherwise (the diagnose tests reproduce beta clients on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.uri import parse_uri

from tui.wire import pump
from tui.wire.pump import FramePump
from tui.wire.tap import FrameTap
from tui.wire.tunnel import proxy_from_environment
from tui.wire.writer import SessionWriter

_ABORT_GRACE_S = 1.0  # an aborted transport ends on the loop's next turn; this only bounds a surprise
AZURE_HOST_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def is_azure(url: str) -> bool:
    """Azure OpenAI endpoints take their key as an `api-key` header, not a Bearer token."""
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith(AZURE_HOST_SUFFIXES)


@dataclass
class ConnectOptions:
    """What `open_connection` negotiates. Defaults differ from `websockets` where its defaults
    cause closures of the client's own making (docs/protocol.md section 1)."""

    api_key: str | None = None
    api_key_header: str = "Authorization"  # Azure: "api-key"
    extra_headers: Sequence[tuple[str, str]] = ()
    subprotocols: Sequence[str] = ()
    max_size: int | None = 16 * 2**20  # one append may carry 15 MiB of audio
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    open_timeout: float | None = 10.0
    close_timeout: float | None = 10.0
    proxy: str | bool | None = field(default=True)  # True: from the environment; forced off for loopback

    def headers(self) -> list[tuple[str, str]]:
        headers = list(self.extra_headers)
        if self.api_key:
            value = f"Bearer {self.api_key}" if self.api_key_header.lower() == "authorization" else self.api_key
            headers.append((self.api_key_header, value))
        return headers


class RecordingClientConnection(FramePump):
    """A client `FramePump` whose frames, handshake and ending go to a `FrameTap` when one is attached."""

    tap: FrameTap | None = None

    def attach(self, tap: FrameTap, url: str, proxy: str | None = None) -> None:
        """`proxy`: the proxy the connection goes through, recorded with the request (evidence for
        diagnose's proxy-environment finding)."""
        self.tap = tap
        tap.url = url
        if proxy is not None:
            tap.request_fields["proxy"] = tap.writer.redactor.url(proxy)
        self.listener = tap


async def open_connection(
    url: str,
    options: ConnectOptions | None = None,
    *,
    writer: SessionWriter | None = None,
    conn: int | None = None,
    connection_factory: Callable[..., RecordingClientConnection] = RecordingClientConnection,
) -> RecordingClientConnection:
    """Connects to `url`, recording into `writer` (under `conn`, or a new id) when one is given.

    `connection_factory(protocol, **options)` builds the connection (replay's sets its policies).

    A failed handshake or connection is recorded as an `error` record before the exception
    propagates, so a refused session still leaves evidence.
    """
    options = options or ConnectOptions()
    if writer is not None and options.api_key:
        writer.redactor.add_secret(options.api_key)
    conn_id = conn if conn is not None else (writer.new_conn() if writer is not None else 0)
    if writer is not None:
        writer.write_each_turn()  # frames sent in a burst are written together (BENCHMARKS.md, issue 19)
    proxy = None if is_loopback(url) else options.proxy
    used_proxy = proxy_for(url) if proxy is True else (proxy or None)

    attempts: list[RecordingClientConnection] = []

    def create_connection(protocol: Any, **kwargs: Any) -> RecordingClientConnection:
        connection = connection_factory(protocol, **kwargs)
        if writer is not None:
            connection.attach(FrameTap(writer, conn_id, "client"), url, proxy=used_proxy)
        attempts.append(connection)
        return connection

    try:
        connection = await pump.connect(
            url,
            headers=options.headers(),
            subprotocols=list(options.subprotocols),
            max_size=options.max_size,
            open_timeout=options.open_timeout,
            proxy=used_proxy,
            make_pump=create_connection,
            ping_interval=options.ping_interval,
            ping_timeout=options.ping_timeout,
            close_timeout=options.close_timeout,
        )
    except Exception as exc:
        if writer is not None:
            writer.error(conn_id, f"connection to {writer.redactor.url(url)} failed: {type(exc).__name__}: {exc}")
            await _transport_ended(attempts)
        raise
    assert isinstance(connection, RecordingClientConnection)
    return connection


async def _transport_ended(attempts: Sequence[RecordingClientConnection]) -> None:
    """Waits for a failed attempt's aborted transport to end, so that its `end` record is always
    written (a caller that closes the writer at once would otherwise lose it to a race)."""
    if attempts and attempts[-1].transport is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_ABORT_GRACE_S):
                await attempts[-1].wait_closed()


def proxy_for(url: str) -> str | None:
    """The proxy for `url` from the environment, as websockets would choose it (None for loopback)."""
    if is_loopback(url):
        return None
    uri = parse_uri(url)
    return proxy_from_environment(uri.host, uri.port, uri.secure)
