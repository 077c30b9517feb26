"""Matching one audio segment's bytes against the recorded ones, each side arriving in chunks of any size.

Pure (no I/O, no recording): the caller feeds the recorded chunks (`expect`) and the compared ones
(`receive`) as it gets them and reads the outcome. Both sides are queues of views, so each byte is
compared once and nothing is copied: matching stays linear however the two sides are chunked.
Used by a replay's causal gate (what a run sends against the recording) and by the diff (B against A).
"""

from __future__ import annotations

from collections import deque


class AudioMatch:
    __slots__ = ("_expected", "_received", "differs", "matched")

    def __init__(self) -> None:
        self._expected: deque[memoryview] = deque()  # recorded bytes not yet matched
        self._received: deque[memoryview] = deque()  # compared bytes not yet matched
        self.matched = 0  # bytes found equal since the start (or the last `reset`)
        self.differs = False  # a byte differed: nothing more is compared until `reset`

    def expect(self, data: bytes) -> None:
        """Adds recorded bytes."""
        if data:
            self._expected.append(memoryview(data))
            self._match()

    def receive(self, data: bytes) -> None:
        """Adds bytes to compare with the recorded ones."""
        if data:
            self._received.append(memoryview(data))
            self._match()

    @property
    def expected_left(self) -> bool:
        """Recorded bytes are waiting for their counterpart."""
        return bool(self._expected)

    @property
    def received_left(self) -> bool:
        """Received bytes are waiting for recorded ones to compare with."""
        return bool(self._received)

    @property
    def idle(self) -> bool:
        """Nothing is waiting on either side."""
        return not self._expected and not self._received

    def reset(self) -> None:
        """Forgets both sides (a new segment starts)."""
        self._expected.clear()
        self._received.clear()
        self.matched = 0
        self.differs = False

    def _match(self) -> None:
        expected, received = self._expected, self._received
        while expected and received and not self.differs:
            a, b = expected[0], received[0]
            n = min(len(a), len(b))
            if a[:n] != b[:n]:
                self.differs = True
                return
            self.matched += n
            # A view that is used up leaves its queue; a longer one keeps its rest (a slice, no copy).
            if n == len(a):
                expected.popleft()
            else:
                expected[0] = a[n:]
            if n == len(b):
                received.popleft()
            else:
                received[0] = b[n:]
