"""Modal screens: the frame inspector, the closure card, a report, the help screen and a one-line prompt."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rich.json import JSON
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui.app.findings import DIAGNOSING, CardFindings, finding_text
from tui.app.inspect_model import inspector_text, inspector_title
from tui.app.log_model import LogRow, line_text
from tui.app.saving import frame_text, unwritable, write_new
from tui.engine.state import CloseSummary
from tui.protocol.events import client_event_problem
from tui.protocol.summary import RunCollapser
from tui.protocol.usage import UsageTotals, usage_table

CLOSE = Binding("escape", "dismiss", "Close", id="modal.close")


class FrameInspector(ModalScreen[None]):
    """A row's whole record as pretty JSON (audio payloads abbreviated)."""

    BINDINGS = [
        CLOSE,
        Binding("enter", "dismiss", "Close", show=False, id="inspector.close"),
        Binding("y", "copy", "Copy", id="inspector.copy", tooltip="copy the frame to the clipboard (OSC 52: works over SSH)"),
        Binding("s", "save", "Save", id="inspector.save", tooltip="save the frame to a new file"),
    ]

    def __init__(self, row: LogRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(id="inspector", classes="modal-box"):
            yield Static(Text(inspector_title(self.row), style="bold"), classes="modal-title")
            with VerticalScroll(id="inspector-body"):
                yield Static(self._body(), id="inspector-json")
            yield Static("y copies   s saves to a file   Esc closes   Up Down PgUp PgDn scroll", classes="modal-hint")

    def _body(self) -> Text | JSON:
        text = inspector_text(self.row)
        return JSON(text) if self.row.last_record is None else Text(text)

    def on_mount(self) -> None:
        self.query_one("#inspector-body").focus()

    def action_copy(self) -> None:
        text = frame_text(self.row.record)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text)} characters (OSC 52: the terminal puts them on the clipboard).", timeout=3)

    def action_save(self) -> None:
        def save(path: str | None) -> None:
            if path:
                try:
                    written = write_new(path, frame_text(self.row.record))
                except OSError as exc:
                    self.notify(f"Not saved: {exc.strerror or exc}.", severity="error", timeout=5)
                else:
                    self.notify(f"Saved to {written}.", timeout=4)

        default = f"frame-{self.row.record.get('seq', 0)}.json"
        self.app.push_screen(Prompt("Save the frame to a new file", default, check=unwritable, value=default), save)


@dataclass(frozen=True)
class CardChoice:
    """What the user chose on the card: reconnect, or jump to a finding's evidence in the log."""

    action: Literal["reconnect", "jump"]
    seq: int = 0


class ClosureCard(ModalScreen[CardChoice | None]):
    """Why the session ended, at once: code and meaning, reason, who closed first, what
    `rtui diagnose` finds in the recording (Enter on a finding jumps to its evidence), the last frames."""

    BINDINGS = [
        Binding("escape,enter", "dismiss", "Back to the log", id="card.close"),
        Binding("R", "reconnect", "Reconnect", id="card.reconnect"),
        # A modal screen does not inherit the app's keys; at a closure, q must still leave.
        Binding("q", "app.quit", "Quit", id="card.quit"),
    ]

    def __init__(self, close: CloseSummary, findings: CardFindings = DIAGNOSING, *, can_reconnect: bool = True) -> None:
        super().__init__()
        self.close = close
        self.findings = findings
        self.can_reconnect = can_reconnect

    def compose(self) -> ComposeResult:
        with Vertical(id="closure-card", classes="modal-box"):
            yield Static(Text(card_title(self.close), style="bold"), classes="modal-title")
            with VerticalScroll(id="card-body"):
                # Why first: what `rtui diagnose` finds, then the close itself, then the last frames.
                yield Static(Text("Findings (as rtui diagnose gives them)", style="bold"), id="card-findings-title")
                if self.findings.findings:
                    options = [Option(finding_text(finding)) for finding in self.findings.findings]
                    yield OptionList(*options, id="card-findings")
                else:
                    yield Static(self.findings.note, id="card-findings-note")
                said = frozenset(finding.message for finding in self.findings.findings)
                yield Static(closure_text(self.close, said), id="card-text")
                if self.close.last_lines:
                    yield Static(last_lines_text(self.close), id="card-lines")
            yield Static(self._hint(), classes="modal-hint")

    def _hint(self) -> str:
        hint = "Enter: go to the evidence   Esc: back to the log" if self.findings.findings else "Enter/Esc: back to the log"
        return hint + ("   R: reconnect   q: quit" if self.can_reconnect else "   q: quit")

    def on_mount(self) -> None:
        self._focus_findings()

    def _focus_findings(self) -> None:
        for findings in self.query("#card-findings").results(OptionList):
            findings.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.can_reconnect if action == "reconnect" else True

    def show(self, close: CloseSummary) -> None:
        """The same connection's summary, rebuilt with more in it."""
        self.close = close
        self.refresh(recompose=True)

    def show_findings(self, findings: CardFindings) -> None:
        """The diagnosis, once the worker has it."""
        self.findings = findings
        self.refresh(recompose=True)
        self.call_after_refresh(self._focus_findings)

    @on(OptionList.OptionSelected, "#card-findings")
    def jump_to_evidence(self, event: OptionList.OptionSelected) -> None:
        evidence = self.findings.findings[event.option_index].evidence
        self.dismiss(CardChoice("jump", evidence[0]) if evidence else None)

    def action_reconnect(self) -> None:
        self.dismiss(CardChoice("reconnect"))


