"""A recording as a HAR 1.2 file in Chrome's WebSocket shape, for browser devtools and HAR viewers.

Each connection becomes one entry: its upgrade request and response, and `_webSocketMessages` with
one `{"type": "send"|"receive", "time": epoch seconds, "opcode": 1|2, "data": ...}` per data
message (text as is, binary as base64). "send" is always client → server, as the client's own
devtools would show it, whichever side made the recording (a relay records both legs; the mock its
server side).

What HAR cannot hold, and where it goes instead:
- close frames (code, reason, who closed first) and how the transport ended: Chrome's shape has no
  message for them; they are in the entry's `_rtui` object (`closes`, `end`);
- pings and pongs: counted in `_rtui` only;
- fragmentation and the exact frame boundaries: messages are whole, as recorded;
- secrets: the recording was redacted before it was written, so headers, keys in payloads and
  tokens read `[redacted]` in the HAR too;
- timing: `time` is the recording's monotonic clock added to its wall-clock start, so message
  spacing is exact but the absolute time is as good as the recording machine's clock.
The file is written in one pass over the recording (its messages spooled to disk), never held in memory.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from tui import __version__
from tui.wire.reader import Problem, SessionReader


@dataclass
class HarExport:
    entries: int  # connections
    problems: list[Problem]  # the recording's damaged lines


def export_har(recording: str | os.PathLike[str], destination: str | os.PathLike[str]) -> HarExport:
    """Writes the HAR file. Raises RecordingError for a file that is not a recording.

    One pass over the recording: each message is written to a spool file next to the destination
    as it is read, and remembered by its place there, so that each entry's messages can be copied
    out in one piece once every connection's handshake and ending are known. Time and memory grow
    with the recording (a few bytes per message), not with its connections times its messages."""
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path.parent, prefix=".rtui-har-") as spool:
        connections, start, problems = _read(recording, spool)
        with open(path, "wb") as out:
            out.write(b'{"log":{"version":"1.2","creator":')
            out.write(orjson.dumps({"name": "rtui", "version": __version__}))
            out.write(b',"pages":[],"entries":[')
            for index, (conn, info) in enumerate(sorted(connections.items())):
                if index:
                    out.write(b",")
                _write_entry(out, spool, conn, info, start)
            out.write(b"]}}\n")
    return HarExport(len(connections), problems)


def _start_of(header: dict[str, Any]) -> float:
    """The recording's wall-clock start in epoch seconds (0 when the header's is unusable)."""
    try:
        return dt.datetime.fromisoformat(str(header.get("started_at"))).timestamp()
    except (ValueError, OverflowError, OSError):
        return 0.0


def _read(recording: str | os.PathLike[str], spool: IO[bytes]) -> tuple[dict[int, dict[str, Any]], float, list[Problem]]:
    """Per connection: handshake, closes, end, ping counts, which side recorded it, and where its
    messages are in `spool` (the messages themselves go there)."""
    connections: dict[int, dict[str, Any]] = {}
    offset = 0
    with SessionReader(recording) as reader:
        start = _start_of(reader.header)
        for record in reader:
            conn = record["conn"]
            kind = record["kind"]
            if conn == 0 or kind in ("mark",):
                continue
            info = connections.get(conn)
            if info is None:
                info = connections[conn] = {
                    "closes": [],
                    "pings": 0,
                    "pongs": 0,
                    "side": None,
                    "first_t": record["t_ns"],
                    "offsets": array("Q"),
                    "lengths": array("Q"),
                }
            if kind == "frame":
                message = orjson.dumps(
                    {
                        "type": "send" if record["dir"] == "c2s" else "receive",
                        "time": round(start + record["t_ns"] / 1e9, 6),
                        "opcode": 1 if record["opcode"] == "text" and "text" in record else 2,
                        "data": record["text"] if "text" in record else record["data_b64"],
                    }
                )
                spool.write(message)
                info["offsets"].append(offset)
                info["lengths"].append(len(message))
                offset += len(message)
            elif kind in ("handshake_request", "handshake_response"):
                info[kind] = record
            elif kind == "close":
                info["closes"].append({k: record.get(k) for k in ("seq", "dir", "code", "reason", "by", "first")})
            elif kind == "end":
                info["end"] = {k: record.get(k) for k in ("seq", "code", "reason", "closed_by", "clean", "exception")}
                info["side"] = record.get("side")
            elif kind in ("ping", "pong"):
                info[kind + "s"] += 1
    return connections, start, list(reader.problems)


def _started(start: float, t_ns: int) -> str:
    try:
        return dt.datetime.fromtimestamp(start + t_ns / 1e9, dt.UTC).isoformat(timespec="milliseconds")
    except (ValueError, OverflowError, OSError):  # a damaged t_ns past the year 9999
        return dt.datetime.fromtimestamp(start, dt.UTC).isoformat(timespec="milliseconds")


def _write_entry(out: IO[bytes], spool: IO[bytes], conn: int, info: dict[str, Any], start: float) -> None:
    request = info.get("handshake_request") or {}
    response = info.get("handshake_response") or {}
    url = request.get("url", "")
    entry = {
        "startedDateTime": _started(start, info["first_t"]),
        "time": 0,
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in request.get("headers", [])],
            "queryString": [{"name": n, "value": v} for n, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": response.get("status", 0),
            "statusText": response.get("reason", ""),
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in response.get("headers", [])],
            "cookies": [],
            "content": {
                "size": len(response.get("body", "")),
                "mimeType": "x-unknown",
                **({"text": response["body"]} if response.get("body") else {}),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_resourceType": "websocket",
        "_rtui": {
            "conn": conn,
            "recorded_by": info["side"],  # "client" or "server": which end of this connection rtui was
            "closes": info["closes"],
            "end": info.get("end"),
            "pings": info["pings"],
            "pongs": info["pongs"],
        },
    }
    head = orjson.dumps(entry)
    # Messages go in before the closing brace, copied from the spool.
    out.write(head[:-1] + b',"_webSocketMessages":[')
    for index, (offset, length) in enumerate(zip(info["offsets"], info["lengths"], strict=True)):
        if index:
            out.write(b",")
        spool.seek(offset)
        out.write(spool.read(length))
    out.write(b"]}")
