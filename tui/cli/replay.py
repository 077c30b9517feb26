"""`rtui replay FILE`: replay a recording against its own served server side, or its client side
against any server (`--to URL`), and report whether the new recording matches."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `rtui --help` stays fast
    from tui.replay.script import Script
    from tui.replay.timing import Timing

EXIT_HELP = """\
exit status: 0 the replay matches the recording after normalization; 1 it diverged or differs
(the report says where); 2 FILE cannot be replayed (not a recording, no connection in it).
See docs/replay.md for the normalization rules, timing modes and close codes."""


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument("--fast", action="store_true", help="as fast as causality allows (the default with --headless or --to)")
    timing.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="the recorded pace scaled by X (1 = as recorded, 2 = twice as fast); delays count from each "
        "frame's causal predecessor",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for the other side to reach a recorded position before giving up (default 10)",
    )
    parser.add_argument("--conn", type=int, metavar="N", help="which connection of FILE to replay (default: the first)")


def timing_from(args: argparse.Namespace, *, default_fast: bool) -> Timing:
    from tui.replay.timing import Timing

    if args.speed is not None:
        return Timing(args.speed)
    if args.fast or default_fast:
        return Timing(None)
    return Timing(1.0)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording and check that it reproduces",
        description=textwrap.fill(
            "Replay a recording deterministically. Without --to, both sides play against each other: the "
            "recorded server side is served on 127.0.0.1 and the recorded client side is replayed against it; "
            "the side the original was recorded on is recorded again (mode 'replay') and compared with the "
            "original. With --to URL, only the client side is replayed, against that server. Frames are sent "
            "byte for byte, each once the other side's frames recorded before it have arrived; a frame that "
            "differs from the recording (after normalization) stops the replay with close code 4900. Without "
            "--headless the replay runs in the TUI, at the recorded pace: its verdict appears in a panel "
            "when it ends (p shows the report, R replays again), and the report is printed when you quit.",
            width=88,
        ),
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="a recording (.jsonl) written by rtui")
    parser.add_argument("--to", metavar="URL", help="replay the client side against this server instead")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no TUI: print the report (as fast as causality allows by default; the TUI replays at the recorded pace)",
    )
    add_timing_arguments(parser)
    parser.add_argument(
        "--record-dir",
        type=Path,
        default=Path("sessions"),
        metavar="DIR",
        help="where the new recording goes (default ./sessions)",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the new recording to FILE instead")
    parser.set_defaults(func=run)


def _load(args: argparse.Namespace, command: str) -> Script | None:
    from tui.replay.script import ScriptError, load_script
    from tui.wire.reader import RecordingError

    try:
        return load_script(args.file, args.conn)
    except (RecordingError, ScriptError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    import asyncio

    if args.speed is not None and not args.speed > 0:
        print("rtui replay: --speed must be a positive number (1 = the recorded pace).", file=sys.stderr)
        return 2
    script = _load(args, "rtui replay")
    if script is None:
        return 2
    for problem in script.problems:
        print(f"rtui replay: {problem}", file=sys.stderr)
    from tui.wire.writer import RecordingFailed

    try:
        if args.to:
            return asyncio.run(_replay_client(args, script))
        if not args.headless:
            return _replay_in_tui(args, script)
        from tui.replay.full import full_replay

        timing = timing_from(args, default_fast=True)
        print(f"replaying {script.describe()} {timing.describe()}", flush=True)
        result = asyncio.run(
            full_replay(script, directory=args.record_dir, output=args.output, timing=timing, timeout=args.timeout)
        )
    except RecordingFailed as exc:  # the new recording: --output exists, a directory is not writable
        print(f"rtui replay: {exc}", file=sys.stderr)
        return 2
    print(result.report())
    return 0 if result.ok else 1


async def _replay_client(args: argparse.Namespace, script: Script) -> int:
    from websockets.exceptions import InvalidHandshake, InvalidURI
    from websockets.uri import parse_uri

    from tui.replay.client import replay_client
    from tui.replay.diff import compare
    from tui.replay.report import unused_lines
    from tui.replay.script import load_script
    from tui.wire.writer import SessionWriter

    try:
        parse_uri(args.to)
    except InvalidURI:
        print(f"rtui replay: --to needs a ws:// or wss:// URL, not {args.to!r}.", file=sys.stderr)
        return 2
    timing = timing_from(args, default_fast=True)
    api_key = os.environ.get("OPENAI_API_KEY") or None
    writer = (
        SessionWriter(args.output, mode="replay", url=args.to, secrets=[api_key] if api_key else [])
        if args.output
        else SessionWriter.create(args.record_dir, mode="replay", url=args.to, secrets=[api_key] if api_key else [])
    )
    assert writer.path is not None  # a file: the one named or a new one in the directory
    print(f"replaying the client side of {script.describe()} against {args.to} {timing.describe()}", flush=True)
    try:
        with writer:
            outcome = await replay_client(script, args.to, timing=timing, timeout=args.timeout, writer=writer, api_key=api_key)
    except (OSError, InvalidHandshake) as exc:
        print(f"rtui replay: cannot connect to {args.to}: {exc}; is the server running?", file=sys.stderr)
        return 1
    print(f"new recording: {writer.path}")
    for note in outcome.notes:
        print(note)
    if outcome.divergence is not None:
        print(outcome.divergence.report())
    print(outcome.ending())
    for line in unused_lines("recorded server frames never received", outcome.not_received):
        print(line)
    comparison = compare(script, load_script(writer.path))
    print(comparison.report())
    ok = outcome.ok and comparison.same
    print("MATCH: the replay reproduces the recording" if ok else "MISMATCH: the replay differs from the recording")
    return 0 if ok else 1


def _replay_in_tui(args: argparse.Namespace, script: Script) -> int:
    from tui.app.app import run_app
    from tui.app.terminal import no_terminal
    from tui.replay.on_screen import ReplayEngine

    if refusal := no_terminal("rtui replay", "run it in a terminal, or add --headless"):
        print(refusal, file=sys.stderr)
        return 2

    engine = ReplayEngine(
        script,
        timing=timing_from(args, default_fast=False),
        timeout=args.timeout,
        directory=str(args.record_dir),
        output=str(args.output) if args.output else None,
    )
    run_app(engine)
    if engine.result is None:
        print("rtui replay: stopped before the replay finished.", file=sys.stderr)
        return 1
    print(engine.result.report())
    return 0 if engine.result.ok else 1
