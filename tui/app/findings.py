"""The closure card's findings: what `rtui diagnose` says about the session's recording.

The card shows the same findings as `rtui diagnose` (ids, severities, messages, evidence seqs), so
they come from the same pass over the same file, run on a worker thread when the session ends.
Nothing here imports Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from tui.diagnose import Finding, diagnose
from tui.wire.reader import RecordingError

_MARKS = {"error": ("!!", "bold"), "warning": ("! ", ""), "info": ("  ", "dim")}


@dataclass(frozen=True)
class CardFindings:
    """The findings to show, or why there are none."""

    findings: list[Finding] = field(default_factory=list)
    note: str = ""


DIAGNOSING = CardFindings(note="Diagnosing the recording...")


def findings_for(path: str | None) -> CardFindings:
    """Diagnoses the recording at `path`; a card must show something whatever the file holds."""
    if not path:
        return CardFindings(note="Not recorded (--no-record): there is no recording to diagnose.")
    try:
        diagnosis = diagnose(path)
    except (RecordingError, OSError) as exc:
        return CardFindings(note=f"The recording cannot be diagnosed: {exc}")
    except Exception as exc:  # noqa: BLE001 - a crafted recording must not take the session's UI down
        return CardFindings(note=f"rtui diagnose failed on this recording ({type(exc).__name__}: {exc}).")
    if not diagnosis.findings:
        return CardFindings(note="None: nothing in the recording explains the ending beyond what is above.")
    return CardFindings(diagnosis.findings)


def finding_text(finding: Finding) -> Text:
    """One finding as `rtui diagnose` words it, with its evidence seqs."""
    mark, style = _MARKS.get(finding.severity, ("  ", ""))
    text = Text(f"{mark} ", style="bold")
    text.append(f"{finding.severity.upper():<8}{finding.id}", style="bold")
    text.append(f"  {finding.message}", style=style)
    if finding.evidence:
        text.append(f"\n   evidence: seq {', '.join(map(str, finding.evidence))}", style="dim")
    return text
