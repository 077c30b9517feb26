"""`rtui proxy` at its limits: a message over --max-size, and a disk that fills up. Real servers and
clients on 127.0.0.1; the full disk is a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) on the relay's
process, which the writer meets exactly as it meets ENOSPC (tests/system/test_reliability_disk.py)."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from proxy_support import kinds, upstream_server
from tui.wire.proxy import Relay, RelayConfig

CLIENT_CONN, UPSTREAM_CONN = 1, 2
LIMIT = 2**20


async def echo_or_big(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(b"\x00" * (LIMIT + 1) if message == "big please" else message)


async def session_over_the_limit(tmp_path: Path, first: str | bytes) -> tuple[ConnectionClosed, list[str], Path]:
    events: list[str] = []
    config = RelayConfig(
        upstream="", record=tmp_path / "relay.jsonl", record_to_directory=False, env={}, close_timeout=3, max_size=LIMIT
    )
    async with upstream_server(tmp_path, echo_or_big) as upstream:
        config.upstream = upstream.url
        async with Relay(config, on_event=events.append) as relay:
            async with connect(relay.url, ping_interval=None, max_size=None, proxy=None) as ws:
                await ws.send("small")
                assert await ws.recv() == "small"
                await ws.send(first)
                with pytest.raises(ConnectionClosed) as caught:
                    await ws.recv()
            await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 10)
    return caught.value, events, upstream.recording


@pytest.mark.parametrize("sender", ["client", "upstream"])
async def test_a_message_over_max_size_closes_both_legs_with_1009_and_the_recording_and_log_say_so(tmp_path, sender):
    closed, events, upstream_recording = await session_over_the_limit(
        tmp_path, os.urandom(LIMIT + 1) if sender == "client" else "big please"
    )
    # Both far ends got a close 1009, not a dropped connection.
    assert closed.rcvd is not None and closed.rcvd.code == 1009
    upstream_closes = kinds(upstream_recording, "close")
    assert upstream_closes[0]["dir"] == "c2s"  # the relay closed first, whichever side sent the message
    assert [c["code"] for c in upstream_closes] == [1009, 1009]
    relay_file = tmp_path / "relay.jsonl"
    # The oversized payload was never read, so never recorded.
    assert max(r["size"] for r in kinds(relay_file, "frame")) < LIMIT
    for conn in (CLIENT_CONN, UPSTREAM_CONN):
        [first] = [c for c in kinds(relay_file, "close", conn) if c["first"]]
        assert (first["code"], first["by"]) == (1009, "server" if conn == CLIENT_CONN else "client")  # the relay's
        assert first["reason"] == f"frame with {LIMIT + 1} bytes exceeds limit of {LIMIT} bytes"
    ends = {e["conn"]: e for e in kinds(relay_file, "end")}
    failed = CLIENT_CONN if sender == "client" else UPSTREAM_CONN
    assert ends[failed]["close_sent"]["code"] == 1009 and ends[failed]["protocol_error"].startswith("PayloadTooBig")
    # The leg that only relayed the close completed its closing handshake with it. (A server that
    # fails a connection drops TCP at once, RFC 6455 7.1.7, so a failed client leg's own end is 1006.)
    assert ends[CLIENT_CONN if failed == UPSTREAM_CONN else UPSTREAM_CONN]["code"] == 1009
    [ended] = [e for e in events if e.startswith("ended")]
    assert f"the {sender} sent a message over the relay's max_size" in ended
    assert "1009 (message too big)" in ended and "1006" not in ended


CHILD_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")}


def file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a killed process

    return apply


async def start_proxy(upstream_url: str, record: Path, limit: int) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui",
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        upstream_url,
        "--record",
        f"{record}/",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=CHILD_ENV,
        preexec_fn=file_size_limit(limit),
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    assert first.startswith("listening on "), first
    return process, first.removeprefix("listening on ")


async def stop_proxy(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    stderr = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
    await asyncio.wait_for(process.wait(), 30)
    return stderr


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def test_when_the_disk_fills_mid_session_the_relay_says_so_once_and_keeps_relaying(tmp_path):
    limit = 64 * 1024
    async with upstream_server(tmp_path, echo) as upstream:
        process, url = await start_proxy(upstream.url, tmp_path / "sessions", limit)
        try:
            message = '{"type":"input_audio_buffer.append","audio":"%s"}' % ("A" * 2000)
            async with connect(url, ping_interval=None, proxy=None) as ws:
                for _ in range(100):  # ~400 KB recorded if the disk had room: far past the limit
                    await ws.send(message)
                    assert await asyncio.wait_for(ws.recv(), 10) == message
        finally:
            stderr = await stop_proxy(process)
    [recording] = (tmp_path / "sessions").glob("*.jsonl")
    assert recording.stat().st_size <= limit
    stopped = [line for line in stderr.splitlines() if "recording stopped" in line]
    assert len(stopped) == 1  # once, not once per frame
    assert stopped[0].startswith(
        f"rtui proxy: recording stopped: cannot write {tmp_path / 'sessions' / recording.name}: File too large; 127.0.0.1:"
    )
    assert stopped[0].endswith(" is still relayed, unrecorded from here on")
    assert "Traceback" not in stderr


async def test_when_no_recording_can_be_written_new_clients_get_507_at_once_and_nothing_leaks(tmp_path):
    # Too small for a recording's first line: every new session's recording fails at once.
    async with upstream_server(tmp_path, echo) as upstream:
        process, url = await start_proxy(upstream.url, tmp_path / "sessions", 200)
        try:
            fds = Path(f"/proc/{process.pid}/fd")
            await refused_with_507(url)  # the first refusal opens whatever the relay keeps open after
            await asyncio.sleep(0.3)
            before = len(list(fds.iterdir()))
            for _ in range(20):
                await refused_with_507(url)
            await asyncio.sleep(0.3)
            after = len(list(fds.iterdir()))
        finally:
            stderr = await stop_proxy(process)
    assert after <= before  # no socket left in CLOSE-WAIT, no file left open
    assert list((tmp_path / "sessions").iterdir()) == []  # and no empty file left behind
    assert upstream.requests == []
    refusals = [line for line in stderr.splitlines() if "507 Insufficient Storage" in line]
    assert len(refusals) == 21
    assert refusals[0].endswith(
        f"cannot record a new session in {tmp_path / 'sessions'}: File too large; free some space or choose another --record"
    )
    assert "Traceback" not in stderr


async def refused_with_507(url: str) -> None:
    with pytest.raises(InvalidStatus) as caught:
        await connect(url, ping_interval=None, proxy=None, open_timeout=5)
    assert caught.value.response.status_code == 507
    assert caught.value.response.body == b"rtui proxy: cannot record this session: File too large.\n"
