"""The diagnosis pass: one streaming read of the recording through the ending tracker and the rules."""

from __future__ import annotations

import os

from tui.diagnose.ending import EndingTracker
from tui.diagnose.items import Legs, parse_record
from tui.diagnose.report import SEVERITIES, Diagnosis, Finding
from tui.diagnose.rules import Context, all_rules
from tui.diagnose.tools import ResponseProblems, ToolCalls
from tui.wire.reader import SessionReader


def diagnose(path: str | os.PathLike[str]) -> Diagnosis:
    """Explains how the recorded session ended. Raises `RecordingError` for a file that is not a
    recording; damaged lines are skipped and listed in `problems`."""
    with SessionReader(path) as reader:
        header = reader.header
        legs = Legs.from_header(header)
        tracker = EndingTracker(legs)
        # A client that reconnected left several connections in one file: each has its own ending.
        # A relay's two legs are one session, which the first tracker explains.
        each_connection: dict[int, EndingTracker] = {}
        rules = [*all_rules(legs), ToolCalls(), ResponseProblems()]
        records = 0
        last_t = 0.0
        for record in reader:
            item = parse_record(record, legs)
            records += 1
            last_t = item.t_s
            tracker.observe(item)
            conn = record["conn"]
            if conn and not legs.relayed:
                own = each_connection.get(conn)
                if own is None:
                    own = each_connection[conn] = EndingTracker(legs, keep_timeline=False)
                own.observe(item)
            for rule in rules:
                rule.observe(item)
        ending = tracker.result()
        other_endings = [own.result() for conn, own in each_connection.items() if conn != ending.conn]
        context = Context(ending)
        findings: list[Finding] = [finding for rule in rules for finding in rule.conclude(context)]
        findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0] if f.evidence else 0))
        recording = {
            "mode": header.get("mode"),
            "url": header.get("url"),
            "started_at": header.get("started_at"),
            "records": records,
            "duration_s": round(last_t, 6),
            "connections": len(tracker.connections),
            "relayed": legs.relayed,
        }
        if legs.relayed:
            recording["legs"] = {"client": legs.client_conn, "upstream": legs.upstream_conn}
        return Diagnosis(
            file=str(path),
            recording=recording,
            ending=ending,
            timeline=tracker.entries(),
            findings=findings,
            problems=[str(problem) for problem in reader.problems],
            truncated=reader.truncated,
            other_endings=other_endings,
        )
