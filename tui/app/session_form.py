"""The session editor's data: the fields a user edits, prefilled from the session the server last
confirmed, and the `session` object of the `session.update` that carries what they changed.

Only changed fields are sent: the service refuses some of them once the conversation has moved on
(a new voice after the assistant has spoken), so resending an unchanged one would make a valid edit
fail. The result is checked with the rules rtui validates every `session.update` with
(tui.protocol.session), so a typo is shown in place before anything is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

from tui.protocol.session import validate_session_update

TURN_DETECTIONS = ("server_vad", "semantic_vad", "none")
EAGERNESS = ("auto", "low", "medium", "high")
VAD_NUMBERS = ("threshold", "prefix_padding_ms", "silence_duration_ms")


@dataclass(frozen=True)
class SessionForm:
    """The editable fields, as text (what the widgets hold)."""

    instructions: str = ""
    voice: str = ""
    turn_detection: str = "server_vad"  # one of TURN_DETECTIONS
    threshold: str = ""
    prefix_padding_ms: str = ""
    silence_duration_ms: str = ""
    eagerness: str = "auto"
    transcription_model: str = ""  # empty: no input transcription
    tools: str = "[]"  # a JSON array


def form_of(session: dict[str, Any] | None) -> SessionForm:
    """The form for a session object (the server's; anything may be missing or mistyped)."""
    session = session or {}
    audio = _object(session.get("audio"))
    audio_in, audio_out = _object(audio.get("input")), _object(audio.get("output"))
    detection = audio_in.get("turn_detection", {"type": "server_vad"})  # absent: the service's default
    kind = detection.get("type") if isinstance(detection, dict) else "none"
    detection = _object(detection)
    voice = audio_out.get("voice")
    tools = session.get("tools")
    return SessionForm(
        instructions=_text(session.get("instructions")),
        voice=_text(voice.get("id") if isinstance(voice, dict) else voice),
        turn_detection=kind if kind in TURN_DETECTIONS else "server_vad",
        threshold=_number_text(detection.get("threshold")),
        prefix_padding_ms=_number_text(detection.get("prefix_padding_ms")),
        silence_duration_ms=_number_text(detection.get("silence_duration_ms")),
        eagerness=_text(detection.get("eagerness")) or "auto",
        transcription_model=_text(_object(audio_in.get("transcription")).get("model")),
        tools=orjson.dumps(tools if isinstance(tools, list) else [], option=orjson.OPT_INDENT_2).decode(),
    )


def session_update(
    form: SessionForm, before: SessionForm, current: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, str | None]:
    """(the `session` to send, None) for what changed from `before`, or (None, a one-line problem)."""
    changed = {f.name for f in dataclasses.fields(SessionForm) if getattr(form, f.name) != getattr(before, f.name)}
    if not changed:
        return None, "Nothing changed: edit a field first."
    current = current or {}
    session_type = "transcription" if current.get("type") == "transcription" else "realtime"
    session: dict[str, Any] = {"type": session_type}
    audio_in: dict[str, Any] = {}
    audio_out: dict[str, Any] = {}
    if "instructions" in changed:
        session["instructions"] = form.instructions
    if "voice" in changed:
        audio_out["voice"] = form.voice.strip()
    if changed & {"turn_detection", "eagerness", *VAD_NUMBERS}:
        detection, problem = _turn_detection(form)
        if problem:
            return None, problem
        audio_in["turn_detection"] = detection
    if "transcription_model" in changed:
        model = form.transcription_model.strip()
        kept = _object(_object(_object(current.get("audio")).get("input")).get("transcription"))
        # The server's other transcription settings (language, prompt) stay as they were.
        audio_in["transcription"] = {**{k: v for k, v in kept.items() if v is not None}, "model": model} if model else None
    if "tools" in changed:
        try:
            session["tools"] = orjson.loads(form.tools or "[]")
        except orjson.JSONDecodeError as exc:
            return None, f"tools: not JSON ({exc})."
    if audio_in or audio_out:
        session["audio"] = {**({"input": audio_in} if audio_in else {}), **({"output": audio_out} if audio_out else {})}
    error = validate_session_update(session, session_type)
    if error is not None:
        return None, f"{error.param or 'session'}: {error.message}"
    return session, None


def _turn_detection(form: SessionForm) -> tuple[dict[str, Any] | None, str | None]:
    if form.turn_detection == "none":
        return None, None
    if form.turn_detection == "semantic_vad":
        return {"type": "semantic_vad", "eagerness": form.eagerness}, None
    detection: dict[str, Any] = {"type": "server_vad"}
    for name in VAD_NUMBERS:
        text = getattr(form, name).strip()
        if not text:
            continue  # left empty: the server's value stays
        try:
            detection[name] = float(text) if name == "threshold" else int(text)
        except ValueError:
            kind = "a number from 0 to 1" if name == "threshold" else "a whole number of milliseconds"
            return None, f"{name}: {text!r} is not {kind}."
    return detection, None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return str(value)
