"""A recording's client side replays against a live server (the mock, a new session with its own
ids, event ids and expiry) and the new recording matches after normalization: a recorded session is
a regression test for any server."""

from __future__ import annotations

from tests.replay_support import example, records
from tui.mock import MockConfig, MockServer
from tui.replay.client import replay_client
from tui.replay.diff import compare
from tui.replay.script import load_script
from tui.wire.writer import SessionWriter


def server_ids(path) -> set[str]:  # type: ignore[no-untyped-def]
    import re

    text = " ".join(r.get("text", "") for r in records(path) if r["kind"] == "frame" and r["dir"] == "s2c")
    return set(re.findall(r"(?:item|resp|sess)_[A-Za-z0-9]{10,}", text))


async def test_the_voice_turn_replays_against_a_live_mock_with_other_ids(tmp_path):
    original = example("voice-turn-barge-in")
    script = load_script(original)
    async with MockServer(MockConfig(realtime=True, seed="another run")) as server:
        url = server.url_for("gpt-realtime")
        with SessionWriter(tmp_path / "new.jsonl", mode="replay", url=url) as writer:
            outcome = await replay_client(script, url, timeout=10, writer=writer)
    assert outcome.ok, outcome.divergence and outcome.divergence.report()
    new = tmp_path / "new.jsonl"
    assert server_ids(new) and not server_ids(new) & server_ids(original)  # really another session
    # The truncate names the item as this server called it; the rest of its bytes are as recorded.
    truncate = next(r["text"] for r in records(new) if r.get("type") == "conversation.item.truncate")
    recorded = next(r["text"] for r in records(original) if r.get("type") == "conversation.item.truncate")
    assert truncate != recorded and len(truncate) == len(recorded)
    assert any(live_id in truncate for live_id in server_ids(new))
    comparison = compare(script, load_script(new))
    assert comparison.same, comparison.report()


async def test_a_server_that_answers_differently_is_caught(tmp_path):
    # Against a mock that rejects binary frames with an error event instead of a close, the seed
    # story's client sees a frame the recording does not have.
    script = load_script(example("story1-binary-append-close-1000"))
    async with MockServer(MockConfig(realtime=False, binary_policy="error")) as server:
        outcome = await replay_client(script, server.url_for("gpt-realtime"), timeout=3)
    divergence = outcome.divergence
    assert divergence is not None and divergence.direction == "s2c"
    assert divergence.index == 1  # after session.created
    assert "error" in divergence.report()
    assert outcome.closed_by == "client" and outcome.close_code == 4900


async def record_two_connections(path) -> None:  # type: ignore[no-untyped-def]
    """A reconnect: the first connection is closed by the client, the second refused with 4000."""
    from tui.wire.client import ConnectOptions, open_connection

    async with MockServer(MockConfig(realtime=False)) as server:
        url = server.url_for("gpt-realtime")
        with SessionWriter(path, mode="live", url=url) as writer:
            first = await open_connection(url, writer=writer)
            await first.recv()
            await first.close(1000, "reconnecting")
            beta = ConnectOptions(extra_headers=[("OpenAI-Beta", "realtime=v1")])
            second = await open_connection(url, beta, writer=writer)
            await second.wait_closed()


def test_a_recording_with_two_connections_replays_the_one_asked_for(tmp_path, capsys):
    import asyncio

    from tui.cli.main import main

    path = tmp_path / "two.jsonl"
    asyncio.run(record_two_connections(path))
    assert load_script(path).conns == [1, 2]
    status = main(["replay", str(path), "--headless", "--conn", "2", "--output", str(tmp_path / "second.jsonl")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "connection 2 of 2" in out and "server closed first with 4000" in out and "MATCH" in out
