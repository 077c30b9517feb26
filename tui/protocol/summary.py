"""One-line summaries of recorded records, and the collapsing of streamed runs (audio, deltas).

Shared by `rtui show`, the TUI's event log and diagnose: the same record always reads the same way.
Audio durations assume `audio/pcm` (24 kHz, 16-bit mono), the only PCM format of the GA API.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from tui.wire.redact import Redactor

PCM_BYTES_PER_SECOND = 24_000 * 2
_ON_SCREEN = Redactor()  # key-shaped tokens only: a display knows no session's own secrets

# Events whose payload is audio, and which are shown collapsed into runs.
AUDIO_EVENTS = frozenset(
    {
        "input_audio_buffer.append",
        "response.output_audio.delta",
        "response.audio.delta",  # beta name, for old recordings
    }
)
TEXT_DELTA_EVENTS = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.audio_transcript.delta",
        "response.text.delta",
    }
)
# A function call's arguments, streamed in pieces: one run per call, shown as `name(arguments)`.
ARGUMENT_DELTA = "response.function_call_arguments.delta"
STREAMED_EVENTS = AUDIO_EVENTS | TEXT_DELTA_EVENTS | {ARGUMENT_DELTA}
# Items that carry a function call or its output (`response.output_item.*`, `conversation.item.*`).
ITEM_EVENTS = frozenset(
    {
        "response.output_item.added",
        "response.output_item.done",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.created",
        "conversation.item.retrieved",
        "conversation.item.create",
    }
)

CLOSE_CODE_MEANINGS: dict[int, str] = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code in the close frame",
    1006: "abnormal closure: the connection ended without a close frame",
    # RFC 6455: data inconsistent with the message type, e.g. text that is not UTF-8; applications
    # also use it for text they cannot parse, so the code alone does not say which.
    1007: "invalid payload data (a message the receiver could not accept)",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension missing",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1015: "TLS handshake failure",
}

# What a code means when the sender is known: the same number says different things from each side.
CLOSE_CODE_MEANINGS_BY_SENDER: dict[tuple[int, str], str] = {
    (1001, "server"): "going away (session expired or server shutting down)",
    (1001, "client"): "going away (the client is leaving)",
    (1011, "client"): "internal error (in Python clients often a keepalive ping timeout)",
    (1011, "server"): "internal error on the server",
    (4000, "server"): "OpenAI: invalid request (beta API shape or header)",
}


def close_meaning(code: int, by: str | None = None) -> str:
    """The meaning of a close code sent by `by` ("client", "server", or None when unknown)."""
    if by is not None and (code, by) in CLOSE_CODE_MEANINGS_BY_SENDER:
        return CLOSE_CODE_MEANINGS_BY_SENDER[(code, by)]
    if code in CLOSE_CODE_MEANINGS:
        return CLOSE_CODE_MEANINGS[code]
    if 4000 <= code <= 4999:
        # Private use (RFC 6455): whoever sent it gave it its meaning.
        owner = f"the {by}'s own code" if by in ("client", "server") else "application-defined"
        return f"{owner} (4000-4999 are private use)"
    if 3000 <= code <= 3999:
        return "library or framework defined close code"
    return "unknown close code"


def frame_payload(record: dict[str, Any]) -> bytes | str:
    """The exact bytes (binary, or undecodable text) or string a frame record carries."""
    if "text" in record:
        text: str = record["text"]
        return text
    return base64.b64decode(record.get("data_b64", ""))


def frame_event(record: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON event in a frame record (text or binary), or None when it holds none."""
    try:
        event = orjson.loads(frame_payload(record))
    except (orjson.JSONDecodeError, binascii.Error, ValueError):
        return None
    return event if isinstance(event, dict) else None


