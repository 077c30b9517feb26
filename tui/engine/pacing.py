"""How fast audio reaches the wire compared with real time."""

from __future__ import annotations

from collections import deque


class SendRateMeter:
    """Audio seconds sent per wall-clock second over a sliding window.

    1.0 is real time. A source at the wrong rate shows up here at once: 16 kHz audio sent as
    24 kHz gives 0.667, 48 kHz gives 2.0.
    """

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()  # (wall time, audio seconds)

    def add(self, now: float, audio_seconds: float) -> None:
        self._samples.append((now, audio_seconds))
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def rate(self, now: float) -> float:
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        if len(self._samples) < 2:
            return 0.0
        span = now - self._samples[0][0]
        if span <= 0:
            return 0.0
        # The first sample's audio was produced before the window opened; count what followed it.
        return sum(seconds for _, seconds in list(self._samples)[1:]) / span
