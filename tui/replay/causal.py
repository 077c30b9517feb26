"""Causal gating: matching one direction's incoming frames against the recording, and waiting until
that direction has reached a recorded position.

`Progress` takes the recorded entries of its direction from the tape (tui.replay.tape) as they come
and compares each incoming frame with the next one. Appended audio is counted in bytes and compared
byte for byte, so chunking does not matter: an append whose text is the recorded one at a recorded
chunk boundary is the recorded audio without decoding it; any other append is decoded and compared
with the recorded bytes at its position. A mismatch raises (and remembers) a `Divergence`; every
waiter then fails with it instead of hanging. Reports of a divergence read the recording again for
the full recorded item and the nearest candidates, so nothing is kept per frame for them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from tui.replay.audio_match import AudioMatch
from tui.replay.normalize import AUDIO_APPEND, IdMap, NormalizedItem, decode_audio, normalize_frame
from tui.replay.report import TIMEOUT_CODE, TIMEOUT_REASON, Divergence, GateTimeout, mismatch_message, nearest
from tui.replay.script import Script
from tui.replay.steps import Position
from tui.replay.tape import Entry
from tui.replay.timing import PacingClock
from tui.wire.format import S2C


class Entries(Protocol):
    def peek(self) -> Entry | None: ...

    def next(self) -> Entry | None: ...

    def close(self) -> None: ...


class Progress:
    def __init__(
        self,
        direction: str,
        expected: Entries,
        ids: IdMap,
        clock: PacingClock,
        *,
        script: Script | None = None,
        track_times: bool = True,
    ) -> None:
        self.direction = direction
        self.expected = expected
        self.ids = ids
        self.clock = clock
        self.script = script  # read again for reports (without it, reports show what the entries hold)
        self.position: Position = (0, 0)
        self.failure: Divergence | None = None
        self.ended = False
        self.received = 0
        self._server = direction == S2C
        self._track_times = track_times  # only a paced replay asks when a position was reached
        self._reached: deque[tuple[Position, float]] = deque()
        self._changed = asyncio.Event()
        self._waiting = 0  # waiters on `_changed`: without any, a change wakes nobody
        self._wanted: Position | None = None  # the lowest position a waiter waits for
        self._alarm: asyncio.TimerHandle | None = None  # wakes the waiters by the earliest deadline
        self._audio = AudioMatch()  # the current append against the recorded audio

    # -- feeding ---------------------------------------------------------------------------------

    def feed(self, opcode: str, payload: str | bytes) -> None:
        """Takes one incoming data frame; raises `Divergence` when it is not the recorded one."""
        if self.failure is not None:
            raise self.failure
        self.received += 1
        try:
            if not self._audio.expected_left and isinstance(payload, str):
                entry = self.expected.peek()
                if entry is not None and entry.audio is not None and entry.index == self.position[0] and entry.payload == payload:
                    # The recorded append, byte for byte, at a recorded chunk boundary: the same audio.
                    self.expected.next()
                    self._advance((entry.index, self.position[1] + entry.length))
                    return
            item, audio = normalize_frame(opcode, payload, self.ids, server=self._server)
            if audio is not None:
                self._feed_audio(decode_audio(audio))
            else:
                assert item is not None
                self._feed_item(item)
        except Divergence as divergence:
            self.fail(divergence)
            raise

    def _feed_audio(self, audio: bytes) -> None:
        self._settle()
        index, start = self.position
        match = self._audio
        matched = match.matched
        match.receive(audio)
        while match.received_left and not match.differs:
            entry = self.expected.peek()
            if entry is None or entry.audio is None or entry.index != index:
                actual = self._actual_audio(index, start, audio)
                offset = start + match.matched - matched
                if offset == 0:
                    expected = self._expected_item(index)
                    wanted = expected.label() if expected is not None else "nothing more"
                    raise self._divergence(index, f"expected {wanted}, got appended audio", expected, actual)
                raise self._divergence(
                    index,
                    f"more audio than recorded: {start + len(audio)} bytes for a {offset}-byte segment",
                    self._expected_item(index),
                    actual,
                )
            self.expected.next()
            match.expect(decode_audio(entry.audio))
        if match.differs:
            raise self._divergence(
                index,
                "the appended audio differs from the recorded audio",
                self._expected_item(index),
                self._actual_audio(index, start, audio),
            )
        self._advance((index, start + match.matched - matched))

    def _settle(self) -> None:
        """Moves past an audio segment whose recorded bytes have all arrived. Done when the next frame
        comes rather than after each append: that needs the recording's next frame of this direction,
        which may lie far ahead. (A position inside the segment satisfies every requirement recorded
        before the next client event, and that event is what moves past it.)"""
        index, offset = self.position
        if offset and not self._audio.expected_left:
            entry = self.expected.peek()
            if entry is None or entry.audio is None or entry.index != index:
                self._advance((index + 1, 0))

    def _feed_item(self, item: NormalizedItem) -> None:
        self._settle()
        index, offset = self.position
        if offset:
            expected = self._expected_item(index)
            total = expected.length if expected is not None else offset
            raise self._divergence(
                index,
                f"the audio segment ended after {offset} of its {total} recorded bytes, then came {item.label()}",
                expected,
                item,
            )
        entry = self.expected.peek()
        if entry is None:
            raise self._divergence(index, f"an extra {item.label()} after every recorded one", None, item)
        if entry.item is None:
            expected = self._expected_item(index)
            assert expected is not None
            raise self._divergence(index, mismatch_message(expected, item), expected, item)
        if entry.item.key() != item.key():
            raise self._divergence(index, mismatch_message(entry.item, item), entry.item, item)
        self.expected.next()
        self._advance((index + 1, 0))

    # -- reports (read the recording again: only when something went wrong) -----------------------

    def _expected_item(self, index: int) -> NormalizedItem | None:
        if self.script is not None:
            return self.script.item_at(self.direction, index)
        entry = self.expected.peek()
        if entry is None or entry.item is not None:
            return entry.item if entry is not None else None
        item = NormalizedItem("audio", None, AUDIO_APPEND)
        item.add_audio(decode_audio(entry.audio or ""), entry.seq)
        return item

    def _actual_audio(self, index: int, matched: int, audio: bytes) -> NormalizedItem:
        """What this run appended to segment `index`: the `matched` bytes that equal the recording's,
        then `audio`."""
        if self.script is not None and matched:
            item = self.script.audio_prefix(self.direction, index, matched)
        else:
            item = NormalizedItem("audio", None, AUDIO_APPEND)
        item.add_audio(audio)
        return item

    def _divergence(self, index: int, message: str, expected: NormalizedItem | None, actual: NormalizedItem | None) -> Divergence:
        candidates: list[tuple[int, NormalizedItem]] = []
        if actual is not None and self.script is not None:
            candidates = nearest(actual, self.script.iter_items(self.direction), skip=index)
        return Divergence(self.direction, index, message, expected, actual, candidates)

    def unused(self, limit: int = 20) -> tuple[list[tuple[int, NormalizedItem]], int]:
        """Recorded items this run never received (a partly received audio segment included): the
        first `limit`, and how many in all."""
        self._settle()
        if self.expected.peek() is None and not self._audio.expected_left:
            return [], 0
        if self.script is not None:
            return self.script.remaining(self.direction, self.position[0], limit)
        entry = self.expected.peek()
        items: list[tuple[int, NormalizedItem]] = []
        if entry is not None:
            expected = self._expected_item(entry.index)
            if expected is not None:
                items.append((entry.index, expected))
        return items, len(items)

    # -- positions -------------------------------------------------------------------------------

    def _advance(self, position: Position) -> None:
        self.position = position
        if self._track_times:
            self._reached.append((position, self.clock.now()))
        # Only a position some waiter waits for wakes it: a frame at a time, the other side's
        # player would otherwise wake and wait again for each one that is not yet enough.
        if self._wanted is not None and position >= self._wanted:
            self._wake()

    def _wake(self) -> None:
        self._wanted = None
        if self._waiting:
            self._changed.set()
            self._changed = asyncio.Event()

    def fail(self, divergence: Divergence) -> None:
        if self.failure is None:
            self.failure = divergence
        self._wake()

    def end(self) -> None:
        """The connection is gone: nothing more will arrive."""
        self.ended = True
        self._wake()

    def time_reached(self, position: Position) -> float:
        """When this run first reached `position` (the start of the run for the initial position).

        The pacer asks for nondecreasing positions, so what lies before one asked for is dropped."""
        reached = self._reached
        while reached and reached[0][0] < position:
            reached.popleft()
        return reached[0][1] if reached else self.clock.now()

    def start(self) -> None:
        if self._track_times:
            self._reached.append((self.position, self.clock.now()))

    # -- waiting ---------------------------------------------------------------------------------

    def _set_alarm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Makes sure the waiters are woken by `deadline`. One alarm serves every wait until it rings
        (a waiter whose deadline is later waits again and sets the next): a timer per wait, made and
        cancelled for each frame the other side must send first, cost more than the wait itself."""
        alarm = self._alarm
        if alarm is not None and alarm.when() <= deadline:
            return
        if alarm is not None:
            alarm.cancel()
        self._alarm = loop.call_at(deadline, self._ring)

    def _ring(self) -> None:
        self._alarm = None
        self._wake()

    async def reach(self, position: Position, timeout: float | None) -> None:
        """Waits until this direction has reached `position`; raises the divergence, a timeout, or
        a divergence saying the connection ended first."""
        if self.position >= position and self.failure is None:
            return
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.position < position:
            if self.failure is not None:
                raise self.failure
            if self.ended:
                self._settle()
                expected = self._expected_item(self.position[0])
                ended = Divergence(
                    self.direction,
                    self.position[0],
                    f"the connection ended before {expected.label() if expected else 'the recorded end'}",
                    expected,
                )
                self.fail(ended)
                raise ended
            changed = self._changed
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                self._settle()
                expected = self._expected_item(self.position[0])
                error = GateTimeout(
                    self.direction,
                    self.position[0],
                    f"waited {timeout:g} s for {expected.label() if expected else 'more frames'} (recorded seq "
                    f"{expected.seq if expected else '?'}); nothing came",
                    expected,
                    code=TIMEOUT_CODE,
                    reason=TIMEOUT_REASON,
                )
                self.fail(error)
                raise error
            if self._wanted is None or position < self._wanted:
                self._wanted = position
            if deadline is not None:
                self._set_alarm(loop, deadline)
            self._waiting += 1
            try:
                await changed.wait()
            finally:
                self._waiting -= 1
        if self.failure is not None and self.position < position:
            raise self.failure
