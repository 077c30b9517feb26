"""What a view learns from a session's records: one place for the live engine, replay and relay.

`SessionView` is fed every record of a session in order (a writer listener) and keeps the
`EngineState` a screen shows, and the `LogBuffer` it drains: counters, phase, session ids,
transcripts, who is speaking, and the close summary. It only observes; acting on events (sending a
`session.update`, playing audio, barging in) is the engine's business.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Literal

from tui.engine.closure import summarize_close, summarize_refusal
from tui.engine.pacing import SendRateMeter
from tui.engine.state import SESSION_EDIT_PREFIX, EngineState, LogBuffer, LogEntry, SessionEdit, TranscriptEntry
from tui.protocol.handshake import presents_ephemeral_key
from tui.protocol.summary import Line, call_text, event_summary, frame_event, object_field, record_line
from tui.protocol.usage import UsageTotals

TRANSCRIPT_DELTAS = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.audio_transcript.delta",  # beta names, for old recordings
        "response.text.delta",
    }
)
OUTPUT_AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
TRANSCRIPT_DONE = frozenset(
    {"response.output_audio_transcript.done", "response.output_text.done", "response.audio_transcript.done", "response.text.done"}
)


class SessionView:
    def __init__(self, state: EngineState, log: LogBuffer) -> None:
        self.state = state
        self.log = log
        self.recent: deque[Line] = deque(maxlen=32)  # for the close card
        self.last_error: str | None = None
        self.end_record: dict[str, Any] | None = None
        self.refused_conn: int | None = None  # the last connection whose handshake the server refused
        self.ephemeral_conns: set[int] = set()  # connections whose handshake presented an ephemeral key (ek_)
        self.conn = 0  # the connection of the latest record: the one a failed connect attempt was
        self.send_rate = SendRateMeter()
        # When the user's turn ended (the server's speech_stopped, or the client's commit or
        # response.create), until the answer's first audio: `resp` is measured between the two records.
        self.speech_ended_ns: int | None = None
        self.usage = UsageTotals()

    def log_record(self, record: dict[str, Any], leg: str | None = None) -> LogEntry:
        """Adds a record to the log without letting it change the state (the relay's other leg).
        `leg` names the relay leg the record belongs to, where that matters (its handshakes and ends)."""
        line = record_line(record)
        if leg is not None:
            line.summary = f"{leg} leg: {line.summary}"
        entry = LogEntry(record, line)
        self.log.append(entry)
        self.recent.append(line)
        return entry

    def on_record(self, record: dict[str, Any], leg: str | None = None) -> tuple[LogEntry, dict[str, Any] | None]:
        """Logs a record and updates the state; returns the entry and the frame's event, if any."""
        entry = self.log_record(record, leg)
        self.conn = record["conn"] or self.conn
        if self.usage.on_record(record) is not None:
            self.state.counters.usage_tokens = self.usage.tokens.total
            self.state.counters.usage_cost = self.usage.cost_text()
        line, state, counters = entry.line, self.state, self.state.counters
        kind = record["kind"]
        event = None
        if kind == "frame":
            if record["dir"] == "c2s":
                counters.frames_sent += 1
                counters.bytes_sent += record["size"]
                counters.audio_sent_seconds += line.audio_seconds
                if line.audio_seconds:
                    self.send_rate.add(time.monotonic(), line.audio_seconds)
            else:
                counters.frames_received += 1
                counters.bytes_received += record["size"]
                counters.audio_received_seconds += line.audio_seconds
            event = frame_event(record)
            if event is not None and record["dir"] == "s2c":
                self.apply_server_event(event, line)
            elif event is not None and event.get("type") in ("input_audio_buffer.commit", "response.create"):
                self.speech_ended_ns = record["t_ns"]
            elif event is not None and event.get("type") == "conversation.item.create":
                self.user_text(event, record["seq"])
            elif event is not None and event.get("type") == "session.update":
                event_id = event.get("event_id")
                if isinstance(event_id, str) and event_id.startswith(SESSION_EDIT_PREFIX):
                    state.session_edit = SessionEdit(event_id)
        elif kind == "handshake_request":
            if presents_ephemeral_key(record.get("headers"), record.get("subprotocols")):
                self.ephemeral_conns.add(record["conn"])
        elif kind == "handshake_response":
            if record.get("status") == 101:
                state.phase, state.opened_at = "open", time.monotonic()
            else:
                self.refused_conn = record["conn"]
                state.phase = "closed"
                ephemeral = record["conn"] in self.ephemeral_conns
                state.close = summarize_refusal(record, list(self.recent), ephemeral=ephemeral)
        elif kind == "close" and state.phase == "open":
            state.phase = "closing"
        elif kind == "end":
            self.end_record = record
            state.phase = "closed"
            state.assistant_speaking = state.user_speaking = state.response_active = False
            if record["conn"] != self.refused_conn:  # a refused handshake keeps the refusal as its summary
                state.close = summarize_close(record, list(self.recent), self.last_error)
        return entry, event

    def apply_server_event(self, event: dict[str, Any], line: Line) -> None:
        etype, state = event.get("type"), self.state
        if not isinstance(etype, str):
            return  # from the wire: a type that is not a string is no event this view knows
        if etype in ("session.created", "session.updated"):
            session = object_field(event, "session")
            state.session = session or state.session
            edit = state.session_edit
            if etype == "session.updated" and edit is not None and edit.status == "sent":
                edit.status = "confirmed"
        if etype == "session.created":
            session = object_field(event, "session")
            state.session_id = text_or_empty(session.get("id")) or None
            expires = session.get("expires_at")
            state.expires_at = float(expires) if isinstance(expires, (int, float)) else None
            state.model = text_or_empty(session.get("model")) or state.model
        elif etype == "error":
            state.counters.server_errors += 1
            self.last_error = line.summary
            edit = state.session_edit
            if edit is not None and edit.status == "sent" and object_field(event, "error").get("event_id") == edit.event_id:
                edit.status, edit.detail = "rejected", event_summary(event)
                state.notices.append(f"The server rejected your session edit: {edit.detail}")
        elif etype == "input_audio_buffer.speech_started":
            state.user_speaking = True
        elif etype == "input_audio_buffer.speech_stopped":
            state.user_speaking = False
            self.speech_ended_ns = line.t_ns
        elif etype in OUTPUT_AUDIO_DELTAS and self.speech_ended_ns is not None:
            state.counters.response_latency_ms = (line.t_ns - self.speech_ended_ns) / 1e6
            self.speech_ended_ns = None
        elif etype == "input_audio_buffer.committed":
            self.transcript_entry("user", text_or_empty(event.get("item_id")))
        elif etype == "conversation.item.input_audio_transcription.delta":
            self.transcript_entry("user", text_or_empty(event.get("item_id"))).text += text_or_empty(event.get("delta"))
        elif etype == "conversation.item.input_audio_transcription.completed":
            entry = self.transcript_entry("user", text_or_empty(event.get("item_id")))
            entry.text, entry.done = text_or_empty(event.get("transcript")) or entry.text, True
        elif etype == "response.created":
            state.response_active = True
        elif etype in ("response.output_item.added", "response.output_item.done"):
            item = object_field(event, "item")
            if item.get("type") == "message" and etype == "response.output_item.added":
                self.transcript_entry("assistant", text_or_empty(item.get("id")))
            elif item.get("type") == "function_call":
                self.call_entry(item.get("call_id"), item.get("name"), item.get("arguments"))
        elif etype == "response.function_call_arguments.done":
            self.call_entry(event.get("call_id"), event.get("name"), event.get("arguments"))
        elif etype in TRANSCRIPT_DELTAS:
            self.transcript_entry("assistant", text_or_empty(event.get("item_id"))).text += text_or_empty(event.get("delta"))
        elif etype in TRANSCRIPT_DONE:
            entry = self.transcript_entry("assistant", text_or_empty(event.get("item_id")))
            entry.text = text_or_empty(event.get("transcript")) or text_or_empty(event.get("text")) or entry.text
            entry.done = True
        elif etype == "response.done":
            response = object_field(event, "response")
            state.response_active = False
            output = response.get("output")
            if response.get("status") == "cancelled" and isinstance(output, list):
                for item in output:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        self.transcript_entry("assistant", item["id"]).interrupted = True

    def call_entry(self, call_id: Any, name: Any, arguments: Any) -> None:
        """A function call in the transcript, between the turns, keyed by its call_id."""
        if isinstance(call_id, str) and call_id:
            self.transcript_entry("call", call_id).text = call_text(name, arguments, width=200)

    def user_text(self, event: dict[str, Any], seq: int) -> None:
        """A user message the client sent as text (`conversation.item.create`), in the transcript;
        a function call's output beside its call."""
        item = object_field(event, "item")
        if item.get("type") == "function_call_output" and isinstance(item.get("call_id"), str):
            entry = self.transcript_entry("call", item["call_id"])
            entry.output, entry.done = text_or_empty(item.get("output")), True
            return
        found = item.get("content")
        content = found if isinstance(found, list) else []
        text = " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "input_text" and isinstance(part.get("text"), str)
        )
        if item.get("role") == "user" and text:
            entry = self.transcript_entry("user", text_or_empty(item.get("id")) or f"text-{seq}")
            entry.text, entry.done = text, True

    def transcript_entry(self, role: Literal["user", "assistant", "call"], item_id: str) -> TranscriptEntry:
        for entry in reversed(self.state.transcript[-20:]):
            if entry.item_id == item_id and entry.role == role:
                return entry
        entry = TranscriptEntry(role=role, item_id=item_id)
        self.state.transcript.append(entry)
        return entry


def text_or_empty(value: Any) -> str:
    """A field expected to be a string; anything else (a server can send anything) reads as ""."""
    return value if isinstance(value, str) else ""
