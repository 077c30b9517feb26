"""A recording opened read-only: its records in an event log, loaded off the UI thread."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from tui.app.log_model import LogFeed
from tui.app.screens.closure import CardKeeper
from tui.app.screens.live import FilterLog, LogBar
from tui.app.screens.modals import FrameInspector, usage_report
from tui.app.settings import UISettings
from tui.app.widgets.event_log import EventLog
from tui.app.widgets.status import TextLine
from tui.diagnose.items import Legs
from tui.engine.state import EngineState, LogBuffer
from tui.engine.view import SessionView
from tui.wire.reader import RecordingError, SessionReader

RECORDING_BATCH = 20_000


def check_recording(path: str) -> str | None:
    """Why `path` cannot be opened as a recording (one sentence), or None when it can."""
    file = Path(path).expanduser()
    if not file.is_file():
        return f"{file} is not a file; give the path of a .jsonl recording (they are in ./sessions/ by default)."
    try:
        SessionReader(file).close()
    except RecordingError as exc:
        return f"{exc}; pick a file that rtui recorded."
    except OSError as exc:
        return f"{file} cannot be read ({exc.strerror}); check its permissions."
    return None


class RecordingScreen(FilterLog, Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="recording.back"),
        Binding("c", "show_close", "Close card", tooltip="show how the recorded session closed", id="recording.close_card"),
        Binding("u", "show_usage", "Usage", tooltip="usage: tokens and cost per response", id="recording.usage"),
        *FilterLog.BINDINGS,
    ]

    def __init__(self, path: str, settings: UISettings) -> None:
        super().__init__()
        self.path = str(Path(path).expanduser())
        self.settings = settings
        self.buffer = LogBuffer(capacity=settings.log_lines)
        # A file is read far faster than a session happens: drain bigger batches, and hold the
        # reader back (below) so that every record passes through the log, which keeps the last ones.
        self.feed = LogFeed(self.buffer, batch=max(settings.drain_batch, RECORDING_BATCH))
        # The same view a live session has, so the card says what it would have said live.
        self.view = SessionView(EngineState(), self.buffer)
        self.loaded = False
        self.problems: list[str] = []

    def compose(self) -> ComposeResult:
        self.event_log = EventLog(self.settings.log_lines, id="event-log")
        self.cards = CardKeeper(self, self.event_log, lambda: self.path)
        yield TextLine(id="recording-header")
        yield LogBar(id="log-bar")
        yield self.event_log
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(EventLog).focus()
        self.query_one("#recording-header", TextLine).set_text(Text(f" RECORDING (read-only)  {self.path}", style="bold"))
        self.set_interval(1 / self.settings.refresh_hz, self.drain, name="recording drain")
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        worker = get_current_worker()
        room = self.settings.log_lines // 2
        try:
            with SessionReader(self.path) as reader:
                header = reader.header
                self.feed.marks_connections = not Legs.from_header(header).relayed  # legs, not reconnects
                for record in reader:
                    while self.feed.pending > room and not worker.is_cancelled:
                        time.sleep(0.01)
                    if worker.is_cancelled:
                        return
                    self.view.on_record(record)
                self.problems = [str(problem) for problem in reader.problems]
        except (RecordingError, OSError) as exc:
            self.problems = [f"{exc}"]
            header = {}
        summary = f" RECORDING (read-only)  {self.path}  mode {header.get('mode', '?')}  started {header.get('started_at', '?')}"
        self.app.call_from_thread(self._loaded, summary)

    def _loaded(self, summary: str) -> None:
        self.loaded = True
        text = Text(summary, style="bold")
        if self.problems:
            text.append(f"\n ! {len(self.problems)} damaged lines skipped, first: {self.problems[0]}")
        self.query_one("#recording-header", TextLine).set_text(text)
        self.drain()
        # A recording opened to see how it ended opens on its card, however it closed.
        self.cards.follow(self.view.state.close)
        self.cards.show()

    def action_show_close(self) -> None:
        if not self.loaded:
            self.notify("The recording is still loading.", timeout=3)
        elif not self.cards.show():
            self.notify("The recording ends with its connection still open: there is no closure to explain.", timeout=4)

    def action_show_usage(self) -> None:
        if not self.loaded:
            self.notify("The recording is still loading.", timeout=3)
        else:
            self.app.push_screen(usage_report(self.view.usage))

    def drain(self) -> None:
        rows, changed = self.feed.drain()
        self.event_log.add_rows(rows, changed)
        self.filter_changed()

    def filter_changed(self) -> None:
        log = self.event_log
        self.query_one(LogBar).show(log.row_filter, log.follow, len(log.visible_rows), log.row_count, log.shift)

    @on(EventLog.Inspect)
    def inspect(self, event: EventLog.Inspect) -> None:
        self.app.push_screen(FrameInspector(event.row))
