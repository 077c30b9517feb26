"""`rtui show FILE`: print a recording's timeline."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="print a recording as a readable timeline",
        description=(
            "Print a recording as a timeline: time offset, direction, connection, event type, size and a "
            "one-line summary. Audio appends and deltas, and transcript deltas, are collapsed into runs "
            "with counts and durations; in a relay recording each connection is named by its leg (client or "
            "upstream). After the timeline: the token usage of each response and the session's totals, "
            "priced from the price table (RTUI_PRICES=path.json overrides it; see the README). Damaged lines "
            "are reported as FILE:LINE on stderr and skipped."
        ),
    )
    parser.add_argument("file", help="a recording (.jsonl) written by rtui")
    parser.add_argument("--json", action="store_true", help="one JSON object per record (the header first)")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="latency per turn instead of the timeline: end of the user's turn -> committed -> response.created "
        "-> first audio -> response.done, each turn and p50/p95",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.protocol.prices import load_prices
    from tui.show.render import render, stats_lines
    from tui.wire.reader import RecordingError, SessionReader

    try:
        reader = SessionReader(args.file)
    except RecordingError as exc:
        print(f"rtui show: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    with reader:
        items = stats_lines(reader) if args.stats else render(reader, as_json=args.json, prices=load_prices())
        for item in items:
            out.write(item if isinstance(item, bytes) else item.encode())
            out.write(b"\n")
    out.flush()
    for problem in reader.problems:
        print(f"rtui show: {problem}", file=sys.stderr)
    return 0
