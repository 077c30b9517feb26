"""Helpers for the TUI tests: an engine stand-in, a real engine under Pilot, and a real mock
conversation frozen for snapshots.

`on_screen()` runs a real engine on its thread under the TUI, for Pilot. `FrozenEngine` holds an
EngineState and a LogBuffer the test sets up and records the commands the UI calls.
`conversation_engine()` rebuilds, from files committed under tests/app_data/, the state
and log that the real engine had mid-conversation with the mock server; run this module
(`.venv/bin/python -m tests.app_support`) to record them again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tui.app.app import RtuiApp
from tui.app.settings import UISettings
from tui.engine.commands import SESSION_COMMANDS, Command
from tui.engine.process import EngineProcess
from tui.engine.runner import EngineThread
from tui.engine.session import Engine
from tui.engine.state import CloseSummary, Counters, EngineState, Levels, LogBuffer, LogEntry, TranscriptEntry
from tui.protocol.summary import Line, record_line
from tui.wire.reader import SessionReader

DATA = Path(__file__).parent / "app_data"
CONVERSATION = DATA / "mock_conversation.jsonl"
CONVERSATION_STATE = DATA / "mock_conversation_state.json"
VOICE = Path(__file__).parent.parent / "tui" / "mock" / "voice.wav"


@dataclasses.dataclass
class FixedClock:
    """A clock that moves only when told to: snapshots and tests render the same every run."""

    mono: float = 1000.0
    wall: float = 1_800_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


class FrozenEngine:
    """An engine that runs nothing: the test sets `state` and `log`; commands are recorded in `calls`."""

    commands = SESSION_COMMANDS

    def __init__(self, state: EngineState | None = None, log: LogBuffer | None = None) -> None:
        self.state = state or EngineState()
        self.log = log or LogBuffer()
        self.calls: list[Command | str] = []

    def submit(self, command: Command) -> None:
        self.calls.append(command)

    def stop(self) -> None:
        self.calls.append("stop")


async def wait_for(pilot: Pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the engine"
        await pilot.pause(0.05)


async def log_shown(pilot: Pilot, app: RtuiApp) -> None:
    """Until the live screen has taken in the engine's whole log and laid it out: it drains the log
    on a timer, which a loaded machine delays well past any fixed pause."""
    await wait_for(pilot, lambda: app.live_screen.feed.cursor == app.engine.log.total)
    await pilot.pause()


def offered_actions(app: RtuiApp) -> dict[str, set[str]]:
    """What the current screen offers: the footer's actions, the palette's titles, the help's ids."""
    return {
        "footer": {key.action for key in app.screen.query("FooterKey")},
        "palette": {command.title for command in app.get_system_commands(app.screen)},
        "help": {binding_id for _, keys in app.binding_groups() for _, _, binding_id in keys},
    }


@asynccontextmanager
async def on_screen(engine: Engine | EngineProcess) -> AsyncIterator[tuple[EngineThread, RtuiApp, Pilot]]:
    """The engine running on its thread under the TUI, driven by Pilot; the engine stops after."""
    runner = EngineThread(engine)
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())
        async with app.run_test(size=(100, 30)) as pilot:
            yield runner, app, pilot
    finally:
        runner.stop()


def entries_of(records: list[dict[str, Any]]) -> list[LogEntry]:
    return [LogEntry(record, record_line(record)) for record in records]


def read_records(path: Path) -> list[dict[str, Any]]:
    with SessionReader(path) as reader:
        return list(reader)


# -- the frozen conversation -----------------------------------------------------------------


def state_to_json(state: EngineState, now_mono: float, now_wall: float, log_total: int) -> dict[str, Any]:
    """The engine's state at one moment, with its clocks made relative so it can be replayed."""
    data = dataclasses.asdict(state)
    data["opened_ago"] = None if state.opened_at is None else now_mono - state.opened_at
    data["expires_in"] = None if state.expires_at is None else state.expires_at - now_wall
    data["log_total"] = log_total
    for key in ("opened_at", "expires_at", "close", "recording_path"):
        data.pop(key)
    return data


def state_from_json(data: dict[str, Any], clock: FixedClock) -> EngineState:
    fields = dict(data)
    opened_ago, expires_in = fields.pop("opened_ago"), fields.pop("expires_in")
    fields.pop("log_total")
    state = EngineState(
        **{k: v for k, v in fields.items() if k not in ("input_level", "output_level", "counters", "transcript")},
        input_level=Levels(**fields["input_level"]),
        output_level=Levels(**fields["output_level"]),
        counters=Counters(**fields["counters"]),
        transcript=[TranscriptEntry(**entry) for entry in fields["transcript"]],
    )
    state.opened_at = None if opened_ago is None else clock.monotonic() - opened_ago
    state.expires_at = None if expires_in is None else clock.time() + expires_in
    return state


