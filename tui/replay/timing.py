"""Timing modes and pacing, with an injectable clock.

`Timing(speed=None)` replays as fast as causality allows; `Timing(1.0)` at the recorded pace;
`Timing(2.0)` twice as fast. A step's delay is measured from its causal predecessor: the later, in
recorded time, of the previous step this side performed and the other side's last data frame before
it. The step is due at (when that predecessor happened in this run) + (recorded gap) / speed, a
recorded gap counting for 300 s at most (tui.wire.format.MAX_GAP_NS).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from tui.replay.steps import Position, Step
from tui.wire.format import MAX_GAP_NS


class PacingClock(Protocol):
    """What replay paces its steps by: the time now and a sleep (not the UI's clock, tui.app.contract.Clock)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Timing:
    speed: float | None = None  # None: as fast as causality allows

    def __post_init__(self) -> None:
        if self.speed is not None and not self.speed > 0:
            raise ValueError(f"speed must be a positive number, not {self.speed}")

    def describe(self) -> str:
        if self.speed is None:
            return "as fast as causality allows"
        if self.speed == 1:
            return "at the recorded pace"
        return f"at {self.speed:g}x the recorded pace"


class ReachTimes(Protocol):
    def time_reached(self, position: Position) -> float: ...


class Pacer:
    """Decides when each of one side's steps is due."""

    def __init__(self, timing: Timing, clock: PacingClock, incoming: ReachTimes, start_t_ns: int, start_time: float) -> None:
        self.timing = timing
        self.clock = clock
        self.incoming = incoming
        self._last = (start_t_ns, start_time)  # (recorded t_ns, actual time) of the last step done

    def due(self, step: Step) -> float | None:
        """The clock time `step` is due at, or None to go at once."""
        if self.timing.speed is None:
            return None
        pred_t_ns, pred_time = self._last
        if step.requires_t_ns is not None and step.requires_t_ns > pred_t_ns:
            pred_t_ns, pred_time = step.requires_t_ns, self.incoming.time_reached(step.requires)
        # A recorded gap counts for MAX_GAP_NS at most: a damaged t_ns must not stall the replay.
        gap_ns = min(max(0, step.t_ns - pred_t_ns), MAX_GAP_NS)
        return pred_time + gap_ns / 1e9 / self.timing.speed

    async def wait(self, step: Step) -> None:
        due = self.due(step)
        if due is not None:
            delay = due - self.clock.now()
            if delay > 0:
                await self.clock.sleep(delay)

    def done(self, step: Step) -> None:
        if self.timing.speed is not None:  # as fast as causality allows, nothing is timed
            self._last = (step.t_ns, self.clock.now())
