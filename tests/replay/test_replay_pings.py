"""Pings and pongs replay as recorded: the server's pings with their payloads, the client's answers,
and pongs withheld where the recording has none."""

from __future__ import annotations

import asyncio

from tests.replay_support import example, records
from tui.mock import MockConfig, MockServer
from tui.replay.full import full_replay
from tui.replay.script import load_script
from tui.wire.client import open_connection
from tui.wire.writer import SessionWriter


def control(path, kind: str, direction: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["data_b64"] for r in records(path) if r["kind"] == kind and r["dir"] == direction]


async def test_server_pings_are_sent_with_their_recorded_payloads_and_answered(tmp_path):
    original = tmp_path / "pinged.jsonl"
    async with MockServer(MockConfig(realtime=False, ping_interval=0.1)) as server:
        url = server.url_for("gpt-realtime")
        with SessionWriter(original, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.recv()
            await asyncio.sleep(0.35)
            await ws.close(1000, "done")
            await asyncio.sleep(0.05)
    pings = control(original, "ping", "s2c")
    assert len(pings) >= 2 and control(original, "pong", "c2s") == pings

    result = await full_replay(load_script(original), output=tmp_path / "replayed.jsonl", timeout=5)
    assert result.ok, result.report()
    assert control(result.recording, "ping", "s2c") == pings
    assert control(result.recording, "pong", "c2s") == pings


async def test_withheld_pongs_stay_withheld(tmp_path):
    path = example("story4-keepalive-no-pong-1011")
    assert control(path, "ping", "c2s") and not control(path, "pong", "s2c")
    result = await full_replay(load_script(path), output=tmp_path / "replayed.jsonl", timeout=5)
    assert result.ok, result.report()
    assert result.server.pongs_withheld == len(control(path, "ping", "c2s"))
    assert control(result.recording, "ping", "c2s") == control(path, "ping", "c2s")
    assert control(result.recording, "pong", "s2c") == []
