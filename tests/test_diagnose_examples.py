"""`rtui diagnose` on the committed example sessions: each story is explained by its own finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.diagnose import diagnose

EXAMPLES = Path(__file__).resolve().parents[1] / "sessions" / "examples"

EXPECTED = {
    "story1-binary-append-close-1000.jsonl": ("server", 1000, {"binary-frame"}),
    "story2-beta-header-close-4000.jsonl": ("server", 4000, {"beta-header", "error-before-close"}),
    "story3-beta-fields-client-closes.jsonl": ("client", 1000, {"unknown-parameter", "client-closed-after-error", "beta-event-names"}),
    "story4-dropped-1006.jsonl": (None, 1006, {"abnormal-close"}),
    "story4-keepalive-no-pong-1011.jsonl": ("client", 1011, {"keepalive-timeout"}),
    "story4-max-size-1009.jsonl": ("client", 1009, {"message-too-big"}),
    "story5-session-expired-1001.jsonl": ("server", 1001, {"session-expired"}),
    "story6-commit-empty.jsonl": ("client", 1000, {"commit-empty", "client-closed-after-error"}),
    "fault-invalid-json.jsonl": ("client", 1007, {"invalid-json"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_story_is_explained(name):
    closed_by, code, ids = EXPECTED[name]
    diagnosis = diagnose(EXAMPLES / name)
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == (closed_by, code)
    assert ids <= {f.id for f in diagnosis.findings}
    assert diagnosis.problems == []


def test_every_example_can_be_diagnosed():
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        diagnosis = diagnose(path)
        assert diagnosis.ending.sentence, path
