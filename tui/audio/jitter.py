"""The playback jitter buffer: device-rate samples tagged with the item they belong to, a pre-roll
before playing, a fade-out flush, and per-item accounting of what was handed to the device.

Pure logic, no I/O: `push`/`end_item`/`flush` run on the event loop, `pull` in the device callback;
one lock keeps them consistent and is held only for array slicing."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np


class _Segment:
    __slots__ = ("item_id", "samples", "offset", "precounted")

    def __init__(self, item_id: str, samples: np.ndarray) -> None:
        self.item_id = item_id
        self.samples = samples
        self.offset = 0
        self.precounted = False  # already added to `handed` by flush()

    @property
    def left(self) -> int:
        return len(self.samples) - self.offset


# After each underflow the pre-roll grows by half the configured one, up to three times it: audio
# that arrived late once will likely do so again, and a deeper buffer rides over it (a stream sent in
# real time resumes with a bigger lead). It never shrinks within a session.
GROWTH_FRACTION = 0.5
MAX_GROWTH = 3


class JitterBuffer:
    """`preroll` samples must be buffered before playing starts, unless the item was ended or the
    first buffered sample has waited `preroll` samples' worth of wall-clock time (a short answer).
    `preroll` adapts: it grows after each underflow, up to `max_preroll`."""

    def __init__(self, rate: int, preroll: int) -> None:
        self.rate = rate
        self.preroll = preroll
        self.max_preroll = preroll * MAX_GROWTH
        self._growth = int(preroll * GROWTH_FRACTION)
        self.handed: dict[str, int] = collections.defaultdict(int)  # device samples per item
        self.underflows = 0
        self.discarded = 0
        self.playing = False
        self.started_ns = 0
        self._segments: collections.deque[_Segment] = collections.deque()
        self._buffered = 0
        self._ended = False
        self._first_push_ns = 0
        self._lock = threading.Lock()

    @property
    def buffered(self) -> int:
        return self._buffered

    def push(self, item_id: str, samples: np.ndarray) -> None:
        if not len(samples):
            return
        with self._lock:
            if not self._buffered:
                self._first_push_ns = time.monotonic_ns()
            self._segments.append(_Segment(item_id, samples))
            self._buffered += len(samples)
            self._ended = False

    def end_item(self) -> None:
        """Nothing more is coming for now: play out the rest without waiting for pre-roll, and do not
        count running dry as an underflow."""
        with self._lock:
            self._ended = True

    def flush(self, fade: int) -> dict[str, int]:
        """Keeps the next `fade` samples with a linear fade to zero and drops the rest. The kept tail
        is counted as handed at once, so `handed` is final when this returns. Returns the device
        samples dropped per item."""
        dropped: dict[str, int] = collections.defaultdict(int)
        with self._lock:
            keep = min(fade, self._buffered) if self.playing else 0
            ramp = np.linspace(1.0, 0.0, keep, endpoint=False, dtype=np.float32)
            kept: collections.deque[_Segment] = collections.deque()
            done = 0
            for segment in self._segments:
                take = min(segment.left, keep - done)
                if take > 0:
                    part = segment.samples[segment.offset : segment.offset + take] * ramp[done : done + take]
                    tail = _Segment(segment.item_id, part)
                    tail.precounted = True
                    self.handed[segment.item_id] += take
                    kept.append(tail)
                    done += take
                dropped[segment.item_id] += segment.left - max(take, 0)
            self._segments = kept
            self._buffered = done
            self.discarded += sum(dropped.values())
            self._ended = True
        return dict(dropped)

    def pull(self, out: np.ndarray, now_ns: int) -> int:
        """Fills `out` (1-D float32) with what should play now, silence where there is nothing.
        Returns how many samples were real audio."""
        with self._lock:
            if not self.playing and self._buffered and self._may_start(now_ns):
                self.playing = True
                self.started_ns = now_ns
            if not self.playing:
                out.fill(0.0)
                return 0
            filled = 0
            while filled < len(out) and self._segments:
                segment = self._segments[0]
                take = min(segment.left, len(out) - filled)
                out[filled : filled + take] = segment.samples[segment.offset : segment.offset + take]
                segment.offset += take
                filled += take
                if not segment.precounted:
                    self.handed[segment.item_id] += take
                if not segment.left:
                    self._segments.popleft()
            self._buffered -= filled
            out[filled:] = 0.0
            if filled < len(out):
                # Ran dry with the device still asking: the end of what was announced, or data late
                # (an underflow: re-buffer). Emptied by a full pull is neither: audio that arrives
                # before the next pull plays on without a gap, as a stream sent in real time does.
                if not self._ended:
                    self.underflows += 1
                    self.preroll = min(self.preroll + self._growth, self.max_preroll)
                self.playing = False
            return filled

    def _may_start(self, now_ns: int) -> bool:
        waited = (now_ns - self._first_push_ns) * self.rate // 1_000_000_000
        return self._buffered >= self.preroll or self._ended or waited >= self.preroll
