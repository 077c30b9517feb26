"""rtui's servers in a real terminal that goes away, as when an SSH session drops: `rtui proxy` and
`rtui mock --workers` stop as on Ctrl-C, and their recordings keep the session's end (the relay's
also says why it ended)."""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cli_support import RTUI, running_mock
from tmux_support import Terminal, exited, terminal  # noqa: F401  (fixture)
from tui.wire.format import RELAY_STOPPED
from tui.wire.reader import SessionReader

pytestmark = pytest.mark.tmux


async def session_until_dropped(url: str, terminal: Terminal) -> ConnectionClosed:
    async with connect(url + "/v1/realtime?model=gpt-realtime", proxy=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        await ws.send('{"type":"input_audio_buffer.append","audio":"AAAA"}')
        await asyncio.sleep(0.2)  # relayed and recorded on both legs
        terminal.kill()  # the terminal goes: SIGHUP, and a terminal nothing can be written to
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as ended:
            return ended


def test_a_relay_whose_terminal_goes_away_ends_its_recording_properly(terminal: Terminal, tmp_path: Path) -> None:
    recording = tmp_path / "relay.jsonl"
    with running_mock() as upstream:
        command = f"{RTUI} proxy --listen 127.0.0.1:0 --upstream {upstream} --record {shlex.quote(str(recording))}"
        pid = terminal.start(f"exec {command}", width=160)
        screen = terminal.wait_for(lambda s: "listening on ws://" in s, 20, "where the relay listens")
        match = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", screen)
        assert match is not None, screen
        ended = asyncio.run(session_until_dropped(match.group(1), terminal))
        deadline = time.monotonic() + 10
        while not exited(pid):
            assert time.monotonic() < deadline, "the relay outlived its terminal"
            time.sleep(0.05)
    assert ended.rcvd is None  # dropped, as if the relay had gone away
    with SessionReader(recording) as reader:
        records = list(reader)
    assert not reader.problems and not reader.truncated
    kinds = [(r["kind"], r["conn"]) for r in records if r["kind"] in ("error", "end")]
    assert kinds[:1] == [("error", 0)] and sorted(kinds[1:]) == [("end", 1), ("end", 2)], kinds
    assert records[-3]["message"] == RELAY_STOPPED
    appended = [r["conn"] for r in records if r.get("type") == "input_audio_buffer.append"]
    assert appended == [1, 2]


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def mock_session_until_closed(url: str, terminal: Terminal) -> None:
    async with connect(url + "?model=gpt-realtime", proxy=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        terminal.kill()  # the hangup reaches the parent and both workers
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()


def test_mock_workers_whose_terminal_goes_away_end_their_recordings_properly(terminal: Terminal, tmp_path: Path) -> None:
    record = tmp_path / "rec"
    pid = terminal.start(f"exec {RTUI} mock --port 0 --workers 2 --record {shlex.quote(str(record))}", width=160)
    screen = terminal.wait_for(lambda s: "2 worker processes" in s, 30, "the workers listening")
    match = re.search(r"listening on (ws://127\.0\.0\.1:\d+/v1/realtime)", screen)
    assert match is not None, screen
    processes = [pid, *children(pid)]
    assert len(processes) == 3
    asyncio.run(mock_session_until_closed(match.group(1), terminal))
    deadline = time.monotonic() + 15
    while not all(exited(p) for p in processes):
        assert time.monotonic() < deadline, "the mock outlived its terminal"
        time.sleep(0.05)
    [recording] = record.glob("*.jsonl")
    with SessionReader(recording) as reader:
        records = list(reader)
    assert not reader.problems and not reader.truncated
    assert records[-1]["kind"] == "end", records[-1]
