"""A close, explained in one sentence for the UI's card and headless output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.engine.state import CloseSummary
from tui.protocol.summary import Line, close_meaning


def explain(end: dict[str, Any], preceding_error: str | None, recent: Sequence[Line]) -> str:
    code, reason, closed_by = end["code"], end.get("reason", ""), end.get("closed_by")
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
    if preceding_error and closed_by == "client":
        sentence += f" The server had reported an error first ({preceding_error}); the client chose to close."
    elif preceding_error:
        sentence += f" The server reported an error just before: {preceding_error}."
    if end.get("protocol_error"):
        sentence += f" Local protocol error: {end['protocol_error']}."
    return sentence


def summarize_close(end: dict[str, Any], recent: Sequence[Line], preceding_error: str | None) -> CloseSummary:
    last_lines = [line for line in recent if line.label not in ("end",)][-8:]
    return CloseSummary(
        code=end["code"],
        reason=end.get("reason", ""),
        closed_by=end.get("closed_by"),
        meaning=close_meaning(end["code"]),
        clean=bool(end.get("clean")),
        explanation=explain(end, preceding_error, recent),
        preceding_error=preceding_error,
        last_lines=last_lines,
    )
