"""`rtui devices`: the audio devices PortAudio sees, and which ones rtui would use."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices",
        help="list audio devices and the ones rtui would use",
        description=(
            "List the audio input and output devices with their default rate and channels. "
            "'>' marks the device rtui would use; choose another with --input-device or "
            "--output-device (an index or part of a name)."
        ),
    )
    parser.add_argument("--input-device", help="show which input device this index or name selects")
    parser.add_argument("--output-device", help="show which output device this index or name selects")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.audio.devices import Kind, list_devices, resolve_device
    from tui.audio.errors import AudioError, NoAudioError

    try:
        devices = list_devices()
    except NoAudioError as error:
        print(f"rtui devices: {error}", file=sys.stderr)
        return 1
    if not devices:
        print(f"rtui devices: {NoAudioError('PortAudio sees no device (typical over SSH)', 'no-device')}", file=sys.stderr)
        return 1
    status = 0
    chosen: dict[Kind, int | None] = {}
    sides: tuple[tuple[Kind, str | None], ...] = (("input", args.input_device), ("output", args.output_device))
    for kind, spec in sides:
        try:
            chosen[kind] = resolve_device(spec, kind).index
        except AudioError as error:
            print(f"rtui devices: {error}", file=sys.stderr)
            chosen[kind] = None
            status = 1
    for kind, _ in sides:
        print(f"{kind} devices:")
        rows = [d for d in devices if d.channels(kind) > 0]
        if not rows:
            print("  (none)")
        for device in rows:
            mark = ">" if device.index == chosen[kind] else " "
            print(
                f"{mark} {device.index:3d}  {device.name}  [{device.hostapi}]  "
                f"{device.default_samplerate} Hz, {device.channels(kind)} ch"
            )
    return status
