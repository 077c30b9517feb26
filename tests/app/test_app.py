"""Pilot tests of the live screen: keys reach the engine, the log filters and follows, closes show."""

from __future__ import annotations

import time

import pytest
from textual.command import CommandList
from textual.widgets import Input

from app_support import CONVERSATION, FixedClock, FrozenEngine, closed_engine, conversation_engine, entries_of, read_records
from tui.app.app import RtuiApp
from tui.app.log_model import searchable_text
from tui.app.screens.modals import ClosureCard, FrameInspector, HelpScreen, Prompt
from tui.app.screens.recording import RecordingScreen
from tui.app.settings import UISettings
from tui.app.widgets.event_log import EventLog
from tui.app.widgets.status import SessionHeader
from tui.engine.commands import CancelResponse, CreateResponse, Mark, Reconnect, SendText, SetMuted, SetTalking, ToggleTurnMode
from tui.protocol.summary import collapse
from tui.wire.writer import SessionWriter


def make_app(engine: FrozenEngine, **settings: object) -> RtuiApp:
    return RtuiApp(engine, clock=FixedClock(), settings=UISettings(**settings))  # type: ignore[arg-type]


async def settle(pilot) -> None:
    """Let the refresh timer drain everything the engine logged, and the screen catch up."""
    await until(pilot, lambda: not any(getattr(s, "feed", None) and s.feed.pending for s in pilot.app.screen_stack))
    await pilot.pause(0.1)


