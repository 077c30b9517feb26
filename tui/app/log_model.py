"""The event log's data: rows fed from engine log entries, audio runs collapsed live, and filters.

`tui.protocol.summary.RunCollapser` emits a run only once it ends, which suits a finished recording;
a live view must show the run while it grows ("input_audio_buffer.append ×53" ticking up as the user
speaks), so this collapser updates the open run's row in place. Rows read exactly like `rtui show`.
After a reconnect, a marker row says where each new connection starts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.engine.state import LogBuffer, LogEntry
from tui.protocol.summary import (
    ARGUMENT_DELTA,
    SEVERITY_MARKERS,
    STREAMED_EVENTS,
    TEXT_DELTA_EVENTS,
    CallNames,
    Line,
    format_ms,
    format_size,
    run_key,
)

DIRECTIONS: tuple[str | None, ...] = (None, "c2s", "s2c", "local")


@dataclass(eq=False)
class LogRow:
    """One line of the event log: a record, or a run of streamed records of one type and direction."""

    line: Line  # the view's own copy: runs mutate it
    record: dict[str, Any]  # the first record of the row, shown by the inspector
    last_record: dict[str, Any] | None = None  # for a run, its latest record
    index: int = 0  # position in the stream of rows, for pruning
    is_open: bool = False  # a run that may still grow


@dataclass
class LiveCollapser:
    """Turns log entries into rows, growing open runs in place (the same grouping as RunCollapser)."""

    _open: dict[tuple[int, str, str, str], LogRow] = field(default_factory=dict)
    _next_index: int = 0
    calls: CallNames = field(default_factory=CallNames)

    def push(self, entry: LogEntry) -> tuple[list[LogRow], bool]:
        """New rows for one entry, and whether an existing row changed."""
        line = entry.line
        self.calls.learn(line)
        if line.label not in STREAMED_EVENTS:
            changed = self._close_runs()
            return [self._row(line, entry.record)], changed
        key = run_key(line)
        run = self._open.get(key)
        if run is None:
            row = self._row(line, entry.record, is_open=True)
            if line.label == ARGUMENT_DELTA:
                row.line.summary = self.calls.run_summary(row.line)
            self._open[key] = row
            return [row], False
        grown = run.line
        grown.count += 1
        grown.size += line.size
        grown.audio_bytes += line.audio_bytes
        grown.end_t_ns = line.t_ns
        if line.label in TEXT_DELTA_EVENTS:
            grown.text += line.text
            grown.summary = repr(_shorten(grown.text, 70))
        elif line.label == ARGUMENT_DELTA:
            grown.text += line.text
            grown.summary = self.calls.run_summary(grown)
        else:
            grown.summary = audio_run_summary(grown)
        run.last_record = entry.record
        return [], True

    def _row(self, line: Line, record: dict[str, Any], *, is_open: bool = False) -> LogRow:
        # Copy: the engine's Line is shared with other readers and must not change under them.
        row = LogRow(dataclasses.replace(line, seqs=[]), record, index=self._next_index, is_open=is_open)
        self._next_index += 1
        return row

    def _close_runs(self) -> bool:
        had_open = bool(self._open)
        for run in self._open.values():
            run.is_open = False
        self._open.clear()
        return had_open


def audio_run_summary(line: Line) -> str:
    wall = (line.end_t_ns - line.t_ns) / 1e9
    return f"audio {format_ms(line.audio_seconds)} over {format_ms(wall)} wall"


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def search_problem(text: str) -> str | None:
    """Why `text` is not a usable search (one sentence), or None."""
    pattern = _term(text)[1]
    if pattern.startswith(REGEX_PREFIX):
        try:
            re.compile(pattern[len(REGEX_PREFIX) :])
        except re.error as exc:
            return f"Not a regular expression: {exc}."
    return None


REGEX_PREFIX = "re:"


def _term(text: str) -> tuple[bool, str]:
    """(excluding, pattern): a leading ! excludes what the rest matches."""
    text = text.strip()
    return (True, text[1:].strip()) if text.startswith("!") else (False, text)


@dataclass(frozen=True)
class RowFilter:
    """Which rows to show: a search over each row's type, summary and frame text (a substring,
    case-insensitive; `re:` for a regular expression; a leading `!` excludes the matches), and
    one direction or all."""

    text: str = ""
    direction: str | None = None
    _search: Callable[[str], bool] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        excluding, pattern = _term(self.text)
        if not pattern:
            return
        if pattern.startswith(REGEX_PREFIX):
            compiled = re.compile(pattern[len(REGEX_PREFIX) :], re.IGNORECASE | re.MULTILINE)  # ^type$ works
            found: Callable[[str], bool] = lambda haystack: compiled.search(haystack) is not None  # noqa: E731
        else:
            needle = pattern.lower()
            found = lambda haystack: needle in haystack.lower()  # noqa: E731
        object.__setattr__(self, "_search", (lambda haystack: not found(haystack)) if excluding else found)

    @property
    def active(self) -> bool:
        return self._search is not None or self.direction is not None

    def matches(self, row: LogRow) -> bool:
        if self.direction is not None and row.line.direction != self.direction:
            return False
        return self._search is None or self._search(searchable_text(row))

    def next_direction(self) -> RowFilter:
        position = DIRECTIONS.index(self.direction)
        return RowFilter(self.text, DIRECTIONS[(position + 1) % len(DIRECTIONS)])

    def describe(self) -> str:
        parts = []
        if self._search is not None:
            parts.append(f"search {self.text.strip()!r}")
        if self.direction:
            parts.append(f"dir={self.direction}")
        return " ".join(parts) or "all events"


def is_error_or_close(row: LogRow) -> bool:
    """The rows `e` / `E` jump between: errors (the server's, local ones) and how connections ended."""
    return row.line.severity == "error" or row.line.label in ("error", "close", "end")


def searchable_text(row: LogRow) -> str:
    """What a search looks at: the event type, the summary and the frame's own text (a run's first)."""
    text = row.record.get("text")
    payload = text if isinstance(text, str) else ""
    return f"{row.line.label}\n{row.line.summary}\n{payload}"


LABEL_WIDTH = 38


def row_columns(line: Line) -> tuple[str, str, str, str, str, str]:
    """(marker, time, direction, label, size, summary): the columns of one log line."""
    label = line.label + (f" ×{line.count}" if line.count > 1 else "")
    size = format_size(line.size) if line.size else ""
    return (SEVERITY_MARKERS.get(line.severity, "  "), f"{line.t_ns / 1e9:8.3f}", line.direction, label, size, line.summary)


def line_text(line: Line, label_width: int = LABEL_WIDTH) -> str:
    """One log line as plain text, in the same columns as the event log."""
    marker, time, direction, label, size, summary = row_columns(line)
    return f"{marker}{time} {direction:<5} {fit(label, label_width)} {size:>8}  {summary}".rstrip()


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` columns: padded, or cut with an ellipsis, so the next column lines up
    (the inspector shows a long event type whole)."""
    return f"{text:<{width}}" if len(text) <= width else text[: width - 1] + "…"


class LogFeed:
    """Drains a LogBuffer into rows, a bounded batch at a time (the refresh timer calls `drain`)."""

    def __init__(self, buffer: LogBuffer, batch: int = 2_000, observe: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`observe` sees every drained record, in order (the latency table's timer)."""
        self.buffer = buffer
        self.batch = batch
        self.observe = observe
        self.cursor = 0
        self.collapser = LiveCollapser()
        self.skipped = 0
        # Connections follow one another (reconnects): mark where each starts. Not so in a relay
        # recording, whose two connections are the legs of one session.
        self.marks_connections = True
        self._conns: set[int] = set()  # the connections seen so far
        self._last_conn = 0

    @property
    def pending(self) -> int:
        return self.buffer.total - self.cursor

    def drain(self) -> tuple[list[LogRow], bool]:
        """New rows since the last call, and whether an existing row (an open run) grew."""
        entries, self.cursor, skipped = self.buffer.since(self.cursor, self.batch)
        rows: list[LogRow] = []
        changed = False
        if skipped:
            self.skipped += skipped
            rows.extend(self.collapser.push(_gap_entry(skipped, entries[0].line.t_ns if entries else 0))[0])
        for entry in entries:
            if self.observe is not None:
                self.observe(entry.record)
            marker = self._connection_marker(entry)
            if marker is not None:
                rows.extend(self.collapser.push(marker)[0])
            new, grown = self.collapser.push(entry)
            rows.extend(new)
            changed = changed or grown
        return rows, changed

    def _connection_marker(self, entry: LogEntry) -> LogEntry | None:
        """A marker before the first record of a connection that starts after another one (a
        reconnect): its handshake, or the error of an attempt that never got that far."""
        record = entry.record
        conn = record["conn"]
        if not self.marks_connections or not conn or conn in self._conns:
            return None
        self._conns.add(conn)
        previous, self._last_conn = self._last_conn, conn
        if not previous or record["kind"] not in ("handshake_request", "error"):
            return None
        return _connection_entry(conn, previous, record["t_ns"])


def _connection_entry(conn: int, previous: int, t_ns: int) -> LogEntry:
    note = f"connection {conn} starts here; the rows above belong to connection {previous}"
    record = {"seq": -1, "t_ns": t_ns, "conn": conn, "kind": "connection", "dir": "local", "note": note}
    return LogEntry(record, Line(-1, t_ns, conn, "local", f"── connection {conn} ──", summary=note, end_t_ns=t_ns))


def _gap_entry(skipped: int, t_ns: int) -> LogEntry:
    note = f"{skipped} events dropped out of the view's buffer before it could show them; the recording has them all"
    record = {"seq": -1, "t_ns": t_ns, "conn": 0, "kind": "gap", "dir": "local", "skipped": skipped, "note": note}
    return LogEntry(record, Line(-1, t_ns, 0, "local", "(not shown)", summary=note, end_t_ns=t_ns, severity="warning"))
