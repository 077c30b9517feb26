"""What the UI needs from an engine: its state, its log buffer and its thread-safe commands.

The real engine (`tui.engine`) satisfies this; tests pass a frozen stand-in. Nothing here imports
Textual, so the contract can be checked without a terminal.
"""

from __future__ import annotations

import time
from typing import Protocol

from tui.engine.commands import Command
from tui.engine.state import EngineState, LogBuffer


class EngineLike(Protocol):
    """The engine as the UI sees it. Commands return at once; their effects show up in `state`.

    `commands` holds the command types this engine accepts (of `tui.engine.commands`): the UI
    offers keys only for those, and never submits the others."""

    state: EngineState
    log: LogBuffer

    @property
    def commands(self) -> frozenset[type[Command]]: ...

    def submit(self, command: Command) -> None: ...
    def stop(self) -> None: ...


class RunnableEngine(EngineLike, Protocol):
    """What `run_app` starts on its own thread: the session engine, a relay or a replay."""

    async def run(self) -> object: ...


class Clock(Protocol):
    """Where the UI reads the time: `monotonic()` pairs with `state.opened_at`, `time()` with `expires_at`."""

    def monotonic(self) -> float: ...
    def time(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()
