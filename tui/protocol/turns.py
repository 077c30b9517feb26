"""Latency per turn, from a session's records as they cross the wire: the end of the user's turn
(the server's `speech_stopped`, or the client's `input_audio_buffer.commit` or `response.create`)
→ the server's `committed` → `response.created` → the first audio delta → `response.done`.

Times are the recording's own (`t_ns`, when each frame crossed this side's socket), so the same
figures come out of a live session, a replay and `rtui show --stats` of its file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tui.protocol.summary import format_ms

AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})  # GA, and beta recordings

# (column title, the mark it starts from, the mark it ends at)
INTERVALS: tuple[tuple[str, str, str], ...] = (
    ("→committed", "start", "committed"),
    ("→created", "committed", "created"),
    ("→1st audio", "created", "first_audio"),
    ("→done", "first_audio", "done"),
    ("end→audio", "start", "first_audio"),
    ("end→done", "start", "done"),
)


@dataclass
class Turn:
    start: int  # t_ns of the end of the user's turn
    how: str  # what ended it: speech_stopped, commit or response.create
    committed: int | None = None
    created: int | None = None
    first_audio: int | None = None
    done: int | None = None

    def interval_ms(self, start: str, end: str) -> float | None:
        """Milliseconds from one mark to another; a missing `committed` (a text turn) is skipped
        over, so `→created` then counts from the turn's start."""
        begin = getattr(self, start)
        if start == "committed" and begin is None:
            begin = self.start
        finish = getattr(self, end)
        return None if begin is None or finish is None else (finish - begin) / 1e6


class TurnTimer:
    """Fed records in order (`observe`); `turns` holds the finished turns (those with a `response.done`)."""

    def __init__(self, counts: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """`counts` filters the records (a relay recording holds each frame once per leg)."""
        self.counts = counts
        self.turns: list[Turn] = []
        self._open: Turn | None = None

    def observe(self, record: dict[str, Any]) -> None:
        if record.get("kind") != "frame" or (self.counts is not None and not self.counts(record)):
            return
        etype, t_ns, direction = record.get("type"), record["t_ns"], record.get("dir")
        turn = self._open
        if direction == "c2s":
            if etype in ("input_audio_buffer.commit", "response.create") and (turn is None or turn.created is not None):
                self._open = Turn(t_ns, etype.rsplit(".", 1)[-1] if etype == "input_audio_buffer.commit" else etype)
            return
        if etype == "input_audio_buffer.speech_stopped" and (turn is None or turn.created is not None):
            self._open = Turn(t_ns, "speech_stopped")
        elif turn is None:
            return
        elif etype == "input_audio_buffer.committed" and turn.committed is None:
            turn.committed = t_ns
        elif etype == "response.created" and turn.created is None:
            turn.created = t_ns
        elif etype in AUDIO_DELTAS and turn.first_audio is None:
            turn.first_audio = t_ns
        elif etype == "response.done" and turn.created is not None:
            turn.done = t_ns
            self.turns.append(turn)
            self._open = None


def turns_of(records: Iterable[dict[str, Any]], counts: Callable[[dict[str, Any]], bool] | None = None) -> list[Turn]:
    timer = TurnTimer(counts)
    for record in records:
        timer.observe(record)
    return timer.turns


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (no interpolation: a figure that was measured)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def interval_stats(turns: list[Turn]) -> list[tuple[str, float | None, float | None]]:
    """(column title, p50 ms, p95 ms) for each interval, over the turns that have it."""
    stats = []
    for title, start, end in INTERVALS:
        values = [ms for turn in turns if (ms := turn.interval_ms(start, end)) is not None]
        stats.append((title, percentile(values, 0.5), percentile(values, 0.95)))
    return stats


def latency_table(turns: list[Turn]) -> list[str]:
    """The turns one per line, then p50 and p95, in fixed columns."""
    if not turns:
        return ["no finished turns (a turn ends with response.done)"]
    titles = [title for title, _, _ in INTERVALS]
    lines = [f"{'turn':>4}  {'ended by':<15}" + "".join(f"{title:>12}" for title in titles)]
    for number, turn in enumerate(turns, 1):
        cells = [_ms(turn.interval_ms(start, end)) for _, start, end in INTERVALS]
        lines.append(f"{number:>4}  {turn.how:<15}" + "".join(f"{cell:>12}" for cell in cells))
    stats = interval_stats(turns)
    lines.append(f"{'p50':>4}  {'':<15}" + "".join(f"{_ms(p50):>12}" for _, p50, _ in stats))
    lines.append(f"{'p95':>4}  {'':<15}" + "".join(f"{_ms(p95):>12}" for _, _, p95 in stats))
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else format_ms(value / 1000)
