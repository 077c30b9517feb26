"""What the engine exposes to views: plain data, read at UI rate, never awaited.

The engine runs on its own thread and event loop and mutates these objects in place; a view reads
them (a torn read shows a value at most one refresh old, which is fine for a display) and never
writes them. Commands go the other way, through the engine's thread-safe methods.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from tui.protocol.summary import Line

Phase = Literal["idle", "connecting", "open", "closing", "closed"]
EndpointKind = Literal["live", "mock", "replay", "proxy"]
TurnMode = Literal["server_vad", "push_to_talk"]

SILENCE_DBFS = -120.0


@dataclass
class Levels:
    """One direction's audio level over the last UI interval."""

    rms_dbfs: float = SILENCE_DBFS
    peak_dbfs: float = SILENCE_DBFS
    clipped: bool = False


@dataclass
class Counters:
    frames_sent: int = 0
    frames_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    audio_sent_seconds: float = 0.0
    audio_received_seconds: float = 0.0
    audio_played_seconds: float = 0.0
    # Audio seconds put on the wire per second of wall clock over the last few seconds of
    # streaming: 1.0 is real time; 0.667 is what 16 kHz audio labelled as 24 kHz looks like.
    send_rate: float = 0.0
    # From the end of the user's speech (speech_stopped, or the push-to-talk commit) to the first
    # response audio delta, for the last turn.
    response_latency_ms: float | None = None
    jitter_buffer_ms: float = 0.0
    capture_overflows: int = 0
    dropped_chunks: int = 0
    playback_underflows: int = 0  # the jitter buffer ran dry mid-item: audio came late from the network
    device_underruns: int = 0  # the output device's own buffer missed a deadline (PortAudio says so)
    send_queue_depth: int = 0
    server_errors: int = 0
    # The session's tokens (every response.done's usage) and their cost, as UsageTotals.cost_text
    # writes it ("" before the first response).
    usage_tokens: int = 0
    usage_cost: str = ""


@dataclass
class TranscriptEntry:
    """A turn, or a function call between the turns (role "call": `text` is `name(arguments)`,
    `item_id` its call_id, `output` what the client answered, once it has)."""

    role: Literal["user", "assistant", "call"]
    item_id: str
    text: str = ""
    done: bool = False
    interrupted: bool = False
    output: str | None = None


@dataclass(frozen=True)
class PendingCall:
    """A function call the model made that no `--tools` answer covers: the user is asked for one."""

    call_id: str
    name: str
    arguments: str


SESSION_EDIT_PREFIX = "rtui_session_edit_"  # the event_id of a session.update the user wrote (UpdateSession)


@dataclass
class SessionEdit:
    """The user's latest session edit and what the server made of it: `sent`, then `confirmed` by
    the next `session.updated` or `rejected` by an `error` naming its event_id (`detail` says why)."""

    event_id: str
    status: Literal["sent", "confirmed", "rejected"] = "sent"
    detail: str = ""


@dataclass
class CloseSummary:
    """How the session ended, ready to be shown on a card."""

    code: int
    reason: str
    closed_by: str | None  # "client", "server", or None when the transport died without a close frame
    meaning: str
    clean: bool
    explanation: str  # one plain sentence
    preceding_error: str | None = None  # the last server `error` before the close, summarised
    last_lines: list[Line] = field(default_factory=list)
    # Set when no WebSocket ever opened (a refused handshake, a failed connect): what went wrong, in a
    # few words. The close fields then only say that the transport ended (1006, nobody closed).
    open_failure: str | None = None
    refused_status: int | None = None  # the HTTP status of a refused handshake
    # The connection this describes (its number in the recording): a view shows a card once per
    # connection, however often the summary is rebuilt or re-sent from the engine's process.
    conn: int = 0


@dataclass
class ReplayVerdict:
    """How a replay ended: whether it reproduces the recording, in one line and in full."""

    ok: bool
    headline: str
    report: str
    run: int  # which run of the replay (R runs it again)


