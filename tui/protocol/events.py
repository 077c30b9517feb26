"""Realtime event names, GA and retired beta, and the beta → GA rename map.

The GA names follow the openai-python types under `openai/types/realtime/`; the beta names follow
`openai/types/beta/realtime/` from before the beta's retirement.
"""

from __future__ import annotations

from typing import Final

import orjson

# -- client events ---------------------------------------------------------------------------

CLIENT_EVENTS: Final[tuple[str, ...]] = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",  # WebRTC/SIP only
)

BETA_CLIENT_EVENTS: Final[tuple[str, ...]] = (
    "session.update",
    "transcription_session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
)

# -- server events ---------------------------------------------------------------------------

SERVER_EVENTS: Final[tuple[str, ...]] = (
    "error",
    "session.created",
    "session.updated",
    "conversation.created",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.created",  # the beta's name, still in the SDK's GA union; GA servers send .added/.done
    "conversation.item.retrieved",
    "conversation.item.truncated",
    "conversation.item.deleted",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.input_audio_transcription.segment",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "input_audio_buffer.timeout_triggered",
    "input_audio_buffer.dtmf_event_received",
    "response.created",
    "response.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "mcp_list_tools.in_progress",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
    "rate_limits.updated",
    "output_audio_buffer.started",  # WebRTC/SIP only
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
)

# Event names that only the beta used, mapped to their GA names.
BETA_TO_GA: Final[dict[str, str]] = {
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "transcription_session.created": "session.created",
    "transcription_session.updated": "session.updated",
    "transcription_session.update": "session.update",
}

# Server events of the retired beta: the GA set minus what GA added or renamed, plus the beta names.
_GA_ONLY: Final = frozenset(
    {
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.segment",
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.dtmf_event_received",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
    }
)
BETA_SERVER_EVENTS: Final[tuple[str, ...]] = tuple(
    sorted(
        # (the beta had session.* too: transcription_session.* were extra names, not old ones)
        (set(SERVER_EVENTS) - _GA_ONLY - {v for k, v in BETA_TO_GA.items() if not k.startswith("transcription_session.")})
        | {name for name in BETA_TO_GA if name not in BETA_CLIENT_EVENTS}
    )
)

# Beta `session` fields that the GA `session.update` rejects as unknown parameters.
BETA_SESSION_FIELDS: Final[tuple[str, ...]] = (
    "modalities",
    "voice",
    "input_audio_format",
    "output_audio_format",
    "input_audio_transcription",
    "input_audio_noise_reduction",
    "turn_detection",
    "temperature",
    "max_response_output_tokens",
    "speed",
    "client_secret",
)


def is_beta_only(event_type: str) -> bool:
    """True for an event name that only the retired beta used (a GA client never sees it)."""
    return event_type in BETA_TO_GA


def client_event_problem(text: str) -> str | None:
    """Why `text` is not a client event to send (one sentence, with where), or None."""
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"Not JSON: {exc}."
    if not isinstance(event, dict):
        return 'A client event is a JSON object: {"type": ..., ...}.'
    etype = event.get("type")
    if not isinstance(etype, str):
        return 'The event needs a "type" string, e.g. "response.create".'
    if etype not in CLIENT_EVENTS:
        return f"{etype!r} is not a client event of the GA API; one of: {', '.join(CLIENT_EVENTS)}."
    return None
