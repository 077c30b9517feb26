"""`rtui diagnose FILE [--json]`: explain how a recorded session ended."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diagnose",
        help="explain how a recorded session ended, with the evidence",
        description=(
            "Explain how a recorded session ended: who closed first (client, server, or nobody because the "
            "connection dropped), the close code and its meaning, the timeline leading there, and findings "
            "(binary frames, audio pacing that betrays a wrong sample rate, beta headers, errors before the "
            "close, ...), each with the seq numbers of its evidence. Exit status 0 when the diagnosis ran "
            "(whatever it found), 2 when FILE is not a readable recording."
        ),
    )
    parser.add_argument("file", help="a recording (.jsonl) written by rtui")
    parser.add_argument("--json", action="store_true", help="the diagnosis as JSON (docs/diagnose-json.md)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from tui.diagnose import diagnose
    from tui.diagnose.text import render_text
    from tui.wire.reader import RecordingError
    from tui.wire.redact import Redactor

    try:
        diagnosis = diagnose(args.file)
    except RecordingError as exc:
        print(f"rtui diagnose: {exc}", file=sys.stderr)
        return 2
    # The diagnosis quotes decoded payloads: a key a recording holds spelled with JSON escapes (from
    # an rtui before it redacted decoded strings, or another tool) would be plain text here.
    shown = Redactor()
    if args.json:
        report = orjson.dumps(diagnosis.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"
        sys.stdout.buffer.write(shown.data(report)[0])
        sys.stdout.flush()
    else:
        sys.stdout.write(shown.text(render_text(diagnosis))[0])
    for problem in diagnosis.problems:
        print(f"rtui diagnose: {problem}", file=sys.stderr)
    return 0
