"""Plain-text pieces of the live screen (header, stats, meters), computed from engine state.

Pure functions of the state and the clock, so they are tested without a terminal and the widgets
only decide when to redraw.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.engine.state import SILENCE_DBFS, CloseSummary, Counters, EngineState
from tui.protocol.usage import compact_tokens

ENDPOINT_NAMES = {"live": "LIVE API", "mock": "EMBEDDED MOCK", "replay": "REPLAY", "proxy": "PROXY"}
# What the header's URL is, where that is not obvious: a replay talks to the recording, not to the
# server it was recorded against.
URL_NOTES = {"replay": "the recording's server side, served by rtui"}
METER_FLOOR_DBFS = -60.0
CLIP_DBFS = -0.1
PEAK_HOLD_SECONDS = 1.5
PEAK_DECAY_DB_PER_SECOND = 20.0
CLIP_HOLD_SECONDS = 2.0


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"


def phase_text(state: EngineState) -> str:
    """`OPEN`, `CONNECTING`, `CLOSED 1000`, `REFUSED 401`: the badge at the start of the header."""
    close = state.close
    if state.phase == "closed" and close is not None:
        if close.refused_status is not None:
            return f"REFUSED {close.refused_status}"
        return "NOT CONNECTED" if close.open_failure else f"CLOSED {close.code}"
    return state.phase.upper()


def close_headline(close: CloseSummary) -> str:
    if close.open_failure:
        return close.open_failure
    who = f"closed first by {close.closed_by}" if close.closed_by else "no close frame (transport ended)"
    return f"{close.code} {close.meaning}; {who}; reason {close.reason!r}"


def timing_text(state: EngineState, monotonic: float, wall: float) -> str:
    """Elapsed time and time to expiry; for a replay, on the recording's clock (`recorded_clock`)."""
    parts = []
    recorded = state.recorded_clock
    elapsed = None
    if state.opened_at is not None:
        elapsed = (monotonic - state.opened_at) * (recorded.rate if recorded else 1.0)
        parts.append(f"elapsed {clock_text(elapsed)}")
    if recorded is not None:
        wall = recorded.opened_wall + (elapsed or 0.0)
    if state.expires_at is not None and state.phase != "closed":
        left = state.expires_at - wall
        parts.append(f"expires in {clock_text(left)}" if left > 0 else "past expiry")
    return "  ".join(parts)


def session_text(state: EngineState) -> str:
    parts = ["push-to-talk" + (" (TALKING)" if state.talking else "") if state.turn_mode == "push_to_talk" else "server VAD"]
    if state.muted:
        parts.append("MUTED")
    # What the turn is doing now; before model and session id, which are cut first on narrow screens.
    if state.user_speaking:
        parts.append("SPEECH")
    if state.response_active:
        parts.append("RESPONDING")
    parts += [state.model or "model ?", state.session_id or "no session yet"]
    return "  ".join(parts)


def compact_size(size: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def traffic_text(direction: str, frames: int, size: int) -> str:
    """`tx 1234fr 5.6M`: one direction's frames and bytes, shown beside its meter."""
    return f"{direction} {frames}fr {compact_size(size)}"


def stats_text(counters: Counters) -> str:
    """The stats line: pacing, response latency, jitter buffer, losses, server errors, and the
    session's tokens and their cost (`tok -` before the first response's usage)."""
    latency = f"{counters.response_latency_ms:.0f}ms" if counters.response_latency_ms is not None else "-"
    pace = f"{counters.send_rate:.2f}x" if counters.audio_sent_seconds else "-"
    losses = counters.dropped_chunks + counters.capture_overflows
    # Either way the listener hears a gap: audio late from the network, or a device deadline missed.
    underruns = counters.playback_underflows + counters.device_underruns
    usage = f"{compact_tokens(counters.usage_tokens)} {counters.usage_cost}" if counters.usage_cost else "-"
    # Short labels so the line fits 80 columns; the README explains each one.
    return (
        f"pace {pace}  resp {latency}  jbuf {counters.jitter_buffer_ms:.0f}ms  "
        f"drop {losses}  gaps {underruns}  err {counters.server_errors}  tok {usage}"
    )


@dataclass
class PeakHold:
    """A meter's held peak and clip light: the peak holds, then falls; a clip stays lit a moment."""

    value: float = SILENCE_DBFS
    held_at: float = 0.0
    clip_at: float | None = None

    def update(self, peak_dbfs: float, clipped: bool, now: float) -> None:
        if peak_dbfs >= self.value:
            self.value, self.held_at = peak_dbfs, now
        elif now - self.held_at > PEAK_HOLD_SECONDS:
            fallen = self.value - (now - self.held_at - PEAK_HOLD_SECONDS) * PEAK_DECAY_DB_PER_SECOND
            self.value = max(peak_dbfs, fallen)
            if self.value == peak_dbfs:
                self.held_at = now
        if clipped or peak_dbfs >= CLIP_DBFS:
            self.clip_at = now

    def clipping(self, now: float) -> bool:
        return self.clip_at is not None and now - self.clip_at <= CLIP_HOLD_SECONDS


def meter_cells(rms_dbfs: float, peak_dbfs: float, width: int) -> str:
    """A bar `#####....:...|..:` from -60 to 0 dBFS: `#` up to the RMS level, `|` at the held peak,
    `:` every 12 dB as a scale. Plain ASCII, so it reads in any terminal and without colour."""
    width = max(width, 4)

    def cell(dbfs: float) -> int:
        fraction = (min(max(dbfs, METER_FLOOR_DBFS), 0.0) - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
        return round(fraction * width)

    filled = cell(rms_dbfs)
    cells = ["#" if i < filled else "." for i in range(width)]
    for tick_db in (-48.0, -36.0, -24.0, -12.0):
        position = cell(tick_db)
        if filled <= position < width:
            cells[position] = ":"
    if peak_dbfs > METER_FLOOR_DBFS:
        cells[min(max(cell(peak_dbfs) - 1, 0), width - 1)] = "|"
    return "".join(cells)


def dbfs_text(dbfs: float) -> str:
    return " -inf" if dbfs <= SILENCE_DBFS + 0.05 else f"{dbfs:5.1f}"
