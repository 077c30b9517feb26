"""Normalization: what two runs of a session must share to count as the same (docs/replay.md).

A data frame becomes a `NormalizedItem`. Text frames holding a JSON object are compared as parsed JSON with
`event_id` removed at any depth, volatile fields (`expires_at`) blanked and server-assigned ids
replaced by names in order of first appearance in the server's frames (`<id1>`, `<id2>`, ...).
Appended input audio (`input_audio_buffer.append`) is compared as one stream: consecutive appends in
the client's stream are merged into an audio segment compared byte for byte (tui.replay.audio_match), so the
same audio sent in different chunks is the same segment; reports show a segment by its length and
SHA-256. Long strings (an audio delta's base64) are compared exactly and shown by length and SHA-256.
Other text frames compare by exact text, binary frames by exact bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

AUDIO_APPEND = "input_audio_buffer.append"
IGNORED_KEYS = frozenset({"event_id"})
VOLATILE_KEYS = frozenset({"expires_at"})
# Keys whose string values in server events are ids the server chose.
ID_KEYS = frozenset({"id", "item_id", "response_id", "previous_item_id", "call_id", "conversation_id"})
BYTES_PER_MS = 48  # pcm16 mono 24 kHz
LONG_STRING = 1024  # longer strings (audio deltas...) are shown as their length and SHA-256
_PLAIN_APPEND = '{"type":"input_audio_buffer.append","audio":"'
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def parse_event(text: str) -> dict[str, Any] | None:
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def b64_length(text: str) -> int | None:
    """The decoded length of strict base64 `text` (what `b64decode(text, validate=True)` accepts), or
    None when it is not strict base64; found without decoding (a quarter of the cost)."""
    body = text.rstrip("=")
    padding = len(text) - len(body)
    # What strict decoding accepts after the data: any padding (or none) after whole quads, exactly
    # "==" after two characters, "=" after three; never padding alone.
    remainder = len(body) % 4
    if remainder == 0:
        padded_right = bool(body) or not padding
    else:
        padded_right = remainder != 1 and padding == 4 - remainder
    if not padded_right or body.encode("utf-8", "surrogatepass").translate(None, _B64_ALPHABET):
        return None
    return len(body) * 3 // 4


def decoded_length(text: str) -> int:
    """The decoded length of base64 already known valid (`b64_length`)."""
    return len(text.rstrip("=")) * 3 // 4


def decode_audio(text: str) -> bytes:
    """The bytes of base64 already known valid (`b64_length`)."""
    return binascii.a2b_base64(text)


def append_text(event: dict[str, Any]) -> str | None:
    """The base64 audio of a valid `input_audio_buffer.append`, or None when it is not a valid one."""
    if event.get("type") != AUDIO_APPEND:
        return None
    audio = event.get("audio")
    if not isinstance(audio, str) or b64_length(audio) is None:
        return None
    return audio


def long_string(value: str) -> str:
    """How a long string is shown in reports."""
    return f"<{len(value)} chars, sha256 {hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}>"


def summarize(value: Any) -> Any:
    """`value` with long strings shown as their length and SHA-256 (reports)."""
    if isinstance(value, dict):
        return {k: summarize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summarize(v) for v in value]
    if isinstance(value, str) and len(value) > LONG_STRING:
        return long_string(value)
    return value


class IdMap:
    """Server-assigned ids, named in order of first appearance in the server's frames."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def learn(self, value: Any, key: str | None = None) -> None:
        # Leaves are looked at in the loops rather than by a call each: the server's every event is
        # learned from, and most of what it holds are leaves.
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (dict, list)):
                    self.learn(v, k)
                elif k in ID_KEYS and isinstance(v, str):
                    self._learn_id(v)
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, (dict, list)):
                    self.learn(v, key)
                elif key in ID_KEYS and isinstance(v, str):
                    self._learn_id(v)
        elif key in ID_KEYS and isinstance(value, str):
            self._learn_id(value)

    def _learn_id(self, value: str) -> None:
        if value and value not in self._names:
            self._names[value] = f"<id{len(self._names) + 1}>"

    def by_name(self) -> dict[str, str]:
        """Name → id."""
        return {name: value for value, name in self._names.items()}

    def renames(self, live: IdMap) -> list[tuple[str, str]]:
        """(this map's id, `live`'s id) for every name both know under different ids."""
        theirs = live.by_name()
        return [(value, theirs[name]) for value, name in self._names.items() if name in theirs and theirs[name] != value]

    def apply(self, value: Any) -> Any:
        """A copy of `value` with `event_id` dropped, volatile fields blanked and known ids renamed."""
        if isinstance(value, dict):
            return {k: "<volatile>" if k in VOLATILE_KEYS else self._leaf(v) for k, v in value.items() if k not in IGNORED_KEYS}
        if isinstance(value, list):
            return [self._leaf(v) for v in value]
        return self._leaf(value)

    def _leaf(self, value: Any) -> Any:
        if isinstance(value, str):
            # A long string (audio) is never an id; it is compared exactly, shown summarized.
            return value if len(value) > LONG_STRING else self._names.get(value, value)
        if isinstance(value, (dict, list)):
            return self.apply(value)
        return value


