"""`rtui proxy --ui`: the TUI over the relay shows a relayed session (header, log, transcript, close)."""

from __future__ import annotations

import orjson

from app_support import log_shown, offered_actions, wait_for
from tui.app.app import RtuiApp
from tui.app.screens.modals import ClosureCard, Prompt
from tui.app.settings import UISettings
from tui.app.widgets.status import SessionHeader
from tui.engine.relay import RelayEngine
from tui.engine.runner import EngineThread
from tui.mock import MockConfig, MockServer
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.proxy import RelayConfig


async def test_the_tui_follows_a_session_relayed_to_the_mock(tmp_path):
    async with MockServer(MockConfig(realtime=False)) as mock:
        config = RelayConfig(
            upstream=mock.url_for("gpt-realtime"), record=tmp_path / "relay.jsonl", record_to_directory=False, env={}
        )
        engine = RelayEngine(config)
        runner = EngineThread(engine)
        runner.start()
        try:
            app = RtuiApp(engine, settings=UISettings())
            async with app.run_test(size=(110, 30)) as pilot:
                await wait_for(pilot, lambda: engine.relay is not None and engine.relay._server is not None)
                ws = await open_connection(
                    engine.relay.url + "/v1/realtime?model=gpt-realtime", ConnectOptions(ping_interval=None)
                )
                await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
                await wait_for(pilot, lambda: engine.state.session_id in app.screen.query_one(SessionHeader).plain)
                header = app.screen.query_one(SessionHeader).plain
                assert "PROXY" in header and engine.state.session_id in header

                await ws.send('{"type":"response.create"}')
                async for message in ws:
                    if orjson.loads(message)["type"] == "response.done":
                        break
                await wait_for(pilot, lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
                assert engine.state.transcript[-1].text == "Hello from the rtui mock server."
                assert engine.state.counters.frames_sent == 1  # each frame counted once, not per leg

                # The client drives the session: only b (mark) is offered, and t is not a key here.
                await wait_for(pilot, lambda: "mark" in offered_actions(app)["footer"])
                offered = offered_actions(app)
                assert "mark" in offered["footer"] and "session.mark" in offered["help"]
                for action in ("talk", "mute", "turn_mode", "send_text", "respond", "cancel", "reconnect"):
                    assert action not in offered["footer"] and f"session.{action}" not in offered["help"]
                assert not offered["palette"] & {"Open a new connection", "Send a text message", "Send response.create"}
                notices = list(engine.state.notices)
                await pilot.press("t", "R")
                await pilot.pause(0.1)
                assert not isinstance(app.screen, Prompt) and engine.state.notices == notices

                await pilot.press("b", *"while relaying", "enter")  # b: a mark, into the session's recording
                await wait_for(pilot, lambda: any(row.line.label == "mark" for row in app.live_screen.event_log.visible_rows))

                await ws.close(4001, "done here")
                await wait_for(pilot, lambda: engine.state.close is not None)
                close = engine.state.close
                assert (close.closed_by, close.code, close.reason) == ("client", 4001, "done here")
                await log_shown(pilot, app)
                rows = [row.line for row in app.live_screen.event_log.visible_rows]
                await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and engine.relay.sessions == [])
                await pilot.press("escape")  # the closure card, back to the log
                await pilot.press("b", *"too late", "enter")  # the session's recording is finished: said, not dropped
                await wait_for(pilot, lambda: any("the mark was not recorded" in n for n in engine.state.notices))
                await pilot.press("q")
        finally:
            runner.stop()
    assert not runner.running
    marks = [r["note"] for r in map(orjson.loads, config.record.read_bytes().splitlines()) if r["kind"] == "mark"]
    assert marks == ["while relaying"]
    # Each relayed record once, where the relay received it: the client's handshake and close, the
    # server's answer and close reply; the two legs' ends (each its own) say which leg they are.
    labels = [line.label for line in rows]
    for label in ("handshake_request", "handshake_response", "session.created", "response.create", "response.done"):
        assert labels.count(label) == 1, (label, labels)
    closes = [(line.direction, line.summary) for line in rows if line.label == "close"]
    assert [direction for direction, _ in closes] == ["c2s", "s2c"], closes
    assert all("4001" in summary for _, summary in closes)
    ends = sorted(line.summary.split(":")[0] for line in rows if line.label == "end")
    assert ends == ["client leg", "upstream leg"], ends
    handshakes = [line.summary for line in rows if line.label.startswith("handshake")]
    assert handshakes[0].startswith("client leg: ws://127.0.0.1") and handshakes[1].startswith("upstream leg: 101")


async def test_a_refused_upstream_handshake_is_shown_once_and_stays_the_sessions_summary(tmp_path):
    async with MockServer(MockConfig(realtime=False, require_key="sk-right")) as mock:
        config = RelayConfig(
            upstream=mock.url_for("gpt-realtime"),
            record=tmp_path / "relay.jsonl",
            record_to_directory=False,
            env={"OPENAI_API_KEY": "sk-wrong"},
        )
        engine = RelayEngine(config)
        runner = EngineThread(engine)
        runner.start()
        try:
            app = RtuiApp(engine, settings=UISettings())
            async with app.run_test(size=(110, 30)) as pilot:
                await wait_for(pilot, lambda: engine.relay is not None and engine.relay._server is not None)
                try:
                    await open_connection(
                        engine.relay.url + "/v1/realtime?model=gpt-realtime", ConnectOptions(ping_interval=None)
                    )
                except Exception:
                    pass  # refused, as upstream refused the relay
                await wait_for(pilot, lambda: sum(e.record["kind"] == "end" for e in engine.log.since(0)[0]) == 2)
                await log_shown(pilot, app)
                rows = [row.line for row in app.live_screen.event_log.visible_rows]
                await pilot.press("escape", "q")
        finally:
            runner.stop()
    assert not runner.running
    responses = [line.summary for line in rows if line.label == "handshake_response"]
    assert len(responses) == 1 and responses[0].startswith("upstream leg: 401"), responses
    assert engine.state.close is not None and engine.state.close.refused_status == 401
