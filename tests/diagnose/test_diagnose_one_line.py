"""The diagnosis in one line (what quitting the TUI prints after an abnormal closure): the top
finding when there is one, how the session ended otherwise."""

from __future__ import annotations

from pathlib import Path

from tui.diagnose import diagnose
from tui.diagnose.text import one_line

EXAMPLES = Path(__file__).resolve().parents[2] / "sessions" / "examples"


def test_the_top_finding_with_its_id() -> None:
    diagnosis = diagnose(EXAMPLES / "story1-binary-append-close-1000.jsonl")
    binary = diagnosis.finding("binary-frame")
    assert binary is not None
    assert one_line(diagnosis) == f"binary-frame: {binary.message}"


def test_how_it_ended_when_nothing_was_found() -> None:
    diagnosis = diagnose(EXAMPLES / "engine-headless-voice-turn.jsonl")
    assert not [f for f in diagnosis.findings if f.severity != "info"]
    assert one_line(diagnosis) == diagnosis.ending.sentence
    assert "\n" not in one_line(diagnosis)
