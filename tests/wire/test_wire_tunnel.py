"""Reaching a server through an HTTP proxy (tui/wire/tunnel.py): which proxy the environment names,
and a proxy that refuses the CONNECT, over a real socket on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import InvalidProxy, ProxyError

from tui.wire.client import ConnectOptions, open_connection
from tui.wire.reader import SessionReader
from tui.wire.tunnel import proxy_from_environment
from tui.wire.writer import SessionWriter


def test_the_environment_names_the_proxy_as_websockets_would(monkeypatch):
    for name in ("ws_proxy", "wss_proxy", "https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("https_proxy", "http://corp:3128")
    monkeypatch.setenv("http_proxy", "http://plain:3128")
    assert proxy_from_environment("api.openai.com", 443, secure=True) == "http://corp:3128"
    monkeypatch.setenv("wss_proxy", "http://ws-only:8080")
    assert proxy_from_environment("api.openai.com", 443, secure=True) == "http://ws-only:8080"
    assert proxy_from_environment("realtime.test", 80, secure=False) == "http://corp:3128"  # https before http
    monkeypatch.setenv("no_proxy", "api.openai.com")
    assert proxy_from_environment("api.openai.com", 443, secure=True) is None


async def test_a_proxy_that_refuses_the_tunnel_is_one_error_in_the_recording(tmp_path, monkeypatch):
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
        await writer.drain()
        writer.close()

    proxy = await asyncio.start_server(refuse, "127.0.0.1", 0)
    proxy_url = f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}"
    try:
        with SessionWriter(tmp_path / "s.jsonl", mode="live", url="ws://realtime.test") as writer:
            with pytest.raises(ProxyError, match="407"):
                await open_connection(
                    "ws://realtime.test/v1/realtime?model=gpt-realtime", ConnectOptions(proxy=proxy_url), writer=writer
                )
            with pytest.raises(InvalidProxy):
                await open_connection("ws://realtime.test/v1/realtime", ConnectOptions(proxy="socks5h://127.0.0.1:1"))
    finally:
        proxy.close()
        await proxy.wait_closed()
    with SessionReader(tmp_path / "s.jsonl") as reader:
        records = list(reader)
    errors = [r["message"] for r in records if r["kind"] == "error"]
    assert len(errors) == 1 and "ProxyError" in errors[0] and "407" in errors[0]
