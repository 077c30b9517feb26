"""Both sides of the conversation, newest at the bottom."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.engine.state import TranscriptEntry

# The pane shows the end of the conversation; the recording keeps all of it. Both bounds keep the
# re-wrap at each refresh cheap however long a turn grows (a monologue of deltas would otherwise
# make every refresh slower, and the UI would starve the wire of the GIL).
SHOWN_ENTRIES = 12
SHOWN_CHARS = 400  # of each entry: its last characters


class Transcript(VerticalScroll):
    DEFAULT_CSS = """
    Transcript > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static("", id="transcript-body")
        self._fingerprint: tuple[object, ...] = ()
        self._entries: list[TranscriptEntry] = []

    def compose(self):
        yield self._body

    @property
    def plain(self) -> str:
        return transcript_text(self._entries).plain

    def show(self, entries: list[TranscriptEntry]) -> None:
        shown = entries[-SHOWN_ENTRIES:]
        # Earlier entries change too (a user transcript completes after the reply has started).
        fingerprint = (len(entries), *((e.role, len(e.text), e.done, e.interrupted, e.output) for e in shown))
        if fingerprint == self._fingerprint:
            return
        self._fingerprint = fingerprint
        self._entries = [TranscriptEntry(e.role, e.item_id, e.text, e.done, e.interrupted, e.output) for e in shown]
        self._body.update(transcript_text(self._entries))
        self.scroll_end(animate=False)


def transcript_text(entries: list[TranscriptEntry]) -> Text:
    text = Text()
    if not entries:
        text.append("(the conversation's transcript appears here)", style="dim")
    for number, entry in enumerate(entries):
        if number:
            text.append("\n")
        if entry.role == "call":
            text.append_text(call_text(entry))
            continue
        who = "you  " if entry.role == "user" else "model"
        text.append(f"{who} > ", style="bold")
        # The user's side has text only when the server transcribes it (the mock does not).
        shown = entry.text if len(entry.text) <= SHOWN_CHARS else "…" + entry.text[-SHOWN_CHARS:]
        text.append(shown or ("(speech)" if entry.role == "user" else "…"), style="" if entry.text else "dim")
        if entry.interrupted:
            text.append(" [interrupted]", style="bold")
        elif not entry.done:
            text.append(" …", style="dim")
    return text


def call_text(entry: TranscriptEntry) -> Text:
    """A function call between the turns, and the output the client answered it with."""
    text = Text("call  > ", style="bold")
    text.append(shortened(entry.text))
    if entry.output is None:
        text.append("\n        → (no answer yet)", style="dim")
    else:
        text.append("\n        → ")
        text.append(shortened(entry.output) or "(empty)", style="" if entry.output else "dim")
    return text


def shortened(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else "…" + text[-SHOWN_CHARS:]
