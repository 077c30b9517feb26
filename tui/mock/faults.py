"""Faults the mock injects on demand, as small dataclasses and as `--fault` strings.

Every fault but `RejectHandshake` fires once per connection, when its trigger is reached:
`after_frames=N` (once the N-th client data frame has been handled), `after_seconds=T` (T seconds
after the handshake), or, with neither, as soon as the session has started. Several faults combine;
each fires on its own trigger.

Command-line syntax, one `--fault` per fault: `KIND[,key=value]...`, e.g.
`close,code=4001,reason=bye,after-frames=3`, `drop,after-seconds=2`, `no-pong`, `delay,seconds=0.5`,
`stall,after-frames=1`, `oversized,bytes=2000000`, `invalid-json,after-frames=2`, `transcription-failed`,
`reject,status=503`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Trigger:
    after_frames: int | None = None
    after_seconds: float | None = None


@dataclass(frozen=True)
class CloseAfter(Trigger):
    """Close with this code and reason (a close frame, then the closing handshake)."""

    code: int = 1000
    reason: str = ""
    kind: ClassVar[str] = "close"


@dataclass(frozen=True)
class DropConnection(Trigger):
    """Abort the TCP connection without a close frame: the client sees 1006."""

    kind: ClassVar[str] = "drop"


@dataclass(frozen=True)
class WithholdPongs(Trigger):
    """Stop answering pings: a client with keepalive closes 1011 after its ping timeout."""

    kind: ClassVar[str] = "no-pong"


@dataclass(frozen=True)
class DelayFrames(Trigger):
    """Send every server frame `seconds` late (each keeps its place and spacing)."""

    seconds: float = 0.5
    kind: ClassVar[str] = "delay"


@dataclass(frozen=True)
class StallFrames(Trigger):
    """Send no server frames for `seconds` (None: for the rest of the connection); pings still answered."""

    seconds: float | None = None
    kind: ClassVar[str] = "stall"


@dataclass(frozen=True)
class OversizedEvent(Trigger):
    """Send one valid event (`conversation.item.retrieved`) of at least `size` bytes (default 1 MiB + 1:
    one byte over the `websockets` client's default `max_size`, so such a client closes 1009)."""

    size: int = 1024 * 1024 + 1
    kind: ClassVar[str] = "oversized"


@dataclass(frozen=True)
class SendInvalidJson(Trigger):
    """Send one text frame that is not valid JSON."""

    kind: ClassVar[str] = "invalid-json"


@dataclass(frozen=True)
class FailTranscription(Trigger):
    """From then on, each input audio transcription fails: `conversation.item.input_audio_transcription.failed`
    instead of its deltas and `.completed` (with transcription configured in the session)."""

    kind: ClassVar[str] = "transcription-failed"


@dataclass(frozen=True)
class RejectHandshake:
    """Refuse every WebSocket upgrade with this HTTP status."""

    status: int = 503
    kind: ClassVar[str] = "reject"


Fault = (
    CloseAfter
    | DropConnection
    | WithholdPongs
    | DelayFrames
    | StallFrames
    | OversizedEvent
    | SendInvalidJson
    | FailTranscription
    | RejectHandshake
)

FAULT_TYPES: dict[str, type] = {
    cls.kind: cls
    for cls in (
        CloseAfter,
        DropConnection,
        WithholdPongs,
        DelayFrames,
        StallFrames,
        OversizedEvent,
        SendInvalidJson,
        FailTranscription,
        RejectHandshake,
    )
}
# Command-line keys that differ from the field names.
_ALIASES = {"bytes": "size"}


class FaultSyntaxError(ValueError):
    pass


def parse_fault(spec: str) -> Fault:
    """A fault from its command-line form, e.g. `close,code=4001,reason=bye,after-frames=3`."""
    kind, *pairs = [part.strip() for part in spec.split(",")]
    cls = FAULT_TYPES.get(kind)
    if cls is None:
        raise FaultSyntaxError(f"unknown fault {kind!r} in {spec!r}; expected one of: {', '.join(FAULT_TYPES)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        name = _ALIASES.get(key.strip(), key.strip().replace("-", "_"))
        if not sep or name not in fields:
            accepted = ", ".join(sorted(k.replace("_", "-") for k in fields) + (["bytes"] if "size" in fields else []))
            raise FaultSyntaxError(f"{pair!r} is not a setting of fault {kind!r} (in {spec!r}); it accepts: {accepted}")
        values[name] = _convert(raw.strip(), fields[name].type, spec)
    return cls(**values)


def _convert(raw: str, annotation: Any, spec: str) -> Any:
    text = str(annotation)
    if raw.lower() in ("none", "") and "None" in text:
        return None
    try:
        if text.startswith("int"):
            return int(raw)
        if text.startswith("float"):
            return float(raw)
    except ValueError:
        raise FaultSyntaxError(f"{raw!r} is not a number (in {spec!r})") from None
    return raw


def describe(fault: Fault) -> str:
    """The command-line form of a fault (what `parse_fault` reads back)."""
    parts = [fault.kind]
    for f in dataclasses.fields(fault):
        value = getattr(fault, f.name)
        if value is not None and value != f.default:
            parts.append(f"{f.name.replace('_', '-')}={value}")
    return ",".join(parts)
