"""The GA session object: defaults, `session.update` validation like the real service, and merging.

Validation walks the update in order and returns the first problem as a `RealtimeError` with the
service's code, message and `param` path (`session.audio.input.format.rate`, ...). Unknown fields
are reported before a missing `session.type`, because clients that still send beta fields (which
predate `type`) are answered with `unknown_parameter` in public reports. The whole update is
rejected on any error; `merge_session` applies a valid one.
"""

from __future__ import annotations

import copy
from typing import Any

from tui.protocol import errors
from tui.protocol.errors import RealtimeError
from tui.protocol.schema import (
    Checker,
    any_value,
    array,
    boolean,
    each_value,
    enum,
    nullable,
    number,
    obj,
    one_of,
    string,
    string_map,
    string_or_object,
    tagged,
)
from tui.protocol.tools import TOOL_CHOICE, TOOLS

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
        "audio": {"input": _default_input_audio(), "output": {"format": dict(PCM_FORMAT), "voice": voice, "speed": 1.0}},
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


_FORMAT = tagged(
    {
        # `rate` is optional: 24000 is the only rate, and implied (the SDK's AudioPCM has it optional).
        "audio/pcm": obj({"type": string, "rate": enum(24000)}),
        "audio/pcmu": obj({"type": string}),
        "audio/pcma": obj({"type": string}),
    }
)
_MS = number(0, integer=True)
_TURN_DETECTION = nullable(
    tagged(
        {
            "server_vad": obj(
                {
                    "type": string,
                    "threshold": number(0.0, 1.0),
                    "prefix_padding_ms": _MS,
                    "silence_duration_ms": _MS,
                    "idle_timeout_ms": nullable(number(5000, 30000, integer=True)),
                    "create_response": boolean,
                    "interrupt_response": boolean,
                }
            ),
            "semantic_vad": obj(
                {
                    "type": string,
                    "eagerness": enum("low", "medium", "high", "auto"),
                    "create_response": boolean,
                    "interrupt_response": boolean,
                }
            ),
        }
    )
)
_TRANSCRIPTION = nullable(
    obj(
        {
            "model": string,
            "language": string,
            "prompt": string,
            "delay": enum("minimal", "low", "medium", "high", "xhigh"),
            "keywords": array(string),
            "languages": array(string),
        }
    )
)
_NOISE_REDUCTION = nullable(obj({"type": enum("near_field", "far_field"), "strength": number(0.0, 1.0)}))
_AUDIO_INPUT = obj(
    {"format": _FORMAT, "transcription": _TRANSCRIPTION, "noise_reduction": _NOISE_REDUCTION, "turn_detection": _TURN_DETECTION}
)
_VOICE = one_of(string, obj({"id": string}, required=("id",)))
_AUDIO_OUTPUT = obj({"format": _FORMAT, "voice": _VOICE, "speed": number(0.25, 1.5)})
_INCLUDE = nullable(array(enum("item.input_audio_transcription.logprobs")))

# The SDK's `RealtimeTruncationRetentionRatio` and `ResponsePrompt.variables` (a string or an input part).
_RETENTION_RATIO = tagged(
    {
        "retention_ratio": obj(
            {
                "type": string,
                "retention_ratio": number(0.0, 1.0),
                "token_limits": obj({"post_instructions": number(0, integer=True)}),
            },
            required=("retention_ratio",),
        )
    }
)
_DETAIL = enum("low", "high", "auto", "original")
_PROMPT_VARIABLE = string_or_object(
    string,
    tagged(
        {
            "input_text": obj({"type": string, "text": string}, required=("text",)),
            "input_image": obj(
                {"type": string, "detail": _DETAIL, "file_id": nullable(string), "image_url": nullable(string)},
                required=("detail",),
            ),
            "input_file": obj(
                {
                    "type": string,
                    "detail": _DETAIL,
                    "file_data": nullable(string),
                    "file_id": nullable(string),
                    "file_url": nullable(string),
                    "filename": nullable(string),
                }
            ),
        }
    ),
)

REALTIME_SESSION_FIELDS: dict[str, Checker] = {
    "type": enum("realtime", "transcription"),
    "model": string,
    "output_modalities": array(enum("text", "audio")),
    "instructions": string,
    "audio": obj({"input": _AUDIO_INPUT, "output": _AUDIO_OUTPUT}),
    "include": _INCLUDE,
    "max_output_tokens": one_of(number(1, 4096, integer=True), enum("inf")),
    "tools": TOOLS,
    "tool_choice": TOOL_CHOICE,
    "tracing": nullable(one_of(enum("auto"), obj({"workflow_name": string, "group_id": string, "metadata": any_value}))),
    "truncation": string_or_object(enum("auto", "disabled"), _RETENTION_RATIO),
    "prompt": nullable(
        obj({"id": string, "version": nullable(string), "variables": nullable(each_value(_PROMPT_VARIABLE))}, required=("id",))
    ),
    "reasoning": nullable(obj({"effort": nullable(enum("minimal", "low", "medium", "high", "xhigh"))})),
    "parallel_tool_calls": boolean,
}
TRANSCRIPTION_SESSION_FIELDS: dict[str, Checker] = {
    "type": enum("realtime", "transcription"),
    "audio": obj({"input": _AUDIO_INPUT}),
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
    error = obj(fields)(session, "session")
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


RESPONSE_CREATE_FIELDS: dict[str, Checker] = {
    "audio": obj({"output": obj({"format": _FORMAT, "voice": _VOICE})}),
    "conversation": string,  # "auto", "none" (the SDK allows any string)
    "input": array(obj({"type": string}, required=("type",), open_=True)),
    "instructions": string,
    "max_output_tokens": REALTIME_SESSION_FIELDS["max_output_tokens"],
    "metadata": nullable(string_map),
    "output_modalities": REALTIME_SESSION_FIELDS["output_modalities"],
    "parallel_tool_calls": boolean,
    "prompt": REALTIME_SESSION_FIELDS["prompt"],
    "reasoning": REALTIME_SESSION_FIELDS["reasoning"],
    "tool_choice": TOOL_CHOICE,
    "tools": TOOLS,
}


def validate_response_create(params: Any) -> RealtimeError | None:
    """The error the service answers a `response.create`'s `response` with, or None: the fields of the
    SDK's `RealtimeResponseCreateParams`, each as the session's."""
    if not isinstance(params, dict):
        return errors.invalid_type("response", "an object", params)
    error = obj(RESPONSE_CREATE_FIELDS)(params, "response")
    if error is not None:
        return error
    modalities = params.get("output_modalities")
    if modalities is not None and modalities not in (["audio"], ["text"]):
        return errors.invalid_value("response.output_modalities", modalities, ["audio", "text"])
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
        elif here[-1] in ("format", "tool_choice") and isinstance(value, dict):
            target[key] = copy.deepcopy(value)  # a new format (or forced tool) replaces the old one whole
            if here[-1] == "format" and value.get("type") == "audio/pcm":
                target[key].setdefault("rate", PCM_FORMAT["rate"])  # shown with its implied rate
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, here)
        else:
            target[key] = copy.deepcopy(value)
