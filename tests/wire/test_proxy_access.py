"""Who may use `rtui proxy` (and the API key it adds): browser pages from other sites and re-pointed
host names are refused, refused or half-open connections leave no recording, and the relay's news
lines are redacted like its recordings. Real servers and clients on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidStatus

from proxy_support import UPGRADE_HEADERS, raw_handshake, upstream_server
from tests.fake_keys import OPENAI_KEY
from tui.wire.proxy import ProxyConfigError, Relay, RelayConfig, host_allowed, origin_allowed

TOKEN = "relay-token-0123456789"


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def config(tmp_path, upstream: str, **kwargs) -> RelayConfig:
    kwargs.setdefault("env", {"OPENAI_API_KEY": OPENAI_KEY})
    return RelayConfig(upstream=upstream, record=tmp_path / "sessions", record_to_directory=True, close_timeout=3, **kwargs)


def recordings(tmp_path) -> list:
    return sorted((tmp_path / "sessions").glob("*.jsonl"))


async def round_trip(url: str, **kwargs) -> str:
    async with connect(url, ping_interval=None, proxy=None, **kwargs) as ws:
        await ws.send("hello")
        return await ws.recv()


async def test_a_page_from_another_site_is_refused_before_the_key_is_used_and_the_log_says_how_to_allow_it(tmp_path):
    events: list[str] = []
    async with upstream_server(tmp_path, echo) as upstream:
        async with Relay(config(tmp_path, upstream.url), on_event=events.append) as relay:
            with pytest.raises(InvalidStatus) as caught:
                await round_trip(relay.url + "/v1/realtime?model=gpt-realtime", origin="https://evil.example")
            assert caught.value.response.status_code == 403
            assert b"https://evil.example" in caught.value.response.body
    assert upstream.requests == []  # the key never left the relay
    [line] = events
    assert line.startswith("refused 127.0.0.1:") and "403 Forbidden" in line
    assert "Origin 'https://evil.example'" in line and "--allow-origin https://evil.example" in line
    assert recordings(tmp_path) == []


async def test_pages_from_this_machine_allowed_origins_and_clients_without_origin_are_relayed(tmp_path):
    async with upstream_server(tmp_path, echo) as upstream:
        relay_config = config(tmp_path, upstream.url, allowed_origins=["https://app.example.com"])
        async with Relay(relay_config) as relay:
            url = relay.url + "/v1/realtime?model=gpt-realtime"
            for origin in (
                "http://localhost:3000",
                "http://127.0.0.1:5173",
                "http://[::1]:8080",
                "https://app.example.com",
                None,
            ):
                assert await round_trip(url, origin=origin) == "hello"
            with pytest.raises(InvalidStatus):
                await round_trip(url, origin="https://other.example.com")
    assert len(upstream.requests) == 5
    assert all(r.headers["Authorization"] == f"Bearer {OPENAI_KEY}" for r in upstream.requests)


async def test_a_host_name_that_is_not_the_relays_is_refused_with_421(tmp_path):
    # DNS rebinding: evil.example now resolves to 127.0.0.1, so the page is "same-origin" with the
    # relay; its requests carry Host: evil.example:PORT.
    events: list[str] = []
    async with upstream_server(tmp_path, echo) as upstream:
        async with Relay(config(tmp_path, upstream.url, allowed_hosts=["10.0.2.2"]), on_event=events.append) as relay:
            port = relay.port
            refused = [
                await raw_handshake(port, {"Host": f"evil.example:{port}", **UPGRADE_HEADERS}),
                await raw_handshake(
                    port, {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}", **UPGRADE_HEADERS}
                ),
                await raw_handshake(port, {"Host": f"127.0.0.1:{port + 1}", **UPGRADE_HEADERS}),
                await raw_handshake(port, UPGRADE_HEADERS),  # no Host at all
            ]
            accepted = [
                await raw_handshake(port, {"Host": f"{name}:{port}", **UPGRADE_HEADERS})
                for name in ("127.0.0.1", "localhost", "10.0.2.2")
            ]
            await asyncio.sleep(0.2)
    assert [status for status, _ in refused] == [421] * 4
    assert b"is not this relay's address" in refused[0][1]
    assert [status for status, _ in accepted] == [101] * 3
    assert len(upstream.requests) == 3
    host_lines = [e for e in events if e.startswith("refused")]
    assert len(host_lines) == 4 and all("421 Misdirected Request" in e for e in host_lines)
    assert "Host 'evil.example:" in host_lines[0] and "--allow-host evil.example" in host_lines[0]


async def test_a_hostile_origin_is_quoted_in_the_log_never_echoed_raw(tmp_path):
    events: list[str] = []
    async with upstream_server(tmp_path, echo) as upstream:
        async with Relay(config(tmp_path, upstream.url), on_event=events.append) as relay:
            origin = "https://evil.example\x9b31m$(rm -rf ~)"
            status, _ = await raw_handshake(relay.port, {"Host": f"127.0.0.1:{relay.port}", "Origin": origin, **UPGRADE_HEADERS})
    assert status == 403
    [line] = events
    assert "\x9b" not in line and "$(rm" not in line.split("--allow-origin")[1]
    assert line.endswith("--allow-origin ORIGIN")


def test_origin_and_host_rules():
    assert origin_allowed("http://localhost:3000") and origin_allowed("http://127.0.0.1") and origin_allowed("http://[::1]:1")
    for origin in (
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example",
        "null",
        "file://",
        "http://localhost:99999",
        "",
    ):
        assert not origin_allowed(origin), origin
    assert origin_allowed("null", ["null"]) and origin_allowed("HTTPS://App.Example.com/", ["https://app.example.com"])
    assert host_allowed("127.0.0.1:8766", "127.0.0.1", 8766) and host_allowed("[::1]:8766", "127.0.0.1", 8766)
    assert not host_allowed("localhost:8767", "127.0.0.1", 8766) and not host_allowed("evil.example", "127.0.0.1", 8766)
    for bad in ("not an origin", "https://app.example.com/path", "app.example.com"):
        with pytest.raises(ProxyConfigError):
            config_with_origin = RelayConfig(upstream="ws://127.0.0.1:1/", allowed_origins=[bad])
            config_with_origin.check()


async def test_bare_connects_and_refused_handshakes_leave_no_recording(tmp_path):
    events: list[str] = []
    async with upstream_server(tmp_path, echo) as upstream:
        async with Relay(config(tmp_path, upstream.url, token=TOKEN), on_event=events.append) as relay:
            port = relay.port
            for index in range(300):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                if index % 3 == 1:
                    writer.write(b"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
                elif index % 3 == 2:
                    writer.write(b"\x16\x03\x01\x02\x00")  # TLS to a plain WebSocket port
                await writer.drain()
                writer.close()
            host = {"Host": f"127.0.0.1:{port}"}
            statuses = [
                (await raw_handshake(port, {**host, **UPGRADE_HEADERS}))[0],  # no token
                (await raw_handshake(port, {**host, **UPGRADE_HEADERS}, "/v1/realtime?token=wrong-token-123"))[0],
                (await raw_handshake(port, {**host, **UPGRADE_HEADERS, "Origin": "https://evil.example"}, f"/?token={TOKEN}"))[0],
                (await raw_handshake(port, {**host, "Connection": "keep-alive"}, f"/?token={TOKEN}"))[0],  # plain GET
            ]
            await asyncio.sleep(0.3)
            assert recordings(tmp_path) == []
            assert await round_trip(f"{relay.url}/v1/realtime?model=gpt-realtime&token={TOKEN}") == "hello"
            await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 10)
            assert relay.sessions == []  # a finished session is not kept (a relay runs for days)
    assert statuses == [401, 403, 403, 400]
    assert len(recordings(tmp_path)) == 1  # the one session that was let in
    refusals = [e for e in events if e.startswith("refused")]
    assert len(refusals) == 4  # one line per refused handshake, none for connections that never asked
    assert [e.split(": ", 2)[1] for e in refusals] == ["401 Unauthorized", "403 Forbidden", "403 Forbidden", "400 Bad Request"]
    assert TOKEN not in "\n".join(events)


async def test_the_relays_news_lines_are_redacted_like_its_recordings(tmp_path):
    events: list[str] = []
    async with upstream_server(tmp_path, echo) as upstream:
        async with Relay(config(tmp_path, upstream.url), on_event=events.append) as relay:
            async with connect(relay.url, ping_interval=None, proxy=None) as ws:
                await ws.close(4000, f"bad key {OPENAI_KEY}")
            await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 10)
    ended = [e for e in events if e.startswith("ended")]
    assert len(ended) == 1 and "4000" in ended[0] and "[redacted]" in ended[0]
    assert OPENAI_KEY not in "\n".join(events)
