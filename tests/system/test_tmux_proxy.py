"""`rtui proxy` in a real terminal that goes away, as when an SSH session drops: the relay stops as on
Ctrl-C, and its recording keeps the session's end and says why it ended."""

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
