#!/usr/bin/env python3
"""Loopback stream throughput at full speed, recording on vs off.

rtui's recording client (`tui.wire.client.open_connection`) streams audio-sized GA
`input_audio_buffer.append` events as fast as the socket takes them to a counting server in another
process on 127.0.0.1, first with a `SessionWriter` recording every frame to a file, then without;
rounds alternate so both see the same machine. The figure is the ratio of the two rates.

    .venv/bin/python scripts/bench/loopback.py [--frames N] [--rounds R] [--profile] [--busy-us US] [--ceiling]

`--busy-us US` replaces the recorder by US microseconds of busy waiting per frame sent, to show how
the stream's rate answers a given per-frame cost in the client.

`--ceiling` adds, in the same alternating rounds, two stand-ins for the least a recorder of rtui's
format can do on the sending thread: each frame's line formatted in one step and written 64 KiB at a
time, without and then with the event type and the redaction's scans (nothing else: no lock, no
listeners, no labels). Their ratios bound what any in-process recorder can reach here. A third moves
rtui's writer to another process, the sending thread only handing it the frames through a pipe: what
recording out of process would reach on the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402

import _common  # noqa: E402
from tui.wire.client import ConnectOptions, open_connection  # noqa: E402
from tui.wire.writer import SessionWriter  # noqa: E402

TARGET = 0.7
API_KEY = "sk-bench-" + "k" * 40
# tui.wire.writer.TURN_WRITE_LIMIT, written out so that `PYTHONPATH=OLD` can measure older checkouts.
TURN_WRITE_LIMIT = 64 * 1024


def append_event(n: int, chunk_ms: int = 20) -> str:
    pcm = (bytes(range(256)) * 200)[: 48 * chunk_ms]
    return '{"type":"input_audio_buffer.append","event_id":"event_%08d","audio":"%s"}' % (n, base64.b64encode(pcm).decode())


class SentFramesListener:
    """A pump listener (tui.wire.pump.FrameListener) in place of the recording tap, for frames sent."""

    def frame_sent(self, frame: Frame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def frame_received(self, frame: object) -> None:
        pass

    def handshake_request(self, request: object) -> None:
        pass

    def handshake_response(self, response: object) -> None:
        pass

    def ended(self, pump: object, exc: object) -> None:
        pass


class BusyListener(SentFramesListener):
    """Busy-waits a fixed time per frame sent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def frame_sent(self, frame: Frame) -> None:
        until = time.perf_counter() + self.seconds
        while time.perf_counter() < until:
            pass


# A frame record as rtui writes it, from `seq` to `type`.
_LINE = b'{"seq":%d,"t_ns":%d,"conn":1,"kind":"frame","dir":"c2s","opcode":"text","text":%s,"size":%d,"type":%s}\n'


class CeilingRecorder(SentFramesListener):
    """The least a recorder of rtui's format does per frame sent: the line formatted in one step,
    lines written TURN_WRITE_LIMIT bytes at a time; with `checks`, also the event type and the
    redaction's scans (`_common.event_type_and_redaction_scans`)."""

    def __init__(self, path: Path, checks: bool) -> None:
        self.file = open(path, "xb", buffering=0)
        self.checks = checks
        self.held: list[bytes] = []
        self.held_bytes = 0
        self.seq = 0
        self.start_ns = time.monotonic_ns()

    def frame_sent(self, frame: Frame) -> None:
        if frame.opcode is not Opcode.TEXT:
            return
        text = frame.data.decode()
        event_type = _common.event_type_and_redaction_scans(text, API_KEY) if self.checks else None
        self.seq += 1
        t_ns = time.monotonic_ns() - self.start_ns
        line = _LINE % (self.seq, t_ns, orjson.dumps(text), len(text), orjson.dumps(event_type))
        self.held.append(line)
        self.held_bytes += len(line)
        if self.held_bytes >= TURN_WRITE_LIMIT:
            self.write()

    def write(self) -> None:
        self.file.write(b"".join(self.held))
        self.held, self.held_bytes = [], 0

    def close(self) -> None:
        self.write()
        self.file.close()


# OtherProcessRecorder's child: rtui's writer, recording the batches of frames it reads on stdin.
_RECORDER_PROCESS = """
import pickle, struct, sys
from tui.wire.writer import SessionWriter
writer = SessionWriter(sys.argv[1], mode="live", url="ws://127.0.0.1/", secrets=[sys.argv[2]])
writer.hold()
conn = writer.new_conn()
print("ready", flush=True)
while len(size := sys.stdin.buffer.read(4)) == 4:
    for data in pickle.loads(sys.stdin.buffer.read(struct.unpack("<I", size)[0])):
        writer.frame(conn, "c2s", data, opcode="text")
    writer.flush()
writer.close()
"""


