"""A close, or a connection that never opened, explained in one sentence for the UI's card and
headless output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.engine.state import CloseSummary
from tui.protocol.summary import Line, close_meaning
from tui.wire.redact import Redactor


def initiating_close(end: dict[str, Any]) -> dict[str, Any] | None:
    """The close frame that started the closing handshake, from an `end` record."""
    closed_by = end.get("closed_by")
    if closed_by is None:
        return None
    return end.get("close_sent") if closed_by == end.get("side") else end.get("close_rcvd")


def explain(end: dict[str, Any], preceding_error: str | None, recent: Sequence[Line]) -> str:
    closed_by = end.get("closed_by")
    first = initiating_close(end) or {}
    # The initiator's own code: an unanswered close (a client's 1009 or 1011) ends as 1006 on the wire.
    code, reason = first.get("code", end["code"]), first.get("reason", end.get("reason", ""))
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
    sentence = f"{who} closed the connection with {code} ({close_meaning(code)}) and {reason_text}{after}."
    if not end.get("clean"):
        sentence += f" The other side never answered with its close frame (the connection ended as {end['code']})."
    if preceding_error and closed_by == "client":
        sentence += f" The server had reported an error first ({preceding_error}); the client chose to close."
    elif preceding_error:
        sentence += f" The server reported an error just before: {preceding_error}."
    if end.get("protocol_error"):
        sentence += f" Local protocol error: {end['protocol_error']}."
    return sentence


def summarize_close(end: dict[str, Any], recent: Sequence[Line], preceding_error: str | None) -> CloseSummary:
    last_lines = [line for line in recent if line.label not in ("end",)][-8:]
    first = initiating_close(end) or {}
    code = first.get("code", end["code"])
    return CloseSummary(
        code=code,
        reason=first.get("reason", end.get("reason", "")),
        closed_by=end.get("closed_by"),
        meaning=close_meaning(code),
        clean=bool(end.get("clean")),
        explanation=explain(end, preceding_error, recent),
        preceding_error=preceding_error,
        last_lines=last_lines,
        conn=end["conn"],
    )


_REFUSAL_HINTS = {
    401: "check the API key (OPENAI_API_KEY)",
    403: "the key is not allowed to use this endpoint",
    404: "the model or path does not exist (retired preview models answer 404)",
}


def summarize_refusal(response: dict[str, Any], recent: Sequence[Line]) -> CloseSummary:
    """A handshake the server answered with anything but 101, from its `handshake_response` record."""
    status = response.get("status")
    status = status if isinstance(status, int) else None  # the reader checks kinds, not every field
    said = f"HTTP {status} {response.get('reason') or ''}".strip()
    body = str(response.get("body") or "").strip()[:200]
    hint = _REFUSAL_HINTS.get(status) if status is not None else None
    explanation = f"The server refused the WebSocket handshake with {said}" + (f": {hint}." if hint else ".")
    if body:
        explanation += f" It said: {body}"
    return _never_opened(f"handshake refused: {said}", explanation, recent, response["conn"], refused_status=status)


def summarize_connect_failure(
    url: str, exc: BaseException, recent: Sequence[Line], conn: int, redactor: Redactor
) -> CloseSummary:
    """A connection that failed before the server answered the handshake (refused, unreachable, timed out).
    The exception's text may quote the URL (an invalid one, say), key and all: it is redacted."""
    detail = redactor.text(str(exc))[0] or type(exc).__name__
    return _never_opened(f"could not connect: {detail}", f"Could not connect to {url}: {detail}.", recent, conn)


def _never_opened(
    headline: str, explanation: str, recent: Sequence[Line], conn: int, refused_status: int | None = None
) -> CloseSummary:
    # No WebSocket existed, so there was no close frame: the transport's end reads as 1006.
    return CloseSummary(
        code=1006, reason="", closed_by=None, meaning=close_meaning(1006), clean=False, explanation=explanation,
        last_lines=[line for line in recent if line.label != "end"][-8:], open_failure=headline, refused_status=refused_status,
        conn=conn,
    )
