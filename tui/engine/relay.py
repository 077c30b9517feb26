"""The relay as the TUI sees it: `rtui proxy --ui` runs a `Relay` and shows the relayed session.

`RelayEngine` has the engine's shape (`state`, `log`, `run`, `stop` and the commands of
`tui.app.contract.EngineLike`) so the live screen shows a relayed session as it shows a live one:
the event log, counters, send rate, transcript and the closure card. The relay records every frame,
handshake and close twice (received on one leg, sent on the other); the view shows each once, where
the relay received it, and names the leg of each handshake, close and end. The client drives the
session, so the only command is `mark` (into the current recording); the UI offers no other key.
Each new client resets the view to its session.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from tui.diagnose.items import Legs
from tui.engine.commands import Command, Mark
from tui.engine.state import Counters, EngineState, LogBuffer
from tui.engine.view import SessionView
from tui.wire.format import C2S, S2C
from tui.wire.proxy import Relay, RelayConfig, RelaySession
from tui.wire.redact import Redactor


class RelayedOnce:
    """Which records of a relayed session a view shows: each relayed record once, on the leg where
    the relay received it (the client's for c2s, upstream's for s2c). Its copy, sent on the other
    leg just after, is hidden; a record on the sending leg with no received original is the relay's
    own (its answer to a refused client, say) and is shown. Ends and other local records are each
    leg's own and always shown."""

    def __init__(self, legs: Legs) -> None:
        self.legs = legs
        self._unsent: Counter[tuple[str, str]] = Counter()  # received records not yet seen sent on

    def shown(self, record: dict[str, Any]) -> bool:
        direction = record["dir"]
        if direction not in (C2S, S2C):
            return True
        key = (record["kind"], direction)
        receiving = self.legs.client_conn if direction == C2S else self.legs.upstream_conn
        if record["conn"] == receiving:
            self._unsent[key] += 1
            return True
        if self._unsent[key]:
            self._unsent[key] -= 1
            return False
        return True


class RelayEngine:
    commands = frozenset({Mark})  # the client drives the session: rtui can only mark the recording

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self._upstream_shown = Redactor().url(config.upstream)  # a key in --upstream stays off the screen
        self.state = EngineState(phase="idle", endpoint_kind="proxy", url=self._upstream_shown)
        self.log = LogBuffer()
        self.view = SessionView(self.state, self.log)
        self.relay: Relay | None = None
        self._session: RelaySession | None = None
        self._legs = Legs()
        self._once = RelayedOnce(self._legs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.recordings: list[str] = []  # one file per relayed session, oldest first

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
        self._once = RelayedOnce(self._legs)
        self.view = SessionView(self.state, self.log)
        state = self.state
        state.phase, state.close, state.session_id, state.expires_at = "connecting", None, None, None
        state.counters = Counters()
        state.transcript = []
        state.recording_path = str(session.path)
        self.recordings.append(state.recording_path)
        session.writer.add_listener(self._on_record)

    def _on_record(self, record: dict[str, Any]) -> None:
        """Writer listener, on the relay's loop: every record of the session, in order."""
        if not self._once.shown(record):
            return
        legs = self._legs
        leg = None if record["kind"] == "frame" else legs.leg_name(record["conn"])
        if record["kind"] == "end" and record["conn"] != legs.client_conn:
            self.view.log_record(record, leg)  # upstream's end: shown, but the client's leg ends the session
            return
        self.view.on_record(record, leg)
        if record["kind"] == "handshake_response" and record.get("status") != 101:
            # Upstream's refusal, relayed to the client: the client's leg ends refused, and its end
            # keeps the refusal as the session's summary.
            self.view.refused_conn = legs.client_conn

    # -- commands (from the UI thread): only `Mark` (`commands`) -------------------------------------

    def submit(self, command: Command) -> None:
        session = self._session
        if not isinstance(command, Mark):
            return
        if session is not None and not session.writer.closed:
            session.writer.mark(command.note)  # thread-safe: the writer serialises records
        else:  # its recording is finished (or none began): say so rather than drop the note unseen
            self._notice("no session is being relayed, so the mark was not recorded (a mark goes into the current session)")
