"""The vocabulary of a replay, below everything else in tui.replay: a recorded wire event of one
connection (`Step`), a direction's position in the stream of items, and the steps and payloads read
from frame, ping, pong and close records (docs/recording-format.md)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from tui.wire.format import C2S, S2C

# The requirement of a step is the position the *other* direction had reached when the step was
# recorded. Audio counts by bytes, so a client that chunks its appends differently reaches the same
# positions.
Position = tuple[int, int]  # (items completed, audio bytes into the current segment)
OTHER = {C2S: S2C, S2C: C2S}
SIDE_DIR = {"client": C2S, "server": S2C}


@dataclass(slots=True)
class Step:
    """One recorded wire event of the connection: a data frame, ping, pong or close frame."""

    seq: int
    t_ns: int
    direction: str
    kind: str  # "frame", "ping", "pong", "close"
    opcode: str | None = None
    type: str | None = None  # the event type of a frame
    payload: str | bytes = field(default=b"", repr=False)  # exact text or bytes (of a frame, ping or pong)
    code: int | None = None
    reason: str = ""
    requires: Position = (0, 0)  # the other direction's position when it was recorded
    requires_t_ns: int | None = None  # when the other direction's last data frame before it was recorded

    @property
    def control_payload(self) -> bytes:
        """A ping's or pong's payload: control frames carry bytes."""
        assert isinstance(self.payload, bytes)
        return self.payload


def frame_payload(record: dict[str, Any]) -> str | bytes:
    """The exact payload of a frame record: the text of a text frame, else its bytes."""
    text = record.get("text")
    if record["opcode"] == "text" and isinstance(text, str):
        return text
    return base64.b64decode(record["data_b64"])


def control_step(record: dict[str, Any]) -> Step:
    """A ping, pong or close record as a step (its requirement is filled in by the tape)."""
    step = Step(seq=record["seq"], t_ns=record["t_ns"], direction=record["dir"], kind=record["kind"])
    if step.kind == "close":
        step.code, step.reason = record["code"], record["reason"]
    else:
        step.payload = base64.b64decode(record.get("data_b64", ""))
    return step
