"""`rtui export FILE --wav DIR --har FILE`: a recording's audio as WAV and its messages as HAR."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a recording's audio as WAV and its messages as HAR",
        description=(
            "Export a recording: --wav DIR writes c2s.wav (audio the client sent) and s2c.wav (audio the server "
            "sent), 24 kHz mono, each chunk placed at the time it crossed the wire, so you hear what was sent, "
            "when, and at what speed. --har FILE writes the WebSocket messages in Chrome's HAR shape "
            "(_webSocketMessages); closes, pings and the ending go in each entry's _rtui object."
        ),
    )
    parser.add_argument("file", help="a recording (.jsonl) written by rtui")
    parser.add_argument("--wav", metavar="DIR", help="directory for c2s.wav and s2c.wav")
    parser.add_argument("--har", metavar="FILE", help="HAR file to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.wire.reader import Problem, RecordingError

    if not args.wav and not args.har:
        print("rtui export: say what to export: --wav DIR and/or --har FILE.", file=sys.stderr)
        return 2
    problems: list[Problem] = []
    try:
        if args.wav:
            from tui.export.wav import export_wav

            wav = export_wav(args.file, args.wav)
            for line in wav.summary():
                print(line)
            problems = list(wav.problems)
        if args.har:
            from tui.export.har import export_har

            har = export_har(args.file, args.har)
            print(f"{args.har}: {har.entries} WebSocket connection(s) in HAR form")
            problems = problems or list(har.problems)  # the same file: the same damage
    except RecordingError as exc:
        print(f"rtui export: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rtui export: cannot write {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return 1
    # Damage, as `rtui show` reports it: the export holds everything else.
    for problem in problems:
        print(f"rtui export: {problem}", file=sys.stderr)
    return 0
