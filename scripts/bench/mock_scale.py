#!/usr/bin/env python3
"""Mock scale: how many concurrent real-time audio sessions, with server VAD on every one, the mock
(`rtui mock`, its own process) sustains on this machine without falling behind.

Each session streams 20 ms appends paced in real time: 1.5 s of a loud tone, then 1.5 s of
silence, over and over, so the mock's VAD starts and stops speech every 3 s and answers each turn
with its spoken response (real-time audio deltas; the next turn barges in). The client side is one
lightweight asyncio process (pre-encoded frames, plain `websockets`) sharing the same 2 cores.

Falling behind is measured where the mock shows it: a `speech_stopped` can only be decided once the
chunk holding its `audio_end_ms` (the end of speech plus the silence duration) has arrived; its
lag is the time from sending that chunk to receiving the event. A session keeps up when its worst lag stays under
`--max-lag-ms` and its connection stays open. Sessions are ramped up step by step.

    .venv/bin/python scripts/bench/mock_scale.py [--sessions 25,50,100,150] [--seconds 20]
        [--workers N] [--record] [--checkout DIR] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import orjson  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

import _common  # noqa: E402

TARGET = 100
CHUNK_MS = 20
PATTERN_S = 3.0


def chunks() -> list[str]:
    """One pattern period of append frames: 1.5 s of a -12 dBFS tone, 1.5 s of silence."""
    rate = 24_000
    t = np.arange(int(rate * PATTERN_S)) / rate
    samples = np.where(t < PATTERN_S / 2, 0.25 * np.sin(2 * math.pi * 440 * t), 0.0)
    pcm = (samples * 32767).astype("<i2").tobytes()
    step = rate * 2 * CHUNK_MS // 1000
    return [
        '{"type":"input_audio_buffer.append","audio":"%s"}' % base64.b64encode(pcm[i : i + step]).decode()
        for i in range(0, len(pcm), step)
    ]


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children (the workers of `rtui mock --workers`)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _common.cpu_seconds(pid) + sum(tree_cpu_seconds(int(child)) for child in children)


class Session:
    def __init__(self, url: str, frames: list[str], seconds: float) -> None:
        self.url, self.frames, self.seconds = url, frames, seconds
        self.sent_at: list[float] = []
        self.lags_ms: list[float] = []
        self.stops = 0
        self.responses = 0
        self.error: str | None = None

    async def run(self, start_at: float) -> None:
        try:
            async with connect(self.url, max_size=None, ping_interval=None, compression=None, proxy=None) as ws:
                receiver = asyncio.create_task(self.receive(ws))
                await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
                begin = time.perf_counter()
                count = int(self.seconds * 1000 / CHUNK_MS)
                for k in range(count):
                    due = begin + k * CHUNK_MS / 1000
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    self.sent_at.append(time.perf_counter())
                    await ws.send(self.frames[k % len(self.frames)])
                await asyncio.sleep(0.5)
                receiver.cancel()
        except Exception as exc:  # a closed or refused session is a session that did not keep up
            self.error = f"{type(exc).__name__}: {exc}"

    async def receive(self, ws) -> None:
        async for message in ws:
            now = time.perf_counter()
            event = orjson.loads(message)
            kind = event.get("type")
            if kind == "input_audio_buffer.speech_stopped":
                # The mock reports the end where it decided (speech end + silence duration).
                needed = math.ceil(event["audio_end_ms"] / CHUNK_MS) - 1
                if 0 <= needed < len(self.sent_at):
                    self.lags_ms.append((now - self.sent_at[needed]) * 1000)
                    self.stops += 1
            elif kind == "response.done":
                self.responses += 1
            elif kind == "error":
                self.error = self.error or f"error event: {event.get('error', {}).get('code')}"


async def step(url: str, frames: list[str], count: int, seconds: float) -> list[Session]:
    sessions = [Session(url, frames, seconds) for _ in range(count)]
    start = time.perf_counter() + 1.0
    # Stagger the sessions over one chunk period, as independent clients would be.
    await asyncio.gather(*(s.run(start + i * CHUNK_MS / 1000 / count) for i, s in enumerate(sessions)))
    return sessions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=lambda s: [int(x) for x in s.split(",")], default=[25, 50, 100, 150])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-lag-ms", type=float, default=500.0)
    parser.add_argument("--workers", type=int, default=1, help="rtui mock --workers N (default 1: one process)")
    parser.add_argument(
        "--record",
        action="store_true",
        help="run the mock with --record (every frame of every connection written to a temporary directory, "
        "removed afterwards); by default the mock records nothing, as `rtui mock` does",
    )
    parser.add_argument("--profile", type=Path, metavar="FILE", help="run the mock under pyinstrument, report to FILE")
    parser.add_argument(
        "--checkout",
        type=Path,
        metavar="DIR",
        help="run the mock from the tui/ package in DIR (for example `git archive COMMIT tui | tar -x -C DIR`), "
        "to compare another version in the same conditions",
    )
    args = parser.parse_args()
    if args.profile and args.workers != 1:
        parser.error("--profile profiles one mock process: use it without --workers")
    _common.header(
        f"mock scale: real-time audio sessions with server VAD, {args.seconds:g} s per step, "
        f"mock in {args.workers} process{'es' if args.workers > 1 else ''}{', recording' if args.record else ''}"
    )
    command = [str(_common.ROOT / ".venv/bin/rtui"), "mock", "--port", "0"]
    if args.workers != 1:
        command += ["--workers", str(args.workers)]
    record_dir = tempfile.TemporaryDirectory(prefix="mock-scale-") if args.record else None
    if record_dir is not None:
        command += ["--record", record_dir.name]
    if args.profile:
        _common.ensure_package("pyinstrument", "pyinstrument")
        command = [sys.executable, "-m", "pyinstrument", "--no-color", "-o", str(args.profile), *command]
    env = dict(os.environ, PYTHONPATH=str(args.checkout.resolve())) if args.checkout else None
    if args.checkout:
        print(f"   mock from {args.checkout}/tui")
    mock = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert mock.stdout is not None
        line = mock.stdout.readline()
        base = line.split("listening on ", 1)[1].strip()
        url = base + "?model=gpt-realtime"
        frames = chunks()
        best = 0
        for count in args.sessions:
            cpu0, client0 = tree_cpu_seconds(mock.pid), time.process_time()
            wall0 = time.perf_counter()
            sessions = asyncio.run(step(url, frames, count, args.seconds))
            wall = time.perf_counter() - wall0
            mock_cpu = (tree_cpu_seconds(mock.pid) - cpu0) / wall
            client_cpu = (time.process_time() - client0) / wall
            lags = [lag for s in sessions for lag in s.lags_ms]
            behind = [s for s in sessions if s.error or not s.lags_ms or max(s.lags_ms) > args.max_lag_ms]
            # A turn's speech_stopped comes 1.7 s into each 3 s period (1.5 s of tone + 200 ms of silence).
            expected_turns = int((args.seconds - 1.7) // PATTERN_S) + 1
            if not behind:
                best = count
            _common.result(
                f"{count} sessions",
                f"speech_stopped lag p50 {_common.percentile(lags, 50):.0f} ms, p99 {_common.percentile(lags, 99):.0f} ms, "
                f"max {max(lags, default=float('nan')):.0f} ms; turns {sum(s.stops for s in sessions)}/{count * expected_turns}, "
                f"responses {sum(s.responses for s in sessions)}; CPU mock {mock_cpu:.2f}, clients {client_cpu:.2f} cores; "
                f"behind: {len(behind)}" + (f" (first: {behind[0].error or 'lag'})" if behind else ""),
            )
        _common.result("most concurrent sessions with none behind", str(best), f">= {TARGET}", best >= TARGET)
    finally:
        _common.stop(mock, timeout=30)
        if record_dir is not None:
            size = sum(f.stat().st_size for f in Path(record_dir.name).iterdir())
            print(f"   recorded {size / 1e6:.0f} MB")
            record_dir.cleanup()
    if args.profile:
        print(f"   profile of the mock: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
