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
The file is written as it is read (one pass per connection), never held in memory.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from tui import __version__
from tui.wire.reader import SessionReader

def export_har(recording: str | os.PathLike[str], destination: str | os.PathLike[str]) -> int:
    """Writes the HAR file; returns the number of entries (connections). Raises RecordingError."""
    connections, start = _survey(recording)
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(b'{"log":{"version":"1.2","creator":')
        out.write(orjson.dumps({"name": "rtui", "version": __version__}))
        out.write(b',"pages":[],"entries":[')
        for index, (conn, info) in enumerate(sorted(connections.items())):
            if index:
                out.write(b",")
            _write_entry(out, recording, conn, info, start)
        out.write(b"]}}\n")
    return len(connections)


def _survey(recording: str | os.PathLike[str]) -> tuple[dict[int, dict[str, Any]], float]:
    """Per connection: handshake, closes, end, ping counts and which side recorded it (small)."""
    connections: dict[int, dict[str, Any]] = {}
    with SessionReader(recording) as reader:
        started = reader.header.get("started_at")
        try:
            start = dt.datetime.fromisoformat(str(started)).timestamp()
        except ValueError:
            start = 0.0
        for record in reader:
            conn = record["conn"]
            kind = record["kind"]
            if conn == 0 or kind in ("mark",):
                continue
            info = connections.setdefault(conn, {"closes": [], "pings": 0, "pongs": 0, "side": None, "first_t": record["t_ns"]})
            if kind in ("handshake_request", "handshake_response"):
                info[kind] = record
            elif kind == "close":
                info["closes"].append({k: record.get(k) for k in ("seq", "dir", "code", "reason", "by", "first")})
            elif kind == "end":
                info["end"] = {k: record.get(k) for k in ("seq", "code", "reason", "closed_by", "clean", "exception")}
                info["side"] = record.get("side")
            elif kind in ("ping", "pong"):
                info[kind + "s"] += 1
    return connections, start


def _write_entry(out: IO[bytes], recording: str | os.PathLike[str], conn: int, info: dict[str, Any], start: float) -> None:
    request = info.get("handshake_request") or {}
    response = info.get("handshake_response") or {}
    url = request.get("url", "")
    entry = {
        "startedDateTime": dt.datetime.fromtimestamp(start + info["first_t"] / 1e9, dt.timezone.utc).isoformat(timespec="milliseconds"),
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
            "content": {"size": len(response.get("body", "")), "mimeType": "x-unknown", **({"text": response["body"]} if response.get("body") else {})},
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
    # Messages go in before the closing brace, streamed from a second pass over the file.
    out.write(head[:-1] + b',"_webSocketMessages":[')
    first = True
    with SessionReader(recording) as reader:
        for record in reader:
            if record["conn"] != conn or record["kind"] != "frame":
                continue
            message = {
                "type": "send" if record["dir"] == "c2s" else "receive",
                "time": round(start + record["t_ns"] / 1e9, 6),
                "opcode": 1 if record["opcode"] == "text" and "text" in record else 2,
                "data": record["text"] if "text" in record else record["data_b64"],
            }
            if not first:
                out.write(b",")
            first = False
            out.write(orjson.dumps(message))
    out.write(b"]}")
