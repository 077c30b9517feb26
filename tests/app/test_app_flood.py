"""A flood of 1 000 events/s through the real path (a producer thread → LogBuffer → the screen's
batched drain): keys still work and the log stays at its line cap. No timing assertions."""

from __future__ import annotations

import threading
import time

from app_support import FixedClock, FrozenEngine
from tui.app.app import RtuiApp
from tui.app.screens.live import LiveScreen
from tui.app.settings import UISettings
from tui.app.widgets.event_log import EventLog
from tui.engine.commands import SetMuted
from tui.engine.state import LogBuffer, LogEntry
from tui.protocol.summary import record_line

RATE = 1_000
SECONDS = 3
CAP = 300


def produce(log: LogBuffer, stop: threading.Event) -> int:
    """Append events at RATE per second, as the engine's recorder would (record_line off the UI)."""
    seq = 0
    start = time.monotonic()
    while not stop.is_set() and seq < RATE * SECONDS:
        due = min(int((time.monotonic() - start) * RATE), RATE * SECONDS)
        while seq < due:
            kind = "response.output_audio.delta" if seq % 5 == 0 else "rate_limits.updated"
            payload = '"delta":"AAAA"' if seq % 5 == 0 else '"rate_limits":[]'
            text = f'{{"type":"{kind}","event_id":"ev{seq}",{payload}}}'
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
            log.append(LogEntry(record, record_line(record)))
            seq += 1
        time.sleep(0.002)
    return seq


async def test_flood_keeps_keys_working_and_the_log_bounded() -> None:
    engine = FrozenEngine(log=LogBuffer(capacity=50_000))
    app = RtuiApp(engine, clock=FixedClock(), settings=UISettings(log_lines=CAP))
    stop = threading.Event()
    produced: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        producer = threading.Thread(target=lambda: produced.append(produce(engine.log, stop)))
        producer.start()
        try:
            presses = 0
            while producer.is_alive():
                await pilot.press("m")
                presses += 1
                await pilot.pause(0.2)
            assert presses >= 2
        finally:
            stop.set()
            producer.join()
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        deadline = time.monotonic() + 10
        while screen.feed.pending and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        log = screen.query_one(EventLog)
        assert produced == [RATE * SECONDS] and screen.feed.cursor == engine.log.total
        assert log.row_count == CAP  # bounded, however many arrived
        assert log.follow and log.visible_rows[-1].line.seq >= RATE * SECONDS - 5
        # Every press reached the engine while the flood was being drawn.
        assert engine.calls == [SetMuted(True)] * presses
