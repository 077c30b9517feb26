"""`rtui diff A B`: compare two recordings after normalization."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.replay.script import Script


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two recordings after normalization",
        description=(
            "Compare two recordings of a session after normalization (event_id ignored, server-assigned ids "
            "matched by order of appearance, appended audio compared as one stream): the handshake answer, "
            "each direction's frames in order, pings and pongs, and the ending (who closed first, code, "
            "reason). The first difference in each direction is shown as a diff of the two frames, with the "
            "nearest candidates. See docs/replay.md."
        ),
        epilog="exit status: 0 identical after normalization, 1 different, 2 a file cannot be read.",
    )
    parser.add_argument("a", help="the reference recording")
    parser.add_argument("b", help="the recording to compare with it")
    parser.add_argument("--conn", type=int, metavar="N", help="compare connection N of each file (default: the first)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.replay.diff import compare
    from tui.replay.script import ScriptError, load_script
    from tui.wire.reader import RecordingError

    scripts = []
    for path in (args.a, args.b):
        try:
            scripts.append(load_script(path, args.conn))
        except (RecordingError, ScriptError) as exc:
            print(f"rtui diff: {exc}", file=sys.stderr)
            return 2
    for script in scripts:
        for problem in script.problems:
            print(f"rtui diff: {problem}", file=sys.stderr)
    comparison = compare(*scripts)
    for line in latency_comparison(*scripts):  # first: the verdict stays the last line
        print(line)
    print(comparison.report())
    return 0 if comparison.same else 1


def latency_comparison(a: Script, b: Script) -> list[str]:
    """Turn latency of A and B side by side (p50 / p95 of each interval), when either has a finished
    turn: informational, not a difference."""
    from tui.protocol.summary import counted
    from tui.protocol.turns import interval_stats, turns_of
    from tui.wire.reader import SessionReader

    stats = []
    for script in (a, b):
        with SessionReader(script.path) as reader:
            turns = turns_of(record for record in reader if record["conn"] == script.conn)
        stats.append((len(turns), interval_stats(turns)))
    (count_a, rows_a), (count_b, rows_b) = stats
    if not count_a and not count_b:
        return []
    lines = [
        f"turn latency, p50 / p95 (A: {counted(count_a, 'turn')}, B: {counted(count_b, 'turn')}; not part of the comparison):"
    ]
    for (title, a50, a95), (_, b50, b95) in zip(rows_a, rows_b, strict=True):
        lines.append(f"  {title:<11} A {_pair(a50, a95):<20} B {_pair(b50, b95)}")
    return lines


def _pair(p50: float | None, p95: float | None) -> str:
    return "-" if p50 is None or p95 is None else f"{p50:.0f} / {p95:.0f} ms"