class OtherProcessRecorder(SentFramesListener):
    """rtui's writer in a process of its own: the sending thread only hands the frames over a pipe,
    pickled TURN_WRITE_LIMIT bytes at a time, and the other process types, redacts, serialises and
    writes them. The pipe's back-pressure keeps the sender within two batches of the recorder."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _RECORDER_PROCESS, str(path), API_KEY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        assert self.process.stdout.readline() == b"ready\n"  # started before the stream is timed
        self.pipe = self.process.stdin
        self.held: list[bytes] = []
        self.held_bytes = 0

    def frame_sent(self, frame: Frame) -> None:
        if frame.opcode is Opcode.TEXT:
            self.held.append(frame.data)
            self.held_bytes += len(frame.data)
            if self.held_bytes >= TURN_WRITE_LIMIT:
                self.hand_over()

    def hand_over(self) -> None:
        batch = pickle.dumps(self.held, protocol=pickle.HIGHEST_PROTOCOL)
        self.pipe.write(struct.pack("<I", len(batch)) + batch)
        self.pipe.flush()
        self.held, self.held_bytes = [], 0

    def close(self) -> None:
        if self.held:
            self.hand_over()
        self.pipe.close()
        assert self.process.wait() == 0


async def stream(
    url: str, frames: list[str], record_to: Path | None, listener: SentFramesListener | None = None
) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) to stream `frames` and get the server's count back,
    recording to `record_to` with rtui's writer, or with `listener` in place of it."""
    writer = SessionWriter(record_to, mode="live", url=url, secrets=[API_KEY]) if record_to else None
    ws = await open_connection(url, ConnectOptions(api_key=API_KEY, ping_interval=None), writer=writer)
    if listener is not None:
        ws.listener = listener
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
    if listener is not None:
        listener.close()
    return elapsed, cpu


def rate(runs: list[tuple[float, float]], frames: int) -> tuple[float, float]:
    """(frames/s, client CPU µs per frame) of the best run."""
    wall, cpu = min(runs)
    return frames / wall, cpu / frames * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one recording round with pyinstrument")
    parser.add_argument("--busy-us", type=float, default=0, help="instead of recording, busy-wait this long per frame")
    parser.add_argument("--ceiling", action="store_true", help="also run the two stand-ins for the least a recorder does")
    args = parser.parse_args()
    frames = [append_event(n) for n in range(args.frames)]
    _common.header(f"loopback: {args.frames} append events of {len(frames[0])} bytes, recording on vs off")
    runs: dict[str, list[tuple[float, float]]] = {}
    with _common.Peer("sink") as peer, tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            _common.ensure_package("pyinstrument", "pyinstrument")
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                asyncio.run(stream(peer.url(), frames, Path(tmp) / "profile.jsonl"))
            print(profiler.output_text(unicode=False, color=False))
            return 0
        for round_ in range(args.rounds):
            runs.setdefault("recording off", []).append(asyncio.run(stream(peer.url(), frames, None)))
            path = Path(tmp) / f"r{round_}.jsonl"
            if args.busy_us:
                on = asyncio.run(stream(peer.url(), frames, None, BusyListener(args.busy_us / 1e6)))
                runs.setdefault(f"busy {args.busy_us:g} us/frame", []).append(on)
                continue
            runs.setdefault("recording on", []).append(asyncio.run(stream(peer.url(), frames, path)))
            path.unlink()
            if args.ceiling:
                for name, checks in (("ceiling: serialise and write", False), ("ceiling: + type and redaction scans", True)):
                    runs.setdefault(name, []).append(asyncio.run(stream(peer.url(), frames, None, CeilingRecorder(path, checks))))
                    path.unlink()
                other = OtherProcessRecorder(path)
                runs.setdefault("rtui's writer in another process", []).append(
                    asyncio.run(stream(peer.url(), frames, None, other))
                )
                with open(path, "rb") as recorded:
                    assert sum(b'"kind":"frame"' in line for line in recorded) == args.frames + 1  # and "done"
                path.unlink()
    mb = len(frames[0]) * args.frames / 1e6
    rate_off = rate(runs["recording off"], args.frames)[0]
    for name, name_runs in runs.items():
        frames_per_s, cpu_us = rate(name_runs, args.frames)
        ratio = "" if name == "recording off" else f"; /off {frames_per_s / rate_off:.2f}"
        throughput = f"{frames_per_s:,.0f} frames/s ({mb * frames_per_s / args.frames:.0f} MB/s)"
        _common.result(name, f"{throughput}, client CPU {cpu_us:.1f} us/frame{ratio}")
    if "recording on" in runs:
        ratio = rate(runs["recording on"], args.frames)[0] / rate_off
        _common.result("on/off", f"{ratio:.2f} (best of {args.rounds} rounds each, alternating)", f">= {TARGET}", ratio >= TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
