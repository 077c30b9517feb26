#!/usr/bin/env python3
"""`rtui export --har` and `--wav` of recordings with many connections: time per connection.

A recording with N connections one after another (each: handshake, session.created, an audio
append, a delta, a response.done, both close frames and its end; 10 records) is written for each N,
then `rtui export FILE --har OUT --wav DIR` runs in a child process, whose wall and CPU time (wait4)
are the figures. Linear means the time per connection stays flat as N grows. `--checkout DIR`
exports with the `tui` package of another checkout (e.g. `git archive HEAD~3 tui | tar -x -C DIR`),
for a side-by-side comparison.

    .venv/bin/python scripts/bench/export.py [--connections 1000,5000,10000] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson  # noqa: E402

import _common  # noqa: E402
from tui.wire.format import SCHEMA  # noqa: E402

URL = "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime"
PCM = base64.b64encode(b"\x01\x00" * 480).decode()  # 20 ms at 24 kHz


def _frame(seq: int, t_ns: int, conn: int, direction: str, event: dict) -> dict:
    text = orjson.dumps(event).decode()
    return {
        "seq": seq,
        "t_ns": t_ns,
        "conn": conn,
        "kind": "frame",
        "dir": direction,
        "opcode": "text",
        "text": text,
        "size": len(text),
        "type": event["type"],
    }


def generate(path: Path, connections: int) -> int:
    """Writes the recording; returns its size in bytes."""
    seq, t_ns = 0, 0
    with open(path, "wb") as out:
        out.write(
            orjson.dumps(
                {
                    "kind": "header",
                    "schema": SCHEMA,
                    "tool": "rtui",
                    "version": "bench",
                    "started_at": "2026-11-22T03:00:00+00:00",
                    "url": URL,
                    "mode": "live",
                }
            )
            + b"\n"
        )
        for conn in range(1, connections + 1):
            records = [
                {
                    "kind": "handshake_request",
                    "dir": "c2s",
                    "url": URL,
                    "path": "/v1/realtime?model=gpt-realtime",
                    "headers": [["Host", "127.0.0.1:8765"], ["Authorization", "Bearer [redacted]"]],
                    "subprotocols": [],
                },
                {
                    "kind": "handshake_response",
                    "dir": "s2c",
                    "status": 101,
                    "reason": "Switching Protocols",
                    "headers": [],
                    "subprotocol": None,
                    "extensions": [],
                },
                ("s2c", {"type": "session.created", "session": {"type": "realtime", "id": f"sess_{conn}"}}),
                ("c2s", {"type": "input_audio_buffer.append", "audio": PCM}),
                ("s2c", {"type": "response.output_audio.delta", "response_id": "resp_1", "item_id": "item_1", "delta": PCM}),
                ("s2c", {"type": "response.done", "response": {"id": "resp_1", "status": "completed"}}),
                {"kind": "close", "dir": "c2s", "code": 1000, "reason": "", "by": "client", "first": True},
                {"kind": "close", "dir": "s2c", "code": 1000, "reason": "", "by": "server", "first": False},
                {
                    "kind": "end",
                    "dir": "local",
                    "code": 1000,
                    "reason": "",
                    "closed_by": "client",
                    "clean": True,
                    "close_sent": {"code": 1000, "reason": ""},
                    "close_rcvd": {"code": 1000, "reason": ""},
                    "side": "client",
                },
            ]
            for record in records:
                seq += 1
                t_ns += 2_000_000
                if isinstance(record, tuple):
                    line = _frame(seq, t_ns, conn, *record)
                else:
                    line = {"seq": seq, "t_ns": t_ns, "conn": conn, **record}
                out.write(orjson.dumps(line) + b"\n")
    return path.stat().st_size


def export(path: Path, work: Path, checkout: Path | None) -> tuple[float, float]:
    """Wall and CPU seconds of `rtui export` in a child."""
    env = dict(os.environ)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    command = [
        str(_common.VENV_PYTHON),
        "-m",
        "tui",
        "export",
        str(path),
        "--har",
        str(work / "out.har"),
        "--wav",
        str(work / "wav"),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=checkout or _common.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"rtui export failed ({child.returncode}): {child.stderr.read().decode() if child.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", default="1000,5000,10000", help="comma-separated connection counts")
    parser.add_argument("--checkout", type=Path, help="export with the tui package of this directory")
    args = parser.parse_args()
    _common.header("rtui export (HAR and WAV) of recordings with many connections")
    if args.checkout:
        print(f"   tui package: {args.checkout}")
    with tempfile.TemporaryDirectory(prefix="rtui-bench-export-") as tmp:
        work = Path(tmp)
        for count in (int(n) for n in args.connections.split(",")):
            path = work / f"conns-{count}.jsonl"
            size = generate(path, count)
            wall, cpu = export(path, work, args.checkout)
            _common.result(
                f"{count:>6} connections ({size / 2**20:.1f} MB)",
                f"{wall:.2f} s wall, {cpu:.2f} s CPU, {cpu / count * 1e6:.0f} µs CPU per connection",
            )
            path.unlink()


if __name__ == "__main__":
    main()