@dataclass
class LogEntry:
    """One recorded record and its timeline line (the inspector shows `record` in full)."""

    record: dict[str, Any]
    line: Line


class LogBuffer:
    """A bounded buffer of log entries that views drain by cursor.

    The recording keeps everything; this keeps the last `capacity` entries so that memory stays flat
    however long the session runs. A view that falls behind is told how many entries it missed.
    It is a ring indexed by entry number, so appending and draining cost O(1) per entry: the engine
    appends under the same lock a view drains with, and must never wait long for it.
    """

    def __init__(self, capacity: int = 5_000) -> None:
        self.capacity = capacity
        self._ring: list[LogEntry | None] = [None] * capacity
        self._total = 0
        self._lock = threading.Lock()

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._ring[self._total % self.capacity] = entry
            self._total += 1

    def skip(self, count: int) -> None:
        """Counts `count` entries that were lost before they got here (a mirror's source evicted
        them): views are told they missed them, as if this buffer had evicted them itself."""
        with self._lock:
            for i in range(self._total, self._total + min(count, self.capacity)):
                self._ring[i % self.capacity] = None
            self._total += count

    @property
    def total(self) -> int:
        return self._total

    def since(self, cursor: int, limit: int | None = None) -> tuple[list[LogEntry], int, int]:
        """Entries appended after `cursor`: (entries, new cursor, entries skipped because evicted).

        With `limit`, at most that many of the oldest pending entries are returned and the cursor
        advances only past them, so a view can batch its writes.
        """
        with self._lock:
            total = self._total
            first_kept = max(0, total - self.capacity)
            skipped = max(0, first_kept - cursor)
            start = max(cursor, first_kept)
            end = total if limit is None else min(total, start + limit)
            ring, capacity = self._ring, self.capacity
            entries = [ring[i % capacity] for i in range(start, end)]
        kept = [entry for entry in entries if entry is not None]
        return kept, end, skipped + len(entries) - len(kept)


@dataclass
class RecordedClock:
    """The recording's own clock, for a replay: what the recording's wall clock read when its
    connection opened, and how many recorded seconds pass per second of replay. A replay's header
    measures elapsed time and time to expiry on it, not on today's date."""

    opened_wall: float  # unix seconds
    rate: float = 1.0


@dataclass
class EngineState:
    phase: Phase = "idle"
    endpoint_kind: EndpointKind = "live"
    url: str = ""  # redacted
    model: str = ""
    session_id: str | None = None
    expires_at: float | None = None  # unix seconds, from session.created
    opened_at: float | None = None  # time.monotonic() when the socket opened
    recorded_clock: RecordedClock | None = None  # set by a replay: times are the recording's
    turn_mode: TurnMode = "server_vad"
    muted: bool = False
    talking: bool = False  # push-to-talk held
    user_speaking: bool = False  # the server's VAD says so
    assistant_speaking: bool = False  # audible output
    response_active: bool = False
    input_level: Levels = field(default_factory=Levels)
    output_level: Levels = field(default_factory=Levels)
    counters: Counters = field(default_factory=Counters)
    transcript: list[TranscriptEntry] = field(default_factory=list)
    close: CloseSummary | None = None
    verdict: ReplayVerdict | None = None  # a replay's, once it has ended
    # The session as the server last confirmed it (the `session` of session.created / updated).
    session: dict[str, Any] | None = None
    session_edit: SessionEdit | None = None
    notices: list[str] = field(default_factory=list)  # one-sentence messages: no audio, embedded mock, ...
    unanswered_calls: list[PendingCall] = field(default_factory=list)  # oldest first: the answer key answers the first
    recording_path: str | None = None
    input_description: str = ""  # the audio source and sink in use: "microphone 'pulse' (3) at 48000 Hz"
    output_description: str = ""
    scheduling: str = ""  # the audio engine's, when it drives devices: "real-time scheduling (SCHED_RR priority 4)"
