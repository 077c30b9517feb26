"""What a view learns of the user's session edits: the session the server confirmed, and whether it
confirmed the edit (`session.updated`) or refused it (an `error` naming the edit's event_id)."""

from __future__ import annotations

import orjson

from tui.engine.state import EngineState, LogBuffer
from tui.engine.view import SessionView


def frame(seq: int, direction: str, event: dict) -> dict:
    text = orjson.dumps(event).decode()
    return {
        "seq": seq,
        "t_ns": seq * 1_000_000,
        "conn": 1,
        "kind": "frame",
        "dir": direction,
        "opcode": "text",
        "text": text,
        "size": len(text),
        "type": event["type"],
    }


def test_an_edit_is_confirmed_by_session_updated_and_the_session_follows() -> None:
    view = SessionView(EngineState(), LogBuffer())
    view.on_record(frame(1, "s2c", {"type": "session.created", "session": {"id": "sess_1", "instructions": "a"}}))
    assert view.state.session == {"id": "sess_1", "instructions": "a"} and view.state.session_edit is None
    update = {"type": "session.update", "event_id": "rtui_session_edit_1", "session": {"instructions": "b"}}
    view.on_record(frame(2, "c2s", update))
    assert view.state.session_edit is not None and view.state.session_edit.status == "sent"
    view.on_record(frame(3, "s2c", {"type": "session.updated", "session": {"id": "sess_1", "instructions": "b"}}))
    assert view.state.session_edit.status == "confirmed" and view.state.session["instructions"] == "b"


def test_an_edit_the_server_refuses_is_said_in_place_and_as_a_notice() -> None:
    view = SessionView(EngineState(), LogBuffer())
    view.on_record(frame(1, "c2s", {"type": "session.update", "event_id": "rtui_session_edit_2", "session": {}}))
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Invalid value: 'x'.",
            "param": "session.audio.output.voice",
            "event_id": "rtui_session_edit_2",
        },
    }
    view.on_record(frame(2, "s2c", error))
    edit = view.state.session_edit
    assert edit is not None and edit.status == "rejected" and "session.audio.output.voice" in edit.detail
    assert view.state.notices == [f"The server rejected your session edit: {edit.detail}"]
    # rtui's own session.update (another event_id) is none of the user's business.
    view.on_record(frame(3, "c2s", {"type": "session.update", "event_id": "rtui_session_update", "session": {}}))
    assert view.state.session_edit is edit
