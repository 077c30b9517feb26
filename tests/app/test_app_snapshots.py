"""SVG snapshots of the TUI (pytest-textual-snapshot): a fixed clock and a frozen engine state taken
from a real conversation with the mock, so every run renders the same."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app_support import CONVERSATION, FixedClock, closed_engine, conversation_engine, wait_for
from tui.app.app import RtuiApp
from tui.app.settings import UISettings


@pytest.fixture(autouse=True)
def no_host_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's preferences must not change the pictures (harlequin's snapshot hygiene)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ("RTUI_REFRESH_HZ", "RTUI_LOG_LINES", "RTUI_MOUSE"):
        monkeypatch.delenv(name, raising=False)


def live_app(closed: bool = False) -> RtuiApp:
    clock = FixedClock()
    engine = closed_engine(clock) if closed else conversation_engine(clock)
    app = RtuiApp(engine, clock=clock, settings=UISettings())
    app.theme = "textual-dark"  # not the host's TEXTUAL_THEME
    return app


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_live_mid_conversation(snap_compare) -> None:
    assert snap_compare(live_app(), terminal_size=(130, 36), run_before=settle)


def test_live_at_80x24(snap_compare) -> None:
    assert snap_compare(live_app(), terminal_size=(80, 24), run_before=settle)


def test_live_at_120x40(snap_compare) -> None:
    # The transcript below the log: the log keeps room for its summaries.
    assert snap_compare(live_app(), terminal_size=(120, 40), run_before=settle)


def test_live_at_200x50(snap_compare) -> None:
    # Wide enough for the transcript beside the log.
    assert snap_compare(live_app(), terminal_size=(200, 50), run_before=settle)


def test_closure_card(snap_compare, tmp_path: Path) -> None:
    app = live_app(closed=True)
    # The card diagnoses the session's recording: here, the frozen session's own records.
    recording = tmp_path / "closed.jsonl"
    header = CONVERSATION.read_bytes().split(b"\n", 1)[0]
    records = [orjson.dumps(entry.record) for entry in app.engine.log.since(0)[0]]
    recording.write_bytes(b"\n".join([header, *records]) + b"\n")
    app.engine.state.recording_path = str(recording)

    async def diagnosed(pilot) -> None:
        await wait_for(pilot, lambda: bool(app.screen.query("#card-findings")))
        await settle(pilot)

    assert snap_compare(app, terminal_size=(100, 36), run_before=diagnosed)


def test_frame_inspector(snap_compare) -> None:
    # The cursor sits on the newest row (the response audio run); Enter opens it.
    assert snap_compare(live_app(), press=["enter"], terminal_size=(100, 36), run_before=settle)


def test_help_screen(snap_compare) -> None:
    assert snap_compare(live_app(), press=["question_mark"], terminal_size=(100, 40), run_before=settle)
