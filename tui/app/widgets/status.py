"""The header, notices and stats line: text computed from engine state, redrawn only when it changes."""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widget import Widget

from tui.app.contract import Clock
from tui.app.present import ENDPOINT_NAMES, URL_NOTES, close_headline, phase_text, session_text, stats_text, timing_text
from tui.engine.state import EngineState, ReplayVerdict


class TextLine(Widget):
    """A widget that shows a Text and refreshes only when it differs from the last one."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text()

    @property
    def plain(self) -> str:
        return self._text.plain

    def set_text(self, text: Text) -> None:
        if text.plain != self._text.plain or text.spans != self._text.spans:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text


class SessionHeader(TextLine):
    """Two lines: the connection (state, endpoint kind, URL) and the session (model, id, timing, mode)."""

    def show(self, state: EngineState, clock: Clock) -> None:
        # Lines never wrap: what matters most comes first and the rest is cut with an ellipsis.
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {phase_text(state)} ", style="bold reverse")
        text.append(f" {ENDPOINT_NAMES.get(state.endpoint_kind, state.endpoint_kind)}", style="bold")
        text.append(f"  {state.url}")
        if state.endpoint_kind in URL_NOTES:
            text.append(f"  ({URL_NOTES[state.endpoint_kind]})", style="dim")
        text.append("\n")
        if state.phase == "closed" and state.close is not None:
            text.append(f" {close_headline(state.close)}  (c shows why)", style="bold")
        else:
            timing = timing_text(state, clock.monotonic(), clock.time())
            text.append(f" {timing + '  ' if timing else ''}{session_text(state)}")
        if state.recording_path:
            text.append(f"  rec {state.recording_path} (y copies)", style="dim")
        self.set_classes(f"-{state.phase}")
        self.set_text(text)


class NoticeBar(TextLine):
    """The engine's latest one-sentence notice (no audio device, embedded mock, ...), in at most two
    lines; when there were more, or it does not fit, it says that `!` lists them all. Hidden when none."""

    LINES = 2

    def show(self, notices: list[str]) -> None:
        self.display = bool(notices)
        if not notices:
            return
        more = f"  (! lists all {len(notices)})" if len(notices) > 1 else ""
        latest = fit_lines(notices[-1], max(self.size.width, 40), self.LINES, len(" ! "), len(more))
        text = Text(f" ! {latest}", style="bold")
        text.append(more)
        if text.plain != self.plain:
            self.set_text(text)
            self.refresh(layout=True)  # one line or two: the height follows the text


CUT_NOTE = "… (! shows it whole)"


def fit_lines(sentence: str, width: int, lines: int, before: int, after: int) -> str:
    """`sentence` as it fits `lines` lines of `width` once wrapped at words, after `before` and with
    `after` columns still to come; when it does not, cut at a word and say `!` shows it whole."""

    def fits(text: str) -> bool:
        return len(textwrap.wrap("x" * before + text + "x" * after, width)) <= lines

    if fits(sentence):
        return sentence
    words = sentence.split(" ")
    while words and not fits(" ".join(words) + CUT_NOTE):
        words.pop()
    return " ".join(words).rstrip(",;:") + CUT_NOTE


class VerdictPanel(TextLine):
    """A replay's verdict, once it has ended: MATCH, or where it differed and how; hidden before."""

    def show(self, verdict: ReplayVerdict | None) -> None:
        self.display = verdict is not None
        if verdict is None:
            return
        self.set_classes("-match" if verdict.ok else "-mismatch")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {verdict.headline}", style="bold")
        if verdict.run > 1:
            text.append(f"  (run {verdict.run})")
        if not verdict.ok:
            # The first changed lines of the recorded-vs-replayed diff; the whole report is one key away.
            changed = [line for line in verdict.report.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
            for line in changed[:3]:
                text.append(f"\n   {line}")
        text.append("\n p: the full report   R: replay again", style="dim")
        self.set_text(text)


class StatsLine(TextLine):
    def show(self, state: EngineState) -> None:
        self.set_text(Text(" " + stats_text(state.counters)))
