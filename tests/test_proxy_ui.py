"""`rtui proxy --ui`: the TUI over the relay shows a relayed session (header, log, transcript, close)."""

from __future__ import annotations

import time

import orjson

from tui.app.app import RtuiApp
from tui.app.settings import UISettings
from tui.app.widgets.status import SessionHeader
from tui.engine.relay import RelayEngine
from tui.engine.runner import EngineThread
from tui.mock import MockConfig, MockServer
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.proxy import RelayConfig


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


async def test_the_tui_follows_a_session_relayed_to_the_mock(tmp_path):
    async with MockServer(MockConfig(realtime=False)) as mock:
        config = RelayConfig(upstream=mock.url_for("gpt-realtime"), record=tmp_path / "relay.jsonl", record_to_directory=False, env={})
        engine = RelayEngine(config)
        runner = EngineThread(engine)
        runner.start()
        try:
            app = RtuiApp(engine, settings=UISettings())
            async with app.run_test(size=(110, 30)) as pilot:
                await wait_for(pilot, lambda: engine.relay is not None and engine.relay._server is not None)
                ws = await open_connection(engine.relay.url + "/v1/realtime?model=gpt-realtime", ConnectOptions(ping_interval=None))
                await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
                await pilot.pause(0.1)
                header = app.screen.query_one(SessionHeader).plain
                assert "PROXY" in header and engine.state.session_id in header

                await ws.send('{"type":"response.create"}')
                async for message in ws:
                    if orjson.loads(message)["type"] == "response.done":
                        break
                await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
                assert engine.state.transcript[-1].text == "Hello from the rtui mock server."
                assert engine.state.counters.frames_sent == 1  # each frame counted once, not per leg

                await pilot.press("t", *"hi", "enter")  # the relay cannot speak for the client, and says so
                await wait_for(pilot, lambda: "drives this session" in engine.state.notices[-1])

                await ws.close(4001, "done here")
                await wait_for(pilot, lambda: engine.state.close is not None)
                close = engine.state.close
                assert (close.closed_by, close.code, close.reason) == ("client", 4001, "done here")
                await pilot.press("q")
        finally:
            runner.stop()
    assert not runner.running