def conversation_engine(clock: FixedClock) -> FrozenEngine:
    """The real engine's state and log mid-conversation with the mock, as recorded."""
    data = json.loads(CONVERSATION_STATE.read_text())
    log = LogBuffer()
    for entry in entries_of(read_records(CONVERSATION)[: data["log_total"]]):
        log.append(entry)
    return FrozenEngine(state_from_json(data, clock), log)


def closed_engine(clock: FixedClock) -> FrozenEngine:
    """The conversation, then the server's error and close 1000: what the seed report looked like."""
    engine = conversation_engine(clock)
    records = [entry.record for entry in engine.log.since(0)[0]]
    seq, t_ns = records[-1]["seq"], records[-1]["t_ns"]
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": "Invalid 'audio'. Expected base64-encoded audio bytes (mono PCM16 at 24kHz) but got an invalid value.",
            "param": "audio",
            "event_id": None,
        },
    }
    text = json.dumps(error)
    tail = [
        {
            "seq": seq + 1,
            "t_ns": t_ns + 20_000_000,
            "conn": 1,
            "kind": "frame",
            "dir": "s2c",
            "opcode": "text",
            "text": text,
            "size": len(text),
            "type": "error",
        },
        {
            "seq": seq + 2,
            "t_ns": t_ns + 21_000_000,
            "conn": 1,
            "kind": "close",
            "dir": "s2c",
            "code": 1000,
            "reason": "",
            "by": "server",
            "first": True,
        },
        {
            "seq": seq + 3,
            "t_ns": t_ns + 22_000_000,
            "conn": 1,
            "kind": "close",
            "dir": "c2s",
            "code": 1000,
            "reason": "",
            "by": "client",
            "first": False,
        },
        {
            "seq": seq + 4,
            "t_ns": t_ns + 23_000_000,
            "conn": 1,
            "kind": "end",
            "dir": "local",
            "code": 1000,
            "reason": "",
            "closed_by": "server",
            "clean": True,
            "close_sent": True,
            "close_rcvd": True,
            "side": "client",
        },
    ]
    entries = entries_of(tail)
    for entry in entries:
        engine.log.append(entry)
    last: list[Line] = [entry.line for entry in entries_of(records[-4:])] + [entries[0].line, entries[1].line]
    engine.state.close = CloseSummary(
        code=1000,
        reason="",
        closed_by="server",
        meaning="normal closure",
        clean=True,
        explanation="The server closed the session right after an error event: read the error above; a bare 1000 hides it.",
        preceding_error="invalid_value [audio]: Invalid 'audio'. Expected base64-encoded audio bytes (mono PCM16 at 24kHz)…",
        last_lines=last,
    )
    engine.state.phase = "closed"
    return engine


async def record_conversation() -> None:
    """Talk to the embedded mock with the real engine (the mock's own voice as the microphone, a
    spoken reply), and save the recording plus the engine's state at the moment the reply is half-way through."""
    import tempfile

    from tui.audio.options import make_sink, make_source
    from tui.engine.config import AudioSettings, Endpoint, EngineConfig
    from tui.engine.runner import EngineThread
    from tui.engine.session import Engine

    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(
            Endpoint(url="", kind="mock"),
            audio=AudioSettings(input=str(VOICE), output="null"),
            record_dir=Path(tmp),
            finish_when_input_ends=True,  # trailing silence, so the mock's VAD hears the end of speech
        )
        engine = Engine(config, source=make_source(str(VOICE)), sink=make_sink("null"))
        runner = EngineThread(engine)
        runner.start()
        deadline = time.monotonic() + 30
        snapshot = None
        while time.monotonic() < deadline and snapshot is None:
            await asyncio.sleep(0.005)
            answer = [e for e in engine.state.transcript if e.role == "assistant"]
            if answer and len(answer[0].text) >= 14 and not answer[0].done and engine.state.output_level.rms_dbfs > -60:
                snapshot = state_to_json(engine.state, time.monotonic(), time.time(), engine.log.total)
        runner.stop()
        if snapshot is None:
            raise RuntimeError("the mock's reply never reached the half-way point")
        recording = Path(engine.state.recording_path or "")
        DATA.mkdir(exist_ok=True)
        CONVERSATION.write_bytes(recording.read_bytes())
        CONVERSATION_STATE.write_text(json.dumps(snapshot, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(record_conversation())
    print(f"wrote {CONVERSATION} and {CONVERSATION_STATE}")
