"""The moment a session closes, in the TUI over the engine `rtui` really runs: the child process,
its pickled snapshots 50 times a second. The card shows once per connection, Esc returns to the
log and stays there, and q quits, for a server close, a refused handshake and a failed connect."""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from websockets.exceptions import ConnectionClosed

from app_support import FrozenEngine, on_screen, wait_for
from tmux_support import ROOT
from tui.app.app import RtuiApp
from tui.app.screens.modals import ClosureCard
from tui.app.screens.recording import RecordingScreen
from tui.app.settings import UISettings
from tui.diagnose import diagnose
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import PUBLISH_INTERVAL_S, EngineProcess
from tui.engine.relay import RelayEngine
from tui.engine.runner import EngineThread
from tui.mock import CloseAfter, MockConfig, MockServer, SendInvalidJson
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.proxy import RelayConfig


def live_config(endpoint: Endpoint, tmp_path: Path, **options: object) -> EngineConfig:
    return EngineConfig(
        endpoint,
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,  # as `rtui` runs it: the card waits for Esc, R or q
        **options,  # type: ignore[arg-type]
    )


def cards(app: RtuiApp) -> int:
    return sum(isinstance(screen, ClosureCard) for screen in app.screen_stack)


async def card_then_back_to_the_log(app: RtuiApp, pilot: Pilot, engine: EngineProcess) -> str:
    """Waits for the card, reads it, presses Esc, and checks that the log stays on screen while
    snapshots keep arriving (before the fix, every snapshot pushed the card again)."""
    await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
    # Once diagnosed: the findings come first, then the close (a sentence a finding says is not repeated).
    notes = lambda: "".join(str(note.render()) for note in app.screen.query("#card-findings-note"))  # noqa: E731
    await wait_for(pilot, lambda: "Diagnosing" not in notes())
    text = str(app.screen.query_one("#card-text").render())
    lists = app.screen.query("#card-findings").results(OptionList)
    findings = [str(option.prompt) for found in lists for option in found.options]
    text = "\n".join([*findings, text])
    title = str(app.screen.query_one(".modal-title").render())
    assert cards(app) == 1
    await pilot.press("escape")
    await pilot.pause(30 * PUBLISH_INTERVAL_S)  # thirty snapshots of the closed session
    assert engine.state.phase == "closed"
    assert app.screen is app.live_screen and cards(app) == 0
    await pilot.press("c")  # the card comes back on demand
    await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))
    await pilot.press("enter")
    await pilot.pause(10 * PUBLISH_INTERVAL_S)
    assert app.screen is app.live_screen
    return f"{title}\n{text}"


