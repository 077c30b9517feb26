#!/usr/bin/env python3
"""`rtui proxy`'s CPU per relayed frame: 20 connections, each 1 000 round trips of a 20 ms append
through the proxy (recording, as always) to the echo peer; the proxy's CPU time (user + system, its
threads included) divided by the frames it relayed (each round trip is two). Alternate `--checkout`
runs to compare versions; the figure is less sensitive to a busy machine than a latency percentile.

    .venv/bin/python scripts/bench/proxy_cpu.py [--connections 20] [--round-trips 1000] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from websockets.asyncio.client import connect  # noqa: E402

import _common  # noqa: E402
from loopback import append_event  # noqa: E402
from proxy import free_port, wait_listening  # noqa: E402


async def round_trips(port: int, connections: int, count: int) -> None:
    message = append_event(0)

    async def one() -> None:
        url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
        async with connect(url, max_size=None, ping_interval=None, compression=None, proxy=None) as ws:
            for _ in range(count):
                await ws.send(message)
                await ws.recv()

    await asyncio.gather(*(one() for _ in range(connections)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--round-trips", type=int, default=1000, help="per connection")
    parser.add_argument("--checkout", type=Path, metavar="DIR", help="run the proxy from the tui/ package in DIR")
    args = parser.parse_args()
    _common.header(f"proxy CPU: {args.connections} connections x {args.round_trips} round trips of an append, echoed")
    with _common.Peer("echo") as echo, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proxy = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tui",
                "proxy",
                "--listen",
                f"127.0.0.1:{port}",
                "--upstream",
                echo.url(),
                "--record",
                f"{tmp}/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=args.checkout.resolve() if args.checkout else _common.ROOT,
        )
        try:
            wait_listening(port, proxy)
            before = _common.cpu_seconds(proxy.pid)
            asyncio.run(round_trips(port, args.connections, args.round_trips))
            cpu = _common.cpu_seconds(proxy.pid) - before
        finally:
            _common.stop(proxy, timeout=30)
    frames = 2 * args.connections * args.round_trips
    _common.result("proxy CPU per relayed frame", f"{cpu / frames * 1e6:.1f} µs ({cpu:.2f} s for {frames:,} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
