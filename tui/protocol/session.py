"""The GA session object: defaults, `session.update` validation like the real service, and merging.

Validation walks the update in order and returns the first problem as a `RealtimeError` with the
service's code, message and `param` path (`session.audio.input.format.rate`, ...). Unknown fields
are reported before a missing `session.type`, because clients that still send beta fields (which
predate `type`) are answered with `unknown_parameter` in public reports. The whole update is
rejected on any error; `merge_session` applies a valid one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tui.protocol import errors
from tui.protocol.errors import RealtimeError

DEFAULT_INSTRUCTIONS = "You are a helpful, friendly voice assistant. (rtui mock server)"
VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"]

SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
PCM_FORMAT: dict[str, Any] = {"type": "audio/pcm", "rate": 24000}


def _default_input_audio() -> dict[str, Any]:
    """A new session's input audio, the same for a realtime and a transcription session."""
    return {
        "format": dict(PCM_FORMAT),
        "transcription": None,
        "noise_reduction": None,
        "turn_detection": dict(SERVER_VAD_DEFAULTS),
    }


def default_session(session_id: str, model: str, expires_at: int, *, voice: str = "marin") -> dict[str, Any]:
    """The session a GA `session.created` carries for a `model=` connection."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": _default_input_audio(),
            "output": {"format": dict(PCM_FORMAT), "voice": voice, "speed": 1.0},
        },
        "include": None,
    }


def default_transcription_session(session_id: str, expires_at: int) -> dict[str, Any]:
    """The session for an `intent=transcription` connection."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {"input": _default_input_audio()},
        "include": None,
    }


# -- a small schema language ---------------------------------------------------------------------
# A checker takes (value, param path) and returns a RealtimeError or None.

Checker = Callable[[Any, str], RealtimeError | None]


def _any(value: Any, param: str) -> RealtimeError | None:
    return None


def _string(value: Any, param: str) -> RealtimeError | None:
    return None if isinstance(value, str) else errors.invalid_type(param, "a string", value)


def _boolean(value: Any, param: str) -> RealtimeError | None:
    return None if isinstance(value, bool) else errors.invalid_type(param, "a boolean", value)


def _number(minimum: float | None = None, maximum: float | None = None, *, integer: bool = False) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            return errors.invalid_type(param, "an integer" if integer else "a number", value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return errors.out_of_range(param, value, minimum=minimum, maximum=maximum)
        return None

    return check


def _enum(*values: Any) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if value in values and not isinstance(value, bool):
            return None
        if isinstance(value, (dict, list)) or value is None:
            expected = "a string" if all(isinstance(v, str) for v in values) else "an integer"
            return errors.invalid_type(param, expected, value)
        return errors.invalid_value(param, value, [str(v) for v in values])

    return check


def _nullable(checker: Checker) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        return None if value is None else checker(value, param)

    return check


def _one_of(*checkers: Checker) -> Checker:
    """Accepts what any checker accepts; otherwise reports the first checker's error."""

    def check(value: Any, param: str) -> RealtimeError | None:
        first = None
        for checker in checkers:
            error = checker(value, param)
            if error is None:
                return None
            first = first or error
        return first

    return check


def _array(item: Checker) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, list):
            return errors.invalid_type(param, "an array", value)
        for index, element in enumerate(value):
            error = item(element, f"{param}[{index}]")
            if error is not None:
                return error
        return None

    return check


def _object(fields: dict[str, Checker], required: tuple[str, ...] = (), *, open_: bool = False) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, dict):
            return errors.invalid_type(param, "an object", value)
        if not open_:
            for key in value:
                if key not in fields:
                    return errors.unknown_parameter(f"{param}.{key}")
        for key in required:
            if key not in value:
                return errors.missing_required_parameter(f"{param}.{key}")
        for key, element in value.items():
            checker = fields.get(key, _any)
            error = checker(element, f"{param}.{key}")
            if error is not None:
                return error
        return None

    return check


def _tagged(variants: dict[str, Checker]) -> Checker:
    """An object whose `type` picks its schema (audio formats, turn detection)."""

    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, dict):
            return errors.invalid_type(param, "an object", value)
        kind = value.get("type")
        if kind is None:
            return errors.missing_required_parameter(f"{param}.type")
        if kind not in variants:
            return _enum(*variants)(kind, f"{param}.type")
        return variants[kind](value, param)

    return check