async def until(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the screen did not catch up"
        await pilot.pause(0.05)


@pytest.fixture
def engine() -> FrozenEngine:
    return conversation_engine(FixedClock())


async def test_session_keys_call_engine_commands(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for key in ("m", "v", "r", "x", "R"):
            await pilot.press(key)
        assert engine.calls == [SetMuted(True), ToggleTurnMode(), CreateResponse(), CancelResponse(), Reconnect()]


async def test_space_talks_only_in_push_to_talk(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("space")
        assert engine.calls == []  # server VAD decides turns; the user is told how to switch
        engine.state.turn_mode = "push_to_talk"
        await pilot.press("space")
        engine.state.talking = True
        await pilot.press("space")
        assert engine.calls == [SetTalking(True), SetTalking(False)]


async def test_text_and_mark_prompts_send_what_was_typed(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("t")
        assert isinstance(app.screen, Prompt)
        await pilot.press(*"quick question", "enter")  # "q" types, it does not quit
        await pilot.press("b")
        await pilot.press(*"odd silence", "enter")
        await pilot.press("t", "escape")  # cancelled: nothing sent
        assert engine.calls == [SendText("quick question"), Mark("odd silence")]
        assert app.is_running


async def test_quit_key_exits(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.is_running


async def test_search_and_direction(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        everything = list(log.visible_rows)
        await pilot.press("slash", *"response.output_audio", "enter")
        shown = log.visible_rows
        assert shown and len(shown) < len(everything)
        assert [r for r in everything if "response.output_audio" in searchable_text(r)] == shown

        await pilot.press("d")  # all -> c2s
        assert log.row_filter.direction == "c2s"
        assert all(row.line.direction == "c2s" for row in log.visible_rows)

        await pilot.press("slash")  # the dialog opens with the current search
        assert app.screen.query_one("#prompt-input", Input).value == "response.output_audio"
        await pilot.press("escape")  # Esc cancels: the search stays
        assert log.row_filter.text == "response.output_audio"
        await pilot.press("slash", "ctrl+u", "enter")  # emptied: everything again, still c2s only
        assert log.visible_rows == [r for r in everything if r.line.direction == "c2s"]
        await pilot.press("d", "d", "d")  # c2s -> s2c -> local -> all
        assert log.row_filter.direction is None
        assert log.visible_rows == everything


def _flood(engine: FrozenEngine, count: int, start_seq: int = 10_000) -> None:
    """`count` distinct server events (not streamed, so one row each)."""
    records = []
    for i in range(count):
        text = f'{{"type":"rate_limits.updated","event_id":"ev{start_seq + i}","rate_limits":[]}}'
        records.append(
            {
                "seq": start_seq + i,
                "t_ns": (start_seq + i) * 1_000_000,
                "conn": 1,
                "kind": "frame",
                "dir": "s2c",
                "opcode": "text",
                "text": text,
                "size": len(text),
            }
        )
    for entry in entries_of(records):
        engine.log.append(entry)


async def test_follow_stops_when_scrolling_up_and_resumes(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        _flood(engine, 200)
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        assert log.follow and log.scroll_y == log.max_scroll_y > 0

        await pilot.press("up", "up")
        assert not log.follow
        reading = log.cursor_row
        top = log.scroll_y
        _flood(engine, 50, start_seq=20_000)
        await settle(pilot)
        assert log.cursor_row is reading and log.scroll_y == top  # new events do not move the view
        assert "PAUSED" in app.screen.query_one("#log-bar").plain

        await pilot.press("f")
        assert log.follow and log.scroll_y == log.max_scroll_y
        assert log.cursor_row is log.visible_rows[-1]

        log.scroll_up(animate=False, immediate=True)  # the mouse wheel
        await pilot.pause()
        assert not log.follow
        log.scroll_end(animate=False, immediate=True)  # back at the bottom
        await pilot.pause()
        assert log.follow
        assert "following" in app.screen.query_one("#log-bar").plain


async def test_close_updates_header_and_shows_card(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(SessionHeader)
        assert header.plain.startswith(" OPEN ")
        closed = closed_engine(FixedClock())
        engine.state.close = closed.state.close
        engine.state.phase = "closed"
        await until(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
        card = app.screen.query_one("#card-text").render()
        assert "1000  normal closure" in str(card) and "closed first by  server" in str(card)
        assert "invalid_value" in str(card)
        last = str(app.screen.query_one("#card-lines").render())
        assert "s2c   error" in last and last.count("input_audio_buffer.append") == 1  # the run reads as one line
        await pilot.press("escape")
        assert "CLOSED 1000" in header.plain and "closed first by server" in header.plain
        await pilot.press("c")  # the card comes back on demand
        assert isinstance(app.screen, ClosureCard)
        await pilot.press("R")
        assert engine.calls == [Reconnect()]
        assert not isinstance(app.screen, ClosureCard)
        # The same close never pops the card again by itself.
        await settle(pilot)
        assert not isinstance(app.screen, ClosureCard)


async def test_inspector_shows_the_frame_with_audio_abbreviated(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        index = next(i for i, row in enumerate(log.visible_rows) if row.line.label == "response.output_audio.delta")
        await pilot.press(*["up"] * (len(log.visible_rows) - 1 - index), "enter")
        assert isinstance(app.screen, FrameInspector)
        body = str(app.screen.query_one("#inspector-json").render())
        assert "<base64 audio:" in body and "100 ms of pcm 24 kHz" in body
        raw = app.screen.row.record["text"]
        assert len(body) < len(raw)  # the payload itself is not dumped
        await pilot.press("escape")
        assert not isinstance(app.screen, FrameInspector)


async def test_help_lists_every_binding(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        live = app.screen
        # Every binding the session offers (a replay's report key is offered only in a replay).
        ids = {
            b.id
            for node in (live, live.query_one(EventLog), app)
            for b in type(node).BINDINGS
            if b.id and node.check_action(b.action, ()) is not False
        }
        assert "session.talk" in ids and "session.replay_report" not in ids
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert ids <= {word for word in text.split()}
        assert "Over SSH" in str(app.screen.query_one("#help-notes").render())


async def test_command_palette_runs_session_commands(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in (
            "Send response.create",
            "Send response.cancel",
            "Mute or unmute the microphone",
            "Open a recording read-only",
            "Quit",
        ):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"send response.create")
        await until(pilot, lambda: bool(app.screen.query(CommandList)) and app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: engine.calls == [CreateResponse()])


async def test_open_recording_shows_it_read_only(engine: FrozenEngine, tmp_path) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("o", *str(tmp_path / "missing.jsonl"), "enter")
        assert isinstance(app.screen, Prompt)
        assert "is not a file" in str(app.screen.query_one("#prompt-error").render())
        field = app.screen.query_one("#prompt-input")
        field.value = str(CONVERSATION)
        await pilot.press("enter")
        recording = next(screen for screen in app.screen_stack if isinstance(screen, RecordingScreen))
        await until(pilot, lambda: recording.loaded)
        # The recorded session closed, so it opens on its closure card, as it did live.
        await until(pilot, lambda: isinstance(app.screen, ClosureCard))
        await pilot.press("escape")
        assert app.screen is recording
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        expected = [(line.label, line.count) for line in collapse(read_records(CONVERSATION))]
        assert [(row.line.label, row.line.count) for row in log.visible_rows] == expected
        await pilot.press("m")  # session keys do not act on a recording
        assert engine.calls == []
        await pilot.press("escape")
        assert not isinstance(app.screen, RecordingScreen)


async def test_log_keeps_at_most_its_line_cap(engine: FrozenEngine) -> None:
    app = make_app(engine, log_lines=50)
    async with app.run_test() as pilot:
        _flood(engine, 500)
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        assert log.row_count == 50
        assert log.visible_rows[-1].line.seq == 10_499  # the newest are kept


async def test_without_colour_errors_are_still_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    engine = closed_engine(FixedClock())
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
        await pilot.press("escape")
        await settle(pilot)
        assert app.no_color
        log = app.screen.query_one(EventLog)
        drawn = [log.render_line(y).text for y in range(log.scrollable_content_region.height)]
        marker = {f"{line[2:].split()[1]} {line[2:].split()[2]}": line[:2] for line in drawn if line.strip()}
        # The error event and the server's first close are marked in text, not only in colour.
        assert marker["s2c error"] == "!!" and marker["s2c close"] in ("!!", "! ")
        assert marker["s2c response.created"] == "  "
        assert not any(line.startswith("!!") for line in drawn if "session." in line)


async def test_header_counts_elapsed_time_and_time_left() -> None:
    clock = FixedClock()
    engine = conversation_engine(clock)
    app = RtuiApp(engine, clock=clock, settings=UISettings())
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        header = app.screen.query_one(SessionHeader)
        assert "elapsed 00:02  expires in 59:57" in header.plain
        clock.advance(65)
        await until(pilot, lambda: "elapsed 01:07  expires in 58:52" in header.plain)
        clock.advance(3600)
        await until(pilot, lambda: "elapsed 1:01:07  past expiry" in header.plain)


async def test_clicking_a_row_selects_it_and_a_double_click_inspects_it(engine: FrozenEngine) -> None:
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        top = int(log.scroll_y)
        await pilot.click(EventLog, offset=(10, 2))
        assert not log.follow and log.cursor_row is log.visible_rows[top + 2]
        await pilot.double_click(EventLog, offset=(10, 3))
        assert isinstance(app.screen, FrameInspector)
        assert app.screen.row is log.visible_rows[top + 3]


async def test_a_file_that_is_not_a_recording_is_refused_in_one_sentence(engine: FrozenEngine, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n")
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("o", *str(notes), "enter")
        assert isinstance(app.screen, Prompt)
        error = str(app.screen.query_one("#prompt-error").render())
        assert str(notes) in error and "pick a file that rtui recorded" in error


async def test_a_long_recording_streams_through_the_log_without_gaps(engine: FrozenEngine, tmp_path) -> None:
    path = tmp_path / "long.jsonl"
    writer = SessionWriter(path, mode="mock", url="ws://127.0.0.1:1/v1/realtime")
    conn = writer.new_conn()
    for n in range(400):
        writer.frame(conn, "s2c", f'{{"type":"rate_limits.updated","event_id":"ev{n}","rate_limits":[]}}')
    writer.close()
    app = make_app(engine, log_lines=50)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("o", *str(path), "enter")
        await until(pilot, lambda: app.screen.loaded)
        await settle(pilot)
        log = app.screen.query_one(EventLog)
        assert log.row_count == 50
        assert app.screen.feed.skipped == 0  # every record went through the log; none was dropped unseen
        assert '"ev399"' in log.visible_rows[-1].record["text"]
