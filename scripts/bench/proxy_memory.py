#!/usr/bin/env python3
"""`rtui proxy`'s memory with large frames: its resident memory (RSS) idle, its peak (VmHWM) and its
RSS after a frame just under the limit (relayed and echoed, 15 MiB by default) and after a frame far
over it (300 MB by default, refused with 1009 as its header arrives).

The echo server (scripts/bench/_servers.py) and `rtui proxy` (recording to a temporary directory) are
their own processes on 127.0.0.1; the client is this process.

    .venv/bin/python scripts/bench/proxy_memory.py [--under-mib 15] [--over-mb 300]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

import _common  # noqa: E402
from proxy import free_port, wait_listening  # noqa: E402


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def stream_oversized(port: int, size: int) -> str:
    """Streams one binary frame of `size` bytes as a client would (a header, then the payload in
    1 MiB writes, never all in memory here) and returns how the relay answered."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(4096)
        assert response.startswith(b"HTTP/1.1 101"), response
        sock.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, size) + bytes(4))  # masked with a zero key
        chunk, sent = bytes(2**20), 0
        try:
            while sent < size:
                sent += sock.send(chunk[: size - sent])
        except OSError:
            pass  # the relay closed the connection: the rest is not wanted
        reply = sock.recv(4096)
    if len(reply) >= 4 and reply[0] == 0x88:
        return f"closed {struct.unpack('!H', reply[2:4])[0]} after {sent / 1e6:,.0f} MB were sent"
    return f"no close frame after {sent / 1e6:,.0f} MB were sent"


async def send_one(url: str, payload: bytes) -> str:
    async with connect(url, max_size=None, ping_interval=None, compression=None, proxy=None) as ws:
        await ws.send(payload)
        try:
            echoed = await ws.recv()
            return f"echoed {len(echoed):,} bytes"
        except ConnectionClosed as exc:
            return f"closed {exc.rcvd.code if exc.rcvd else 1006}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--under-mib", type=float, default=15.0, help="a frame under the 16 MiB limit (default 15 MiB)")
    parser.add_argument("--over-mb", type=float, default=300.0, help="a frame over it (default 300 MB)")
    args = parser.parse_args()
    _common.header("proxy memory: large frames through rtui proxy (max_size 16 MiB)")
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
            cwd=_common.ROOT,
        )
        try:
            wait_listening(port, proxy)
            url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
            asyncio.run(send_one(url, b"warm-up"))
            idle, _ = memory_mb(proxy.pid)
            _common.result("proxy RSS idle", f"{idle:.0f} MB")
            under = int(args.under_mib * 2**20)
            outcome = asyncio.run(send_one(url, bytes(under)))
            time.sleep(0.5)
            rss, peak = memory_mb(proxy.pid)
            _common.result(
                f"{under / 1e6:,.1f} MB frame (under the limit)", f"{outcome}; proxy RSS after {rss:.0f} MB, peak {peak:.0f} MB"
            )
            over = int(args.over_mb * 1e6)
            outcome = stream_oversized(port, over)
            time.sleep(0.5)
            rss, later_peak = memory_mb(proxy.pid)
            _common.result(
                f"{over / 1e6:,.0f} MB frame (over the limit)",
                f"{outcome}; proxy RSS after {rss:.0f} MB, peak {later_peak:.0f} MB"
                + (" (unchanged)" if later_peak == peak else f" (from {peak:.0f})"),
            )
        finally:
            _common.stop(proxy, timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
