"""`rtui diagnose` on the committed example sessions: each story is explained by its own finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.diagnose import diagnose

EXAMPLES = Path(__file__).resolve().parents[2] / "sessions" / "examples"

# Every example, with exactly the findings it must get: a finding missing fails, and so does one too many.
EXPECTED = {
    "story1-binary-append-close-1000.jsonl": ("server", 1000, {"binary-frame"}),
    "story2-beta-header-close-4000.jsonl": ("server", 4000, {"beta-header", "error-before-close"}),
    "story3-beta-fields-client-closes.jsonl": (
        "client",
        1000,
        {"unknown-parameter", "client-closed-after-error", "beta-event-names", "error-before-close"},
    ),
    "story4-dropped-1006.jsonl": (None, 1006, {"abnormal-close"}),
    "story4-keepalive-no-pong-1011.jsonl": ("client", 1011, {"keepalive-timeout"}),
    "story4-max-size-1009.jsonl": ("client", 1009, {"message-too-big"}),
    "story5-session-expired-1001.jsonl": ("server", 1001, {"session-expired"}),
    "story6-commit-empty.jsonl": ("client", 1000, {"commit-empty", "client-closed-after-error", "error-before-close"}),
    "fault-invalid-json.jsonl": ("client", 1007, {"invalid-json"}),
    "fault-reject-503.jsonl": (None, None, {"handshake-refused"}),
    "fault-stall.jsonl": ("client", 4000, {"server-silent"}),
    "fault-delay.jsonl": ("client", 1000, {"slow-server"}),
    # The client sends audio before its session.update is confirmed; the mock's fault then closes 4001.
    "fault-close-4001.jsonl": ("server", 4001, {"sent-before-session-updated"}),
    "engine-headless-voice-turn.jsonl": ("client", 1000, set()),
    # rtui --headless with a tool answered without response.create ("respond": false): the classic stall.
    "tool-output-without-response.jsonl": ("client", 1000, {"tool-output-without-response"}),
    "voice-turn-barge-in.jsonl": ("client", 1000, set()),
    "voice-turn-barge-in.mock-side.jsonl": ("client", 1000, set()),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_story_is_explained(name):
    closed_by, code, ids = EXPECTED[name]
    diagnosis = diagnose(EXAMPLES / name)
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == (closed_by, code)
    assert {f.id for f in diagnosis.findings} == ids
    assert diagnosis.problems == []


def test_every_example_is_listed():
    assert sorted(path.name for path in EXAMPLES.glob("*.jsonl")) == sorted(EXPECTED)


def test_the_stall_and_the_delay_come_with_their_figures():
    silent = diagnose(EXAMPLES / "fault-stall.jsonl").finding("server-silent")
    assert silent.details["request"] == "session.update" and not silent.details["answered"]
    assert 0.5 <= silent.details["silent_s"] < 0.6 and "502 ms after the client's session.update" in silent.message
    slow = diagnose(EXAMPLES / "fault-delay.jsonl").finding("slow-server")
    assert 0.2 <= slow.details["median_s"] <= slow.details["max_s"] < 0.3 and slow.details["answers"] == 2
    assert "a median of 201 ms and at most 201 ms" in slow.message


def test_every_example_can_be_diagnosed():
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        diagnosis = diagnose(path)
        assert diagnosis.ending.sentence, path


def test_the_tool_stall_names_the_call_and_the_idle_time():
    stall = diagnose(EXAMPLES / "tool-output-without-response.jsonl").finding("tool-output-without-response")
    assert stall.details["name"] == "get_weather" and stall.details["call_id"].startswith("call_")
    assert "sat idle for 2.0 s until the client closed" in stall.message
