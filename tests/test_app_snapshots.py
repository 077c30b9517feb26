"""SVG snapshots of the TUI (pytest-textual-snapshot): a fixed clock and a frozen engine state taken
from a real conversation with the mock, so every run renders the same."""

from __future__ import annotations

import pytest

from app_support import closed_engine, conversation_engine
from tui.app.app import RtuiApp
from tui.app.contract import FixedClock
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


def test_closure_card(snap_compare) -> None:
    assert snap_compare(live_app(closed=True), terminal_size=(100, 36), run_before=settle)


def test_frame_inspector(snap_compare) -> None:
    # The cursor sits on the newest row (the response audio run); Enter opens it.
    assert snap_compare(live_app(), press=["enter"], terminal_size=(100, 36), run_before=settle)


def test_help_screen(snap_compare) -> None:
    assert snap_compare(live_app(), press=["question_mark"], terminal_size=(100, 40), run_before=settle)