def card_title(close: CloseSummary) -> str:
    if close.open_failure:
        return f"Session never opened: {close.open_failure}"
    return f"Session closed: {close.code} {close.meaning}"


def closure_text(close: CloseSummary, said: frozenset[str] = frozenset()) -> Text:
    """The close in fields and a sentence; the sentence is left out when a finding above it (`said`)
    already says it word for word (a refused handshake's)."""
    text = Text()

    def field(name: str, value: str, style: str = "") -> None:
        text.append(f"{name:<17}", style="bold")
        text.append(value + "\n", style=style)

    if close.open_failure is None:  # a connection that never opened has no close frames to show
        field("code", f"{close.code}  {close.meaning}")
        field("reason", repr(close.reason) if close.reason else "(empty)")
        field("closed first by", close.closed_by or "nobody: the connection ended without a close frame")
        field("clean", "yes" if close.clean else "no")
        text.append("\n")
    if close.explanation not in said:
        text.append(close.explanation + "\n")
    if close.preceding_error:
        text.append("\n")
        field("error before", close.preceding_error, "bold")
    text.rstrip()
    return text


def last_lines_text(close: CloseSummary) -> Text:
    """The frames just before the close, one unwrapped line each (the log has them in full)."""
    title = "What crossed the wire" if close.open_failure else "Last frames before the close"
    text = Text(f"\n{title}:\n", style="bold", no_wrap=True, overflow="ellipsis")
    collapser = RunCollapser()  # runs of appends read as one line, as in the log
    lines = [run for line in close.last_lines for run in collapser.push(dataclasses.replace(line, seqs=[]))]
    for line in [*lines, *collapser.flush()]:
        text.append(line_text(line, label_width=30) + "\n", style="bold" if line.severity == "error" else "")
    text.rstrip()
    return text


