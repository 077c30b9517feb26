"""`error` events as the Realtime service sends them: the codes, messages and params seen on the wire.

Each builder returns the event without its server `event_id` (the sender numbers its events). Message
texts come from errors the real service returned in public reports; where the real wording is not
public (non-JSON frames, binary frames, some item look-ups) the text is ours and says so in a comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INVALID_REQUEST = "invalid_request_error"


@dataclass(frozen=True)
class RealtimeError:
    code: str | None
    message: str
    param: str | None = None
    type: str = INVALID_REQUEST

    def event(self, client_event_id: str | None = None) -> dict[str, Any]:
        """The `error` server event (without its own `event_id`), echoing the client's event id."""
        return {
            "type": "error",
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "event_id": client_event_id,
            },
        }


def _json_type(value: Any) -> str:
    """How OpenAI's validation names a JSON value's type ("an integer", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _quoted_list(values: list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


# -- validation ------------------------------------------------------------------------------


def unknown_parameter(param: str) -> RealtimeError:
    return RealtimeError("unknown_parameter", f"Unknown parameter: '{param}'.", param)


def missing_required_parameter(param: str) -> RealtimeError:
    return RealtimeError("missing_required_parameter", f"Missing required parameter: '{param}'.", param)


def missing_one_of(param: str, keys: tuple[str, ...]) -> RealtimeError:
    """None of `keys` is in the object at `param`, and one must be (an MCP tool's server)."""
    named = [f"'{param}.{key}'" for key in keys]
    return RealtimeError(
        "missing_required_parameter", f"Missing required parameter: one of {', '.join(named[:-1])} or {named[-1]}.", param
    )


def invalid_type(param: str, expected: str, value: Any) -> RealtimeError:
    return RealtimeError(
        "invalid_type", f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.", param
    )


def invalid_value(param: str, value: Any, supported: list[str]) -> RealtimeError:
    return RealtimeError("invalid_value", f"Invalid value: '{value}'. Supported values are: {_quoted_list(supported)}.", param)


def out_of_range(param: str, value: float, *, minimum: float | None = None, maximum: float | None = None) -> RealtimeError:
    kind = "integer" if isinstance(value, int) else "decimal"
    if minimum is not None and value < minimum:
        bound, word, short, sign = minimum, "below minimum", "below_min", ">="
    else:
        assert maximum is not None
        bound, word, short, sign = maximum, "above maximum", "above_max", "<="
    code = f"{kind}_{short}_value"
    shown_bound = int(bound) if float(bound).is_integer() else bound
    return RealtimeError(
        code, f"Invalid '{param}': {kind} {word} value. Expected a value {sign} {shown_bound}, but got {value} instead.", param
    )


# -- events and frames -----------------------------------------------------------------------


def missing_type() -> RealtimeError:
    return RealtimeError("invalid_event", "The 'type' field is missing.")


def unknown_event_type(value: Any, supported: list[str]) -> RealtimeError:
    return invalid_value("type", value, supported)


def invalid_json(detail: str) -> RealtimeError:
    # The real wording for a text frame that is not JSON is not public; the code is the API's usual one.
    return RealtimeError("invalid_json", f"The event could not be parsed as JSON: {detail}. Send each event as a JSON object.")


def not_an_object(value: Any) -> RealtimeError:
    return RealtimeError("invalid_type", f"Invalid type for event: expected an object, but got {_json_type(value)} instead.")


def binary_frame() -> RealtimeError:
    # Used only by the mock's `--binary-policy error`; the real service's behaviour is not documented.
    return RealtimeError("invalid_event", "Binary frames are not supported. Send each event as JSON in a text frame.")


def webrtc_only(event_type: str) -> RealtimeError:
    # Our wording: the real reply over WebSocket is not documented.
    return RealtimeError("invalid_value", f"'{event_type}' is only supported for WebRTC and SIP connections.", "type")


def beta_api_shape_disabled() -> RealtimeError:
    return RealtimeError(
        "beta_api_shape_disabled", "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
    )


BETA_CLOSE_CODE = 4000
BETA_CLOSE_REASON = "invalid_request_error.beta_api_shape_disabled"


def session_expired(max_seconds: float) -> RealtimeError:
    if max_seconds >= 60 and max_seconds % 60 == 0:
        duration = f"{int(max_seconds // 60)} minutes"
    else:
        duration = f"{max_seconds:g} seconds"
    return RealtimeError("session_expired", f"Your session hit the maximum duration of {duration}.")


# -- audio buffer ----------------------------------------------------------------------------


def invalid_audio() -> RealtimeError:
    return RealtimeError(
        "invalid_value",
        "Invalid 'audio'. Expected base64-encoded audio bytes (mono PCM16 at 24kHz) but got an invalid value.",
        "audio",
    )


def commit_empty(buffered_ms: float) -> RealtimeError:
    return RealtimeError(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
        f"but buffer only has {buffered_ms:.2f}ms of audio.",
    )


# -- conversation and responses --------------------------------------------------------------


def active_response(response_id: str) -> RealtimeError:
    return RealtimeError(
        "conversation_already_has_active_response",
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one.",
    )


def cancel_not_active() -> RealtimeError:
    return RealtimeError("response_cancel_not_active", "Cancellation failed: no active response found")


def item_not_found(code: str, item_id: str, param: str = "item_id") -> RealtimeError:
    # The codes are the service's (item_truncate_invalid_item_id, ...); the message wording is ours.
    return RealtimeError(code, f"Item with item_id '{item_id}' not found.", param)


def cannot_update_voice() -> RealtimeError:
    # The service's words (openai/openai-python#2607): no param.
    return RealtimeError("cannot_update_voice", "Cannot update a conversation's voice if assistant audio is present.")


def invalid_tool_call_id(call_id: str) -> RealtimeError:
    # Code, wording and the null param as the service returned them (seen in livekit/agents#3344).
    return RealtimeError("invalid_tool_call_id", f"Tool call ID '{call_id}' not found in conversation.")


def approval_request_not_found(request_id: str) -> RealtimeError:
    # Our code and wording: the service's answer to an approval of an unknown request is not public.
    return RealtimeError(
        "invalid_value", f"Approval request ID '{request_id}' not found in conversation.", "item.approval_request_id"
    )


def truncate_not_audio() -> RealtimeError:
    return RealtimeError("unsupported_content_type", "Only model output audio messages can be truncated")


def truncate_too_long(audio_ms: int, audio_end_ms: int) -> RealtimeError:
    return RealtimeError(
        "invalid_value", f"Audio content of {audio_ms}ms is already shorter than {audio_end_ms}ms", "audio_end_ms"
    )
