"""A full replay shaped like the session engine, so the TUI can show it (`rtui replay FILE`).

`ReplayEngine` has what the UI reads from an engine (`state`, `log`, the commands of
`tui.app.contract.EngineLike`): it runs `full_replay` and turns every record of the new recording
into log lines, counters, meters and transcripts, as the live engine does. The meters are driven by
the replayed audio itself (the appended input audio and the output audio deltas as they cross the
wire), so at the recorded pace they move as they did in the session. When a run ends its verdict
goes into `state.verdict`, and R (`Reconnect`, its only command) replays again; the UI offers no
talk, text, reply or cancel key: the replay plays what was recorded. Nothing here imports Textual.

The header tells the replay's truth: the URL is the one the replay connects to (the recording's
server side, served by rtui on 127.0.0.1), the same as in the handshake row; elapsed time and time to
expiry run on the recording's clock; `pace` and `resp` are measured on the replayed frames.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tui.audio.levels import AudioLevelMeter
from tui.engine.commands import Command, Reconnect
from tui.engine.state import Counters, EngineState, Levels, LogBuffer, RecordedClock, ReplayVerdict
from tui.engine.view import SessionView
from tui.replay.full import ReplayResult, full_replay
from tui.replay.script import Script
from tui.replay.timing import Timing

_QUIET_AFTER_S = 0.15  # a meter falls to silence when no audio crossed for this long


class ReplayEngine:
    # It sends what was recorded: nothing for a user to send. R (`reconnect`) replays again.
    commands = frozenset({Reconnect})

    def __init__(
        self,
        script: Script,
        *,
        timing: Timing = Timing(1.0),
        timeout: float = 10.0,
        directory: str = "sessions",
        output: str | None = None,
        log_capacity: int = 50_000,
    ) -> None:
        self.script = script
        self.timing = timing
        self.timeout = timeout
        self.directory = directory
        self.output = output
        self.state = EngineState(endpoint_kind="replay", model=_model(str(script.header.get("url", ""))))
        self.state.recorded_clock = _recorded_clock(script, timing)
        self.log = LogBuffer(log_capacity)
        self.view = SessionView(self.state, self.log)
        self.result: ReplayResult | None = None
        self.outcome: Literal["finished", "stopped"] | None = None
        self._meters = {"c2s": AudioLevelMeter(), "s2c": AudioLevelMeter()}
        self._last_audio = {"c2s": 0.0, "s2c": 0.0}
        self.runs = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._wake = asyncio.Event()  # R or stop, while a finished replay waits
        self._stopping = False

    # -- running -----------------------------------------------------------------------------------

    async def run(self) -> str:
        """Replays, then waits: R (`reconnect`) replays again, `stop` ends it."""
        self._loop = asyncio.get_running_loop()
        ticker = asyncio.create_task(self._tick())
        try:
            while not self._stopping:
                await self._replay_once()
                if self._stopping:
                    break
                await self._wake.wait()
                self._wake.clear()
        finally:
            ticker.cancel()
            self.state.input_level = self.state.output_level = Levels()
        return self.outcome or "stopped"

    async def _replay_once(self) -> None:
        self.runs += 1
        if self.runs > 1:
            self._start_over()
        again = f" (run {self.runs})" if self.runs > 1 else ""
        self.state.notices.append(f"Replaying {self.script.describe()} {self.timing.describe()}{again}.")
        self.state.phase = "connecting"
        self._task = asyncio.create_task(
            full_replay(
                self.script,
                directory=self.directory,
                output=self._output_of_run(),
                timing=self.timing,
                timeout=self.timeout,
                listeners=[self._on_record],
                on_recording=self._recording_at,
            )
        )
        try:
            self.result = await self._task
            self.outcome = "finished"
            self.state.verdict = ReplayVerdict(self.result.ok, self.result.headline(), self.result.report(), self.runs)
        except asyncio.CancelledError:
            self.outcome = "stopped"
        finally:
            self._task = None
            self.state.phase = "closed"  # the meters fall silent on their own (`_tick`)

    def _output_of_run(self) -> str | None:
        """`--output FILE` names the first run's recording; a rerun goes beside it, never over it."""
        if self.output is None or self.runs == 1:
            return self.output
        path = Path(self.output)
        return str(path.with_name(f"{path.stem}.run{self.runs}{path.suffix}"))

    def _start_over(self) -> None:
        """A fresh view for the next run; the log keeps the earlier runs above it."""
        state = self.state
        state.phase, state.close, state.verdict, state.recording_path = "idle", None, None, None
        state.session_id, state.expires_at, state.opened_at = None, None, None
        state.counters, state.transcript = Counters(), []
        self.view = SessionView(state, self.log)

    def _recording_at(self, path: Path) -> None:
        self.state.recording_path = str(path)

    def stop(self) -> None:
        self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_up, True)

    def _wake_up(self, stopping: bool = False) -> None:
        """On the engine's loop: end the current run when stopping, or start the next one."""
        if stopping and self._task is not None:
            self._task.cancel()
        elif self._task is None:
            self._wake.set()

    # -- records of the new recording --------------------------------------------------------------

    def _on_record(self, record: dict[str, Any]) -> None:
        _, event = self.view.on_record(record)
        if record["kind"] == "handshake_request" and isinstance(record.get("url"), str):
            self.state.url = record["url"]  # the served recording: what the replay really talks to
        if event is None:
            return
        # The meters follow the replayed audio as it crosses the wire.
        etype = event.get("type")
        if record["dir"] == "c2s" and etype == "input_audio_buffer.append":
            self._audio("c2s", event.get("audio"))
        elif record["dir"] == "s2c" and etype in ("response.output_audio.delta", "response.audio.delta"):
            self._audio("s2c", event.get("delta"))

    def _audio(self, direction: str, b64: Any) -> None:
        if not isinstance(b64, str):
            return
        try:
            pcm = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            return
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        self._meters[direction].update(samples)
        self._last_audio[direction] = time.monotonic()

    async def _tick(self) -> None:
        """Copies the meters into `state` at UI rate; a direction with no recent audio reads silent."""
        while True:
            now = time.monotonic()
            running = self._task is not None  # after a run the meters read silent, whatever came last
            for direction, attr in (("c2s", "input_level"), ("s2c", "output_level")):
                reading = self._meters[direction].read()
                quiet = not running or now - self._last_audio[direction] > _QUIET_AFTER_S
                setattr(self.state, attr, Levels() if quiet else Levels(reading.rms_dbfs, reading.peak_dbfs, False))
            self.state.counters.send_rate = self.view.send_rate.rate(now)
            self.state.assistant_speaking = now - self._last_audio["s2c"] <= _QUIET_AFTER_S
            await asyncio.sleep(1 / 30)

    # -- commands: only `Reconnect` (`commands`) ------------------------------------------------------

    def submit(self, command: Command) -> None:
        """R (`Reconnect`): replay again once the current run has ended."""
        loop = self._loop
        if isinstance(command, Reconnect) and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_up)


def _recorded_clock(script: Script, timing: Timing) -> RecordedClock | None:
    """The recording's wall clock when its connection opened (its header's start plus the handshake
    response's offset), or None when the recording does not say."""
    try:
        started = dt.datetime.fromisoformat(str(script.header.get("started_at"))).timestamp()
    except ValueError:
        return None
    opened_ns = script.response.get("t_ns") if script.response else None
    if not isinstance(opened_ns, int):
        return None
    return RecordedClock(started + opened_ns / 1e9, timing.speed or 1.0)


def _model(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(url).query).get("model") or [""])[-1]
