"""The session commands a view sends an engine, as data: one small frozen dataclass per command,
and one entry point, `submit(command)`, on every engine-like.

Every engine-like says which command types it accepts (`commands`): the live engine all of them; a
relay only `Mark` (the relayed client drives its session); a replay only `Reconnect` (it replays
again). A view offers only the keys of accepted commands, rather than answering the others with a
notice. Commands pickle as they are, so an engine in another process takes them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SendText:
    """A user message (`conversation.item.create`), then `response.create`."""

    text: str


@dataclass(frozen=True)
class CreateResponse:
    """`response.create`."""


@dataclass(frozen=True)
class CancelResponse:
    """Stop the assistant: flush playback, then `response.cancel`."""


@dataclass(frozen=True)
class SetTalking:
    """Push-to-talk pressed (a fresh buffer) or released (commit and respond)."""

    talking: bool


@dataclass(frozen=True)
class ToggleTurnMode:
    """Server VAD or push-to-talk, with the `session.update` that says so."""


@dataclass(frozen=True)
class SetMuted:
    muted: bool


@dataclass(frozen=True)
class Mark:
    """A user's note in the recording."""

    note: str


@dataclass(frozen=True)
class SendEvent:
    """A client event the user wrote, sent as typed (its text is the frame, byte for byte)."""

    text: str


@dataclass(frozen=True)
class UpdateSession:
    """A `session.update` carrying the user's edits of the live session (its `session` object,
    already checked by the view); `EngineState.session_edit` follows it until the server answers."""

    session: dict[str, Any]


@dataclass(frozen=True)
class AnswerCall:
    """The output of a function call: `function_call_output`, then `response.create` once the
    response that made the call is done and all its calls are answered."""

    call_id: str
    output: str


@dataclass(frozen=True)
class Reconnect:
    """Close this connection and open a new one (a replay runs again)."""


Command = (
    SendText
    | CreateResponse
    | CancelResponse
    | SetTalking
    | ToggleTurnMode
    | SetMuted
    | Mark
    | SendEvent
    | UpdateSession
    | AnswerCall
    | Reconnect
)

SESSION_COMMANDS: frozenset[type[Command]] = frozenset(
    {
        SendText,
        CreateResponse,
        CancelResponse,
        SetTalking,
        ToggleTurnMode,
        SetMuted,
        Mark,
        SendEvent,
        UpdateSession,
        AnswerCall,
        Reconnect,
    }
)
