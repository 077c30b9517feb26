#!/usr/bin/env python3
"""`rtui proxy` under load: the ping round trip it adds with N concurrent voice sessions.

The upstream is `rtui mock` (its own process), or with `--upstream voice` a cheap stand-in with the
same traffic shape (_servers.py voice: no VAD, so the upstream takes little CPU and the figure is the
relay's rather than the upstream's). `rtui proxy` (its own process, recording every frame
of every session to a temporary directory, as it always does) sits in front of it. One client process
runs N sessions through the proxy and D sessions (`--direct`, default 20) straight to the upstream at
the same time, started interleaved, so both paths see the same moment of the same machine and the
same upstream under the same load (D < N keeps the upstream's own load close to N sessions: `rtui
mock` carries 100 real-time VAD sessions in about 0.6 of a core, not 200 on a shared 2-core box).
Every session streams speech-like
audio in real time (mock_scale.py's pattern: 20 ms appends, 1.5 s of tone, 1.5 s of silence, so the
mock's VAD answers every 3 s with real-time audio deltas) and sends 5 pings a second; the round trip
of each ping (through the relay: client -> relay -> mock's pong -> relay -> client) is measured, the
first seconds (ramp-up) left out. "added" is the relayed percentile minus the direct one.

`--isolate` keeps the load off the relay's CPU, as a load test does when it can: the clients and the
upstream run on CPU 0, the relay (all its workers) on the other CPUs. Without it the three programs
share every core, and the relay waits behind the clients and the upstream whenever they are busy at
the same moment it is (BENCHMARKS.md: that wait, not the relay's own work, sets the tail here).

    .venv/bin/python scripts/bench/proxy_scale.py [--sessions 100] [--direct 20] [--seconds 20] [--upstream mock|voice]
        [--mock-workers 1] [--proxy-workers 1] [--isolate] [--profile FILE] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from websockets.asyncio.client import connect  # noqa: E402

import _common  # noqa: E402
from mock_scale import CHUNK_MS, chunks, tree_cpu_seconds  # noqa: E402
from proxy import free_port, wait_listening  # noqa: E402

TARGET_ADDED_P99_MS = 5.0
PINGS_PER_S = 5
WARM_UP_S = 3.0


class Session:
    def __init__(self, url: str, frames: list[str], seconds: float) -> None:
        self.url, self.frames, self.seconds = url, frames, seconds
        self.rtts_ms: list[float] = []
        self.frames_relayed = 0  # data frames sent and received
        self.error: str | None = None

    async def run(self, start_at: float) -> None:
        try:
            async with connect(self.url, max_size=None, ping_interval=None, compression=None, proxy=None) as ws:
                drain = asyncio.create_task(self.drain(ws))
                await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
                pinger = asyncio.create_task(self.ping(ws, time.perf_counter()))
                begin = time.perf_counter()
                for k in range(int(self.seconds * 1000 / CHUNK_MS)):
                    delay = begin + k * CHUNK_MS / 1000 - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await ws.send(self.frames[k % len(self.frames)])
                    self.frames_relayed += 1
                pinger.cancel()
                drain.cancel()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    async def ping(self, ws, begin: float) -> None:
        period = 1 / PINGS_PER_S
        k = 0
        while True:
            k += 1
            delay = begin + k * period - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            rtt = await (await ws.ping())
            if sent - begin >= WARM_UP_S:
                self.rtts_ms.append(rtt * 1000)

    async def drain(self, ws) -> None:
        async for _ in ws:
            self.frames_relayed += 1


async def run_all(urls: dict[str, str], counts: dict[str, int], seconds: float) -> dict[str, list[Session]]:
    frames = chunks()
    sessions = {name: [Session(url, frames, seconds) for _ in range(counts[name])] for name, url in urls.items()}
    # Interleaved (a direct session every so many relayed ones) and staggered over one chunk
    # period, as independent clients would be.
    order = sorted(((i + 0.5) / len(group), name, session) for name, group in sessions.items() for i, session in enumerate(group))
    start = time.perf_counter() + 2.0
    await asyncio.gather(*(session.run(start + k * CHUNK_MS / 1000 / len(order)) for k, (_, _, session) in enumerate(order)))
    return sessions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100, help="sessions through the proxy (default 100)")
    parser.add_argument("--direct", type=int, default=20, help="sessions straight to the upstream at the same time (default 20)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--upstream", choices=("mock", "voice"), default="mock")
    parser.add_argument("--mock-workers", type=int, default=1)
    parser.add_argument("--proxy-workers", type=int, default=1, help="rtui proxy --workers N (default 1)")
    parser.add_argument(
        "--isolate", action="store_true", help="clients and upstream on CPU 0, the relay on the other CPUs (Linux)"
    )
    parser.add_argument("--profile", type=Path, metavar="FILE", help="run the proxy under pyinstrument, report to FILE")
    parser.add_argument(
        "--checkout",
        type=Path,
        metavar="DIR",
        help="run the proxy from the tui/ package in DIR (`git archive COMMIT tui | tar -x -C DIR`) to compare versions",
    )
    args = parser.parse_args()
    _common.header(
        f"proxy scale: {args.sessions} sessions through rtui proxy ({args.proxy_workers} worker process(es)) "
        f"and {args.direct} direct to {args.upstream}, "
        f"speech-like audio, {PINGS_PER_S} pings/s each, {args.seconds:g} s"
        + (", relay isolated from the load (CPU 0: clients and upstream)" if args.isolate else "")
    )
    relay_cpus: set[int] | None = None
    if args.isolate:
        cpus = os.sched_getaffinity(0)
        if len(cpus) < 2:
            parser.error("--isolate needs at least two CPUs")
        load_cpu = min(cpus)
        relay_cpus = cpus - {load_cpu}
        os.sched_setaffinity(0, {load_cpu})  # this process (the clients) and the upstream it starts
    if args.upstream == "mock":
        mock_command = [str(_common.ROOT / ".venv/bin/rtui"), "mock", "--port", "0"]
        if args.mock_workers != 1:
            mock_command += ["--workers", str(args.mock_workers)]
    else:
        mock_command = [sys.executable, str(Path(__file__).with_name("_servers.py")), "voice"]
    # The upstream and the relay each start a session of their own, as they run in real use (the
    # service elsewhere, `rtui proxy` in its own terminal): with the kernel's autogroup scheduling a
    # session shares the CPU as one, so otherwise the three would split the share of one program.
    mock = subprocess.Popen(mock_command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    proxy = None
    with tempfile.TemporaryDirectory(prefix="proxy-scale-") as record_dir:
        try:
            assert mock.stdout is not None
            first = mock.stdout.readline()
            mock_url = (
                first.split("listening on ", 1)[1].strip()
                if args.upstream == "mock"
                else f"ws://127.0.0.1:{int(first)}/v1/realtime"
            )
            port = free_port()
            proxy_command = [
                "-m",
                "tui",
                "proxy",
                "--listen",
                f"127.0.0.1:{port}",
                "--upstream",
                mock_url,
                "--record",
                f"{record_dir}/",
                "--workers",
                str(args.proxy_workers),
            ]
            if args.profile:
                _common.ensure_package("pyinstrument", "pyinstrument")
                proxy_command = ["-m", "pyinstrument", "--no-color", "-o", str(args.profile.resolve()), *proxy_command]
            # `python -m tui` imports tui/ from its working directory.
            cwd = args.checkout.resolve() if args.checkout else _common.ROOT
            proxy = subprocess.Popen(
                [sys.executable, *proxy_command],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=cwd,
                start_new_session=True,
                # Set in the child before it runs: its threads and worker processes inherit it.
                preexec_fn=(lambda: os.sched_setaffinity(0, relay_cpus)) if relay_cpus else None,
            )
            wait_listening(port, proxy)
            urls = {
                "direct": mock_url + "?model=gpt-realtime",
                "rtui proxy": f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime",
            }
            proxy_cpu0, mock_cpu0, client_cpu0 = tree_cpu_seconds(proxy.pid), tree_cpu_seconds(mock.pid), time.process_time()
            wall0 = time.perf_counter()
            sessions = asyncio.run(run_all(urls, {"direct": args.direct, "rtui proxy": args.sessions}, args.seconds))
            wall = time.perf_counter() - wall0
            proxy_cpu_s = tree_cpu_seconds(proxy.pid) - proxy_cpu0
            proxy_cpu = proxy_cpu_s / wall
            mock_cpu = (tree_cpu_seconds(mock.pid) - mock_cpu0) / wall
            client_cpu = (time.process_time() - client_cpu0) / wall
        finally:
            if proxy is not None:
                _common.stop(proxy, timeout=60)
            _common.stop(mock, timeout=30)
        recorded = sum(f.stat().st_size for f in Path(record_dir).glob("*.jsonl"))

    p: dict[str, tuple[float, float]] = {}
    for name, group in sessions.items():
        rtts = [r for s in group for r in s.rtts_ms]
        errors = [s.error for s in group if s.error]
        p[name] = (_common.percentile(rtts, 50), _common.percentile(rtts, 99))
        _common.result(
            f"ping round trip {name}",
            f"p50 {p[name][0]:.2f} ms, p99 {p[name][1]:.2f} ms, max {max(rtts, default=float('nan')):.1f} ms "
            f"({len(rtts)} pings; sessions failed: {len(errors)}{' - ' + errors[0] if errors else ''})",
        )
    added50 = p["rtui proxy"][0] - p["direct"][0]
    added99 = p["rtui proxy"][1] - p["direct"][1]
    _common.result(
        f"added by rtui proxy at {args.sessions} sessions",
        f"p50 {added50:.2f} ms, p99 {added99:.2f} ms",
        f"<= {TARGET_ADDED_P99_MS:g} ms p99",
        added99 <= TARGET_ADDED_P99_MS,
    )
    _common.result(
        "CPU",
        f"proxy {proxy_cpu:.2f}, {args.upstream} {mock_cpu:.2f}, clients {client_cpu:.2f} cores; load {os.getloadavg()[0]:.1f}",
    )
    relayed = sum(s.frames_relayed for s in sessions["rtui proxy"])
    _common.result(
        "proxy CPU per relayed data frame",
        f"{proxy_cpu_s / max(relayed, 1) * 1e6:.1f} µs ({relayed:,} frames, recorded on both legs)",
    )
    _common.result("recorded by rtui proxy", f"{recorded / 1e6:.0f} MB")
    if args.profile:
        print(f"   profile of the proxy: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