_FORMAT = _tagged(
    {
        "audio/pcm": _object({"type": _string, "rate": _enum(24000)}, required=("rate",)),
        "audio/pcmu": _object({"type": _string}),
        "audio/pcma": _object({"type": _string}),
    }
)
_MS = _number(0, integer=True)
_TURN_DETECTION = _nullable(
    _tagged(
        {
            "server_vad": _object(
                {
                    "type": _string,
                    "threshold": _number(0.0, 1.0),
                    "prefix_padding_ms": _MS,
                    "silence_duration_ms": _MS,
                    "idle_timeout_ms": _nullable(_number(5000, 30000, integer=True)),
                    "create_response": _boolean,
                    "interrupt_response": _boolean,
                }
            ),
            "semantic_vad": _object(
                {
                    "type": _string,
                    "eagerness": _enum("low", "medium", "high", "auto"),
                    "create_response": _boolean,
                    "interrupt_response": _boolean,
                }
            ),
        }
    )
)
_TRANSCRIPTION = _nullable(
    _object(
        {
            "model": _string,
            "language": _string,
            "prompt": _string,
            "delay": _enum("minimal", "low", "medium", "high", "xhigh"),
            "keywords": _array(_string),
            "languages": _array(_string),
        }
    )
)
_NOISE_REDUCTION = _nullable(_object({"type": _enum("near_field", "far_field"), "strength": _number(0.0, 1.0)}))
_AUDIO_INPUT = _object(
    {
        "format": _FORMAT,
        "transcription": _TRANSCRIPTION,
        "noise_reduction": _NOISE_REDUCTION,
        "turn_detection": _TURN_DETECTION,
    }
)
_VOICE = _one_of(_string, _object({"id": _string}, required=("id",)))
_AUDIO_OUTPUT = _object({"format": _FORMAT, "voice": _VOICE, "speed": _number(0.25, 1.5)})
_INCLUDE = _nullable(_array(_enum("item.input_audio_transcription.logprobs")))

REALTIME_SESSION_FIELDS: dict[str, Checker] = {
    "type": _enum("realtime", "transcription"),
    "model": _string,
    "output_modalities": _array(_enum("text", "audio")),
    "instructions": _string,
    "audio": _object({"input": _AUDIO_INPUT, "output": _AUDIO_OUTPUT}),
    "include": _INCLUDE,
    "max_output_tokens": _one_of(_number(1, 4096, integer=True), _enum("inf")),
    "tools": _array(_object({"type": _enum("function", "mcp")}, required=("type",), open_=True)),
    "tool_choice": _one_of(_enum("none", "auto", "required"), _object({}, open_=True)),
    "tracing": _nullable(_one_of(_enum("auto"), _object({"workflow_name": _string, "group_id": _string, "metadata": _any}))),
    "truncation": _one_of(_enum("auto", "disabled"), _object({}, open_=True)),
    "prompt": _nullable(_object({"id": _string, "version": _string, "variables": _any}, required=("id",))),
    "reasoning": _nullable(_object({"effort": _string})),
    "parallel_tool_calls": _boolean,
}
TRANSCRIPTION_SESSION_FIELDS: dict[str, Checker] = {
    "type": _enum("realtime", "transcription"),
    "audio": _object({"input": _AUDIO_INPUT}),
    "include": _INCLUDE,
}


def validate_session_update(session: Any, current_type: str = "realtime") -> RealtimeError | None:
    """The error the service answers this `session.update`'s `session` with, or None if it is valid."""
    if not isinstance(session, dict):
        return errors.invalid_type("session", "an object", session)
    fields = TRANSCRIPTION_SESSION_FIELDS if session.get("type", current_type) == "transcription" else REALTIME_SESSION_FIELDS
    for key in session:
        if key not in fields:
            return errors.unknown_parameter(f"session.{key}")
    if "type" not in session:
        return errors.missing_required_parameter("session.type")
    error = _object(fields)(session, "session")
    if error is not None:
        return error
    if session["type"] != current_type:
        # A session's type is fixed by the connection (`model=` or `intent=transcription`).
        return errors.invalid_value("session.type", session["type"], [current_type])
    modalities = session.get("output_modalities")
    if isinstance(modalities, list) and len(set(modalities)) != 1:
        return RealtimeError(
            "invalid_value",
            f"Invalid value: {modalities}. Supported values are: ['audio'] and ['text'] (not both).",
            "session.output_modalities",
        )
    return None


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The session after a valid update: nested objects merge, anything else replaces."""
    merged = copy.deepcopy(current)
    _merge_into(merged, update, path=())
    return merged


def _merge_into(target: dict[str, Any], update: dict[str, Any], path: tuple[str, ...]) -> None:
    for key, value in update.items():
        here = (*path, key)
        if here[-2:] == ("input", "turn_detection") and isinstance(value, dict):
            existing = target.get(key)
            if not isinstance(existing, dict) or existing.get("type") != value["type"]:
                existing = dict(SERVER_VAD_DEFAULTS if value["type"] == "server_vad" else SEMANTIC_VAD_DEFAULTS)
            existing.update(value)
            target[key] = existing
        elif here[-1] == "format" and isinstance(value, dict):
            target[key] = copy.deepcopy(value)  # a new format replaces the old one whole
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, here)
        else:
            target[key] = copy.deepcopy(value)
