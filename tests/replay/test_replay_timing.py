"""Timing modes on a fake clock: as fast as causality allows, the recorded pace, and scaled; each
delay counted from the step's causal predecessor."""

from __future__ import annotations

from collections import deque

import pytest

from tests.replay_support import FakeClock, example, recorded_steps
from tui.replay.causal import Progress
from tui.replay.full import full_replay
from tui.replay.normalize import IdMap, NormalizedItem
from tui.replay.script import load_script
from tui.replay.steps import Step
from tui.replay.tape import Entry
from tui.replay.timing import Pacer, Timing

MS = 1_000_000


class StaticEntries:
    """A fixed list of entries with a tape channel's interface."""

    def __init__(self, entries: list[Entry]) -> None:
        self.queue: deque[Entry] = deque(entries)

    def peek(self) -> Entry | None:
        return self.queue[0] if self.queue else None

    def next(self) -> Entry | None:
        return self.queue.popleft() if self.queue else None

    def close(self) -> None:
        self.queue.clear()


def incoming(clock: FakeClock) -> Progress:
    entries = [
        Entry(2, 0, '{"type":"a"}', NormalizedItem("event", {"type": "a"}, "a", [2])),
        Entry(3, 1, '{"type":"b"}', NormalizedItem("event", {"type": "b"}, "b", [3])),
    ]
    progress = Progress("s2c", StaticEntries(entries), IdMap(), clock)
    progress.start()
    return progress


def step(t_ms: int, requires: tuple[int, int] = (0, 0), requires_t_ms: int | None = None) -> Step:
    return Step(
        seq=1,
        t_ns=t_ms * MS,
        direction="c2s",
        kind="frame",
        opcode="text",
        payload="{}",
        requires=requires,
        requires_t_ns=None if requires_t_ms is None else requires_t_ms * MS,
    )


async def test_as_fast_as_causality_allows_never_sleeps():
    clock = FakeClock()
    pacer = Pacer(Timing(None), clock, incoming(clock), 0, clock.now())
    for t in (100, 5_000, 60_000):
        await pacer.wait(step(t))
        pacer.done(step(t))
    assert clock.sleeps == [] and clock.now() == 0


@pytest.mark.parametrize("speed", [1.0, 2.0, 0.5])
async def test_recorded_pace_counts_from_the_previous_own_step(speed):
    clock = FakeClock(start=100.0)
    pacer = Pacer(Timing(speed), clock, incoming(clock), 0, clock.now())
    await pacer.wait(step(300))
    assert clock.now() == pytest.approx(100.0 + 0.3 / speed)
    clock.advance(0.05)  # sending took a while: the next gap counts from when this step was done
    pacer.done(step(300))
    done_at = clock.now()
    await pacer.wait(step(500))
    assert clock.now() == pytest.approx(done_at + 0.2 / speed)


async def test_a_damaged_timestamp_waits_300_s_at_most_not_centuries():
    clock = FakeClock()
    pacer = Pacer(Timing(1.0), clock, incoming(clock), 0, clock.now())
    forged = Step(seq=1, t_ns=2**63, direction="c2s", kind="frame", opcode="text", payload="{}")
    await pacer.wait(forged)
    assert clock.sleeps == [300.0]


async def test_the_delay_counts_from_the_other_sides_frame_when_that_came_later():
    clock = FakeClock()
    progress = incoming(clock)
    pacer = Pacer(Timing(1.0), clock, progress, 0, clock.now())
    await pacer.wait(step(100))
    pacer.done(step(100))  # own step at recorded 100 ms, done at 0.1 s
    clock.advance(2.0)  # the server's frame is late in this run: it arrives at 2.1 s
    progress.feed("text", '{"type":"a"}')
    # Recorded: server frame at 400 ms, our next frame 250 ms after it (at 650 ms).
    nxt = step(650, requires=(1, 0), requires_t_ms=400)
    assert pacer.due(nxt) == pytest.approx(2.1 + 0.25)
    await pacer.wait(nxt)
    assert clock.now() == pytest.approx(2.35)


async def test_a_step_never_waits_for_time_already_past():
    clock = FakeClock()
    progress = incoming(clock)
    pacer = Pacer(Timing(1.0), clock, progress, 0, clock.now())
    clock.advance(5.0)
    await pacer.wait(step(1_000))
    assert clock.sleeps == [] and clock.now() == 5.0


def test_speed_must_be_positive():
    with pytest.raises(ValueError):
        Timing(0)


@pytest.mark.parametrize("speed", [1.0, 2.0])
async def test_a_full_replay_at_recorded_pace_takes_the_recorded_time_on_the_fake_clock(speed, tmp_path):
    # fault-delay: every server frame was sent 0.2 s late, so the recorded session has real gaps.
    script = load_script(example("fault-delay"))
    start = script.response["t_ns"]
    span = (max(s.t_ns for s in recorded_steps(script) if s.kind in ("frame", "close")) - start) / 1e9
    assert span > 0.3
    clock = FakeClock()
    result = await full_replay(script, output=tmp_path / "run.jsonl", timing=Timing(speed), clock=clock)
    assert result.ok, result.report()
    assert clock.now() == pytest.approx(span / speed, abs=0.02)


async def test_a_full_replay_as_fast_as_causality_allows_does_not_wait(tmp_path):
    clock = FakeClock()
    result = await full_replay(load_script(example("fault-delay")), output=tmp_path / "run.jsonl", clock=clock)
    assert result.ok, result.report()
    assert clock.sleeps == []
