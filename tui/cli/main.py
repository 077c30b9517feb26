"""The `rtui` entry point: parses arguments and dispatches to a subcommand module.

Each module named in SUBCOMMANDS defines `register(subparsers)`, which adds its parser and sets
`func` to a callable taking the parsed namespace and returning an exit status. Heavy imports happen
inside those callables so that `rtui --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tui import __version__
from tui.cli import live
from tui.protocol.prices import PRICES_ENV, PriceError, load_prices

SUBCOMMANDS: tuple[str, ...] = ("show", "proxy", "mock", "devices", "diagnose", "replay", "diff", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtui",
        description=(
            "A terminal workbench for the OpenAI Realtime API. With no command, rtui runs a live session "
            "in the TUI (or --headless). Headless exit status: 0 the session finished (the input was "
            "answered, or you stopped it), 1 it was closed otherwise (see the last line), 2 bad "
            "arguments or nothing to send (found before connecting), 3 the connection or handshake was refused."
        ),
    )
    parser.add_argument("--version", action="version", version=f"rtui {__version__}")
    live.add_arguments(parser)
    parser.set_defaults(func=live.run)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"tui.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.environ.get(PRICES_ENV):
        # Checked once here, so that no command meets a bad price file halfway through a session.
        try:
            load_prices()
        except PriceError as exc:
            print(f"rtui: {PRICES_ENV}: {exc}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `rtui show FILE | head`: the reader went away, which is not an error.
        sys.stderr.close()
        return 0
