"""Audio pacing: seconds of appended audio per second of wall clock, from the client's appends.

A live source labelled correctly paces at 1.0: it produces one second of audio per second. Audio
captured at 16 kHz and sent as 24 kHz pcm paces at 0.667 (each 100 ms chunk holds 66.7 ms at 24 kHz),
8 kHz at 0.333, 44.1 kHz at 1.8375, 48 kHz at 2.0. The rate is measured over streaming periods
(appends with no gap longer than GAP_S); the first second of a period is left out because clients
often start with a backlog, unless the period is too short to afford it. Constant memory.
"""

from __future__ import annotations

from dataclasses import dataclass

GAP_S = 2.0  # a pause longer than this starts a new streaming period
SKIP_S = 1.0  # the start of a period left out of the rate
MIN_APPENDS = 5
MIN_SPAN_S = 1.0
REAL_TIME_TOLERANCE = 0.05  # |rate - 1| below this is real time
MATCH_TOLERANCE = 0.04  # relative distance to a common rate that still names it
COMMON_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass
class Period:
    t0: float
    t_last: float
    first_seq: int
    appends: int = 1
    seconds_after_first: float = 0.0
    t_skip: float | None = None  # the first append at or after t0 + SKIP_S
    seconds_after_skip: float = 0.0
    appends_after_skip: int = 0

    def add(self, t: float, seconds: float) -> None:
        self.appends += 1
        self.t_last = t
        self.seconds_after_first += seconds
        if self.t_skip is None:
            if t >= self.t0 + SKIP_S:
                self.t_skip = t
        else:
            self.seconds_after_skip += seconds
            self.appends_after_skip += 1

    @property
    def span(self) -> float:
        return self.t_last - self.t0

    def rate(self) -> float | None:
        """Audio seconds per wall-clock second after the first append (or after the first second)."""
        if self.t_skip is not None and self.t_last - self.t_skip >= 2 * SKIP_S and self.appends_after_skip >= MIN_APPENDS:
            return self.seconds_after_skip / (self.t_last - self.t_skip)
        if self.span >= MIN_SPAN_S and self.appends >= MIN_APPENDS:
            return self.seconds_after_first / self.span
        return None


class PacingMeter:
    def __init__(self) -> None:
        self.current: Period | None = None
        self.best: Period | None = None  # the longest measurable period
        self.last_seq = 0

    def add(self, seq: int, t: float, seconds: float) -> None:
        self.last_seq = seq
        if self.current is not None and t - self.current.t_last <= GAP_S:
            self.current.add(t, seconds)
            return
        self._close_period()
        self.current = Period(t, t, seq)

    def _close_period(self) -> None:
        period = self.current
        if period is not None and period.rate() is not None and (self.best is None or period.span > self.best.span):
            self.best = period

    def result(self) -> Period | None:
        self._close_period()
        self.current = None
        return self.best


def likely_rate(pace: float, labelled_rate: int = 24000) -> int | None:
    """The common sample rate that paces like this when labelled `labelled_rate`, if one is close."""
    implied = pace * labelled_rate
    best = min(COMMON_RATES, key=lambda rate: abs(rate - implied))
    return best if abs(best - implied) <= MATCH_TOLERANCE * best else None


def is_real_time(pace: float) -> bool:
    return abs(pace - 1.0) <= REAL_TIME_TOLERANCE
