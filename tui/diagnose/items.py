"""One record as the diagnosis sees it: its parsed event and whether it counts.

In a relay recording every frame appears twice (received on one leg, sent on the other). Client
frames count where the relay received them (the client leg) and server frames where the relay
received them (the upstream leg), so nothing is counted twice; closes and ends count on both legs.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from tui.protocol.summary import frame_payload
from tui.wire.format import C2S, S2C
from tui.wire.reader import Record


@dataclass(frozen=True)
class Legs:
    """Which conn ids count for each direction (None: every conn counts)."""

    client_conn: int | None = None
    upstream_conn: int | None = None

    @classmethod
    def from_header(cls, header: Record) -> Legs:
        relay = header.get("relay")
        if isinstance(relay, dict) and isinstance(relay.get("client_conn"), int) and isinstance(relay.get("upstream_conn"), int):
            return cls(relay["client_conn"], relay["upstream_conn"])
        return cls()

    @property
    def relayed(self) -> bool:
        return self.client_conn is not None

    def counts(self, record: Record) -> bool:
        if not self.relayed or record["kind"] in ("close", "end", "error", "mark", "handshake_response"):
            return True
        if record["kind"] == "handshake_request":
            return True  # both: the client's own request and what the relay sent on
        if record["dir"] == C2S:
            return bool(record["conn"] == self.client_conn)
        if record["dir"] == S2C:
            return bool(record["conn"] == self.upstream_conn)
        return True

    def leg_name(self, conn: int) -> str | None:
        if conn == self.client_conn:
            return "client"
        if conn == self.upstream_conn:
            return "upstream"
        return None


@dataclass
class ParsedRecord:
    record: Record
    counts: bool
    event: dict[str, Any] | None = None  # the JSON object a data frame carries
    json_error: str | None = None  # why a data frame's payload is not a JSON object

    @property
    def seq(self) -> int:
        seq: int = self.record["seq"]
        return seq

    @property
    def t_s(self) -> float:
        return float(self.record["t_ns"] / 1e9)

    @property
    def kind(self) -> str:
        kind: str = self.record["kind"]
        return kind

    @property
    def dir(self) -> str:
        direction: str = self.record["dir"]
        return direction

    @property
    def type(self) -> str | None:
        event_type = self.event.get("type") if self.event is not None else None
        return event_type if isinstance(event_type, str) else None

    def is_data(self, direction: str | None = None) -> bool:
        return self.kind == "frame" and self.counts and (direction is None or self.dir == direction)


def parse_record(record: Record, legs: Legs) -> ParsedRecord:
    item = ParsedRecord(record, legs.counts(record))
    if record["kind"] == "frame" and item.counts:
        try:
            value = orjson.loads(frame_payload(record))
        except (orjson.JSONDecodeError, binascii.Error, ValueError) as exc:
            item.json_error = str(exc).split("\n")[0] or "not JSON"
        else:
            if isinstance(value, dict):
                item.event = value
            else:
                item.json_error = f"a JSON {type(value).__name__}, not an object"
    return item


def error_fields(item: ParsedRecord) -> dict[str, Any]:
    """The `error` object of a server error event ({} otherwise)."""
    if item.type != "error" or item.dir != S2C or item.event is None:
        return {}
    error = item.event.get("error")
    return error if isinstance(error, dict) else {}


# How rtui's client records an attempt that failed (tui/wire/client.py): "connection to URL failed: Exc: message".
_CONNECT_FAILURE = re.compile(r"^connection to (\S+) failed: (.*)$", re.DOTALL)


def connect_failure(item: ParsedRecord) -> tuple[str, str] | None:
    """(url, "ExceptionName: message") of a local error recording a failed connection attempt."""
    if item.kind != "error" or not isinstance(item.record.get("message"), str):
        return None
    match = _CONNECT_FAILURE.match(item.record["message"])
    return (match.group(1), match.group(2)) if match else None