@dataclass(slots=True)
class NormalizedItem:
    """One normalized unit of a direction's stream: an event, a raw frame or an audio segment."""

    kind: str  # "event", "text" (not a JSON object), "binary", "audio"
    value: Any = field(repr=False)  # normalized event dict, exact text, base64 bytes, or {"bytes", "sha256"}
    type: str | None = None
    seqs: list[int] = field(default_factory=list)  # the recorded frames it came from
    _hash: Any = field(default=None, repr=False, compare=False)
    length: int = 0  # audio bytes

    @property
    def seq(self) -> int | None:
        return self.seqs[0] if self.seqs else None

    def add_audio(self, audio: bytes, seq: int | None = None) -> None:
        if self._hash is None:
            self._hash = hashlib.sha256()
        self._hash.update(audio)
        self.length += len(audio)
        if seq is not None:
            self.seqs.append(seq)
        self.value = {"bytes": self.length, "sha256": self._hash.hexdigest()}

    def key(self) -> Any:
        """What equality is decided on."""
        return (self.kind, self.value)

    def describe(self) -> Any:
        """A JSON-friendly view for reports."""
        if self.kind == "event":
            return summarize(self.value)
        if self.kind == "audio":
            return {
                "type": f"{AUDIO_APPEND} (merged audio)",
                "bytes": self.length,
                "duration_ms": round(self.length / BYTES_PER_MS, 1),
                "appends": len(self.seqs),
                "sha256": self.value["sha256"][:16],
            }
        if self.kind == "binary":
            return {"binary frame (base64)": self.value}
        return {"text frame (not a JSON object)": self.value}

    def label(self) -> str:
        if self.kind == "audio":
            return f"audio {self.length} bytes ({self.length / BYTES_PER_MS:.0f} ms)"
        if self.kind == "binary":
            return f"binary frame {len(base64.b64decode(self.value))} bytes"
        return self.type or ("text frame" if self.kind == "text" else "event without type")


def plain_append(text: str) -> tuple[str, int] | None:
    """The base64 audio of `{"type":"input_audio_buffer.append","audio":"…"}` as rtui and the SDK
    write it, and its decoded length; None for any other text (which may still be an append)."""
    if text.startswith(_PLAIN_APPEND) and text.endswith('"}'):
        # When the middle is base64 it holds no quote or backslash, so this is exactly what parsing
        # would give.
        audio = text[len(_PLAIN_APPEND) : -2]
        length = b64_length(audio)
        if length is not None:
            return audio, length
    return None


def normalize_frame(opcode: str, payload: str | bytes, ids: IdMap, *, server: bool) -> tuple[NormalizedItem | None, str | None]:
    """Normalizes one data frame: its item, or for an audio append (None, its base64 audio).

    Server frames teach `ids` their ids before being normalized themselves.
    """
    if opcode == "binary" or isinstance(payload, bytes):
        raw = payload if isinstance(payload, bytes) else payload.encode()
        if opcode == "text":
            try:
                payload = raw.decode("utf-8")
            except UnicodeDecodeError:
                return NormalizedItem("binary", base64.b64encode(raw).decode()), None
        else:
            return NormalizedItem("binary", base64.b64encode(raw).decode()), None
    assert isinstance(payload, str)
    if not server:
        plain = plain_append(payload)
        if plain is not None:
            return None, plain[0]
    event = parse_event(payload)
    if event is None:
        return NormalizedItem("text", payload), None
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    if not server:
        appended = append_text(event)
        if appended is not None:
            return None, appended
    else:
        ids.learn(event)
    return NormalizedItem("event", ids.apply(event), event_type), None
