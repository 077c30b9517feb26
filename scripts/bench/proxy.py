#!/usr/bin/env python3
"""`rtui proxy` on loopback: added latency (p50/p99) and throughput, against a direct connection and
against mitmproxy's `mitmdump` relaying the same stream.

Every peer is its own process on 127.0.0.1: an echo server and a counting sink (scripts/bench/
_servers.py), `rtui proxy` in front of each (recording both legs to a temporary directory, as it
always does), and `mitmdump --mode reverse:` in front of each. mitmproxy is bench-only: it is installed
from PyPI into its own virtual environment (default /tmp/rtui-bench-mitm) when missing.

Latency: sequential round trips of a 20 ms audio append through the echo server, one connection per
path, the paths interleaved round trip by round trip; "added" is the percentile of (relayed round
trip - the direct round trip taken just before it). It counts both directions through the relay,
so it is an upper bound on the one-way added latency.
Throughput: append events streamed as fast as the socket takes them to the sink; frames/s.

    .venv/bin/python scripts/bench/proxy.py [--round-trips N] [--frames N] [--mitm-venv DIR] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from websockets.asyncio.client import connect  # noqa: E402

import _common  # noqa: E402
from loopback import append_event  # noqa: E402

LATENCY_TARGET_MS = 1.0
THROUGHPUT_TARGET = 5.0
PATH = "/v1/realtime?model=gpt-realtime"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def start_rtui_proxy(upstream_port: int, record_dir: Path, profile_to: Path | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        str(_common.ROOT / ".venv/bin/rtui"),
        "proxy",
        "--listen",
        f"127.0.0.1:{port}",
        "--upstream",
        f"ws://127.0.0.1:{upstream_port}{PATH}",
        "--record",
        f"{record_dir}/",
    ]
    if profile_to is not None:
        _common.ensure_package("pyinstrument", "pyinstrument")
        command = [sys.executable, "-m", "pyinstrument", "--no-color", "-o", str(profile_to), *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, process)
    return process, port


def start_mitmdump(mitmdump: Path, upstream_port: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(mitmdump),
            "-q",
            "--mode",
            f"reverse:http://127.0.0.1:{upstream_port}",
            "--listen-host",
            "127.0.0.1",
            "--listen-port",
            str(port),
            "--set",
            "connection_strategy=lazy",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port, process)
    return process, port


def ensure_mitmdump(venv: Path) -> Path:
    mitmdump = venv / "bin" / "mitmdump"
    if not mitmdump.exists():
        print(f"   (installing bench-only mitmproxy into {venv})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "mitmproxy"], check=True)
    return mitmdump


async def round_trips(ports: dict[str, int], count: int, message: str) -> dict[str, list[float]]:
    """Round trips on one connection per path, interleaved: direct, then each relay, `count` times,
    so the paired round trips see the same moment of a noisy machine."""
    connections = {
        name: await connect(f"ws://127.0.0.1:{port}{PATH}", max_size=None, ping_interval=None, compression=None, proxy=None)
        for name, port in ports.items()
    }
    times: dict[str, list[float]] = {name: [] for name in ports}
    try:
        for index in range(count + 20):
            for name, ws in connections.items():
                start = time.perf_counter_ns()
                await ws.send(message)
                await ws.recv()
                if index >= 20:  # warm-up round trips are not counted
                    times[name].append((time.perf_counter_ns() - start) / 1e6)
    finally:
        for ws in connections.values():
            await ws.close()
    return times


async def stream(port: int, frames: list[str]) -> float:
    async with connect(f"ws://127.0.0.1:{port}{PATH}", max_size=None, ping_interval=None, compression=None, proxy=None) as ws:
        start = time.perf_counter()
        for text in frames:
            await ws.send(text)
        await ws.send("done")
        reply = await ws.recv()
        assert reply == f"count {len(frames)}", reply
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--round-trips", type=int, default=3000)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mitm-venv", type=Path, default=Path("/tmp/rtui-bench-mitm"))
    parser.add_argument("--no-mitm", action="store_true", help="skip the mitmdump comparison")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="run the throughput proxy under pyinstrument, report to FILE"
    )
    args = parser.parse_args()
    message = append_event(0)
    frames = [append_event(n) for n in range(args.frames)]
    _common.header(f"proxy: {args.round_trips} round trips and {args.frames} streamed frames of {len(message)} bytes")
    mitmdump = None if args.no_mitm else ensure_mitmdump(args.mitm_venv)
    processes: list[subprocess.Popen] = []
    with _common.Peer("echo") as echo, _common.Peer("sink") as sink, tempfile.TemporaryDirectory() as tmp:
        try:
            p, rtui_echo = start_rtui_proxy(echo.port, Path(tmp))
            processes.append(p)
            p, rtui_sink = start_rtui_proxy(sink.port, Path(tmp), args.profile)
            processes.append(p)
            paths = {"direct": (echo.port, sink.port), "rtui proxy": (rtui_echo, rtui_sink)}
            if mitmdump is not None:
                p, mitm_echo = start_mitmdump(mitmdump, echo.port)
                processes.append(p)
                p, mitm_sink = start_mitmdump(mitmdump, sink.port)
                processes.append(p)
                paths["mitmdump"] = (mitm_echo, mitm_sink)

            latencies = asyncio.run(
                round_trips({name: echo_port for name, (echo_port, _) in paths.items()}, args.round_trips, message)
            )
            best: dict[str, float] = {name: float("inf") for name in paths}
            for _ in range(args.rounds):
                for name, (_, sink_port) in paths.items():
                    best[name] = min(best[name], asyncio.run(stream(sink_port, frames)))
        finally:
            for p in processes:
                _common.stop(p, timeout=30)
        recordings = list(Path(tmp).glob("*.jsonl"))

    for name, values in latencies.items():
        p50, p99 = _common.percentile(values, 50), _common.percentile(values, 99)
        _common.result(f"round trip {name}", f"p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(values)} round trips)")
    for name in latencies:
        if name == "direct":
            continue
        # Each relayed round trip minus the direct one taken just before it.
        added = [relayed - direct for relayed, direct in zip(latencies[name], latencies["direct"], strict=False)]
        added50, added99 = _common.percentile(added, 50), _common.percentile(added, 99)
        is_rtui = name == "rtui proxy"
        _common.result(
            f"added by {name}",
            f"p50 {added50:.3f} ms, p99 {added99:.3f} ms",
            f"<= {LATENCY_TARGET_MS} ms p99" if is_rtui else None,
            added99 <= LATENCY_TARGET_MS if is_rtui else None,
        )
    rates = {name: args.frames / seconds for name, seconds in best.items()}
    for name, rate in rates.items():
        _common.result(
            f"throughput {name}", f"{rate:,.0f} frames/s ({rate * len(message) / 1e6:.1f} MB/s, best of {args.rounds})"
        )
    if "mitmdump" in rates:
        ratio = rates["rtui proxy"] / rates["mitmdump"]
        _common.result(
            "rtui proxy (recording) / mitmdump", f"{ratio:.1f}x", f">= {THROUGHPUT_TARGET}x", ratio >= THROUGHPUT_TARGET
        )
    _common.result("rtui proxy / direct", f"{rates['rtui proxy'] / rates['direct']:.2f}")
    _common.result("recordings written by rtui proxy", str(len(recordings)))
    if args.profile:
        print(f"   profile of the throughput relay: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
