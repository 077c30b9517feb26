"""How one recorded connection ended, read from its records (docs/recording-format.md): the meaning
the recording format gives its `handshake_response` and `end` records, for every consumer (replay,
diff, the UI's close card, diagnose) to word in its own way.

An `end` record says who sent the first close frame (`closed_by`) and both close frames as the
recording side saw them (`close_sent`, `close_rcvd`); the closer's own code and reason are in the
frame it sent. Its `code` is what the transport ended with: 1006 when no close frame came back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from websockets.frames import Close

from tui.wire.format import ABNORMAL

SIDES = ("client", "server")
_OTHER = {"client": "server", "server": "client"}


@dataclass(frozen=True, slots=True)
class ConnectionEnd:
    closed_by: str | None  # who sent the first close frame: "client", "server", or None (nobody did)
    code: int | None  # the closer's own close code; without a close frame, the transport's (1006)
    reason: str  # the closer's own reason ("" without a close frame)
    clean: bool | None  # both close frames were exchanged (None: refused, or not recorded)
    failed: bool = False  # the recorded closer did not wait for the closing handshake (close_rcvd missing)
    dropped_by: str | None = None  # no close frame: who dropped the TCP connection, as far as the recording tells
    recorded: bool = True  # False when the recording stops before the connection's end
    refused: int | None = None  # the HTTP status of a handshake answered with anything but 101
    transport_code: int | None = None  # the `end` record's code: 1006 when the other side's close never came
    exception: str | None = None  # the transport error the recording side saw
    protocol_error: str | None = None  # a local protocol error behind the close (e.g. a frame too big)

    @property
    def how(self) -> str:
        """How it ended: "refused", "close" (a close frame started it), "open" (the recording stops first) or "dropped"."""
        if self.refused is not None:
            return "refused"
        if self.closed_by is not None:
            return "close"
        return "dropped" if self.recorded else "open"

    def describe(self) -> str:
        """One line, the same for every connection that ended the same way (replay and diff reports)."""
        how = self.how
        if how == "refused":
            return f"handshake refused with HTTP {self.refused}"
        if how == "open":
            return "not recorded (the recording stops before the connection ended)"
        if how == "dropped":
            return f"TCP connection dropped without a close frame ({self.code})"
        reason = f' "{self.reason}"' if self.reason else " (empty reason)"
        return f"{self.closed_by} closed first with {self.code}{reason}" + ("" if self.clean else ", not clean")


def connection_end(
    end: dict[str, Any] | None, *, status: int | None = None, side: str | None = None, first_close: dict[str, Any] | None = None
) -> ConnectionEnd:
    """The ending of a connection from its `end` record (None when the recording stops before it)
    and its handshake's HTTP status. `side` is the end that recorded it, when the record does not
    say (recordings older than the `side` field). `first_close`, when the reader kept it, is the
    `close` record of the frame that started the closing handshake: its sender, code and reason are
    the closer's own as they crossed the wire, and they stand even if the recording stops before
    the `end` (a reader that stops at the first close, as diagnose does, words it from there)."""
    if status is not None and status != 101:
        return ConnectionEnd(None, None, "", None, refused=status)
    if first_close is not None:
        ended = connection_end(end, side=side)
        by = first_close.get("by")
        return replace(
            ended,
            closed_by=by if by in SIDES else None,
            code=first_close.get("code"),
            reason=first_close.get("reason") or "",
            dropped_by=None,
            clean=ended.clean if ended.recorded else None,
        )
    if end is None:
        return ConnectionEnd(None, None, "", None, recorded=False)
    recorder = end.get("side") if end.get("side") in SIDES else side
    transport_code = end.get("code")
    exception, protocol_error = end.get("exception") or None, end.get("protocol_error") or None
    closed_by = end.get("closed_by")
    if closed_by not in SIDES:
        # Nobody sent a close frame. Unless the recording server saw the client vanish, the server
        # is taken to have dropped it (a reset, a load balancer, the mock's drop fault).
        peer_gone = recorder == "server" and exception is not None
        return ConnectionEnd(
            None,
            transport_code,
            "",
            False,
            dropped_by="client" if peer_gone else "server",
            transport_code=transport_code,
            exception=exception,
            protocol_error=protocol_error,
        )
    # The closer's own frame: the one it sent, as the recording side saw it.
    first = end.get("close_sent") if closed_by == recorder else end.get("close_rcvd")
    code = first.get("code") if isinstance(first, dict) else transport_code
    reason = first.get("reason", "") if isinstance(first, dict) else end.get("reason", "")
    return ConnectionEnd(
        closed_by,
        code,
        reason or "",
        bool(end.get("clean")),
        failed=closed_by == recorder and end.get("close_rcvd") is None,
        transport_code=transport_code,
        exception=exception,
        protocol_error=protocol_error,
    )


def end_fields(side: str, first_close: str | None, sent: Close | None, rcvd: Close | None) -> dict[str, Any]:
    """The closing handshake's fields of an `end` record, before redaction, for a connection that
    `side` ran: `first_close` says which close frame came first in wire order ("sent", "received",
    or None when there was none), `sent` and `rcvd` are the close frames really sent and received.
    The tap records them; `live_connection_end` reads them for a connection still in memory."""
    first = None if first_close is None else sent if first_close == "sent" else rcvd
    clean = sent is not None and rcvd is not None
    return {
        "code": first.code if first is not None and (clean or rcvd is not None) else ABNORMAL,
        "reason": first.reason if first is not None else "",
        "closed_by": None if first_close is None else side if first_close == "sent" else _OTHER[side],
        "clean": clean,
        "close_sent": None if sent is None else {"code": sent.code, "reason": sent.reason},
        "close_rcvd": None if rcvd is None else {"code": rcvd.code, "reason": rcvd.reason},
        "side": side,
    }


def live_connection_end(side: str, first_close: str | None, sent: Close | None, rcvd: Close | None) -> ConnectionEnd:
    """How a connection still in memory ended, with the same meaning its `end` record would have
    (the replay's player and the relay word it without reading the file back)."""
    return connection_end(end_fields(side, first_close, sent, rcvd))
