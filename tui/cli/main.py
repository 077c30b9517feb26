"""The `rtui` entry point: parses arguments and dispatches to a subcommand module.

Each module named in SUBCOMMANDS defines `register(subparsers)`, which adds its parser and sets
`func` to a callable taking the parsed namespace and returning an exit status. Heavy imports happen
inside those callables so that `rtui --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tui import __version__

SUBCOMMANDS: tuple[str, ...] = ("show", "proxy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtui",
        description="A terminal workbench for the OpenAI Realtime API.",
    )
    parser.add_argument("--version", action="version", version=f"rtui {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"tui.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `rtui show FILE | head`: the reader went away, which is not an error.
        sys.stderr.close()
        return 0
