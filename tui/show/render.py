"""Renders a recording as timeline text (one line per record or collapsed run) or JSON lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from tui.protocol.summary import Line, collapse, format_size, record_line
from tui.wire.reader import SessionReader

_MARKERS = {"normal": "  ", "warning": "! ", "error": "!!"}


def header_text(header: dict[str, Any]) -> str:
    return (
        f"rtui recording {header.get('schema')} by rtui {header.get('version')}, mode {header.get('mode')}, "
        f"started {header.get('started_at')}\nendpoint {header.get('url')}"
    )


def line_text(line: Line) -> str:
    """`!! +   1.234s  c2s   #1 type ×count   size  summary`; `!!` marks errors, `! ` warnings."""
    label = line.label + (f" ×{line.count}" if line.count > 1 else "")
    size = format_size(line.size) if line.size else ""
    return (
        f"{_MARKERS[line.severity]}+{line.t_ns / 1e9:9.3f}s  {line.direction:<5} #{line.conn} "
        f"{label:<44} {size:>9}  {line.summary}"
    ).rstrip()


def timeline(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    return (line_text(line) for line in collapse(records))


def json_lines(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Each record as stored, plus the `label` and one-line `summary` a timeline shows for it."""
    for record in records:
        line = record_line(record)
        yield orjson.dumps({**record, "label": line.label, "summary": line.summary})


def render(reader: SessionReader, *, as_json: bool) -> Iterator[str | bytes]:
    if as_json:
        yield orjson.dumps(reader.header)
        yield from json_lines(reader)
    else:
        yield header_text(reader.header)
        yield from timeline(reader)
