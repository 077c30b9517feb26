"""A close, or a connection that never opened, explained in one sentence for the UI's card and
headless output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.engine.state import CloseSummary
from tui.protocol.handshake import connect_error_words, describe_connect_failure, describe_refusal
from tui.protocol.summary import Line, close_meaning
from tui.wire.ending import ConnectionEnd, connection_end
from tui.wire.redact import Redactor


def explain(ending: ConnectionEnd, code: int, preceding_error: str | None, recent: Sequence[Line]) -> str:
    """`code` is the initiator's own: an unanswered close (a client's 1009 or 1011) ends as 1006 on the wire."""
    closed_by, reason = ending.closed_by, ending.reason
    reason_text = f"reason {reason!r}" if reason else "no reason"
    last_sent = next((line for line in reversed(recent) if line.direction == "c2s" and line.label != "close"), None)
    after = ""
    if last_sent is not None and closed_by != "client":
        after = f", right after the client sent {last_sent.label}"
    if closed_by is None:
        return (
            f"The connection ended without a close frame ({code}, abnormal closure){after}: the network, a proxy "
            "or the server dropped the TCP connection."
        )
    who = "The server" if closed_by == "server" else "This client"
    sentence = f"{who} closed the connection with {code} ({close_meaning(code, closed_by)}) and {reason_text}{after}."
    if not ending.clean:
        sentence += f" The other side never answered with its close frame (the connection ended as {ending.transport_code})."
    if preceding_error and closed_by == "client":
        sentence += f" The server had reported an error first ({preceding_error}); the client chose to close."
    elif preceding_error:
        sentence += f" The server reported an error just before: {preceding_error}."
    if ending.protocol_error:
        sentence += f" Local protocol error: {ending.protocol_error}."
    return sentence


def summarize_close(end: dict[str, Any], recent: Sequence[Line], preceding_error: str | None) -> CloseSummary:
    """The card of a connection that opened, from its `end` record."""
    last_lines = [line for line in recent if line.label not in ("end",)][-8:]
    ending = connection_end(end)
    code: int = ending.code if ending.code is not None else end["code"]  # the reader checks that an end has one
    return CloseSummary(
        code=code,
        reason=ending.reason,
        closed_by=ending.closed_by,
        meaning=close_meaning(code, ending.closed_by),
        clean=bool(ending.clean),
        explanation=explain(ending, code, preceding_error, recent),
        preceding_error=preceding_error,
        last_lines=last_lines,
        conn=end["conn"],
    )


def summarize_refusal(response: dict[str, Any], recent: Sequence[Line], *, ephemeral: bool = False) -> CloseSummary:
    """A handshake the server answered with anything but 101, from its `handshake_response` record
    (`ephemeral` when its request presented an ephemeral key)."""
    status = response.get("status")
    status = status if isinstance(status, int) else None  # the reader checks kinds, not every field
    said = f"HTTP {status} {response.get('reason') or ''}".strip()
    explanation = describe_refusal(status, response.get("reason"), response.get("body"), ephemeral=ephemeral)
    return _never_opened(f"handshake refused: {said}", explanation, recent, response["conn"], refused_status=status)


def summarize_connect_failure(
    url: str, exc: BaseException, recent: Sequence[Line], conn: int, redactor: Redactor
) -> CloseSummary:
    """A connection that failed before the server answered the handshake (refused, unreachable, timed out).
    The exception's text may quote the URL (an invalid one, say), key and all: it is redacted."""
    error = redactor.text(f"{type(exc).__name__}: {exc}")[0]
    return _never_opened(
        f"could not connect: {connect_error_words(error, url)}", describe_connect_failure(url, error), recent, conn
    )


def _never_opened(
    headline: str, explanation: str, recent: Sequence[Line], conn: int, refused_status: int | None = None
) -> CloseSummary:
    # No WebSocket existed, so there was no close frame: the transport's end reads as 1006.
    return CloseSummary(
        code=1006,
        reason="",
        closed_by=None,
        meaning=close_meaning(1006),
        clean=False,
        explanation=explanation,
        last_lines=[line for line in recent if line.label != "end"][-8:],
        open_failure=headline,
        refused_status=refused_status,
        conn=conn,
    )
