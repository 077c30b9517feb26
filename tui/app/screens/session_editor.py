"""The session editor: the live session's instructions, voice, turn detection, input transcription and
tools, prefilled from what the server last confirmed; Ctrl+S sends what changed as a `session.update`,
and the editor says when the server confirms it (`session.updated`) or why it refused it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from tui.app.session_form import EAGERNESS, TURN_DETECTIONS, SessionForm, form_of, session_update
from tui.engine.state import SessionEdit

# Widget ids are the form's field names.
TEXT_FIELDS = ("instructions", "tools")
LINE_FIELDS = ("voice", "threshold", "silence_duration_ms", "prefix_padding_ms", "transcription_model")
CHOICE_FIELDS = {"turn_detection": TURN_DETECTIONS, "eagerness": EAGERNESS}
LABELS = {
    "instructions": "instructions",
    "voice": "voice",
    "turn_detection": "turn detection",
    "threshold": "  threshold (0-1)",
    "silence_duration_ms": "  silence_duration_ms",
    "prefix_padding_ms": "  prefix_padding_ms",
    "eagerness": "  eagerness (semantic)",
    "transcription_model": "transcription model",
    "tools": "tools (JSON array)",
}
ORDER = (
    "instructions",
    "voice",
    "turn_detection",
    "threshold",
    "silence_duration_ms",
    "prefix_padding_ms",
    "eagerness",
    "transcription_model",
    "tools",
)


class SessionEditor(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="session_editor.close"),
        Binding("ctrl+s", "send", "Send", id="session_editor.send", priority=True),
    ]

    def __init__(
        self,
        session: dict[str, Any] | None,
        send: Callable[[dict[str, Any]], None],
        edit_status: Callable[[], SessionEdit | None],
    ) -> None:
        """`send` submits the `session` object; `edit_status` reads the engine's latest SessionEdit."""
        super().__init__()
        self.session = session
        self.before = form_of(session)
        self.send = send
        self.edit_status = edit_status
        self._awaiting: str | None = None  # the event_id of the edit before ours: ours is the next one

    def compose(self) -> ComposeResult:
        with Vertical(id="session-editor", classes="modal-box"):
            title = "Edit the live session (sends what you change as session.update)"
            if self.session is None:
                title += ": the server has not confirmed a session yet"
            yield Static(Text(title, style="bold"), classes="modal-title")
            with VerticalScroll(id="session-editor-body"):
                for name in ORDER:
                    with Horizontal(classes="session-field"):
                        yield Label(LABELS[name], classes="session-label")
                        yield self._widget(name, getattr(self.before, name))
            yield Static("", id="session-editor-status")
            yield Static("Ctrl+S sends the changes   Esc closes   Tab next field", classes="modal-hint")

    def _widget(self, name: str, value: str) -> Input | Select[str] | TextArea:
        if name in TEXT_FIELDS:
            language = "json" if name == "tools" else None
            return TextArea(value, id=name, language=language, soft_wrap=True, show_line_numbers=False, compact=True)
        if name in CHOICE_FIELDS:
            options = [(choice, choice) for choice in CHOICE_FIELDS[name]]
            return Select(options, value=value, id=name, allow_blank=False, compact=True)
        field = Input(value, id=name, compact=True)
        field.cursor_blink = False  # a blinking cursor redraws forever over SSH
        return field

    def on_mount(self) -> None:
        self.query_one("#instructions").focus()
        self.set_interval(0.1, self._show_status, name="session edit status")

    def form(self) -> SessionForm:
        values: dict[str, str] = {}
        for name in ORDER:
            widget = self.query_one(f"#{name}")
            if isinstance(widget, TextArea):
                values[name] = widget.text
            elif isinstance(widget, Select):
                values[name] = str(widget.value)
            elif isinstance(widget, Input):
                values[name] = widget.value
        return SessionForm(**values)

    def action_send(self) -> None:
        form = self.form()
        session, problem = session_update(form, self.before, self.session)
        if problem or session is None:
            self._say(problem or "Nothing to send.", problem=True)
            return
        previous = self.edit_status()
        self._awaiting = previous.event_id if previous else ""
        self.before = form  # a second Ctrl+S sends only what changed since
        self.send(session)
        self._say("Sent session.update; waiting for the server's session.updated…")

    def _show_status(self) -> None:
        if self._awaiting is None:
            return
        edit = self.edit_status()
        if edit is None or edit.event_id == self._awaiting or edit.status == "sent":
            return
        if edit.status == "confirmed":
            self._say(f"Confirmed: the server answered {edit.event_id} with session.updated.")
        else:
            self._say(f"Refused: {edit.detail}", problem=True)
        self._awaiting = None

    def _say(self, message: str, *, problem: bool = False) -> None:
        status = self.query_one("#session-editor-status", Static)
        status.update(Text(message, style="bold"))
        status.set_class(problem, "-problem")
