"""The live session screen: header, meters, event log, transcript and stats, refreshed at a bounded rate."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from tui.app.contract import Clock, EngineLike
from tui.app.inspect_model import formatted_arguments
from tui.app.log_model import LogFeed, RowFilter, is_error_or_close, search_problem
from tui.app.present import traffic_text
from tui.app.saving import frame_text, transcript_of, transcript_plain, unwritable, write_new
from tui.app.screens.closure import CardKeeper
from tui.app.screens.modals import EventEditor, FrameInspector, Prompt, ReportScreen, usage_report
from tui.app.screens.session_editor import SessionEditor
from tui.app.settings import UISettings
from tui.app.widgets.event_log import EventLog
from tui.app.widgets.meters import LevelMeter
from tui.app.widgets.status import NoticeBar, SessionHeader, StatsLine, TextLine, VerdictPanel
from tui.app.widgets.transcript import Transcript
from tui.engine.commands import (
    AnswerCall,
    CancelResponse,
    Command,
    CreateResponse,
    Mark,
    Reconnect,
    SendEvent,
    SendText,
    SetMuted,
    SetTalking,
    ToggleTurnMode,
    UpdateSession,
)
from tui.engine.state import ReplayVerdict
from tui.protocol.summary import counted
from tui.protocol.turns import TurnTimer, latency_table
from tui.protocol.usage import UsageTotals


class LogBar(TextLine):
    """The line above the log: what is filtered and whether the view follows new events, then the
    log's keys, as many as fit whole (the help lists them all)."""

    HINTS = ("/ search", "n/N", "e/E errors", "d dir", "Right: whole rows")

    def show(self, row_filter: RowFilter, follow: bool, shown: int, kept: int, shift: int | None = None) -> None:
        text = Text(" Events ", style="bold", no_wrap=True, overflow="ellipsis")
        text.append(f" {row_filter.describe()}")
        if row_filter.active:
            text.append(f" ({shown} of {kept})")
        if shift is not None:
            text.append(f"  whole rows{f', {shift} right' if shift else ''}", style="bold")
        state = "following (Enter inspects)" if follow else "PAUSED: f or End follows"
        room = max(self.size.width, 80) - len(text.plain) - len(state) - 4
        hints = "  "
        for hint in self.HINTS:
            if len(hints) + len(hint) + 2 > room:
                break
            hints += f"{hint}  "
        text.append(hints + " ", style="dim")
        text.append(state, style="" if follow else "bold reverse")
        self.set_text(text)


