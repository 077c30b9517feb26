#!/usr/bin/env python3
"""Recorder throughput: audio-sized text frames, each recorded (redacted, serialised, written with
one unbuffered write) as it happens, as `SessionWriter.frame` does for a live session.

The frames are GA `input_audio_buffer.append` events of 20 ms of 24 kHz pcm16 (1 280 base64
characters), with the session's API key registered as a secret, as in a live session. Also shown,
for scale in the same run: the same lines written raw (orjson + write, no recorder), which is the
floor any recorder pays per record.

    .venv/bin/python scripts/bench/recorder.py [--records N] [--chunk-ms 20] [--profile] [--ceiling]

`--ceiling` also writes the same lines as the floor does, with the event type and the redaction's
scans added inline (`_common.event_type_and_redaction_scans`): the least a recorder that keeps both
does per record, with no lock, no listeners, no labels and no reuse of a relayed frame's line.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson  # noqa: E402

import _common  # noqa: E402
from tui.wire.reader import SessionReader  # noqa: E402
from tui.wire.writer import SessionWriter  # noqa: E402

TARGET = 100_000
API_KEY = "sk-bench-" + "k" * 40


def append_event(chunk_ms: int, n: int) -> str:
    pcm = (bytes(range(256)) * 200)[: 24_000 * 2 * chunk_ms // 1000]
    audio = base64.b64encode(pcm).decode()
    return '{"type":"input_audio_buffer.append","event_id":"event_%08d","audio":"%s"}' % (n, audio)


def run_recorder(path: Path, frames: list[str]) -> float:
    writer = SessionWriter(path, mode="live", url="ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime", secrets=[API_KEY])
    start = time.perf_counter()
    for text in frames:
        writer.frame(1, "c2s", text)
    elapsed = time.perf_counter() - start
    writer.close()
    assert writer.failure is None, writer.failure
    return elapsed


def run_raw(path: Path, frames: list[str], *, ceiling: bool = False) -> float:
    """The floor: each record serialised with orjson and written. With `ceiling`, each also gets the
    event type and the redaction's scans, and the fields they add (`size`, `type`)."""
    scans = _common.event_type_and_redaction_scans
    with open(path, "wb", buffering=0) as file:
        start = time.perf_counter()
        for seq, text in enumerate(frames, 1):
            record = {
                "seq": seq,
                "t_ns": time.monotonic_ns(),
                "conn": 1,
                "kind": "frame",
                "dir": "c2s",
                "opcode": "text",
                "text": text,
            }
            if ceiling:
                record["size"] = len(text)
                record["type"] = scans(text, API_KEY)
            file.write(orjson.dumps(record) + b"\n")
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--chunk-ms", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds (default %(default)s)")
    parser.add_argument("--profile", action="store_true", help="profile the recorder with pyinstrument instead")
    parser.add_argument("--ceiling", action="store_true", help="also time the floor plus the type and the redaction's scans")
    args = parser.parse_args()

    frames = [append_event(args.chunk_ms, n) for n in range(args.records)]
    _common.header(f"recorder: {args.records} audio frames of {args.chunk_ms} ms ({len(frames[0])} bytes each)")
    with tempfile.TemporaryDirectory(dir=_common.ROOT / "sessions" if (_common.ROOT / "sessions").is_dir() else None) as tmp:
        if args.profile:
            _common.ensure_package("pyinstrument", "pyinstrument")
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            run_recorder(Path(tmp) / "profile.jsonl", frames)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
            return 0
        best_rec = best_raw = best_ceiling = float("inf")
        for round_ in range(args.rounds):
            path = Path(tmp) / f"rec{round_}.jsonl"
            best_rec = min(best_rec, run_recorder(path, frames))
            # Each peer's file goes once timed, so that no run writes behind another's dirty pages.
            best_raw = min(best_raw, run_raw(Path(tmp) / "raw.jsonl", frames))
            os.remove(Path(tmp) / "raw.jsonl")
            if args.ceiling:
                best_ceiling = min(best_ceiling, run_raw(Path(tmp) / "ceiling.jsonl", frames, ceiling=True))
                os.remove(Path(tmp) / "ceiling.jsonl")
            with SessionReader(path) as reader:
                count = sum(1 for _ in reader)
            assert count == args.records and not reader.problems, (count, reader.problems[:3])
            size = path.stat().st_size
            os.remove(path)
        rate = args.records / best_rec
        raw_rate = args.records / best_raw
        _common.result(
            "recorder",
            f"{rate:,.0f} records/s ({size / args.records:,.0f} bytes/record, best of {args.rounds})",
            f">= {TARGET:,}",
            rate >= TARGET,
        )
        _common.result("raw orjson+write, same lines (floor)", f"{raw_rate:,.0f} records/s; recorder/raw = {rate / raw_rate:.2f}")
        if args.ceiling:
            ceiling_rate = args.records / best_ceiling
            ceiling = f"{ceiling_rate:,.0f} records/s; /raw = {ceiling_rate / raw_rate:.2f}"
            _common.result("ceiling: floor + type and redaction scans", ceiling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
