"""Secrets stay off the screen: the live TUI over the engine `rtui` really runs (the child process)."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, wait_for
from fake_keys import URL_QUERY_KEY

from tui.engine.config import AudioSettings, EngineConfig, Endpoint
from tui.engine.process import EngineProcess
from tui.mock import MockConfig, MockServer


async def test_a_key_in_the_url_is_redacted_in_the_header(tmp_path: Path) -> None:
    async with MockServer(MockConfig(port=0)) as server:
        url = f"{server.url_for()}&api-key={URL_QUERY_KEY}"
        config = EngineConfig(Endpoint(url, "live"), audio=AudioSettings(input="none", output="null"), record_dir=tmp_path)
        engine = EngineProcess(config)
        async with on_screen(engine) as (runner, app, pilot):
            await wait_for(pilot, lambda: engine.state.phase == "open" and "api-key" in app.live_screen.header.plain)
            header = app.live_screen.header.plain
            assert URL_QUERY_KEY not in header
            assert "api-key=[redacted]" in header and "model=gpt-realtime" in header
            await pilot.press("q")
