"""SVG snapshots of the TUI (pytest-textual-snapshot): a fixed clock and a frozen engine state taken
from a real conversation with the mock, so every run renders the same."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from app_support import CONVERSATION, FixedClock, closed_engine, conversation_engine, wait_for
from tui.app.app import RtuiApp
from tui.app.settings import UISettings
from tui.engine.state import LogEntry
from tui.protocol.summary import record_line


@pytest.fixture(autouse=True)
def no_host_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's preferences must not change the pictures (harlequin's snapshot hygiene)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ("RTUI_REFRESH_HZ", "RTUI_LOG_LINES", "RTUI_MOUSE"):
        monkeypatch.delenv(name, raising=False)


def live_app(closed: bool = False) -> RtuiApp:
    clock = FixedClock()
    engine = closed_engine(clock) if closed else conversation_engine(clock)
    # The session as the server last confirmed it, for the session editor.
    for entry in engine.log.since(0)[0]:
        if entry.record.get("type") == "session.updated":
            engine.state.session = orjson.loads(entry.record["text"])["session"]
    app = RtuiApp(engine, clock=clock, settings=UISettings())
    app.theme = "textual-dark"  # not the host's TEXTUAL_THEME
    return app


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_live_mid_conversation(snap_compare) -> None:
    assert snap_compare(live_app(), terminal_size=(130, 36), run_before=settle)


def test_live_at_80x24(snap_compare) -> None:
    # 40 columns of summary: the type column narrows and abbreviates, the direction takes 3 letters.
    assert snap_compare(live_app(), terminal_size=(80, 24), run_before=settle)


def test_whole_rows_at_80x24(snap_compare) -> None:
    # Right: every row's type, size and summary in full, scrolled sideways from there.
    assert snap_compare(live_app(), press=["right"], terminal_size=(80, 24), run_before=settle)


def test_session_editor_at_80x24(snap_compare) -> None:
    assert snap_compare(live_app(), press=["s"], terminal_size=(80, 24), run_before=settle)


def test_usage_table_at_80x24(snap_compare) -> None:
    # The answer's response.done, with a usage that has every split, and a transcription's usage.
    app = live_app()
    last = app.engine.log.since(0)[0][-1].record
    usage = {
        "total_tokens": 1300,
        "input_tokens": 1000,
        "output_tokens": 300,
        "input_token_details": {
            "text_tokens": 400,
            "audio_tokens": 600,
            "cached_tokens": 500,
            "cached_tokens_details": {"text_tokens": 300, "audio_tokens": 200},
        },
        "output_token_details": {"text_tokens": 50, "audio_tokens": 250},
    }
    events = [
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "item_1",
            "content_index": 0,
            "transcript": "hello",
            "usage": {"type": "tokens", "total_tokens": 52, "input_tokens": 40, "output_tokens": 12},
        },
        {"type": "response.done", "response": {"id": "resp_Od75MyT3gLasmsBIf0Pxh", "status": "completed", "usage": usage}},
    ]
    for offset, event in enumerate(events, 1):
        text = orjson.dumps(event).decode()
        record = {
            "seq": last["seq"] + offset,
            "t_ns": last["t_ns"] + offset * 1_000_000,
            "conn": 1,
            "kind": "frame",
            "dir": "s2c",
            "opcode": "text",
            "text": text,
            "size": len(text),
            "type": event["type"],
        }
        app.engine.log.append(LogEntry(record, record_line(record)))
    assert snap_compare(app, press=["u"], terminal_size=(80, 24), run_before=settle)


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
