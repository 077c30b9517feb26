#!/usr/bin/env python3
"""The TUI under a flood: events/s it absorbs while answering keys, and RSS after 1 000 000 events.

The real UI path: a producer thread appends log entries (server events, `record_line` computed off
the UI, as the engine does) to the engine's `LogBuffer`, and the live screen drains it at its refresh
rate into the event log (Textual, headless driver, 120x40). Every 50 ms a key (`m`, mute) is pressed
and its response time is the time from the key event being posted (as the terminal driver
posts it) until the command reaches the engine. Each offered rate runs
for `--seconds`; "absorbed" is how far the screen's cursor advanced per second (entries the buffer
evicted before the screen got to them count as not absorbed). Then 1 000 000 events are pushed as
fast as the screen absorbs them and the process RSS is read.

    .venv/bin/python scripts/bench/tui_flood.py [--rates 1000,2000,5000,10000] [--seconds 5] [--events 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textual import events  # noqa: E402

import _common  # noqa: E402
from tui.app.app import RtuiApp  # noqa: E402
from tui.app.screens.live import LiveScreen  # noqa: E402
from tui.app.settings import UISettings  # noqa: E402
from tui.engine.state import EngineState, LogBuffer, LogEntry  # noqa: E402
from tui.protocol.summary import record_line  # noqa: E402

RATE_TARGET = 1_000
KEY_P99_TARGET_MS = 100.0
RSS_TARGET_MB = 300.0


class BenchEngine:
    """The engine contract with nothing behind it but the log; `set_muted` stamps when it arrives."""

    def __init__(self) -> None:
        self.state = EngineState()
        self.log = LogBuffer()
        self.commands: list[float] = []

    def set_muted(self, muted: bool) -> None:
        self.commands.append(time.perf_counter())

    def __getattr__(self, name: str):  # every other command: accepted, ignored
        return lambda *args, **kwargs: None


def entry(seq: int) -> LogEntry:
    if seq % 5 == 0:
        text = '{"type":"response.output_audio.delta","event_id":"ev%d","delta":"AAAAAAAA"}' % seq
    elif seq % 5 == 1:
        text = '{"type":"response.output_audio_transcript.delta","event_id":"ev%d","delta":"word "}' % seq
    else:
        text = '{"type":"rate_limits.updated","event_id":"ev%d","rate_limits":[]}' % seq
    record = {
        "seq": seq,
        "t_ns": seq * 1_000_000,
        "conn": 1,
        "kind": "frame",
        "dir": "s2c",
        "opcode": "text",
        "text": text,
        "size": len(text),
    }
    return LogEntry(record, record_line(record))


class Producer(threading.Thread):
    """Appends entries at `rate` per second (None: as fast as the screen drains them)."""

    def __init__(self, log: LogBuffer, rate: float | None, count: int, start_seq: int, screen: LiveScreen) -> None:
        super().__init__(daemon=True)
        self.log, self.rate, self.count, self.seq0, self.screen = log, rate, count, start_seq, screen
        self.produced = 0
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stop.is_set() and self.produced < self.count:
            if self.rate is None:
                due = (
                    min(self.count, self.produced + 2_000) if self.log.total - self.screen.feed.cursor < 4_000 else self.produced
                )
            else:
                due = min(self.count, int((time.perf_counter() - start) * self.rate))
            while self.produced < due:
                self.log.append(entry(self.seq0 + self.produced))
                self.produced += 1
            time.sleep(0.002)


async def offered_rate(
    app: RtuiApp, pilot, engine: BenchEngine, rate: int, seconds: float, seq0: int
) -> tuple[float, list[float]]:
    screen = app.screen
    assert isinstance(screen, LiveScreen)
    producer = Producer(engine.log, rate, int(rate * seconds), seq0, screen)
    cursor0, skipped0, t0 = screen.feed.cursor, screen.feed.skipped, time.perf_counter()
    producer.start()
    latencies = []
    while producer.is_alive():
        before = len(engine.commands)
        pressed = time.perf_counter()
        # What the terminal driver does with a key read from stdin (Pilot.press also waits for idle).
        app.post_message(events.Key("m", "m"))
        while len(engine.commands) == before:
            await asyncio.sleep(0.001)
        latencies.append((engine.commands[-1] - pressed) * 1000)
        await asyncio.sleep(0.05)
    producer.join()
    drained_by = time.perf_counter() + 2.0  # the screen drains at its refresh rate: let it catch up
    while screen.feed.pending and time.perf_counter() < drained_by:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    absorbed = (screen.feed.cursor - cursor0 - (screen.feed.skipped - skipped0)) / elapsed
    return absorbed, latencies


async def bench(args: argparse.Namespace) -> int:
    engine = BenchEngine()
    app = RtuiApp(engine, settings=UISettings())
    seq = 1
    met_rate = 0
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        for rate in args.rates:
            absorbed, latencies = await offered_rate(app, pilot, engine, rate, args.seconds, seq)
            seq += int(rate * args.seconds)
            p50, p99 = _common.percentile(latencies, 50), _common.percentile(latencies, 99)
            ok = p99 <= KEY_P99_TARGET_MS and absorbed >= 0.95 * rate
            if ok:
                met_rate = max(met_rate, rate)
            _common.result(
                f"offered {rate:,}/s",
                f"absorbed {absorbed:,.0f}/s, key response p50 {p50:.1f} ms p99 {p99:.1f} ms ({len(latencies)} presses)",
            )
        _common.result(
            "highest offered rate fully absorbed with key p99 <= 100 ms",
            f"{met_rate:,}/s",
            f">= {RATE_TARGET:,}/s",
            met_rate >= RATE_TARGET,
        )

        screen = app.screen
        assert isinstance(screen, LiveScreen)
        producer = Producer(engine.log, None, args.events, seq, screen)
        start = time.perf_counter()
        producer.start()
        while producer.is_alive() or screen.feed.pending:
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - start
        rss = _common.rss_mb()
        _common.result(f"{args.events:,} events as fast as absorbed", f"{args.events / elapsed:,.0f} events/s ({elapsed:.0f} s)")
        _common.result(
            f"RSS after {seq - 1 + args.events:,} events",
            f"{rss:,.0f} MB (peak {_common.peak_rss_mb():,.0f} MB)",
            f"<= {RSS_TARGET_MB:g} MB",
            rss <= RSS_TARGET_MB,
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 2_000, 5_000, 10_000])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    _common.header("tui: flood through LogBuffer -> live screen (Textual headless driver, 120x40)")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