class FilterLog:
    """Search and jumps, shared by every screen with an event log (`self.event_log`): `/` searches
    (the log shows the matches), `d` picks a direction, `n`/`N` and `e`/`E` move the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Named on the log bar rather than in the footer, which needs its 80 columns for the session.
        Binding(
            "slash",
            "filter_type",
            "Search",
            show=False,
            tooltip="search: type, summary and frame text (!x excludes, re: regex)",
            id="log.filter",
        ),
        Binding("d", "filter_direction", "Dir", show=False, tooltip="direction: all, c2s, s2c, local", id="log.direction"),
        Binding("n", "next_match", "Next", show=False, tooltip="next row that matches the search", id="log.next_match"),
        Binding(
            "N", "previous_match", "Previous", show=False, tooltip="previous row that matches the search", id="log.previous_match"
        ),
        Binding("e", "next_error", "Next error", show=False, tooltip="next error or close", id="log.next_error"),
        Binding("E", "previous_error", "Previous error", show=False, tooltip="previous error or close", id="log.previous_error"),
    ]

    event_log: EventLog  # the screen's (and `notify`, `app`: a Screen's own)
    if TYPE_CHECKING:
        app: App[Any]
        notify: Callable[..., None]

    def filter_changed(self) -> None:
        """The screen redraws what shows the filter (its log bar)."""

    def action_filter_type(self) -> None:
        log = self.event_log

        def apply(text: str | None) -> None:
            if text is None:  # Esc: the search stays as it was
                return
            log.set_filter(RowFilter(text, log.row_filter.direction))
            self.filter_changed()

        prompt = Prompt(
            "Search the log: type, summary or frame text (!x excludes, re: a regular expression; empty shows all)",
            "e.g. error, audio, !append, re:code.*1000",
            check=search_problem,
            value=log.row_filter.text,
        )
        self.app.push_screen(prompt, apply)

    def action_filter_direction(self) -> None:
        log = self.event_log
        log.set_filter(log.row_filter.next_direction())
        self.filter_changed()

    def action_next_match(self) -> None:
        self._jump(1, "match")

    def action_previous_match(self) -> None:
        self._jump(-1, "match")

    def action_next_error(self) -> None:
        self._jump(1, "error")

    def action_previous_error(self) -> None:
        self._jump(-1, "error")

    def _jump(self, step: int, to: str) -> None:
        log = self.event_log
        if to == "match" and not log.row_filter.active:
            self.notify("No search: / sets one, and n / N then step through its matches.", timeout=3)
            return
        wanted = log.row_filter.matches if to == "match" else is_error_or_close
        if not log.jump(step, wanted):
            what = "match" if to == "match" else "error or close"
            self.notify(f"No {'later' if step > 0 else 'earlier'} {what}.", timeout=2)
        self.filter_changed()


# The engine command each session key sends (tui.engine.commands): a key is offered only when the
# engine supports its command, so a relay shows no reconnect and a replay no talk, text or reply.
ACTION_COMMANDS: dict[str, type[Command]] = {
    "talk": SetTalking,
    "mute": SetMuted,
    "turn_mode": ToggleTurnMode,
    "send_text": SendText,
    "respond": CreateResponse,
    "cancel": CancelResponse,
    "mark": Mark,
    "reconnect": Reconnect,
    "send_event": SendEvent,
    "edit_session": UpdateSession,
    "answer_call": AnswerCall,
}


class LiveScreen(FilterLog, Screen[None]):
    BINDINGS = [
        Binding("space", "talk", "Talk", tooltip="push-to-talk: start, then stop talking", id="session.talk"),
        Binding("m", "mute", "Mute", tooltip="mute or unmute the microphone", id="session.mute"),
        Binding("v", "turn_mode", "VAD", tooltip="switch between server VAD and push-to-talk", id="session.turn_mode"),
        Binding("t", "send_text", "Text", tooltip="send a text message", id="session.send_text"),
        Binding("r", "respond", "Reply", tooltip="send response.create", id="session.respond"),
        Binding("x", "cancel", "Cancel", tooltip="send response.cancel", id="session.cancel"),
        Binding("b", "mark", "Mark", tooltip="put a note in the recording", id="session.mark"),
        Binding("R", "reconnect", "Reconn", tooltip="open a new connection", id="session.reconnect"),
        Binding("c", "show_close", "Close card", show=False, tooltip="show how the session closed", id="session.close_card"),
        Binding("p", "show_report", "Report", tooltip="a replay's full report", id="session.replay_report"),
        Binding("exclamation_mark", "show_notices", "Notices", show=False, tooltip="every notice so far", id="session.notices"),
        Binding("L", "show_latency", "Latency", show=False, tooltip="latency per turn, p50 and p95", id="session.latency"),
        Binding("u", "show_usage", "Usage", show=False, tooltip="usage: tokens and cost per response", id="session.usage"),
        Binding(
            "s",
            "edit_session",
            "Session",
            show=False,
            tooltip="edit the live session (instructions, voice, turn detection, transcription, tools)",
            id="session.edit_session",
        ),
        Binding(
            "S",
            "send_event",
            "Send event",
            show=False,
            tooltip="write a client event (JSON) and send it; starts from the selected client frame",
            id="session.send_event",
        ),
        Binding(
            "a",
            "answer_call",
            "Answer call",
            show=False,
            tooltip="answer the model's function call that rtui has no answer for (its output)",
            id="session.answer_call",
        ),
        Binding(
            "y",
            "copy_recording_path",
            "Copy path",
            show=False,
            tooltip="copy the recording's path (OSC 52)",
            id="session.copy_path",
        ),
        Binding(
            "w",
            "save_transcript",
            "Save transcript",
            show=False,
            tooltip="save the conversation's transcript as text",
            id="session.save_transcript",
        ),
        *FilterLog.BINDINGS,
    ]

    def __init__(self, engine: EngineLike, clock: Clock, settings: UISettings) -> None:
        super().__init__(id="live")
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.turns = TurnTimer()
        self.usage = UsageTotals()
        self.feed = LogFeed(engine.log, settings.drain_batch, observe=self._observe)
        # Kept as attributes: the refresh timer updates them 25 times a second without DOM queries.
        self.header = SessionHeader(id="header")
        self.notices = NoticeBar(id="notices")
        self.verdict = VerdictPanel(id="verdict")
        self.mic_meter = LevelMeter("mic  ", id="mic-meter")
        self.model_meter = LevelMeter("model", id="model-meter")
        self.log_bar = LogBar(id="log-bar")
        self.event_log = EventLog(settings.log_lines, id="event-log")
        self.transcript = Transcript(id="transcript")
        self.stats = StatsLine(id="stats")
        self._verdict: ReplayVerdict | None = None
        reconnect = (lambda: self.engine.submit(Reconnect())) if Reconnect in self.engine.commands else None
        self.cards = CardKeeper(self, self.event_log, lambda: self.engine.state.recording_path, reconnect)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.notices
        yield self.verdict
        yield self.mic_meter
        yield self.model_meter
        yield self.log_bar
        with Horizontal(id="body"):
            yield self.event_log
            yield self.transcript
        yield self.stats
        yield Footer(compact=True, show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """False hides the key from the footer, the help and the palette, and leaves it unanswered."""
        if action == "show_report":  # a replay's, once it has ended
            return self._verdict is not None
        command = ACTION_COMMANDS.get(action)
        return command is None or command in self.engine.commands

    def on_mount(self) -> None:
        self.event_log.focus()
        self.refresh_from_engine()
        self.set_interval(1 / self.settings.refresh_hz, self.refresh_from_engine, name="engine refresh")

    def refresh_from_engine(self) -> None:
        """Read the engine's state and drain its log: the only way engine data reaches the screen."""
        state = self.engine.state
        rows, changed = self.feed.drain()
        self.event_log.add_rows(rows, changed)
        now = self.clock.monotonic()
        self.header.show(state, self.clock)
        self.notices.show(state.notices)
        if state.verdict != self._verdict:
            self._verdict = state.verdict
            self.verdict.show(state.verdict)
            self.refresh_bindings()  # p: only once there is a report
        mic_note = "MUTED" if state.muted else ""
        if state.turn_mode == "push_to_talk" and not state.muted:
            mic_note = "TALKING" if state.talking else "space to talk"
        counters = state.counters
        self.mic_meter.show(state.input_level, now, mic_note, traffic_text("tx", counters.frames_sent, counters.bytes_sent))
        self.model_meter.show(state.output_level, now, "", traffic_text("rx", counters.frames_received, counters.bytes_received))
        self.mic_meter.describe(state.input_description, state.scheduling)
        self.model_meter.describe(state.output_description, state.scheduling)
        self._show_log_bar()
        self.transcript.show(state.transcript)
        self.stats.show(state)
        self.cards.follow(state.close)

    def _observe(self, record: dict[str, Any]) -> None:
        """Every record the log drains: the latency and usage tables count them as they pass."""
        self.turns.observe(record)
        self.usage.on_record(record)

    def _show_log_bar(self) -> None:
        log = self.event_log
        self.log_bar.show(log.row_filter, log.follow, len(log.visible_rows), log.row_count, log.shift)

    # -- log -----------------------------------------------------------------------------------

    @on(EventLog.Inspect)
    def inspect(self, event: EventLog.Inspect) -> None:
        self.app.push_screen(FrameInspector(event.row))

    @on(EventLog.FollowChanged)
    def follow_changed(self) -> None:
        self._show_log_bar()

    def filter_changed(self) -> None:
        self._show_log_bar()

    # -- session commands ----------------------------------------------------------------------

    def action_talk(self) -> None:
        state = self.engine.state
        if state.turn_mode != "push_to_talk":
            self.notify("Push-to-talk is off: the server's VAD decides turns. Press v to switch to push-to-talk.", timeout=4)
            return
        self.engine.submit(SetTalking(not state.talking))

    def action_mute(self) -> None:
        self.engine.submit(SetMuted(not self.engine.state.muted))

    def action_turn_mode(self) -> None:
        self.engine.submit(ToggleTurnMode())

    def action_send_text(self) -> None:
        def send(text: str | None) -> None:
            if text:
                self.engine.submit(SendText(text))

        self.app.push_screen(Prompt("Send a text message (conversation.item.create, then response.create)"), send)

    def action_respond(self) -> None:
        self.engine.submit(CreateResponse())

    def action_cancel(self) -> None:
        self.engine.submit(CancelResponse())

    def action_mark(self) -> None:
        def mark(note: str | None) -> None:
            if note:
                self.engine.submit(Mark(note))

        self.app.push_screen(Prompt("Mark the recording with a note", "what just happened"), mark)

    def action_reconnect(self) -> None:
        self.engine.submit(Reconnect())

    def action_show_report(self) -> None:
        if self._verdict is not None:
            self.app.push_screen(ReportScreen("The replay's report", self._verdict.report))

    def action_send_event(self) -> None:
        row = self.event_log.cursor_row
        chosen = (
            row is not None and not self.event_log.follow and row.record.get("kind") == "frame" and row.record.get("dir") == "c2s"
        )
        text = frame_text(row.record) if chosen and row is not None else '{"type": "response.create"}'

        def send(event: str | None) -> None:
            if event:
                self.engine.submit(SendEvent(event))

        self.app.push_screen(EventEditor(text), send)

    def action_answer_call(self) -> None:
        calls = self.engine.state.unanswered_calls
        if not calls:
            self.notify("No function call awaits an answer (calls with a --tools answer are answered at once).", timeout=4)
            return
        call = calls[0]

        def answer(output: str | None) -> None:
            if output:
                self.engine.submit(AnswerCall(call.call_id, output))

        more = f" ({len(calls) - 1} more after it)" if len(calls) > 1 else ""
        self.app.push_screen(
            Prompt(
                f"Answer {call.name} ({call.call_id}){more}: its output, sent as function_call_output then response.create",
                'e.g. {"temperature_c": 18}',
                notes=f"arguments:\n{formatted_arguments(call.arguments)}",
            ),
            answer,
        )

    def action_copy_recording_path(self) -> None:
        path = self.engine.state.recording_path
        if not path:
            self.notify("Not recorded (--no-record): there is no path to copy.", timeout=3)
            return
        self.app.copy_to_clipboard(path)
        self.notify(f"Copied {path} (OSC 52).", timeout=4)

    def action_save_transcript(self) -> None:
        recording, shown = self.engine.state.recording_path, list(self.engine.state.transcript)

        def write(path: str) -> None:  # on a worker thread: the recording may be long
            entries = transcript_of(recording, shown)
            try:
                message = (
                    f"Saved the transcript ({counted(len(entries), 'turn')}) to {write_new(path, transcript_plain(entries))}."
                )
            except OSError as exc:
                message = f"Not saved: {exc.strerror or exc}."
            self.app.call_from_thread(self.notify, message, timeout=5)

        def save(path: str | None) -> None:
            if path:
                self.run_worker(partial(write, path), thread=True, name="save transcript")

        default = "transcript.txt"
        self.app.push_screen(Prompt("Save the transcript to a new file", default, check=unwritable, value=default), save)

    def action_show_latency(self) -> None:
        table = "\n".join(latency_table(self.turns.turns))
        title = "Latency per turn: from the end of the user's turn (L or Esc closes)"
        self.app.push_screen(ReportScreen(title, table, close_key="L", table=True))

    def action_show_usage(self) -> None:
        self.app.push_screen(usage_report(self.usage))

    def action_edit_session(self) -> None:
        engine = self.engine

        def send(session: dict[str, Any]) -> None:
            engine.submit(UpdateSession(session))

        self.app.push_screen(SessionEditor(engine.state.session, send, lambda: engine.state.session_edit))

    def action_show_notices(self) -> None:
        notices = self.engine.state.notices
        text = "\n\n".join(f"{number}. {notice}" for number, notice in enumerate(notices, 1)) or "No notices so far."
        self.app.push_screen(ReportScreen(f"Notices ({len(notices)})", text, close_key="exclamation_mark", close_key_shown="!"))

    def action_show_close(self) -> None:
        if not self.cards.show():
            self.notify("The session has not closed.", timeout=3)
