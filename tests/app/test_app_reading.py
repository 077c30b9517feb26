"""Reading the screen: the meters keep their width whatever note they show, and a user's mark reads
as a note, not as a warning (in the log and in `rtui show`)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static, TextArea

from app_support import FixedClock, FrozenEngine, conversation_engine, log_shown, on_screen, read_records, wait_for
from tui.app.app import RtuiApp
from tui.app.log_model import line_text
from tui.app.screens.modals import EventEditor, Prompt, ReportScreen, help_text
from tui.app.screens.recording import RecordingScreen
from tui.app.settings import UISettings
from tui.app.widgets.columns import short_label
from tui.app.widgets.meters import LevelMeter
from tui.engine.commands import SendText
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.engine.state import Levels
from tui.protocol.summary import counted, record_line
from tui.show.render import line_text as show_line


class Meters(App[None]):
    def compose(self) -> ComposeResult:
        for note in ("", "MUTED", "TALKING", "space to talk"):
            yield LevelMeter("mic  ", id=f"meter-{len(note)}")


async def test_the_meter_bar_keeps_its_width_whatever_the_note() -> None:
    app = Meters()
    async with app.run_test(size=(80, 10)) as pilot:
        notes = {"meter-0": "", "meter-5": "MUTED", "meter-7": "TALKING", "meter-13": "space to talk"}
        for meter in app.query(LevelMeter):
            meter.show(Levels(-20.0, -12.0), 1.0, notes[meter.id or ""], "tx 12fr 4.1k")
        await pilot.pause()
        bars = {meter.id: re.search(r"\[[^\]]*\]", meter.render().plain).group(0) for meter in app.query(LevelMeter)}
        assert len({len(bar) for bar in bars.values()}) == 1, bars
        traffic_columns = {meter.render().plain.index("tx 12fr") for meter in app.query(LevelMeter)}
        assert len(traffic_columns) == 1


def test_a_mark_is_a_note_not_a_warning() -> None:
    mark = {"seq": 7, "t_ns": 1_000_000, "conn": 0, "kind": "mark", "dir": "local", "note": "odd silence"}
    line = record_line(mark)
    assert line.severity == "note"
    shown = show_line(line)
    assert shown.startswith("* ") and "odd silence" in shown


def test_columns_line_up_whatever_the_event_type() -> None:
    short = {
        "seq": 1,
        "t_ns": 0,
        "conn": 1,
        "kind": "frame",
        "dir": "s2c",
        "opcode": "text",
        "text": '{"type":"response.done"}',
        "size": 24,
    }
    long_type = "conversation.item.input_audio_transcription.completed"
    long = dict(short, text='{"type":"%s","transcript":"hi"}' % long_type, size=70)
    lines = [line_text(record_line(record)) for record in (short, long)]
    assert lines[1].index(" B ") == lines[0].index(" B ")  # the size column
    assert "conversation.item.input_audio_transcr…" in lines[1]  # cut, not pushing the columns right


def test_help_rows_keep_descriptions_and_ids_apart() -> None:
    groups = [
        (
            "Session",
            [
                ("Space", "push-to-talk", "session.talk"),
                ("/", "search: type, summary and frame text (!x excludes, re: regex)", "log.filter"),
            ],
        )
    ]
    rows = [line for line in help_text(groups).plain.splitlines() if line.startswith("  ")]
    columns = {line.index(binding_id) for line, binding_id in zip(rows, ("session.talk", "log.filter"), strict=False)}
    assert len(columns) == 1
    assert all(
        line[line.index(binding_id) - 2 : line.index(binding_id)] == "  "
        for line, binding_id in zip(rows, ("session.talk", "log.filter"), strict=False)
    )


async def test_every_notice_is_readable_and_none_is_cut_mid_sentence_at_80x24() -> None:
    engine = FrozenEngine()
    engine.state.notices = [
        "No OPENAI_API_KEY: talking to the embedded mock server, a local stand-in that follows the documented API.",
        "No audio device: PortAudio sees no output device (typical over SSH); run with --output FILE.wav.",
        "Recording stopped: No space left on device; everything before this point is in sessions/x.jsonl, and "
        "the session goes on unrecorded until it ends, which the card will say again when it closes, at length.",
    ]
    app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.live_screen.notices
        await wait_for(pilot, lambda: "(! lists all 3)" in bar.plain and bar.region.height == 2)
        shown = bar.plain
        assert shown.startswith(" ! Recording stopped: No space left on device")
        assert shown.endswith("… (! shows it whole)  (! lists all 3)")
        assert len(shown) <= 2 * 80  # two lines at most: nothing falls off the bottom unannounced
        kept = shown[len(" ! ") : shown.index("… (! shows it whole)")]
        assert engine.state.notices[-1].startswith(kept + " ")  # cut between words, never inside one
        assert bar.region.height == 2 and len(bar.render().plain.splitlines()) <= 2
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen) and bool(app.screen.query("#report-text")))
        listed = str(app.screen.query_one("#report-text").render())
        assert all(notice in listed.replace("\n", " ") or notice in listed for notice in engine.state.notices)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.live_screen)


async def test_with_no_speaker_the_model_meter_still_shows_the_audio_received(tmp_path, monkeypatch) -> None:
    # As over SSH: no sound server, so the speaker cannot open; the answer's audio still arrives.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="speaker"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    loudest = -120.0
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open")
        assert any("no output device" in notice or "PortAudio" in notice for notice in engine.state.notices)
        engine.submit(SendText("say something"))
        deadline = time.monotonic() + 15
        while not any(e.role == "assistant" and e.done for e in engine.state.transcript):
            assert time.monotonic() < deadline, "no answer"
            loudest = max(loudest, engine.state.output_level.rms_dbfs)
            await pilot.pause(0.02)
        assert engine.state.counters.audio_received_seconds > 0.5
        assert loudest > -60.0  # the meter moved with the received audio, not stuck at -inf
        await pilot.press("q")


def test_counts_read_right() -> None:
    assert [counted(n, "item") for n in (0, 1, 2)] == ["0 items", "1 item", "2 items"]
    # `rtui diff` of a recording with one client frame, against itself, says "1 item".
    story1 = Path(__file__).resolve().parents[2] / "sessions/examples/story1-binary-append-close-1000.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "tui", "diff", str(story1), str(story1)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "  1 item\n" in out.stdout and "1 items" not in out.stdout


@pytest.mark.parametrize("width, height", [(80, 24), (100, 30), (120, 40), (159, 40), (160, 40), (200, 50)])
async def test_the_log_keeps_40_columns_of_summary_at_every_width_and_its_columns_line_up(width, height) -> None:
    app = RtuiApp(conversation_engine(FixedClock()), clock=FixedClock(), settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(width, height)) as pilot:
        await log_shown(pilot, app)
        log = app.live_screen.event_log
        region = log.scrollable_content_region
        drawn = {row: log.render_line(y).text for y, row in enumerate(log.visible_rows[int(log.scroll_y) :][: region.height])}
        summary_columns = {text.index(row.line.summary[:10]) for row, text in drawn.items() if row.line.size}
        assert len(summary_columns) == 1, drawn  # one column, whatever the type's length
        assert region.width - summary_columns.pop() >= 40, (width, drawn)
        size_ends = {text.index(" B ") + 2 for text in drawn.values() if " B " in text}
        assert len(size_ends) == 1
        transcript = app.live_screen.transcript
        beside = transcript.region.x > log.region.x
        assert beside == (width >= 160)  # narrower, the transcript goes below the log


async def test_long_rows_read_whole_scrolled_sideways() -> None:
    app = RtuiApp(conversation_engine(FixedClock()), clock=FixedClock(), settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await log_shown(pilot, app)
        log = app.live_screen.event_log
        assert log.jump(-1, lambda row: row.line.label == "session.created")
        y = log.visible_rows.index(log.cursor_row) - int(log.scroll_y)
        summary = log.cursor_row.line.summary
        assert summary not in log.render_line(y).text  # too long for 80 columns
        await pilot.press("right")  # whole rows: each type in full
        assert log.shift == 0 and "whole rows" in app.live_screen.log_bar.plain
        seen = log.render_line(y).text
        assert " session.created " in seen
        for _ in range(len(summary) // 10 + 1):  # then sideways, ten columns a press
            await pilot.press("right")
            seen += log.render_line(y).text
        assert summary[-20:] in seen and f"whole rows, {log.shift} right" in app.live_screen.log_bar.plain
        await pilot.press(*["left"] * 30)
        assert log.shift is None and "whole rows" not in app.live_screen.log_bar.plain


def test_an_event_type_too_long_for_its_column_is_abbreviated_keeping_its_last_part() -> None:
    assert short_label("input_audio_buffer.append ×33", 17) == "iab.append ×33   "
    assert short_label("response.output_item.added", 17) == "response.oi.added"
    assert short_label("conversation.item.input_audio_transcription.completed", 17) == "c.i.iat.completed"
    assert short_label("input_audio_buffer.speech_started", 12) == "iab.speech_…"
    assert short_label("response.done", 17) == "response.done    "


async def test_push_to_talk_with_no_microphone_says_so_and_sends_nothing(tmp_path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
        turn_mode="push_to_talk",
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.log.total >= 5)
        await pilot.press("space", "space")
        await wait_for(pilot, lambda: any(n.startswith("No microphone: push-to-talk") for n in engine.state.notices))
        await pilot.pause(0.3)
        sent = [e.record.get("type") for e in engine.log.since(0)[0] if e.record["kind"] == "frame" and e.record["dir"] == "c2s"]
        assert "input_audio_buffer.clear" not in sent and "input_audio_buffer.commit" not in sent
        await pilot.press("q")


async def test_the_open_prompt_lists_recent_recordings_and_completes_paths(tmp_path, monkeypatch) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    story1 = Path(__file__).resolve().parents[2] / "sessions/examples/story1-binary-append-close-1000.jsonl"
    for age, name in enumerate(["20261206T100000-live.jsonl", "20261206T110000-live.jsonl", "notes.txt"]):
        (sessions / name).write_bytes(story1.read_bytes())
        os.utime(sessions / name, (1_800_000_000 + age, 1_800_000_000 + age))
    monkeypatch.chdir(tmp_path)
    app = RtuiApp(FrozenEngine(), settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, Prompt)
        notes = str(app.screen.query_one("#prompt-notes", Static).render())
        assert notes.index("20261206T110000-live.jsonl") < notes.index("20261206T100000-live.jsonl")  # newest first
        assert "notes.txt" not in notes
        await pilot.press(*"sess")
        await pilot.pause(0.2)
        await pilot.press("right")  # accepts the completion: the folder
        field = app.screen.query_one("#prompt-input", Input)
        assert field.value == "sessions/"
        await pilot.press(*"2026")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert field.value == "sessions/20261206T100000-live.jsonl"  # the first match in name order
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(isinstance(screen, RecordingScreen) for screen in app.screen_stack))


async def test_the_latency_table_over_the_engine_process(tmp_path) -> None:
    # Two text turns with the mock: each ends with response.create and gets its response.done.
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open")
        for number in (1, 2):
            engine.submit(SendText(f"question {number}"))
            await wait_for(pilot, lambda n=number: sum(e.role == "assistant" and e.done for e in engine.state.transcript) >= n)
        await wait_for(pilot, lambda: len(app.live_screen.turns.turns) == 2)
        await pilot.press("L")
        assert isinstance(app.screen, ReportScreen)
        table = str(app.screen.query_one("#report-text").render()).splitlines()
        assert table[0].split()[:3] == ["turn", "ended", "by"]
        assert [line.split()[1] for line in table[1:3]] == ["response.create", "response.create"]
        assert table[3].lstrip().startswith("p50") and table[4].lstrip().startswith("p95")
        await pilot.press("L")  # the key that opened it closes it
        assert app.screen is app.live_screen
        await pilot.press("q")
    # The same turns from the recording: rtui show --stats.
    [recording] = list(tmp_path.glob("*.jsonl"))
    out = subprocess.run(
        [sys.executable, "-m", "tui", "show", "--stats", str(recording)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.count("response.create") == 2 and " p95 " in out.stdout


async def test_copy_and_save_a_frame_the_recording_path_and_the_transcript(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path / "sessions",
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        written: list[str] = []
        assert app._driver is not None
        original = app._driver.write
        app._driver.write = lambda data: (written.append(data), original(data))[1]  # what reaches the terminal
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.recording_path is not None)
        engine.submit(SendText("what is the parrot called"))
        await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        path = engine.state.recording_path
        await wait_for(pilot, lambda: f"rec {path}" in app.live_screen.header.plain)

        await pilot.press("y")  # the recording's path, through OSC 52
        assert f"\x1b]52;c;{base64.b64encode(path.encode()).decode()}\a" in written

        log = app.live_screen.event_log
        assert log.jump(-1, lambda row: row.line.label == "conversation.item.create")
        await pilot.press("enter", "y")  # the inspected frame, byte for byte
        sent = log.cursor_row.record["text"]
        assert f"\x1b]52;c;{base64.b64encode(sent.encode()).decode()}\a" in written
        await pilot.press("s")
        assert isinstance(app.screen, Prompt)
        await pilot.press("enter")  # the proposed name
        await wait_for(pilot, lambda: any(tmp_path.glob("frame-*.json")))
        [saved] = tmp_path.glob("frame-*.json")
        assert saved.read_text() == sent
        await pilot.press("escape")  # the inspector

        await pilot.press("w", "enter")
        await wait_for(pilot, lambda: (tmp_path / "transcript.txt").exists())
        transcript = (tmp_path / "transcript.txt").read_text()
        assert transcript.startswith("user: what is the parrot called\nassistant: ")
        await pilot.press("w", "enter")  # the same name again: refused in place, nothing overwritten
        assert isinstance(app.screen, Prompt) and "exists" in str(app.screen.query_one("#prompt-error", Static).render())
        await pilot.press("escape", "q")


async def test_a_raw_client_event_is_checked_then_sent_as_typed_and_recorded(tmp_path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.recording_path is not None)
        await pilot.press("S")
        assert isinstance(app.screen, EventEditor)
        area = app.screen.query_one(TextArea)
        assert area.text == '{"type": "response.create"}'
        area.text = '{"type": "response.create", '  # cut short
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, EventEditor)
        assert str(app.screen.query_one("#editor-error", Static).render()).startswith("Not JSON:")
        area.text = '{"type": "response.make"}'
        await pilot.press("ctrl+s")
        assert "not a client event of the GA API" in str(app.screen.query_one("#editor-error", Static).render())
        typed = '{"type":"response.create",  "response":{"instructions":"Say hi."}}'
        area.text = typed
        await pilot.press("ctrl+s")
        assert app.screen is app.live_screen
        await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        await log_shown(pilot, app)
        log = app.live_screen.event_log
        assert log.jump(-1, lambda row: row.line.label == "response.create")  # select the frame just sent
        await pilot.press("S")  # the editor starts from it, to resend or tweak
        assert isinstance(app.screen, EventEditor) and app.screen.query_one(TextArea).text == typed
        await pilot.press("escape", "q")
    sent = [r for r in read_records(Path(engine.state.recording_path)) if r["kind"] == "frame" and r["dir"] == "c2s"]
    assert [r["text"] for r in sent if r.get("type") == "response.create"] == [typed]  # byte for byte; the bad ones never left
