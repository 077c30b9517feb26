"""Reading the screen: the meters keep their width whatever note they show, and a user's mark reads
as a note, not as a warning (in the log and in `rtui show`)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult

from app_support import FrozenEngine, on_screen, wait_for
from tui.app.app import RtuiApp
from tui.app.log_model import line_text
from tui.app.screens.modals import ReportScreen, help_text
from tui.app.settings import UISettings
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
    short = {"seq": 1, "t_ns": 0, "conn": 1, "kind": "frame", "dir": "s2c", "opcode": "text",
             "text": '{"type":"response.done"}', "size": 24}
    long_type = "conversation.item.input_audio_transcription.completed"
    long = dict(short, text='{"type":"%s","transcript":"hi"}' % long_type, size=70)
    lines = [line_text(record_line(record)) for record in (short, long)]
    assert lines[1].index(" B ") == lines[0].index(" B ")  # the size column
    assert "conversation.item.input_audio_transcr…" in lines[1]  # cut, not pushing the columns right


def test_help_rows_keep_descriptions_and_ids_apart() -> None:
    groups = [("Session", [("Space", "push-to-talk", "session.talk"),
                           ("/", "search: type, summary and frame text (!x excludes, re: regex)", "log.filter")])]
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
        await pilot.pause(0.2)
        bar = app.live_screen.notices
        shown = bar.plain
        assert shown.startswith(" ! Recording stopped: No space left on device")
        assert shown.endswith("… (! shows it whole)  (! lists all 3)")
        assert len(shown) <= 2 * 80  # two lines at most: nothing falls off the bottom unannounced
        await pilot.press("exclamation_mark")
        assert isinstance(app.screen, ReportScreen)
        listed = str(app.screen.query_one("#report-text").render())
        assert all(notice in listed.replace("\n", " ") or notice in listed for notice in engine.state.notices)
        await pilot.press("escape")
        assert app.screen is app.live_screen


async def test_with_no_speaker_the_model_meter_still_shows_the_audio_received(tmp_path, monkeypatch) -> None:
    # As over SSH: no sound server, so the speaker cannot open; the answer's audio still arrives.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    config = EngineConfig(
        Endpoint(url="", kind="mock"), audio=AudioSettings(input="none", output="speaker"), record_dir=tmp_path,
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
    story1 = Path(__file__).resolve().parent.parent / "sessions/examples/story1-binary-append-close-1000.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "tui", "diff", str(story1), str(story1)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "  1 item\n" in out.stdout and "1 items" not in out.stdout
