#!/usr/bin/env python3
"""Loopback stream throughput at full speed, recording on vs off.

rtui's recording client (`tui.wire.client.open_connection`) streams audio-sized GA
`input_audio_buffer.append` events as fast as the socket takes them to a counting server in another
process on 127.0.0.1, first with a `SessionWriter` recording every frame to a file, then without;
rounds alternate so both see the same machine. The figure is the ratio of the two rates.

    .venv/bin/python scripts/bench/loopback.py [--frames N] [--rounds R] [--profile] [--busy-us US]

`--busy-us US` replaces the recorder by US microseconds of busy waiting per frame sent, to show how
the stream's rate answers a given per-frame cost in the client.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
from tui.wire.client import ConnectOptions, open_connection  # noqa: E402
from tui.wire.writer import SessionWriter  # noqa: E402

TARGET = 0.7


def append_event(n: int, chunk_ms: int = 20) -> str:
    pcm = (bytes(range(256)) * 200)[: 48 * chunk_ms]
    return '{"type":"input_audio_buffer.append","event_id":"event_%08d","audio":"%s"}' % (n, base64.b64encode(pcm).decode())


class BusyListener:
    """A pump listener (tui.wire.pump.FrameListener) that busy-waits a fixed time per frame sent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def frame_sent(self, frame: object) -> None:
        until = time.perf_counter() + self.seconds
        while time.perf_counter() < until:
            pass

    def frame_received(self, frame: object) -> None:
        pass

    def handshake_request(self, request: object) -> None:
        pass

    def handshake_response(self, response: object) -> None:
        pass

    def ended(self, pump: object, exc: object) -> None:
        pass


async def stream(url: str, frames: list[str], record_to: Path | None, busy_us: float = 0) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) to stream `frames` and get the server's count back."""
    writer = SessionWriter(record_to, mode="live", url=url, secrets=["sk-bench-" + "k" * 40]) if record_to else None
    ws = await open_connection(url, ConnectOptions(api_key="sk-bench-" + "k" * 40, ping_interval=None), writer=writer)
    if busy_us:
        ws.listener = BusyListener(busy_us / 1e6)  # in place of the recording tap: a cost per frame sent
    start, cpu = time.perf_counter(), time.process_time()
    for text in frames:
        await ws.send(text)
    await ws.send("done")
    reply = await ws.recv()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert reply == f"count {len(frames)}", reply
    await ws.close()
    if writer is not None:
        writer.close()
        assert writer.failure is None and writer.records_written >= len(frames) + 2
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one recording round with pyinstrument")
    parser.add_argument("--busy-us", type=float, default=0, help="instead of recording, busy-wait this long per frame")
    args = parser.parse_args()
    frames = [append_event(n) for n in range(args.frames)]
    _common.header(f"loopback: {args.frames} append events of {len(frames[0])} bytes, recording on vs off")
    with _common.Peer("sink") as peer, tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            _common.ensure_package("pyinstrument", "pyinstrument")
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                asyncio.run(stream(peer.url(), frames, Path(tmp) / "profile.jsonl"))
            print(profiler.output_text(unicode=False, color=False))
            return 0
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for round_ in range(args.rounds):
            off.append(asyncio.run(stream(peer.url(), frames, None)))
            if args.busy_us:
                on.append(asyncio.run(stream(peer.url(), frames, None, args.busy_us)))
                continue
            on.append(asyncio.run(stream(peer.url(), frames, Path(tmp) / f"r{round_}.jsonl")))
            (Path(tmp) / f"r{round_}.jsonl").unlink()
    (wall_on, cpu_on), (wall_off, cpu_off) = min(on), min(off)
    rate_on, rate_off = args.frames / wall_on, args.frames / wall_off
    mb = len(frames[0]) * args.frames / 1e6
    per_frame = lambda cpu: f"client CPU {cpu / args.frames * 1e6:.1f} us/frame"  # noqa: E731
    _common.result("recording off", f"{rate_off:,.0f} frames/s ({mb / wall_off:.0f} MB/s), {per_frame(cpu_off)}")
    _common.result(
        f"busy {args.busy_us:g} us/frame" if args.busy_us else "recording on",
        f"{rate_on:,.0f} frames/s ({mb / wall_on:.0f} MB/s), {per_frame(cpu_on)}",
    )
    ratio = rate_on / rate_off
    if args.busy_us:  # an experiment, not the benchmark
        _common.result("busy/off", f"{ratio:.2f} (best of {args.rounds} rounds each, alternating)")
        return 0
    _common.result("on/off", f"{ratio:.2f} (best of {args.rounds} rounds each, alternating)", f">= {TARGET}", ratio >= TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
