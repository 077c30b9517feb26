"""The session rtui asks for: its own defaults, then a `--session FILE.json`, then the flags.

`--session` takes the GA session object an app sends in its `session.update` (or the whole event),
so rtui reproduces that app's configuration: instructions, tools, turn detection, transcription,
voice... The file is checked as the service checks an update (`tui.protocol.session`) before
anything connects, and a problem is one line with the path of the bad field.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from tui.engine.state import TurnMode
from tui.protocol.session import merge_session, validate_session_update
from tui.wire.reader import read_json_file

MAX_FILE_BYTES = 4 * 2**20
PCM_24K = {"type": "audio/pcm", "rate": 24000}
SERVER_VAD = {"type": "server_vad", "create_response": True, "interrupt_response": True}


class SessionFileError(Exception):
    """A session file rtui cannot send; the message is one line naming the file and the bad field."""


def load_session_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The session object in the file, checked; raises SessionFileError (`FILE: field.path: problem`)."""
    shown = str(path)
    try:
        document = read_json_file(path, MAX_FILE_BYTES)
    except ValueError as exc:
        raise SessionFileError(str(exc)) from None
    if isinstance(document, dict) and document.get("type") == "session.update":
        document = document.get("session")  # the whole event, as an app's log has it
    if not isinstance(document, dict):
        raise SessionFileError(f"{shown}: expected the session object of a session.update (a JSON object)")
    session = {"type": "realtime", **document}  # `type` is required on the wire; a file may leave it out
    error = validate_session_update(session)
    if error is not None:
        param = (error.param or "session").removeprefix("session").removeprefix(".") or "(the session)"
        raise SessionFileError(f"{shown}: {param}: {error.message}")
    if session["type"] != "realtime":
        raise SessionFileError(f"{shown}: type: rtui talks to the model; a transcription session is not supported")
    _check_formats(shown, session)
    return session


def _check_formats(shown: str, session: dict[str, Any]) -> None:
    """rtui captures and plays 24 kHz PCM: a session in another format would garble both ways."""
    audio = session.get("audio") or {}
    for side in ("input", "output"):
        fmt = (audio.get(side) or {}).get("format")
        if fmt is not None and fmt.get("type") != "audio/pcm":
            raise SessionFileError(
                f"{shown}: audio.{side}.format.type: rtui sends and plays audio/pcm at 24 kHz, not {fmt.get('type')!r}"
            )


def initial_turn_mode(session: dict[str, Any] | None, push_to_talk: bool) -> TurnMode:
    """Push-to-talk when asked for, or when the session file turns turn detection off (null)."""
    audio_input = ((session or {}).get("audio") or {}).get("input") or {}
    if push_to_talk or ("turn_detection" in audio_input and audio_input["turn_detection"] is None):
        return "push_to_talk"
    return "server_vad"


def build_session(
    base: dict[str, Any] | None,
    *,
    turn_mode: TurnMode,
    instructions: str | None = None,
    voice: str | None = None,
    transcribe_model: str | None = None,
    tools: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The `session` of rtui's `session.update`: rtui's defaults, the file over them, the flags over both.
    Turn detection follows the turn mode (`v` switches it): the file's own when on, null when off.
    `--tools` definitions replace the file's tools of the same name and add the others."""
    defaults: dict[str, Any] = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {"input": {"format": dict(PCM_24K), "turn_detection": dict(SERVER_VAD)}, "output": {"format": dict(PCM_24K)}},
    }
    session = merge_session(defaults, base) if base else defaults
    audio_input = session["audio"]["input"]
    given = ((base or {}).get("audio") or {}).get("input") or {}
    if given.get("turn_detection") is not None:
        audio_input["turn_detection"] = copy.deepcopy(given["turn_detection"])  # as the app sends it, no defaults added
    if turn_mode == "push_to_talk":
        audio_input["turn_detection"] = None
    elif audio_input.get("turn_detection") is None:
        audio_input["turn_detection"] = dict(SERVER_VAD)
    if voice:
        session["audio"].setdefault("output", {})["voice"] = voice
    if transcribe_model:
        audio_input["transcription"] = {**(audio_input.get("transcription") or {}), "model": transcribe_model}
    if instructions:
        session["instructions"] = instructions
    if tools:
        names = {tool["name"] for tool in tools}
        kept = [tool for tool in session.get("tools") or [] if not (isinstance(tool, dict) and tool.get("name") in names)]
        session["tools"] = [*kept, *copy.deepcopy(tools)]
    return session
