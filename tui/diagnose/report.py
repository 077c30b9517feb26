"""The diagnosis and its JSON shape, `rtui.diagnosis/1` (docs/diagnose-json.md is the prose).

Fields are only ever added within a schema version; ids of findings never change meaning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "rtui.diagnosis/1"

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    id: str
    severity: str  # "error": caused or explains the closure; "warning": a likely problem; "info": context
    message: str  # one plain sentence
    evidence: list[int]  # seq numbers of the records that show it, in order
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class EndingReport:
    # "close": a close frame started the closing handshake; "dropped": the transport ended without
    # any close frame; "refused": the handshake got an HTTP status instead of 101; "failed": the
    # connection failed before any answer (nothing listening, DNS, timeout, TLS); "open": the
    # recording stops while the connection was still open; "none": no connection was recorded.
    how: str
    closed_first_by: str | None  # "client", "server", or None (nobody: dropped, refused, failed, open)
    code: int | None  # the close code (1006 when dropped), or None
    meaning: str
    reason: str
    seq: int | None  # the record that decided it (first close, first end, refusing response)
    t_s: float | None
    status: int | None = None  # the HTTP status of a refused handshake
    leg: str | None = None  # relay recordings: "client" or "upstream", the leg where it started
    exception: str | None = None  # the transport error, or a failed connect's error
    previous: dict[str, Any] | None = None  # the last data frame before it: seq, dir, opcode, type, gap_s
    sentence: str = ""
    conn: int | None = None  # the connection it ended (None when there was none)


@dataclass
class TimelineEntry:
    seq: int
    t_s: float
    conn: int
    dir: str
    kind: str
    label: str  # the event type for frames, the record kind otherwise
    summary: str
    opcode: str | None = None
    size: int | None = None


@dataclass
class Diagnosis:
    file: str
    recording: dict[str, Any]
    ending: EndingReport
    timeline: list[TimelineEntry]
    findings: list[Finding]
    problems: list[str]
    truncated: bool
    # The other connections' endings (a client that reconnected), in the order they opened.
    other_endings: list[EndingReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "file": self.file,
            "recording": self.recording,
            "ending": asdict(self.ending),
            "timeline": [asdict(entry) for entry in self.timeline],
            "findings": [asdict(finding) for finding in self.findings],
            "problems": self.problems,
            "truncated": self.truncated,
            "other_endings": [asdict(ending) for ending in self.other_endings],
        }

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)
