"""The moment a session closes, in the TUI over the engine `rtui` really runs: the child process,
its pickled snapshots 50 times a second. The card shows once per connection, Esc returns to the
log and stays there, and q quits, for a server close, a refused handshake and a failed connect."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, wait_for
from textual.pilot import Pilot

from tui.app.app import RtuiApp
from tui.app.screens.modals import ClosureCard
from tui.engine.config import AudioSettings, EngineConfig, Endpoint
from tui.engine.process import PUBLISH_INTERVAL_S, EngineProcess
from tui.mock import CloseAfter, MockConfig, MockServer


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
    text = str(app.screen.query_one("#card-text").render())
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
        Endpoint(url="", kind="mock"), tmp_path,
        mock_options={"faults": (CloseAfter(code=1000, reason="", after_frames=1),)},
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
            assert "check the API key" in card
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