async def test_a_server_close_over_the_engine_process(tmp_path: Path) -> None:
    config = live_config(
        Endpoint(url="", kind="mock"), tmp_path, mock_options={"faults": (CloseAfter(code=1000, reason="", after_frames=1),)}
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        card = await card_then_back_to_the_log(app, pilot, engine)
        assert "Session closed: 1000 normal closure" in card and "closed first by  server" in card
        await pilot.press("q")
    assert not runner.running and engine.exitcode == 0


async def test_a_refused_handshake_over_the_engine_process(tmp_path: Path) -> None:
    async with MockServer(MockConfig(port=0, require_key="sk-right")) as server:
        engine = EngineProcess(live_config(Endpoint(server.url_for(), "live", "sk-wrong"), tmp_path))
        async with on_screen(engine) as (runner, app, pilot):
            card = await card_then_back_to_the_log(app, pilot, engine)
            assert "Session never opened: handshake refused: HTTP 401" in card
            assert card.count("check the API key") == 1  # said by the finding, not again below it
            assert "REFUSED 401" in app.live_screen.header.plain
            await pilot.press("q")
    assert not runner.running and engine.exitcode == 0


async def test_a_failed_connect_over_the_engine_process(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, so the connect is refused at once.
    engine = EngineProcess(live_config(Endpoint("ws://127.0.0.1:1/v1/realtime", "live", "sk-fake"), tmp_path))
    async with on_screen(engine) as (runner, app, pilot):
        card = await card_then_back_to_the_log(app, pilot, engine)
        assert "Session never opened: could not connect" in card
        assert "NOT CONNECTED" in app.live_screen.header.plain
        await pilot.press("q")
    assert not runner.running and engine.exitcode == 0


# -- the diagnosis on the card ---------------------------------------------------------------------


async def card_findings(app: RtuiApp, pilot: Pilot) -> list[str]:
    """The findings the card shows, once the diagnosis worker has delivered them."""
    await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-findings")))
    return [str(option.prompt) for option in app.screen.query_one("#card-findings", OptionList).options]


async def test_the_card_shows_the_diagnosis_and_jumps_to_its_evidence(tmp_path: Path) -> None:
    # The mock sends a text frame that is not JSON, then closes: `rtui diagnose` calls that
    # `invalid-json`, and so must the card, with the seq of the bad frame.
    config = live_config(
        Endpoint(url="", kind="mock"),
        tmp_path,
        mock_options={"faults": (SendInvalidJson(after_frames=1), CloseAfter(code=1000, after_frames=1))},
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        shown = await card_findings(app, pilot)
        path = engine.state.recording_path
        assert path is not None
        expected = diagnose(path).findings
        assert [finding.id for finding in expected] == ["invalid-json"]
        bad_frame = expected[0].evidence[0]
        assert len(shown) == 1 and "ERROR   invalid-json" in shown[0] and expected[0].message in shown[0]
        assert f"evidence: seq {bad_frame}" in shown[0]
        await pilot.press("enter")  # on the highlighted finding: to its evidence in the log
        log = app.live_screen.event_log
        # The choice reaches the log through the screen's message queue (Textual hands a dismissed
        # screen's result over with call_next), not by the time the card is gone: wait for the jump.
        await wait_for(
            pilot,
            lambda: app.screen is app.live_screen and log.cursor_row is not None and log.cursor_row.record["seq"] == bad_frame,
        )
        assert not log.follow  # the log holds the row under the cursor rather than following
        await pilot.press("q")
    assert not runner.running and engine.exitcode == 0


async def test_the_recording_view_has_the_card_and_its_findings() -> None:
    engine = FrozenEngine()  # an open session under the recording view
    story1 = ROOT / "sessions/examples/story1-binary-append-close-1000.jsonl"
    app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.press("o")
        app.screen.query_one("#prompt-input", Input).value = str(story1)
        await pilot.press("enter")
        shown = await card_findings(app, pilot)
        assert any("binary-frame" in line and "on iOS send .string, not .data" in line for line in shown)
        card = app.screen
        assert isinstance(card, ClosureCard) and not card.can_reconnect
        assert "reconnect" not in str(card.query_one(".modal-hint").render())
        await pilot.press("escape")
        assert isinstance(app.screen, RecordingScreen)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))
        await pilot.press("R")  # nothing to reconnect in a file: the card stays
        assert isinstance(app.screen, ClosureCard) and engine.calls == []
        await pilot.press("q")  # leaves from the card, as its hint says
        await wait_for(pilot, lambda: app.return_code == 0)


async def test_a_relayed_session_closure_has_its_findings(tmp_path: Path) -> None:
    # `rtui proxy --ui`: the client sends its audio as a binary frame, as in the seed report; the
    # mock closes 1000 like the service, and the card says why, from the relay's recording.
    async with MockServer(MockConfig(realtime=False)) as mock:
        config = RelayConfig(
            upstream=mock.url_for("gpt-realtime"), record=tmp_path / "relay.jsonl", record_to_directory=False, env={}
        )
        engine = RelayEngine(config)
        runner = EngineThread(engine)
        runner.start()
        try:
            app = RtuiApp(engine, settings=UISettings())
            async with app.run_test(size=(110, 36)) as pilot:
                await wait_for(
                    pilot, lambda: engine.relay is not None and engine.relay.url is not None and engine.state.notices != []
                )
                assert engine.relay is not None
                ws = await open_connection(
                    engine.relay.url + "/v1/realtime?model=gpt-realtime", ConnectOptions(ping_interval=None)
                )
                await ws.recv()  # session.created
                await ws.send(orjson.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"}))  # bytes: a binary frame
                with contextlib.suppress(ConnectionClosed):
                    await ws.recv()
                shown = await card_findings(app, pilot)
                assert any("binary-frame" in line and "binary frame" in line for line in shown)
                await pilot.press("q")
        finally:
            runner.stop()
    assert not runner.running


async def test_after_a_reconnect_c_shows_the_last_closed_connection(tmp_path: Path) -> None:
    engine = EngineProcess(live_config(Endpoint(url="", kind="mock"), tmp_path))
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open")
        await pilot.press("R")  # closes connection 1 (the client's 1000) and opens connection 2
        await wait_for(pilot, lambda: engine.log.total > 0 and engine.state.phase == "open" and engine.state.close is not None)
        assert app.screen is app.live_screen  # the user asked for that close: no card in the way
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
        card = str(app.screen.query_one("#card-text").render())
        assert "closed first by  client" in card and "1000" in card
        await pilot.press("q")
    assert not runner.running and engine.exitcode == 0
