"""The TUI over the real engine and the embedded mock: keys become events the mock receives."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_support import on_screen, read_records, wait_for
from tui.app.screens.modals import ClosureCard
from tui.app.widgets.status import SessionHeader
from tui.app.widgets.transcript import Transcript
from tui.audio.sinks import NullSink
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.engine.session import Engine


def client_events(directory: Path) -> list[str]:
    """The event types the mock received, from the mock's own recording of its side."""
    types = []
    for path in sorted(directory.glob("*.jsonl")):
        types += [r.get("type") for r in read_records(path) if r["kind"] == "frame" and r["dir"] == "c2s"]
    return types


async def test_keys_reach_the_mock_and_its_answers_reach_the_screen(tmp_path: Path) -> None:
    mock_dir = tmp_path / "mock"
    mock_dir.mkdir()
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path / "client",
        mock_options={"record_dir": mock_dir, "realtime": False},
    )
    engine = Engine(config, source=None, sink=NullSink())
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
        await wait_for(pilot, lambda: app.screen.query_one(SessionHeader).plain.startswith(" OPEN "))
        header = app.screen.query_one(SessionHeader).plain
        assert header.startswith(" OPEN ") and "EMBEDDED MOCK" in header and engine.state.session_id in header

        await pilot.press("t", *"hello there", "enter")
        await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        await wait_for(pilot, lambda: not engine.state.response_active)
        await wait_for(pilot, lambda: "model > Hello" in app.screen.query_one(Transcript).plain)
        transcript = app.screen.query_one(Transcript).plain
        assert "you   > hello there" in transcript and "model > Hello from the rtui mock server." in transcript

        await pilot.press("r")
        await wait_for(pilot, lambda: client_events(mock_dir).count("response.create") == 2)
        await pilot.press("x")
        await wait_for(pilot, lambda: "response.cancel" in client_events(mock_dir))
        await pilot.press("b", *"checkpoint", "enter")
        await wait_for(pilot, lambda: any(r.get("kind") == "mark" for r in read_records(Path(engine.state.recording_path))))
        await pilot.press("q")
    received = client_events(mock_dir)
    assert received.count("conversation.item.create") == 1
    assert received.count("response.create") == 2
    assert not runner.running


@pytest.mark.parametrize("where", ["thread", "process"])
async def test_a_server_close_shows_the_card_at_once(tmp_path: Path, where: str) -> None:
    """On a thread (replay and proxy UIs) and in its own process (the live `rtui`), alike."""
    from tui.mock import CloseAfter

    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        mock_options={"faults": (CloseAfter(code=4001, reason="test fault", after_seconds=0.5),)},
    )
    engine = Engine(config, source=None, sink=NullSink()) if where == "thread" else EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
        card = str(app.screen.query_one("#card-text").render())
        assert "4001" in card and "'test fault'" in card and "closed first by  server" in card
        # The header follows at its next refresh (the card is pushed as the close arrives).
        await wait_for(pilot, lambda: "CLOSED 4001" in app.live_screen.header.plain)
        assert "closed first by server" in app.live_screen.header.plain
        await pilot.press("escape")
        assert app.screen is app.live_screen
        await pilot.press("q")


async def test_push_to_talk_keys_drive_the_turn_on_the_wire(tmp_path: Path) -> None:
    from tui.audio.options import make_source

    mock_dir = tmp_path / "mock"
    mock_dir.mkdir()
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="tone", output="null"),
        record_dir=tmp_path / "client",
        mock_options={"record_dir": mock_dir, "realtime": False},
        transcribe_model="gpt-4o-mini-transcribe",
    )
    engine = Engine(config, source=make_source("tone"), sink=NullSink())
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
        await wait_for(pilot, lambda: "input_audio_buffer.append" in client_events(mock_dir))
        # The meters name what feeds them (a tone, not a device: no scheduling line).
        await wait_for(pilot, lambda: app.live_screen.model_meter.tooltip is not None)
        assert str(app.live_screen.mic_meter.tooltip) == engine.state.input_description
        assert engine.state.input_description.startswith("tone ")
        assert str(app.live_screen.model_meter.tooltip) == "no audio output"
        await pilot.press("v")  # server VAD -> push-to-talk: a session.update turning VAD off
        await wait_for(pilot, lambda: engine.state.turn_mode == "push_to_talk")
        await wait_for(pilot, lambda: client_events(mock_dir).count("session.update") == 2)
        await wait_for(pilot, lambda: "push-to-talk" in app.live_screen.header.plain)  # at its next refresh
        await pilot.press("space")
        await wait_for(pilot, lambda: engine.state.talking)
        await wait_for(pilot, lambda: "TALKING" in app.live_screen.header.plain)
        await pilot.pause(0.4)  # hold the key (a toggle: terminals send no key release)
        await pilot.press("space")
        await wait_for(pilot, lambda: "input_audio_buffer.commit" in client_events(mock_dir))
        await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
        # --transcribe: what the user said (the mock's stand-in transcript) shows in the transcript
        await wait_for(pilot, lambda: "you   > (mock transcript of " in app.screen.query_one(Transcript).plain)
        await pilot.press("q")
    received = client_events(mock_dir)
    turn = received[received.index("input_audio_buffer.clear") :]
    assert turn.index("input_audio_buffer.append") < turn.index("input_audio_buffer.commit") < turn.index("response.create")


async def test_a_reconnect_after_a_server_close_is_diagnosed_connection_by_connection(tmp_path: Path) -> None:
    """Both closes land in one recording, and `rtui diagnose` explains each connection's."""
    from tui.diagnose import diagnose
    from tui.mock import CloseAfter

    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        mock_options={"faults": (CloseAfter(code=4001, reason="test fault", after_seconds=0.5),)},
        stay_after_close=True,  # as `rtui` runs it: the card waits for R or q
    )
    engine = Engine(config, source=None, sink=NullSink())
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))
        await pilot.press("R")
        await wait_for(pilot, lambda: engine.state.phase == "open")
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and engine.state.phase == "closed")
        await pilot.press("q")
    diagnosis = diagnose(engine.state.recording_path)
    first = diagnosis.ending
    assert (first.conn, first.closed_first_by, first.code, first.reason) == (1, "server", 4001, "test fault")
    assert [(e.conn, e.closed_first_by, e.code, e.reason) for e in diagnosis.other_endings] == [(2, "server", 4001, "test fault")]
