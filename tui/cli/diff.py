"""`rtui diff A B`: compare two recordings after normalization."""

from __future__ import annotations

import argparse
import sys


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
    print(comparison.report())
    return 0 if comparison.same else 1
