"""The relay as the TUI sees it: `rtui proxy --ui` runs a `Relay` and shows the relayed session.

`RelayEngine` has the engine's shape (`state`, `log`, `run`, `stop` and the commands of
`tui.app.contract.EngineLike`) so the live screen shows a relayed session as it shows a live one:
the event log, counters, send rate, transcript and the closure card. The client drives the session,
so the commands that would speak for it (send text, respond, cancel, talk, mute, reconnect) only say
so; marks go into the current recording. Each new client resets the view to its session.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from tui.diagnose.items import Legs
from tui.engine.closure import summarize_close
from tui.engine.pacing import SendRateMeter
from tui.engine.state import Counters, EngineState, LogBuffer, LogEntry, TranscriptEntry
from tui.protocol.summary import Line, frame_event, record_line
from tui.wire.proxy import Relay, RelayConfig, RelaySession

_DRIVEN_BY_CLIENT = "The relayed client drives this session; rtui only watches and records it (b adds a mark)."
_TRANSCRIPT_DELTAS = {
    "response.output_audio_transcript.delta": "assistant",
    "response.output_text.delta": "assistant",
    "response.audio_transcript.delta": "assistant",
    "response.text.delta": "assistant",
}
_TRANSCRIPT_DONE = {"response.output_audio_transcript.done", "response.output_text.done", "response.audio_transcript.done", "response.text.done"}


class RelayEngine:
    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.state = EngineState(phase="idle", endpoint_kind="proxy", url=config.upstream)
        self.log = LogBuffer()
        self.relay: Relay | None = None
        self._session: RelaySession | None = None
        self._legs = Legs()
        self._recent: deque[Line] = deque(maxlen=40)
        self._last_error: str | None = None
        self._send_rate = SendRateMeter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    # -- running (on the engine thread) ----------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.relay = Relay(self.config, on_event=self._notice, on_session=self._watch)
        async with self.relay:
            self.state.notices.append(f"Relay listening on {self.relay.url}, forwarding to {self.config.upstream}.")
            ticker = asyncio.ensure_future(self._tick())
            try:
                await self._stopping.wait()
            finally:
                ticker.cancel()
        self.state.phase = "closed" if self._session is not None else "idle"

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)

    async def _tick(self) -> None:
        while True:
            self.state.counters.send_rate = self._send_rate.rate(time.monotonic())
            await asyncio.sleep(1 / 10)

    def _notice(self, message: str) -> None:
        self.state.notices.append(f"proxy: {message}")

    # -- one relayed session -----------------------------------------------------------------------

    def _watch(self, session: RelaySession) -> None:
        """A new client: the view follows its session from now on."""
        self._session = session
        self._legs = Legs(session.client_conn, session.upstream_conn)
        self._recent.clear()
        self._last_error = None
        self._send_rate = SendRateMeter()
        state = self.state
        state.phase, state.close, state.session_id, state.expires_at = "connecting", None, None, None
        state.counters = Counters()
        state.transcript = []
        state.recording_path = str(session.path)
        session.writer.add_listener(self._on_record)

    def _on_record(self, record: dict[str, Any]) -> None:
        """Writer listener, on the relay's loop: every record of the session, in order."""
        if not self._legs.counts(record):
            return  # the other leg's copy of a frame already shown
        line = record_line(record)
        self.log.append(LogEntry(record, line))
        self._recent.append(line)
        kind, state = record["kind"], self.state
        if kind == "frame":
            self._frame(record, line)
        elif kind == "handshake_response" and record["conn"] == self._legs.client_conn:
            if record.get("status") == 101:
                state.phase, state.opened_at = "open", time.monotonic()
        elif kind == "close" and state.phase == "open":
            state.phase = "closing"
        elif kind == "end" and record["conn"] == self._legs.client_conn:
            state.phase = "closed"
            state.close = summarize_close(record, list(self._recent), self._last_error)

    def _frame(self, record: dict[str, Any], line: Line) -> None:
        counters = self.state.counters
        if record["dir"] == "c2s":
            counters.frames_sent += 1
            counters.bytes_sent += record["size"]
            counters.audio_sent_seconds += line.audio_seconds
            if line.audio_seconds:
                self._send_rate.add(time.monotonic(), line.audio_seconds)
            return
        counters.frames_received += 1
        counters.bytes_received += record["size"]
        counters.audio_received_seconds += line.audio_seconds
        if line.label == "error":
            counters.server_errors += 1
            self._last_error = line.summary
        elif line.label == "session.created":
            event = frame_event(record) or {}
            session = event.get("session") if isinstance(event.get("session"), dict) else {}
            self.state.session_id = session.get("id")
            self.state.model = str(session.get("model", ""))
            expires = session.get("expires_at")
            self.state.expires_at = float(expires) if isinstance(expires, (int, float)) else None
        elif line.label in _TRANSCRIPT_DELTAS or line.label in _TRANSCRIPT_DONE:
            event = frame_event(record) or {}
            item_id = str(event.get("item_id", ""))
            entry = next((e for e in reversed(self.state.transcript) if e.item_id == item_id), None)
            if entry is None:
                entry = TranscriptEntry("assistant", item_id)
                self.state.transcript.append(entry)
            if line.label in _TRANSCRIPT_DONE:
                entry.done = True
            else:
                entry.text += str(event.get("delta", ""))

    # -- commands (from the UI thread) -------------------------------------------------------------

    def _say_driven_by_client(self) -> None:
        if not self.state.notices or self.state.notices[-1] != _DRIVEN_BY_CLIENT:
            self.state.notices.append(_DRIVEN_BY_CLIENT)

    def send_text(self, text: str) -> None:
        self._say_driven_by_client()

    def create_response(self) -> None:
        self._say_driven_by_client()

    def cancel_response(self) -> None:
        self._say_driven_by_client()

    def set_talking(self, talking: bool) -> None:
        self._say_driven_by_client()

    def toggle_turn_mode(self) -> None:
        self._say_driven_by_client()

    def set_muted(self, muted: bool) -> None:
        self._say_driven_by_client()

    def reconnect(self) -> None:
        self._say_driven_by_client()

    def mark(self, note: str) -> None:
        session = self._session
        if session is not None and not session.writer.closed:
            session.writer.mark(note)  # thread-safe: the writer serialises records
