"""The session editor over the real engine process and the mock: prefilled from the session the server
confirmed, checked before sending, sent as `session.update`, recorded, and confirmed by `session.updated`."""

from __future__ import annotations

from pathlib import Path

import orjson
from textual.widgets import Input, Select, Static, TextArea

from app_support import FrozenEngine, on_screen, read_records, wait_for
from tui.app.app import RtuiApp
from tui.app.screens.session_editor import SessionEditor
from tui.app.session_form import SessionForm, form_of, session_update
from tui.app.settings import UISettings
from tui.engine.commands import UpdateSession
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.engine.state import SessionEdit
from tui.protocol.session import default_session


def status_of(app) -> str:
    return str(app.screen.query_one("#session-editor-status", Static).render())


def session_updates(path: Path) -> list[dict]:
    frames = [r for r in read_records(path) if r["kind"] == "frame" and r.get("type") == "session.update"]
    return [orjson.loads(r["text"]) for r in frames]


async def test_a_session_edit_is_checked_sent_recorded_and_confirmed(tmp_path: Path) -> None:
    mock_dir = tmp_path / "mock"
    mock_dir.mkdir()
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path / "client",
        mock_options={"record_dir": mock_dir, "realtime": False},
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.session is not None and engine.state.recording_path is not None)
        await wait_for(pilot, lambda: len(session_updates(Path(engine.state.recording_path))) == 1)  # rtui's own
        await pilot.press("s")
        assert isinstance(app.screen, SessionEditor)
        editor = app.screen
        # Prefilled from what the server confirmed.
        assert editor.query_one("#instructions", TextArea).text == engine.state.session["instructions"]
        assert editor.query_one("#voice", Input).value == engine.state.session["audio"]["output"]["voice"]
        assert editor.query_one("#turn_detection", Select).value == "server_vad"
        assert editor.query_one("#threshold", Input).value == "0.5"

        await pilot.press("ctrl+s")  # nothing changed: nothing to send
        assert "Nothing changed" in status_of(app)

        editor.query_one("#threshold", Input).value = "1.5"  # out of range: refused in place
        await pilot.press("ctrl+s")
        assert "threshold" in status_of(app) and editor.query_one("#session-editor-status").has_class("-problem")
        editor.query_one("#tools", TextArea).text = "[{"  # not JSON
        editor.query_one("#threshold", Input).value = "0.7"
        await pilot.press("ctrl+s")
        assert status_of(app).startswith("tools: not JSON")
        assert len(session_updates(Path(engine.state.recording_path))) == 1  # none of them left

        editor.query_one("#tools", TextArea).text = '[{"type": "function", "name": "lookup", "parameters": {}}]'
        editor.query_one("#instructions", TextArea).text = "Answer in one short sentence."
        editor.query_one("#silence_duration_ms", Input).value = "650"
        editor.query_one("#transcription_model", Input).value = "gpt-4o-mini-transcribe"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status_of(app).startswith("Confirmed"))
        confirmed = engine.state.session
        assert confirmed["instructions"] == "Answer in one short sentence."
        assert confirmed["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 650
        assert confirmed["audio"]["input"]["turn_detection"]["threshold"] == 0.7
        assert confirmed["audio"]["input"]["transcription"]["model"] == "gpt-4o-mini-transcribe"
        assert [tool["name"] for tool in confirmed["tools"]] == ["lookup"]
        await pilot.press("escape", "q")
    # Recorded by rtui as it went out, and received by the mock: only what changed (no voice).
    [edit] = session_updates(Path(engine.state.recording_path))[1:]
    assert edit["event_id"].startswith("rtui_session_edit_")
    assert set(edit["session"]) == {"type", "instructions", "audio", "tools"}
    assert set(edit["session"]["audio"]) == {"input"}
    mock_side = [u for path in mock_dir.glob("*.jsonl") for u in session_updates(path)]
    assert edit in mock_side


async def test_switching_turn_detection_off_makes_rtui_push_to_talk(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.session is not None)
        await pilot.press("s")
        app.screen.query_one("#turn_detection", Select).value = "none"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: status_of(app).startswith("Confirmed"))
        assert engine.state.session["audio"]["input"]["turn_detection"] is None
        assert engine.state.turn_mode == "push_to_talk"
        await wait_for(pilot, lambda: "push-to-talk" in app.live_screen.header.plain)  # at its next refresh
        await pilot.press("escape", "q")


def test_the_form_sends_only_what_changed_and_checks_it_like_the_mock() -> None:
    session = default_session("sess_1", "gpt-realtime", 0)
    before = form_of(session)
    assert before.voice == "marin" and before.turn_detection == "server_vad" and before.silence_duration_ms == "200"
    semantic = SessionForm(**{**before.__dict__, "turn_detection": "semantic_vad", "eagerness": "low"})
    update, problem = session_update(semantic, before, session)
    assert problem is None and update == {
        "type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}},
    }
    bad_voice = SessionForm(**{**before.__dict__, "voice": ""})
    assert session_update(bad_voice, before, session)[0] is not None  # the service, not rtui, judges voice names
    not_ms = SessionForm(**{**before.__dict__, "prefix_padding_ms": "0.3s"})
    assert session_update(not_ms, before, session) == (None, "prefix_padding_ms: '0.3s' is not a whole number of milliseconds.")
    bad_tools = SessionForm(**{**before.__dict__, "tools": '[{"type": "plugin"}]'})
    update, problem = session_update(bad_tools, before, session)
    assert update is None and problem is not None and problem.startswith("session.tools[0].type:")


async def test_a_refusal_is_shown_in_the_editor() -> None:
    engine = FrozenEngine()
    engine.state.session = default_session("sess_1", "gpt-realtime", 0)
    app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        app.screen.query_one("#voice", Input).value = "cedar"
        await pilot.press("ctrl+s")
        assert engine.calls == [UpdateSession({"type": "realtime", "audio": {"output": {"voice": "cedar"}}})]
        assert status_of(app).startswith("Sent session.update")
        # What the view makes of the server's error naming the edit's event_id.
        detail = "invalid_value [session.audio.output.voice]: …"
        engine.state.session_edit = SessionEdit("rtui_session_edit_1", "rejected", detail)
        await wait_for(pilot, lambda: status_of(app).startswith("Refused: invalid_value [session.audio.output.voice]"))
        assert app.screen.query_one("#session-editor-status").has_class("-problem")
