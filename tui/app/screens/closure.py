"""A screen's closure card: shown once per closed connection, kept current, and given the findings
of `rtui diagnose` on the recording, computed on a worker thread so the UI never waits for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen
from textual.worker import get_current_worker

from tui.app.findings import DIAGNOSING, CardFindings, findings_for
from tui.app.screens.modals import CardChoice, ClosureCard
from tui.app.widgets.event_log import EventLog
from tui.engine.state import CloseSummary


class CardKeeper:
    def __init__(
        self,
        screen: Screen[Any],
        event_log: EventLog,
        recording_path: Callable[[], str | None],
        reconnect: Callable[[], None] | None = None,
    ) -> None:
        """`recording_path` says where the session is recorded when the card is shown;
        `reconnect`, when given, is what the card's R does."""
        self.screen = screen
        self.event_log = event_log
        self.recording_path = recording_path
        self.reconnect = reconnect
        # The last close summary seen, compared by value: an engine in another process sends a
        # fresh copy with every snapshot, and the same connection's summary can be rebuilt.
        self.close: CloseSummary | None = None
        self.findings: CardFindings = DIAGNOSING
        self._connection: tuple[str | None, int] | None = None
        self._card: ClosureCard | None = None

    def follow(self, close: CloseSummary | None) -> None:
        """Pushes the card once per closed connection (not for the client's own normal close); a
        summary rebuilt for the same connection updates the card if it is still open, and never
        pushes it again."""
        if close is None or close == self.close:
            return
        # A connection is its number in its recording: a replay run again, or a relay's next
        # client, starts a new recording whose connections count from 1 again.
        connection = (self.recording_path(), close.conn)
        new_connection = connection != self._connection
        self.close, self._connection = close, connection
        self.findings = DIAGNOSING
        self._diagnose(close)
        if new_connection and not _asked_for(close):
            self.show()
        elif self._card_is_open():
            assert self._card is not None
            self._card.show(close)
            self._card.show_findings(self.findings)

    def show(self) -> bool:
        """Shows the card of the last closed connection; False when nothing has closed yet."""
        if self.close is None:
            return False
        if self._card_is_open():
            return True
        self._card = ClosureCard(self.close, self.findings, can_reconnect=self.reconnect is not None)
        self.screen.app.push_screen(self._card, self._chosen)
        return True

    def _card_is_open(self) -> bool:
        return self._card is not None and self._card in self.screen.app.screen_stack

    def _chosen(self, choice: CardChoice | None) -> None:
        if choice is None:
            return
        if choice.action == "reconnect" and self.reconnect is not None:
            self.reconnect()
        elif choice.action == "jump" and not self.event_log.select_seq(choice.seq):
            self.screen.notify(f"Record {choice.seq} is no longer in the view; the recording has it (rtui show).", timeout=4)

    # -- the diagnosis, off the UI thread --------------------------------------------------------

    def _diagnose(self, close: CloseSummary) -> None:
        path = self.recording_path()

        def work() -> None:
            findings = findings_for(path)
            if not get_current_worker().is_cancelled:  # the screen or the app is gone
                self.screen.app.call_from_thread(self._diagnosed, close, findings)

        self.screen.run_worker(work, thread=True, exclusive=True, group="closure-diagnosis", name="diagnose")

    def _diagnosed(self, close: CloseSummary, findings: CardFindings) -> None:
        if close != self.close:
            return  # a newer close is being diagnosed
        self.findings = findings
        if self._card_is_open():
            assert self._card is not None
            self._card.show_findings(findings)


def _asked_for(close: CloseSummary) -> bool:
    """A close this client made normally (the user pressed R): nothing to explain unless asked (c)."""
    return close.closed_by == "client" and close.code == 1000 and close.open_failure is None
