"""Every committed example session replays headless, 20 times, to a recording identical after
normalization, with its original ending: the same close code and reason, the same side closing first
(or the same TCP drop, or the same refused handshake)."""

from __future__ import annotations

import asyncio

import pytest

from tests.replay_support import all_examples, end_of, first_close
from tui.replay.full import full_replay
from tui.replay.script import load_script

RUNS = 20


def ending(path) -> tuple:  # type: ignore[no-untyped-def]
    end = end_of(path)
    close = first_close(path)
    return (
        None if end is None else (end["code"], end["reason"], end["closed_by"], end["clean"]),
        None if close is None else (close["dir"], close["code"], close["reason"]),
    )


def test_the_examples_are_there_and_small():
    names = {p.stem for p in all_examples()}
    for required in (
        "voice-turn-barge-in",
        "engine-headless-voice-turn",
        "tool-output-without-response",
        "story1-binary-append-close-1000",
        "story2-beta-header-close-4000",
        "story3-beta-fields-client-closes",
        "story4-keepalive-no-pong-1011",
        "story4-max-size-1009",
        "story4-dropped-1006",
        "story5-session-expired-1001",
        "story6-commit-empty",
        "fault-close-4001",
        "fault-reject-503",
    ):
        assert required in names
    for path in all_examples():
        assert path.stat().st_size < 1_000_000, path


@pytest.mark.parametrize("path", all_examples(), ids=lambda p: p.stem)
async def test_example_replays_identically_twenty_times(path, tmp_path):
    script = load_script(path)
    results = await asyncio.gather(*(full_replay(script, output=tmp_path / f"run{i}.jsonl", timeout=10) for i in range(RUNS)))
    original = ending(path)
    for result in results:
        assert result.ok, result.report()
        assert ending(result.recording) == original, result.report()
        assert result.client.not_sent == [] and result.server.not_sent == []
        assert result.client.not_received == [] and result.server.not_received == []
