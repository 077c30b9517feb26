"""How the session ended: who closed first (or nobody, because the transport died), with which code,
and the bounded timeline leading there.

The first `close` record in the file is the close frame that started the closing handshake: in a
live recording it is the first close sent or received, and in a relay recording the relay records a
close where it arrives before forwarding it. Without any close record, the first `end` says the
transport died (1006); a handshake answered with another status than 101 is a refusal, and a local
connection error before any answer is a failed connect. A connection that never opened has no 1006
to speak of: its transport's `end` is left out of the timeline.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from tui.diagnose.items import Legs, ParsedRecord, connect_failure
from tui.diagnose.report import EndingReport, TimelineEntry
from tui.protocol.handshake import connect_error_words
from tui.protocol.summary import close_meaning, record_line
from tui.wire.ending import ConnectionEnd, connection_end

TIMELINE_BEFORE = 15  # records shown up to the ending
TIMELINE_AFTER = 4  # and after it (the echo, the ends)

_TIMELINE_KINDS = frozenset({"frame", "ping", "pong", "close", "end", "error", "mark", "handshake_request", "handshake_response"})


def timeline_entry(item: ParsedRecord) -> TimelineEntry:
    line = record_line(item.record)
    record = item.record
    return TimelineEntry(
        seq=item.seq,
        t_s=round(item.t_s, 6),
        conn=record["conn"],
        dir=record["dir"],
        kind=item.kind,
        label=line.label,
        summary=line.summary,
        opcode=record.get("opcode"),
        size=record.get("size"),
    )


class EndingTracker:
    """Decides the ending of the records it observes; `keep_timeline` False skips collecting the
    timeline (a connection explained in one sentence)."""

    def __init__(self, legs: Legs, *, keep_timeline: bool = True) -> None:
        self.legs = legs
        self.keep_timeline = keep_timeline
        self._recent: deque[TimelineEntry] = deque(maxlen=TIMELINE_BEFORE)
        self.timeline: list[TimelineEntry] | None = None
        self._after = 0
        self._last_data: ParsedRecord | None = None
        self._last_record: ParsedRecord | None = None
        self.decided: ParsedRecord | None = None  # the record that decided the ending
        self._first_end: ParsedRecord | None = None
        self.connections: set[int] = set()  # conn ids seen (0 is the session's own, e.g. marks)
        self._answered: set[int] = set()  # conns whose handshake got an HTTP answer
        self._opened: set[int] = set()  # conns whose handshake got 101

    def observe(self, item: ParsedRecord) -> None:
        self._last_record = item
        if item.record["conn"]:
            self.connections.add(item.record["conn"])
        if item.kind == "handshake_response":
            self._answered.add(item.record["conn"])
            if item.record.get("status") == 101:
                self._opened.add(item.record["conn"])
        if self.keep_timeline and item.kind in _TIMELINE_KINDS and item.counts and not self._never_opened_end(item):
            self._collect(item)
        if self.decided is not None:
            if item.kind == "end" and self._first_end is None:
                self._first_end = item
            return
        if item.is_data():
            self._last_data = item
        elif item.kind == "close":
            self._decide(item)
        elif item.kind == "end":
            self._first_end = item
            self._decide(item)
        elif (
            item.kind == "handshake_response"
            and item.record.get("status") != 101
            or item.kind == "error"
            and item.record["conn"] not in self._answered
            and connect_failure(item) is not None
        ):
            self._decide(item)

    def _never_opened_end(self, item: ParsedRecord) -> bool:
        """The `end` of a connection that was refused or failed to connect: no socket, so no 1006."""
        decided = self.decided
        return (
            item.kind == "end"
            and decided is not None
            and decided.kind in ("handshake_response", "error")
            and item.record["conn"] not in self._opened
        )

    def _collect(self, item: ParsedRecord) -> None:
        entry = timeline_entry(item)
        if self.timeline is None:
            self._recent.append(entry)
        elif self._after < TIMELINE_AFTER:
            self.timeline.append(entry)
            self._after += 1

    def entries(self) -> list[TimelineEntry]:
        """The timeline around the ending, or the last records when nothing ended."""
        return self.timeline if self.timeline is not None else list(self._recent)

    def _decide(self, item: ParsedRecord) -> None:
        self.decided = item
        self.timeline = list(self._recent)

    def result(self) -> EndingReport:
        ending = self._ending()
        decisive = self.decided or self._last_record
        if decisive is not None and decisive.record["conn"]:
            ending.conn = decisive.record["conn"]
        return ending

    def _ending(self) -> EndingReport:
        """The ending the deciding record tells (tui.wire.ending.ConnectionEnd), in the diagnosis's words."""
        item = self.decided
        if item is None:
            if self._last_record is None:
                return EndingReport("none", None, None, "", "", None, None, sentence="The recording holds no connection.")
            return _report(
                "open",
                connection_end(None),
                "",
                self._last_record,
                sentence="The recording stops while the connection was still open (no close frame, no end).",
            )
        record = item.record
        leg = self.legs.leg_name(record["conn"])
        previous = self._previous(item)
        where = f" on the {leg} leg" if leg else ""
        if item.kind == "handshake_response":
            status = record.get("status")
            said = f"HTTP {status} {record.get('reason') or ''}".strip()
            sentence = (
                f"The handshake{where} got {said} instead of 101 Switching Protocols: "
                "the socket never opened, so no close frame was exchanged."
            )
            return _report("refused", connection_end(None, status=status), said, item, leg=leg, sentence=sentence)
        if item.kind == "error":
            # A connect that failed before any HTTP answer has no `end` to read: its `error` record tells it.
            url, error = connect_failure(item) or ("", "")
            return EndingReport(
                "failed",
                None,
                None,
                connect_error_words(error, url),
                "",
                item.seq,
                round(item.t_s, 6),
                leg=leg,
                exception=error,
                sentence=f"The connection{where} never opened: the attempt failed before any HTTP answer ({error}).",
            )
        if item.kind == "close":
            end = connection_end(self._first_end.record if self._first_end else None, first_close=record)
            by, code = end.closed_by, end.code
            said = f"reason {end.reason!r}" if end.reason else "no reason"
            meaning = close_meaning(code, by) if code is not None else ""
            sentence = f"The {by} closed first with {code} ({meaning}), {said}{_after(previous)}."
            return _report("close", end, meaning, item, leg=leg, previous=previous, sentence=sentence)
        end = connection_end(record)
        code = end.code
        assert code is not None  # the reader keeps no end record without a code
        because = f" ({end.exception})" if end.exception else ""
        sentence = (
            f"Nobody closed: the connection{where} ended without a close frame ({code}, {close_meaning(code)}){because}"
            f"{_after(previous)}."
        )
        return _report("dropped", end, close_meaning(code), item, leg=leg, previous=previous, sentence=sentence)

    def _previous(self, item: ParsedRecord) -> dict[str, Any] | None:
        data = self._last_data
        if data is None:
            return None
        return {
            "seq": data.seq,
            "dir": data.dir,
            "opcode": data.record.get("opcode"),
            "type": data.type,
            "gap_s": round(item.t_s - data.t_s, 6),
        }


def _report(
    how: str,
    end: ConnectionEnd,
    meaning: str,
    item: ParsedRecord,
    *,
    leg: str | None = None,
    previous: dict[str, Any] | None = None,
    sentence: str,
) -> EndingReport:
    """A ConnectionEnd in the diagnosis's JSON shape: the deciding record is `item`."""
    return EndingReport(
        how,
        end.closed_by,
        end.code,
        meaning,
        end.reason,
        item.seq,
        round(item.t_s, 6),
        status=end.refused,
        leg=leg,
        exception=end.exception,
        previous=previous,
        sentence=sentence,
    )


def _after(previous: dict[str, Any] | None) -> str:
    if previous is None:
        return ""
    who = "client's" if previous["dir"] == "c2s" else "server's"
    what = f" {previous['type']} (seq {previous['seq']})" if previous["type"] else f" (seq {previous['seq']}, not a JSON event)"
    return f", {_duration(previous['gap_s'])} after the {who} {previous['opcode']} frame{what}"


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
