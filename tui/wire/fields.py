"""The type of every field of the header and of each record kind (docs/recording-format.md).

The reader checks them once, where a recording is read, so that nothing downstream (show, diagnose,
replay, diff, export) meets a wrong type: a record with one is a damaged line, reported and
skipped like a line that is not JSON. Fields a kind does not list are not checked (readers ignore
what they do not know); a listed field may be absent unless the kind requires it.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

# (what the field must be, in words; the test). `type(...) is`: JSON gives exact types, and a bool
# is not an int here.
Check = tuple[str, Callable[[Any], bool]]

STRING: Check = ("a string", lambda v: type(v) is str)
OPTIONAL_STRING: Check = ("a string or null", lambda v: v is None or type(v) is str)
BOOLEAN: Check = ("true or false", lambda v: type(v) is bool)
COUNT: Check = ("a non-negative integer", lambda v: type(v) is int and v >= 0)
STRINGS: Check = ("a list of strings", lambda v: type(v) is list and all(type(s) is str for s in v))
HEADERS: Check = (
    "a list of [name, value] string pairs",
    lambda v: type(v) is list and all(type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is str for p in v),
)
# What a close frame can carry (3000-4999 for applications, 1000-1015 for the protocol) and the
# codes that stand for no frame (1005, 1006); anything else never crossed a wire.
CLOSE_CODE: Check = ("a close code (1000-4999)", lambda v: type(v) is int and 1000 <= v <= 4999)
HTTP_STATUS: Check = ("an HTTP status (100-599)", lambda v: type(v) is int and 100 <= v <= 599)
SIDE: Check = ('"client" or "server"', lambda v: type(v) is str and v in ("client", "server"))
OPTIONAL_SIDE: Check = ('"client", "server" or null', lambda v: v is None or (type(v) is str and v in ("client", "server")))
OPCODE: Check = ('"text" or "binary"', lambda v: type(v) is str and v in ("text", "binary"))


def _is_base64(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_close(value: Any) -> bool:
    return value is None or (type(value) is dict and CLOSE_CODE[1](value.get("code")) and type(value.get("reason")) is str)


BASE64: Check = ("base64", _is_base64)
CLOSE: Check = ('{"code": close code, "reason": string} or null', _is_close)
RELAY: Check = (
    '{"client_conn": integer, "upstream_conn": integer}',
    lambda v: type(v) is dict and COUNT[1](v.get("client_conn")) and COUNT[1](v.get("upstream_conn")),
)

HEADER_FIELDS: dict[str, Check] = {
    "tool": STRING,
    "version": STRING,
    "started_at": STRING,
    "url": STRING,
    "mode": STRING,
    "redaction": STRINGS,
    "side": SIDE,
    "relay": RELAY,
}

RECORD_FIELDS: dict[str, dict[str, Check]] = {
    "handshake_request": {"url": STRING, "path": STRING, "headers": HEADERS, "subprotocols": STRINGS, "proxy": OPTIONAL_STRING},
    "handshake_response": {
        "status": HTTP_STATUS,
        "reason": STRING,
        "headers": HEADERS,
        "subprotocol": OPTIONAL_STRING,
        "extensions": STRINGS,
        "body": STRING,
    },
    "frame": {
        "opcode": OPCODE,
        "text": STRING,
        "data_b64": BASE64,
        "size": COUNT,
        "type": STRING,
        "fragments": COUNT,
        "redacted": STRINGS,
    },
    "ping": {"data_b64": BASE64},
    "pong": {"data_b64": BASE64},
    "close": {"code": CLOSE_CODE, "reason": STRING, "by": SIDE, "first": BOOLEAN, "invalid": STRING, "data_b64": BASE64},
    "end": {
        "code": CLOSE_CODE,
        "reason": STRING,
        "closed_by": OPTIONAL_SIDE,
        "clean": BOOLEAN,
        "close_sent": CLOSE,
        "close_rcvd": CLOSE,
        "side": SIDE,
        "exception": STRING,
        "protocol_error": STRING,
    },
    "error": {"message": STRING},
    "mark": {"note": STRING},
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "handshake_response": ("status",),
    "frame": ("opcode", "size"),
    "ping": ("data_b64",),
    "pong": ("data_b64",),
    "close": ("code", "reason"),
    "end": ("code",),
}


_JSON_TYPES = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def describe(value: Any) -> str:
    """A wrong value, briefly: its JSON type, and the value itself when that is short."""
    name = _JSON_TYPES.get(type(value), type(value).__name__)
    if isinstance(value, (bool, int, float, str)):
        shown = repr(value)
        if len(shown) <= 24:
            return f"{name} ({shown})"
    return name


def field_problem(kind: str, record: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a record of a known `kind`, or None."""
    for name in REQUIRED.get(kind, ()):
        if name not in record:
            return f"{kind} without {name!r}"
    for name, (expected, check) in RECORD_FIELDS[kind].items():
        if name in record and not check(record[name]):
            return f"{kind} field {name!r} is {describe(record[name])}, expected {expected}"
    return None


def header_problem(header: dict[str, Any]) -> str | None:
    for name, (expected, check) in HEADER_FIELDS.items():
        if name in header and not check(header[name]):
            return f"header field {name!r} is {describe(header[name])}, expected {expected}"
    return None