def object_field(container: dict[str, Any], key: str) -> dict[str, Any]:
    """`container[key]` when it is a JSON object, else an empty one: events off the wire are hostile."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def b64_audio_bytes(value: Any) -> int:
    """Decoded length of a base64 string without decoding it (-1 when it is not plausible base64)."""
    if not isinstance(value, str) or len(value) % 4:
        return -1
    return len(value) // 4 * 3 - (2 if value.endswith("==") else 1 if value.endswith("=") else 0)


def audio_bytes(event: dict[str, Any]) -> int:
    """Bytes of audio in an append or delta event (0 when it carries none)."""
    value = event.get("audio") if event.get("type") == "input_audio_buffer.append" else event.get("delta")
    return max(b64_audio_bytes(value), 0)


def format_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def counted(count: int, noun: str) -> str:
    """`1 chunk`, `2 chunks`: a count with its noun (regular plurals only)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_size(size: int) -> str:
    if size < 10_000:
        return f"{size} B"
    if size < 10_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def _shorten(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _session_summary(session: dict[str, Any]) -> str:
    parts = []
    for key in ("type", "model"):
        if key in session:
            parts.append(f"{key}={session[key]}")
    audio = object_field(session, "audio")
    audio_in = object_field(audio, "input")
    fmt = audio_in.get("format")
    if isinstance(fmt, dict):
        parts.append(f"in={fmt.get('type')}" + (f"@{fmt['rate']}" if "rate" in fmt else ""))
    if "turn_detection" in audio_in:
        td = audio_in["turn_detection"]
        parts.append("vad=off" if td is None else f"vad={td.get('type') if isinstance(td, dict) else td}")
    voice = audio.get("output", {}).get("voice") if isinstance(audio.get("output"), dict) else None
    if voice:
        parts.append(f"voice={voice}")
    tools = session.get("tools")
    if isinstance(tools, list) and tools:
        names = (str(tool.get("name") or tool.get("server_label") or "?") for tool in tools if isinstance(tool, dict))
        parts.append("tools=" + ",".join(names))
    beta = sorted(k for k in ("modalities", "input_audio_format", "turn_detection", "voice") if k in session)
    if beta:
        parts.append("beta fields: " + ",".join(beta))
    return " ".join(parts)


def call_text(name: Any, arguments: Any, width: int = 70) -> str:
    """`get_weather({"city": "Paris"})`: a function call as the log shows it."""
    return f"{name if isinstance(name, str) and name else '?'}({_shorten(str(arguments or ''), width)})"


def _tool_item_summary(item: dict[str, Any]) -> str | None:
    """A function call or its output, or None for any other item."""
    if item.get("type") == "function_call":
        return f"{call_text(item.get('name'), item.get('arguments'))} {item.get('call_id')}"
    if item.get("type") == "function_call_output":
        return f"output for {item.get('call_id')}: {_shorten(str(item.get('output', '')), 60)!r}"
    return None


def event_summary(event: dict[str, Any]) -> str:
    """A short description of one Realtime event's content (its type is shown separately)."""
    etype = event.get("type")
    if not isinstance(etype, str):
        return ""
    if etype == ARGUMENT_DELTA:
        return f"({_shorten(str(event.get('delta', '')), 60)})"  # a run names its call (CallNames)
    if etype == "response.function_call_arguments.done":
        return f"{call_text(event.get('name'), event.get('arguments'))} {event.get('call_id')}"
    if etype in ITEM_EVENTS:
        tool = _tool_item_summary(object_field(event, "item"))
        if tool is not None:
            return tool
    if etype in AUDIO_EVENTS:
        size = audio_bytes(event)
        return f"audio {format_ms(size / PCM_BYTES_PER_SECOND)} ({size} B)"
    if etype in TEXT_DELTA_EVENTS:
        return repr(_shorten(str(event.get("delta", "")), 60))
    if etype == "error":
        error = object_field(event, "error")
        param = f" [{error['param']}]" if error.get("param") else ""
        return f"{error.get('code') or error.get('type')}{param}: {_shorten(str(error.get('message', '')))}"
    if etype in ("session.created", "session.updated", "session.update"):
        session = event.get("session")
        return _session_summary(session) if isinstance(session, dict) else ""
    if etype == "input_audio_buffer.speech_started":
        return f"at {event.get('audio_start_ms')} ms"
    if etype == "input_audio_buffer.speech_stopped":
        return f"at {event.get('audio_end_ms')} ms"
    if etype == "response.done":
        response = object_field(event, "response")
        details = response.get("status_details") or {}
        reason = details.get("reason") if isinstance(details, dict) else None
        return f"{response.get('status')}" + (f" ({reason})" if reason else "") + _usage_note(response.get("usage"))
    if etype in ("response.output_audio_transcript.done", "response.output_text.done"):
        return repr(_shorten(str(event.get("transcript") or event.get("text") or ""), 70))
    if etype == "conversation.item.input_audio_transcription.completed":
        return repr(_shorten(str(event.get("transcript", "")), 70))
    if etype == "conversation.item.truncate":
        return f"{event.get('item_id')} at {event.get('audio_end_ms')} ms"
    if etype == "conversation.item.create":
        item = object_field(event, "item")
        texts = [c.get("text", "") for c in item.get("content", []) if isinstance(c, dict)]
        return f"{item.get('role', item.get('type', ''))} {_shorten(' '.join(texts), 60)!r}"
    if etype == "rate_limits.updated":
        limits = event.get("rate_limits") or []
        return " ".join(
            f"{limit.get('name')}={limit.get('remaining')}/{limit.get('limit')}" for limit in limits if isinstance(limit, dict)
        )
    for key in ("item_id", "response_id"):
        if key in event:
            return f"{key.split('_')[0]} {event[key]}"
    for key in ("item", "response"):
        value = event.get(key)
        if isinstance(value, dict) and "id" in value:
            return f"{key} {value['id']}" + (f" {value.get('role')}" if value.get("role") else "")
    return ""


@dataclass
class Line:
    """What a timeline shows for one record or one collapsed run of records."""

    seq: int
    t_ns: int
    conn: int
    direction: str
    label: str  # the event type, or the record kind for non-frame records
    size: int = 0
    summary: str = ""
    count: int = 1
    end_t_ns: int = 0
    audio_bytes: int = 0
    severity: str = "normal"  # "normal", "note" (a user's mark), "warning" or "error": how a view shows it
    text: str = ""  # the text of a transcript or text delta, or a call's arguments (joined over a run)
    seqs: list[int] = field(default_factory=list)
    # A function call's item id (argument deltas: runs of two calls never merge) and, where the
    # record says it, the function's name: argument deltas carry only the item id.
    call: str = ""
    call_name: str = ""

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / PCM_BYTES_PER_SECOND


# The first two columns of a line, so that severity reads without colour (NO_COLOR, plain terminals).
SEVERITY_MARKERS = {"normal": "  ", "note": "* ", "warning": "! ", "error": "!!"}


def record_line(record: dict[str, Any]) -> Line:
    """A timeline line for one record (validated by the reader; its other fields may be anything)."""
    kind = record["kind"]
    line = Line(record["seq"], record["t_ns"], record["conn"], record["dir"], kind, end_t_ns=record["t_ns"], seqs=[record["seq"]])
    try:
        _describe(record, line)
    except (TypeError, AttributeError, ValueError, KeyError) as exc:
        # A recording, or a server, can put anything in a field; a summary never takes a session down.
        line.summary = f"(malformed {kind}: {type(exc).__name__})"
        line.severity = "warning"
    # What is shown comes from decoded payloads: a key a recording holds spelled with JSON escapes
    # (written by an rtui before it redacted decoded strings, or by another tool) is plain here.
    line.summary = _ON_SCREEN.text(line.summary)[0]
    if line.text:
        line.text = _ON_SCREEN.text(line.text)[0]
    return line


def _describe(record: dict[str, Any], line: Line) -> None:
    kind = record["kind"]
    if kind == "frame":
        line.size = record.get("size", 0)
        event = frame_event(record)
        binary = record["opcode"] == "binary"
        if event is None:
            line.label = "(binary)" if binary else "(not JSON)"
            line.summary = "" if binary else _shorten(record.get("text", ""), 60)
            line.severity = "warning"
        else:
            etype = event.get("type", "(no type)")
            line.label = etype if isinstance(etype, str) else repr(etype)
            line.summary = event_summary(event)
            if line.label in AUDIO_EVENTS:
                line.audio_bytes = audio_bytes(event)
            elif line.label in TEXT_DELTA_EVENTS or line.label == ARGUMENT_DELTA:
                line.text = str(event.get("delta", ""))
            _note_call(event, line)
            if line.label == "error":
                line.severity = "error"
        if binary:
            line.summary = ("BINARY FRAME " + line.summary).strip()
            line.severity = "error" if record["dir"] == "c2s" else line.severity
    elif kind == "close":
        code = record["code"]
        first = "first" if record.get("first") else "reply"
        line.summary = (
            f"{code} {close_meaning(code, record.get('by'))}; reason {record.get('reason')!r} ({record.get('by')}, {first})"
        )
        # A 1000 from the client is a goodbye; the same code from the server, or 1001, deserves a look.
        if code == 1000:
            line.severity = "normal" if record.get("by") == "client" or not record.get("first") else "warning"
        else:
            line.severity = "warning" if code == 1001 else "error"
    elif kind == "end":
        code = record["code"]
        closed_by = record.get("closed_by") or "nobody (transport ended)"
        line.summary = f"{code} {close_meaning(code, record.get('closed_by'))}; closed first by {closed_by}"
        if record.get("exception"):
            line.summary += f"; {record['exception']}"
        line.severity = "normal" if code in (1000, 1001) and record.get("clean") else "error"
    elif kind == "handshake_request":
        offered = record.get("subprotocols") or []
        line.summary = record.get("url", "") + (f" subprotocols={','.join(offered)}" if offered else "")
    elif kind == "handshake_response":
        status = record.get("status")
        line.summary = f"{status} {record.get('reason', '')}".strip()
        if record.get("subprotocol"):
            line.summary += f" subprotocol={record['subprotocol']}"
        if status != 101:
            line.severity = "error"
            if record.get("body"):
                line.summary += f": {_shorten(record['body'], 60)}"
    elif kind in ("ping", "pong"):
        line.size = b64_audio_bytes(record.get("data_b64", ""))
    elif kind == "error":
        line.summary = _shorten(record.get("message", ""), 100)
        line.severity = "error"
    elif kind == "mark":
        line.summary = record.get("note", "")
        line.severity = "note"  # the user's own, not a problem


def _note_call(event: dict[str, Any], line: Line) -> None:
    """The call an event is about: its item id, and its function's name where the event has it."""
    if line.label in (ARGUMENT_DELTA, "response.function_call_arguments.done"):
        line.call, line.call_name = str(event.get("item_id", "")), str(event.get("name") or "")
    elif line.label in ITEM_EVENTS:
        item = object_field(event, "item")
        if item.get("type") == "function_call":
            line.call, line.call_name = str(item.get("id", "")), str(item.get("name") or "")


class CallNames:
    """Function names by call item id, learned from the lines that carry both (`output_item.added`,
    the arguments' `.done`), so that a run of argument deltas reads `name(arguments)`."""

    LIMIT = 1_000  # calls remembered: a long session must not grow this without bound

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def learn(self, line: Line) -> None:
        if line.call and line.call_name:
            self._names[line.call] = line.call_name
            if len(self._names) > self.LIMIT:
                del self._names[next(iter(self._names))]

    def run_summary(self, run: Line) -> str:
        return call_text(self._names.get(run.call), run.text)


def run_key(line: Line) -> tuple[int, str, str, str]:
    """What a run of streamed events shares: connection, direction, type, and the call for arguments."""
    return (line.conn, line.direction, line.label, line.call)


class RunCollapser:
    """Folds streamed events (audio appends and deltas, text deltas) into runs.

    A run of one (connection, direction, type) grows while only streamed events arrive; any other
    record flushes the open runs, in the order they started, before itself. So "50 appends,
    speech_started, 30 appends" reads as three lines, and interleaved audio and transcript deltas as
    two. A relay records each frame on both legs (two connections): they never merge into one run.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[int, str, str, str], Line] = {}
        self.calls = CallNames()

    def push(self, line: Line) -> list[Line]:
        self.calls.learn(line)
        if line.label not in STREAMED_EVENTS:
            return [*self.flush(), line]
        key = run_key(line)
        run = self._open.get(key)
        if run is None:
            self._open[key] = line
            if line.label == ARGUMENT_DELTA:
                line.summary = self.calls.run_summary(line)
        else:
            run.count += 1
            run.size += line.size
            run.audio_bytes += line.audio_bytes
            run.end_t_ns = line.t_ns
            run.seqs.append(line.seq)
            if line.label in TEXT_DELTA_EVENTS:
                run.text += line.text
                run.summary = repr(_shorten(run.text, 70))
            elif line.label == ARGUMENT_DELTA:
                run.text += line.text
                run.summary = self.calls.run_summary(run)
        return []

    def flush(self) -> list[Line]:
        runs = sorted(self._open.values(), key=lambda run: run.seq)
        self._open.clear()
        for run in runs:
            if run.count > 1 and run.label in AUDIO_EVENTS:
                wall = (run.end_t_ns - run.t_ns) / 1e9
                run.summary = f"audio {format_ms(run.audio_seconds)} over {format_ms(wall)} wall"
        return runs


def collapse(records: Iterable[dict[str, Any]]) -> Iterator[Line]:
    collapser = RunCollapser()
    for record in records:
        yield from collapser.push(record_line(record))
    yield from collapser.flush()


def _usage_note(usage: Any) -> str:
    """`; tokens in 100 out 108`: the response's usage, which the log shows per response."""
    if not isinstance(usage, dict):
        return ""
    counts = [usage.get(name) for name in ("input_tokens", "output_tokens")]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return ""
    return f"; tokens in {counts[0]} out {counts[1]}"
