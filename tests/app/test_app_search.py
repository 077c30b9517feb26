"""Searching the log: over the type, the summary and the frame's own text, `!` to exclude, `re:`
for a regular expression; n / N step through the matches, e / E through errors and closes. Over
the engine `rtui` runs (its child process) and a session the mock closes."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from app_support import log_shown, on_screen, wait_for
from tui.app.log_model import RowFilter, is_error_or_close, searchable_text
from tui.app.screens.modals import ClosureCard, Prompt
from tui.engine.commands import CreateResponse, SendText
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.mock import CloseAfter


async def test_search_jumps_and_errors_over_the_engine_process(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
        mock_options={"faults": (CloseAfter(code=1011, reason="boom", after_frames=4),)},
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open")
        engine.submit(SendText("the parrot is called Pablo"))  # the client's frames 2 and 3
        await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        engine.submit(CreateResponse())  # frame 4: the mock closes with 1011
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))
        await pilot.press("escape")
        await log_shown(pilot, app)
        log = app.live_screen.event_log
        everything = list(log.visible_rows)

        # The payload: the user's words, in the frames that carry them (sent, and echoed back).
        await pilot.press("slash", *"pablo", "enter")
        shown = log.visible_rows
        assert [row.line.label for row in shown] == [
            "conversation.item.create",
            "conversation.item.added",
            "conversation.item.done",
        ]
        assert all("Pablo" in row.record["text"] for row in shown)

        # Negation: everything but the audio appends and deltas.
        await pilot.press("slash", "ctrl+u", *"!audio", "enter")
        assert log.visible_rows and all("audio" not in searchable_text(row).lower() for row in log.visible_rows)
        assert len(log.visible_rows) == sum("audio" not in searchable_text(row).lower() for row in everything)

        # A regular expression; a broken one is refused in place, and Esc leaves the search as it was.
        await pilot.press("slash", "ctrl+u", *"re:response\\.(created|done)", "enter")
        assert {row.line.label for row in log.visible_rows} == {"response.created", "response.done"}
        await pilot.press("slash", "ctrl+u", *"re:(", "enter")
        assert isinstance(app.screen, Prompt)
        assert "Not a regular expression" in str(app.screen.query_one("#prompt-error", Static).render())
        await pilot.press("escape")
        assert log.row_filter == RowFilter("re:response\\.(created|done)")

        # n / N step through the matches: from the newest back, then forward from the first.
        matches = list(log.visible_rows)
        assert len(matches) >= 2  # response.created and response.done
        await pilot.press("N")
        assert log.cursor_row is matches[-2] and not log.follow
        await pilot.press("home", "n")
        assert log.cursor_row is matches[1]

        # e / E: from the top, the first error or close; from the bottom, the connection's end.
        await pilot.press("slash", "ctrl+u", "enter")
        assert log.visible_rows == everything
        await pilot.press("home", "e")
        row = log.cursor_row
        assert row is not None and is_error_or_close(row) and row.line.label == "close"
        assert "1011" in row.line.summary
        await pilot.press("end", "E")
        assert log.cursor_row is not None and log.cursor_row.line.label in ("close", "end")
        await pilot.press("q")
    assert not runner.running and engine.exitcode == 0
