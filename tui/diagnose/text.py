"""The plain-text renderings of a diagnosis: in full (how it ended, the timeline, the findings, the
problems), and in one line for a place that has room for no more."""

from __future__ import annotations

from tui.diagnose.report import Diagnosis
from tui.protocol.summary import counted

_ARROWS = {"c2s": "client → server", "s2c": "server → client", "local": "local"}
_MARKS = {"error": "ERROR", "warning": "WARN ", "info": "info "}


def render_text(diagnosis: Diagnosis) -> str:
    lines = [f"{diagnosis.file}"]
    rec = diagnosis.recording
    relayed = ", relayed (client leg and upstream leg)" if rec.get("relayed") else ""
    lines.append(
        f"  {rec.get('mode')} recording of {rec.get('url')}, {counted(rec.get('records') or 0, 'record')} over "
        f"{rec.get('duration_s', 0):.2f} s, {rec.get('connections')} connection(s){relayed}"
    )
    lines += ["", "How it ended", f"  {diagnosis.ending.sentence}"]
    if diagnosis.other_endings:
        lines += ["", "How the other connections ended"]
        lines += [f"  conn {ending.conn}: {ending.sentence}" for ending in diagnosis.other_endings]
    if diagnosis.timeline:
        legs = {conn: name for name, conn in (rec.get("legs") or {}).items()}
        lines += ["", "Timeline leading there"]
        for entry in diagnosis.timeline:
            marker = ">>" if entry.seq == diagnosis.ending.seq else "  "
            opcode = f" [{entry.opcode}]" if entry.opcode else ""
            conn = f"{legs[entry.conn]} leg" if entry.conn in legs else f"conn {entry.conn}"
            lines.append(
                f"{marker}{entry.seq:>7}  {entry.t_s:>10.3f}s  {conn:<12}  {_ARROWS.get(entry.dir, entry.dir):<15}  "
                f"{entry.label}{opcode}  {entry.summary}".rstrip()
            )
    lines += ["", "Findings"]
    if not diagnosis.findings:
        lines.append("  none: nothing in the recording explains the ending beyond what is shown above")
    for finding in diagnosis.findings:
        seqs = ", ".join(map(str, finding.evidence))
        lines.append(f"  {_MARKS.get(finding.severity, finding.severity)} {finding.id}: {finding.message}")
        if seqs:
            lines.append(f"        evidence: seq {seqs}")
    if diagnosis.problems:
        lines += ["", "Problems reading the recording"]
        lines += [f"  {problem}" for problem in diagnosis.problems]
        if diagnosis.truncated:
            lines.append("  the recording was cut off mid-write; the diagnosis covers the records before that point")
    return "\n".join(lines) + "\n"


def one_line(diagnosis: Diagnosis) -> str:
    """The most telling thing the diagnosis says: its top error or warning finding (findings come
    sorted by severity), or else how the session ended."""
    top = next((f for f in diagnosis.findings if f.severity in ("error", "warning")), None)
    if top is not None:
        return f"{top.id}: {top.message}"
    return diagnosis.ending.sentence
