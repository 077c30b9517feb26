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
from typing import Any

from tui.diagnose.items import Legs
from tui.engine.state import Counters, EngineState, LogBuffer
from tui.engine.view import SessionView
from tui.wire.proxy import Relay, RelayConfig, RelaySession
from tui.wire.redact import Redactor

_DRIVEN_BY_CLIENT = "The relayed client drives this session; rtui only watches and records it (b adds a mark)."


class RelayEngine:
    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self._upstream_shown = Redactor().url(config.upstream)  # a key in --upstream stays off the screen
        self.state = EngineState(phase="idle", endpoint_kind="proxy", url=self._upstream_shown)
        self.log = LogBuffer()
        self.view = SessionView(self.state, self.log)
        self.relay: Relay | None = None
        self._session: RelaySession | None = None
        self._legs = Legs()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    # -- running (on the engine thread) ----------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.relay = Relay(self.config, on_event=self._notice, on_session=self._watch)
        async with self.relay:
            self.state.notices.append(f"Relay listening on {self.relay.url}, forwarding to {self._upstream_shown}.")
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
            self.state.counters.send_rate = self.view.send_rate.rate(time.monotonic())
            await asyncio.sleep(1 / 10)

    def _notice(self, message: str) -> None:
        self.state.notices.append(f"proxy: {message}")

    # -- one relayed session -----------------------------------------------------------------------

    def _watch(self, session: RelaySession) -> None:
        """A new client: the view follows its session from now on."""
        self._session = session
        self._legs = Legs(session.client_conn, session.upstream_conn)
        self.view = SessionView(self.state, self.log)
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
        if record["kind"] in ("handshake_response", "close", "end") and record["conn"] != self._legs.client_conn:
            self.view.log_record(record)  # the upstream leg's side of it: shown, but the client's leg is the session
        else:
            self.view.on_record(record)

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
