"""Reaching a WebSocket server through an HTTP proxy: `proxy_from_environment`, `open_tunnel`.

The proxy is chosen as websockets chooses it (RFC 6455 "Proxy Usage": `ws_proxy`/`wss_proxy`
first, then the HTTPS proxy, then for `ws://` the HTTP proxy, unless `no_proxy` covers the host),
and the tunnel is an HTTP `CONNECT`. SOCKS proxies are refused with a clear error: rtui does not
ship a SOCKS client.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
from urllib.parse import unquote, urlsplit

from websockets.exceptions import InvalidProxy, ProxyError

_MAX_REPLY = 16 * 1024  # a proxy's answer to CONNECT is a status line and a few headers


def proxy_from_environment(host: str, port: int, secure: bool) -> str | None:
    if urllib.request.proxy_bypass(f"{host}:{port}"):
        return None
    proxies = urllib.request.getproxies()
    for scheme in ("wss", "socks", "https") if secure else ("ws", "socks", "https", "http"):
        proxy = proxies.get(scheme)
        if proxy is not None:
            return "socks5h://" + proxy[7:] if scheme == "socks" and proxy.startswith("http://") else proxy
    return None


class _ConnectReply(asyncio.Protocol):
    """Reads the proxy's reply to CONNECT, up to the blank line that ends its headers."""

    def __init__(self) -> None:
        self.status: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._data = b""

    def data_received(self, data: bytes) -> None:
        self._data += data
        if self.status.done():
            return
        if b"\r\n\r\n" in self._data:
            status_line = self._data.split(b"\r\n", 1)[0].split()
            if len(status_line) >= 2 and status_line[1].isdigit():
                self.status.set_result(int(status_line[1]))
            else:
                self.status.set_exception(ProxyError(f"the proxy's reply is not HTTP: {status_line[:3]!r}"))
        elif len(self._data) > _MAX_REPLY:
            self.status.set_exception(ProxyError("the proxy's reply to CONNECT is too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.status.done():
            self.status.set_exception(ProxyError("the proxy closed the connection during CONNECT"))


async def open_tunnel(proxy: str, host: str, port: int) -> asyncio.Transport:
    """A transport to `host:port` through the HTTP(S) proxy at URL `proxy`, ready for a protocol
    (`transport.set_protocol`) or for TLS (`loop.start_tls`)."""
    parts = urlsplit(proxy)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidProxy(proxy, "rtui reaches servers only through HTTP proxies (http:// or https://)")
    loop = asyncio.get_running_loop()
    reply = _ConnectReply()
    transport, _ = await loop.create_connection(
        lambda: reply,
        parts.hostname,
        parts.port or (443 if parts.scheme == "https" else 80),
        ssl=ssl.create_default_context() if parts.scheme == "https" else None,
    )
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}")
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        status = await reply.status
    except BaseException:
        transport.abort()
        raise
    if status != 200:
        transport.abort()
        raise ProxyError(f"proxy rejected connection: HTTP {status}")
    return transport
