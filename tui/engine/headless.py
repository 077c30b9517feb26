"""`rtui --headless`: the engine without the TUI, one line per event, for scripts."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from tui.engine.session import EXIT_STATUS, Engine
from tui.engine.state import EngineState, LogEntry
from tui.protocol.summary import RunCollapser
from tui.show.render import line_text


class HeadlessPrinter:
    """Prints the log as `rtui show` does: streamed audio collapsed into runs, flushed each second
    so a long stretch of speech still shows progress."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._collapser = RunCollapser()
        self._notices_shown = 0
        self._audio_shown = False

    def on_entry(self, entry: LogEntry) -> None:
        for line in self._collapser.push(entry.line):
            print(line_text(line), file=self.out)

    def flush(self) -> None:
        for line in self._collapser.flush():
            print(line_text(line), file=self.out)
        self.out.flush()

    def show_notices(self, notices: list[str]) -> None:
        for notice in notices[self._notices_shown :]:
            print(f"rtui: {notice}", file=sys.stderr, flush=True)
        self._notices_shown = len(notices)

    def show_audio(self, state: EngineState) -> None:
        """Once the media are open: which devices, and how the audio engine is scheduled."""
        if self._audio_shown or not (state.input_description or state.output_description):
            return
        self._audio_shown = True
        parts = [f"audio in: {state.input_description or 'none'}", f"out: {state.output_description or 'none'}"]
        if state.scheduling:
            parts.append(state.scheduling)
        print(f"rtui: {'; '.join(parts)}", file=sys.stderr, flush=True)

    async def run(self, engine: Engine, interval: float = 1.0) -> None:
        while True:
            self.show_notices(engine.state.notices)
            self.show_audio(engine.state)
            self.flush()
            await asyncio.sleep(interval)


async def run_headless(engine: Engine, out: TextIO = sys.stdout) -> int:
    printer = HeadlessPrinter(out)
    engine.listeners.append(printer.on_entry)
    ticker = asyncio.create_task(printer.run(engine))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, engine.stop)
    try:
        outcome = await engine.run()
    finally:
        ticker.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    printer.flush()
    printer.show_notices(engine.state.notices)
    printer.show_audio(engine.state)
    usage = engine.view.usage
    if usage.responses or usage.transcription.count:
        print(usage.summary(), file=out)
    close = engine.state.close
    if close is not None:
        print(f"session ended: {close.explanation}", file=out)
    if engine.state.recording_path:
        print(f"recorded to {engine.state.recording_path}", file=out)
    out.flush()
    return EXIT_STATUS[outcome]
