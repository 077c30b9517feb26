"""Causal gating: matching one direction's incoming frames against the recording, and waiting until
that direction has reached a recorded position.

`Progress` normalizes each incoming frame (tui.replay.normalize) and compares it with the next
expected item; appended audio is counted in bytes and checked by SHA-256 when its segment is
complete, so chunking does not matter. A mismatch raises (and remembers) a `Divergence`; every
waiter then fails with it instead of hanging.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib

from tui.replay.normalize import AUDIO_APPEND, IdMap, Item, classify
from tui.replay.report import TIMEOUT_CODE, TIMEOUT_REASON, Divergence, GateTimeout, mismatch_message, nearest
from tui.replay.script import Position
from tui.replay.timing import Clock
from tui.wire.format import S2C


class Progress:
    def __init__(self, direction: str, expected: list[Item], ids: IdMap, clock: Clock) -> None:
        self.direction = direction
        self.expected = expected
        self.ids = ids
        self.clock = clock
        self.position: Position = (0, 0)
        self.failure: Divergence | None = None
        self.ended = False
        self.received = 0
        self._positions: list[Position] = []  # every position reached, in order,
        self._times: list[float] = []  # and when
        self._changed = asyncio.Event()
        self._audio: Item | None = None  # the audio segment being received
        self._audio_hash = hashlib.sha256()

    # -- feeding ---------------------------------------------------------------------------------

    def feed(self, opcode: str, payload: str | bytes) -> None:
        """Takes one incoming data frame; raises `Divergence` when it is not the recorded one."""
        if self.failure is not None:
            raise self.failure
        self.received += 1
        item, audio = classify(opcode, payload, self.ids, server=self.direction == S2C)
        try:
            if audio is not None:
                self._feed_audio(item, audio)
            else:
                self._feed_item(item)
        except Divergence as divergence:
            self.fail(divergence)
            raise

    def _feed_audio(self, item: Item, audio: bytes) -> None:
        index, offset = self.position
        expected = self._expected(index)
        if self._audio is None:
            self._audio = Item("audio", None, AUDIO_APPEND)
            self._audio_hash = hashlib.sha256()
        self._audio.add_audio(audio)
        self._audio_hash.update(audio)
        if expected is None or expected.kind != "audio":
            wanted = expected.label() if expected is not None else "nothing more"
            raise self._divergence(index, f"expected {wanted}, got appended audio", expected, self._audio)
        received = offset + len(audio)
        if received > expected.length:
            raise self._divergence(
                index, f"more audio than recorded: {received} bytes for a {expected.length}-byte segment", expected, self._audio
            )
        if received == expected.length:
            if self._audio_hash.hexdigest() != expected.value["sha256"]:
                raise self._divergence(index, "the appended audio differs from the recorded audio", expected, self._audio)
            self._audio = None
            self._advance((index + 1, 0))
        else:
            self._advance((index, received))

    def _feed_item(self, item: Item) -> None:
        index, offset = self.position
        expected = self._expected(index)
        if offset:
            assert expected is not None
            raise self._divergence(
                index,
                f"the audio segment ended after {offset} of its {expected.length} recorded bytes, then came {item.label()}",
                expected,
                item,
            )
        if expected is None:
            raise self._divergence(index, f"an extra {item.label()} after every recorded one", None, item)
        if expected.key() != item.key():
            raise self._divergence(index, mismatch_message(expected, item), expected, item)
        self._advance((index + 1, 0))

    def _expected(self, index: int) -> Item | None:
        return self.expected[index] if index < len(self.expected) else None

    def _divergence(self, index: int, message: str, expected: Item | None, actual: Item | None) -> Divergence:
        candidates = nearest(actual, self.expected, skip=index) if actual is not None else []
        return Divergence(self.direction, index, message, expected, actual, candidates)

    def _advance(self, position: Position) -> None:
        self.position = position
        self._positions.append(position)
        self._times.append(self.clock.now())
        self._wake()

    def _wake(self) -> None:
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

    # -- waiting ---------------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return self.position >= (len(self.expected), 0)

    def time_reached(self, position: Position) -> float:
        """When this run first reached `position` (the start of the run for the initial position)."""
        i = bisect.bisect_left(self._positions, position)
        return self._times[i] if i < len(self._times) else self.clock.now()

    def start(self) -> None:
        self._positions.append(self.position)
        self._times.append(self.clock.now())

    async def reach(self, position: Position, timeout: float | None) -> None:
        """Waits until this direction has reached `position`; raises the divergence, a timeout, or
        a divergence saying the connection ended first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.position < position:
            if self.failure is not None:
                raise self.failure
            if self.ended:
                expected = self._expected(self.position[0])
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
                expected = self._expected(self.position[0])
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
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
        if self.failure is not None and self.position < position:
            raise self.failure

    def unused(self) -> list[tuple[int, Item]]:
        """Recorded items this run never received (a partly received audio segment included)."""
        return [(i, item) for i, item in enumerate(self.expected) if i >= self.position[0]]
