"""Renders a recording as timeline text (one line per record or collapsed run) or JSON lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from tui.diagnose.items import Legs
from tui.protocol.prices import PriceTable
from tui.protocol.summary import SEVERITY_MARKERS, Line, collapse, format_size, record_line
from tui.protocol.turns import latency_table, turns_of
from tui.protocol.usage import UsageTotals, response_usage_text
from tui.wire.reader import SessionReader

_LEG_WIDTH = len("upstream")


def header_text(header: dict[str, Any]) -> str:
    text = (
        f"rtui recording {header.get('schema')} by rtui {header.get('version')}, mode {header.get('mode')}, "
        f"started {header.get('started_at')}\nendpoint {header.get('url')}"
    )
    legs = Legs.from_header(header)
    if legs.relayed:
        text += (
            f"\nrelay legs: #{legs.client_conn} client (the app to rtui proxy), #{legs.upstream_conn} upstream "
            "(rtui proxy to the server); each relayed frame appears once on each leg"
        )
    return text


def line_text(line: Line, legs: Legs = Legs()) -> str:
    """`!! +   1.234s  c2s   #1 type ×count   size  summary`; `!!` marks errors, `! ` warnings.
    In a relay recording the connection also names its leg: `#1 client`, `#2 upstream`."""
    label = line.label + (f" ×{line.count}" if line.count > 1 else "")
    size = format_size(line.size) if line.size else ""
    conn = f"#{line.conn}"
    if legs.relayed:
        conn += f" {legs.leg_name(line.conn) or '':<{_LEG_WIDTH}}"
    return (
        f"{SEVERITY_MARKERS[line.severity]}+{line.t_ns / 1e9:9.3f}s  {line.direction:<5} {conn} "
        f"{label:<44} {size:>9}  {line.summary}"
    ).rstrip()


def timeline(records: Iterable[dict[str, Any]], legs: Legs = Legs()) -> Iterator[str]:
    return (line_text(line, legs) for line in collapse(records))


def json_lines(records: Iterable[dict[str, Any]], legs: Legs = Legs()) -> Iterator[bytes]:
    """Each record as stored, plus the `label` and one-line `summary` a timeline shows for it, and in
    a relay recording the `leg` (`client` or `upstream`) its connection is."""
    for record in records:
        line = record_line(record)
        extra: dict[str, Any] = {"label": line.label, "summary": line.summary}
        leg = legs.leg_name(record["conn"]) if legs.relayed else None
        if leg is not None:
            extra["leg"] = leg
        yield orjson.dumps({**record, **extra})


def usage_lines(usage: UsageTotals, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Passes the records through, accounting their usage on the way."""
    for record in records:
        usage.on_record(record)
        yield record


def usage_text(usage: UsageTotals) -> Iterator[str]:
    """The usage section after the timeline: a line per response, then the session's totals."""
    if not usage.responses and not usage.transcription.count:
        return
    yield ""
    yield from (response_usage_text(response) for response in usage.per_response)
    yield usage.summary()


def render(reader: SessionReader, *, as_json: bool, prices: PriceTable) -> Iterator[str | bytes]:
    legs = Legs.from_header(reader.header)
    if as_json:
        yield orjson.dumps(reader.header)
        yield from json_lines(reader, legs)
    else:
        yield header_text(reader.header)
        usage = UsageTotals(prices)
        usage.on_record(reader.header)
        yield from timeline(usage_lines(usage, reader), legs)
        yield from usage_text(usage)


def stats_lines(reader: SessionReader) -> Iterator[str]:
    """`rtui show --stats`: the latency of each turn, then p50 and p95 (tui.protocol.turns)."""
    legs = Legs.from_header(reader.header)
    yield header_text(reader.header)
    yield "latency per turn (ms from the end of the user's turn; a text turn has no committed)"
    yield from latency_table(turns_of(reader, legs.counts))