class EventEditor(ModalScreen[str | None]):
    """A client event to send, as JSON: checked before it goes (the problem shown in place);
    Ctrl+S sends it as typed, Esc cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("ctrl+s", "send", "Send", id="editor.send", priority=True),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="editor", classes="modal-box"):
            yield Static(Text("Send a client event (JSON, sent as typed)", style="bold"), classes="modal-title")
            yield TextArea(self.text, language="json", id="editor-text", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="editor-error")
            yield Static("Ctrl+S sends   Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        text = self.query_one(TextArea).text.strip()
        problem = client_event_problem(text)
        if problem:
            self.query_one("#editor-error", Static).update(Text(problem, style="bold"))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReportScreen(ModalScreen[None]):
    """A long plain-text report (a replay's, the notices), scrollable."""

    BINDINGS = [CLOSE]

    def __init__(self, title: str, report: str, close_key: str = "p", close_key_shown: str = "", *, table: bool = False) -> None:
        """`close_key` closes it too: the key that opened it (shown as `close_key_shown`). A `table`
        keeps its lines whole (Left and Right scroll) rather than wrapping them."""
        super().__init__()
        self.table = table
        self.title_text = title
        self.report = report
        self.close_key = close_key
        self.close_key_shown = close_key_shown or close_key

    def compose(self) -> ComposeResult:
        with Vertical(id="report", classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"), classes="modal-title")
            with ScrollableContainer(id="report-body", classes="-table" if self.table else ""):
                yield Static(Text(self.report, no_wrap=self.table), id="report-text")
            scroll = "Up Down Left Right scroll" if self.table else "Up Down PgUp PgDn scroll"
            yield Static(f"Esc or {self.close_key_shown} closes   {scroll}", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one("#report-body").focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == self.close_key:
            event.stop()
            self.dismiss()


def usage_report(totals: UsageTotals) -> ReportScreen:
    """The usage table (`u`): tokens and cost per response, the session's sum, input transcription apart."""
    title = "Tokens and cost per response (u or Esc closes)"
    return ReportScreen(title, "\n".join(usage_table(totals)), close_key="u", table=True)


class HelpScreen(ModalScreen[None]):
    """Every key, grouped by where it works, and notes for plain terminals and SSH."""

    BINDINGS = [CLOSE, Binding("question_mark,f1", "dismiss", "Close", show=False, id="help.close")]

    def __init__(self, groups: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="modal-box"):
            yield Static(Text("rtui keys", style="bold"), classes="modal-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_text(self.groups), id="help-text")
                yield Static(ssh_notes_text(), id="help-notes")
            yield Static("Esc closes   Ctrl+P runs any of these by name", classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()


SSH_NOTES = (
    "Keys are plain letters: nothing needs a mouse, colour or a key-release event, so push-to-talk toggles.",
    "NO_COLOR=1 drops colour; errors are still marked !! and warnings ! in the log.",
    "With no audio device (usual over SSH) send text with t, or start rtui with --input FILE.",
    "If the terminal goes away (SIGHUP), rtui closes the session and the recording cleanly.",
)


HELP_DESCRIPTION_WIDTH = 44  # so that key, description and id fit 80 columns


def help_text(groups: list[tuple[str, list[tuple[str, str, str]]]]) -> Text:
    # Fixed columns; a long description wraps under itself, so it never runs into the key's id.
    rows = [row for _, keys in groups for row in keys]
    key_width = max((len(key) for key, _, _ in rows), default=0) + 2
    text = Text()
    for group, keys in groups:
        text.append(f"{group}\n", style="bold underline")
        for key, description, binding_id in keys:
            first, *rest = textwrap.wrap(description, HELP_DESCRIPTION_WIDTH) or [""]
            text.append(f"  {key:<{key_width}}", style="bold")
            text.append(f"{first:<{HELP_DESCRIPTION_WIDTH}}  ")
            text.append(f"{binding_id}\n", style="dim")
            for line in rest:
                text.append(f"  {'':<{key_width}}{line}\n")
        text.append("\n")
    text.rstrip()
    return text


def ssh_notes_text() -> Text:
    text = Text("\nOver SSH and in plain terminals\n", style="bold underline")
    for note in SSH_NOTES:
        text.append(f"- {note}\n", style="")
    text.rstrip()
    return text


class Prompt(ModalScreen[str | None]):
    """One line of input, opened with `value`; `check` returns an error sentence to keep the prompt
    open, or None. Enter gives the text ("" when empty), Esc gives None: cancelling changes nothing."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        value: str = "",
        *,
        suggester: Suggester | None = None,
        notes: str = "",
    ) -> None:
        """`suggester` completes what is typed (Right accepts); `notes` go under the field."""
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.check = check
        self.value = value
        self.suggester = suggester
        self.notes = notes

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt", classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"), classes="modal-title")
            yield Input(self.value, placeholder=self.placeholder, suggester=self.suggester, id="prompt-input")
            yield Static("", id="prompt-error")
            if self.notes:
                yield Static(Text(self.notes), id="prompt-notes")
            yield Static("Enter confirms   Esc cancels", classes="modal-hint")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.cursor_blink = False  # a blinking cursor redraws forever over SSH and breaks snapshots
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if not value:
            self.dismiss("")
            return
        problem = self.check(value) if self.check else None
        if problem:
            self.query_one("#prompt-error", Static).update(Text(problem, style="bold"))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
