"""Latency per turn from records: each mark at the time its frame crossed the wire."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.protocol.turns import interval_stats, latency_table, percentile, turns_of

ROOT = Path(__file__).resolve().parents[2]


def frame(t_ms: float, direction: str, etype: str) -> dict:  # type: ignore[type-arg]
    return {"kind": "frame", "dir": direction, "type": etype, "t_ns": int(t_ms * 1_000_000), "conn": 1}


def test_a_voice_turn_and_a_text_turn() -> None:
    records = [
        frame(0, "s2c", "session.created"),
        frame(1000, "s2c", "input_audio_buffer.speech_stopped"),
        frame(1012, "s2c", "input_audio_buffer.committed"),
        frame(1020, "s2c", "response.created"),
        frame(1300, "s2c", "response.output_audio.delta"),
        frame(1320, "s2c", "response.output_audio.delta"),
        frame(2500, "s2c", "response.done"),
        frame(3000, "c2s", "conversation.item.create"),
        frame(3001, "c2s", "response.create"),
        frame(3101, "s2c", "response.created"),
        frame(3501, "s2c", "response.output_audio.delta"),
        frame(4001, "s2c", "response.done"),
        frame(5000, "s2c", "input_audio_buffer.speech_stopped"),  # unfinished: no response.done
    ]
    voice, text = turns_of(records)
    assert (voice.how, text.how) == ("speech_stopped", "response.create")
    assert [
        voice.interval_ms(*marks)
        for marks in (("start", "committed"), ("committed", "created"), ("created", "first_audio"), ("first_audio", "done"))
    ] == [12, 8, 280, 1200]
    assert voice.interval_ms("start", "first_audio") == 300
    assert text.interval_ms("start", "committed") is None and text.interval_ms("committed", "created") == 100  # from the start
    assert text.interval_ms("start", "first_audio") == 500
    stats = dict((title, (p50, p95)) for title, p50, p95 in interval_stats([voice, text]))
    assert stats["end→audio"] == (300, 500)
    assert len(latency_table([voice, text])) == 5


def test_percentile_is_a_measured_value() -> None:
    assert percentile([10, 20, 30, 40], 0.5) == 20 and percentile([10, 20, 30, 40], 0.95) == 40
    assert percentile([], 0.5) is None


def test_show_stats_and_diff_print_the_latency() -> None:
    example = ROOT / "sessions/examples/engine-headless-voice-turn.jsonl"
    show = subprocess.run(
        [sys.executable, "-m", "tui", "show", "--stats", str(example)], capture_output=True, text=True, timeout=60
    )
    assert show.returncode == 0 and "speech_stopped" in show.stdout and " p50 " in show.stdout
    diff = subprocess.run(
        [sys.executable, "-m", "tui", "diff", str(example), str(example)], capture_output=True, text=True, timeout=60
    )
    assert diff.returncode == 0 and "turn latency, p50 / p95 (A: 1 turn, B: 1 turn" in diff.stdout
