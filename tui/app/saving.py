"""What the user can copy or save from the screen: a frame as it crossed the wire, the transcript
(from the recording, which has all of it), and where a file may be written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui.engine.state import EngineState, LogBuffer, TranscriptEntry
from tui.engine.view import SessionView
from tui.wire.reader import RecordingError, SessionReader


def frame_text(record: dict[str, Any]) -> str:
    """A frame's own text, byte for byte as recorded (a binary frame as its base64); any other
    record as JSON."""
    for field in ("text", "data_b64"):
        if isinstance(record.get(field), str):
            return record[field]
    return json.dumps(record, indent=2, ensure_ascii=False)


def transcript_of(recording: str | None, fallback: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """The whole conversation, read back from the recording (the screen keeps only its last turns);
    `fallback` when there is no readable recording."""
    if not recording:
        return fallback
    state = EngineState()
    view = SessionView(state, LogBuffer(capacity=16))
    try:
        with SessionReader(recording) as reader:
            for record in reader:
                view.on_record(record)
    except (RecordingError, OSError):
        return fallback
    return state.transcript


def transcript_plain(entries: list[TranscriptEntry]) -> str:
    lines = []
    for entry in entries:
        note = " [interrupted]" if entry.interrupted else ""
        if entry.role == "call":
            note = f" -> {entry.output}" if entry.output is not None else " (not answered)"
        lines.append(f"{entry.role}: {entry.text.strip()}{note}")
    return "\n".join(lines) + "\n"


def unwritable(path: str) -> str | None:
    """Why `path` cannot be written without losing anything (one sentence), or None."""
    target = Path(path).expanduser()
    if target.exists():
        return f"{target} exists; choose another name (nothing is overwritten)."
    if not target.parent.is_dir():
        return f"{target.parent} is not a folder."
    return None


def write_new(path: str, text: str) -> str:
    """Writes `text` to a new file; returns the path written, or raises OSError."""
    target = Path(path).expanduser()
    with open(target, "x", encoding="utf-8") as file:  # "x": never over an existing file
        file.write(text)
    return str(target)
