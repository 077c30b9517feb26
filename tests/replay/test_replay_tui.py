"""`rtui replay FILE` in the TUI: the log, counters, transcripts and meters are driven by the replay
(the meters by the replayed audio), and the verdict is shown when it ends."""

from __future__ import annotations

import asyncio
import time

from app_support import log_shown, offered_actions, wait_for
from tests.replay_support import example, fill_disk_after, records
from tui.app.app import RtuiApp
from tui.app.screens.modals import ClosureCard, Prompt, ReportScreen
from tui.app.settings import UISettings
from tui.app.widgets.status import SessionHeader
from tui.engine.runner import EngineThread
from tui.replay.on_screen import ReplayEngine
from tui.replay.script import load_script
from tui.replay.timing import Timing


async def until_verdict(engine: ReplayEngine, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.state.verdict is None:
        assert time.monotonic() < deadline, "the replay did not finish"
        await asyncio.sleep(0.01)


async def test_the_replay_engine_drives_state_from_the_replayed_session(tmp_path):
    # rtui's own session: its microphone audio was paced in real time, so at the recorded pace (here
    # 4x) the input meter has something to show while it plays.
    engine = ReplayEngine(
        load_script(example("engine-headless-voice-turn")), timing=Timing(4.0), output=str(tmp_path / "new.jsonl")
    )
    loudest = {"in": -120.0, "out": -120.0}

    async def watch() -> None:
        while True:
            loudest["in"] = max(loudest["in"], engine.state.input_level.rms_dbfs)
            loudest["out"] = max(loudest["out"], engine.state.output_level.rms_dbfs)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    running = asyncio.create_task(engine.run())
    await until_verdict(engine)
    engine.stop()  # the finished replay waits for R (again) or a stop
    outcome = await asyncio.wait_for(running, 10)
    watcher.cancel()

    assert outcome == "finished" and engine.result is not None and engine.result.ok, engine.result.report()
    assert engine.state.verdict is not None and engine.state.verdict.headline.startswith("MATCH")
    new = records(tmp_path / "new.jsonl")
    assert engine.log.total == len(new)
    frames = [r for r in new if r["kind"] == "frame"]
    assert engine.state.counters.frames_sent == sum(r["dir"] == "c2s" for r in frames)
    assert engine.state.counters.frames_received == sum(r["dir"] == "s2c" for r in frames)
    assistant = [e for e in engine.state.transcript if e.role == "assistant"]
    assert assistant and assistant[0].done and assistant[0].text == "Hello from the rtui mock server."
    assert [e.role for e in engine.state.transcript] == ["user", "assistant"]
    # The meters moved with the replayed audio, both ways, and fell silent after it.
    assert loudest["in"] > -50 and loudest["out"] > -50
    assert engine.state.input_level.rms_dbfs == engine.state.output_level.rms_dbfs == -120.0
    assert engine.state.close is not None and engine.state.close.closed_by == "client"


async def test_the_tui_shows_the_replay_and_its_verdict(tmp_path):
    engine = ReplayEngine(
        load_script(example("story2-beta-header-close-4000")), timing=Timing(None), output=str(tmp_path / "new.jsonl")
    )
    runner = EngineThread(engine)  # type: ignore[arg-type]
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
        async with app.run_test(size=(110, 32)) as pilot:
            deadline = time.monotonic() + 15
            while engine.outcome is None:
                assert time.monotonic() < deadline, "the replay did not finish"
                await pilot.pause(0.05)
            # As in a live session, the close card pops up: the recorded 4000, closed by the server.
            while not (isinstance(app.screen, ClosureCard) and app.screen.query("#card-text")):
                assert time.monotonic() < deadline, "the close card did not appear"
                await pilot.pause(0.05)
            card = str(app.screen.query_one("#card-text").render())
            assert "4000" in card and "closed first by  server" in card
            await pilot.press("escape")
            header = app.screen.query_one(SessionHeader).plain
            assert "REPLAY" in header and "CLOSED 4000" in header
            await pilot.press("q")
    finally:
        runner.stop()
    assert engine.result is not None and engine.result.ok
    assert engine.state.close is not None and engine.state.close.code == 4000
    assert engine.state.verdict is not None and engine.state.verdict.headline.startswith("MATCH")


async def test_keys_that_would_talk_to_the_server_are_not_offered_in_a_replay(tmp_path):
    # A replay sends what was recorded: talk, text, reply, cancel (and mute, VAD, mark) are
    # neither in the footer, nor in the help or the palette, and pressing them does nothing at all.
    engine = ReplayEngine(load_script(example("engine-headless-voice-turn")), output=str(tmp_path / "new.jsonl"))
    runner = EngineThread(engine)  # type: ignore[arg-type]
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
        async with app.run_test(size=(110, 32)) as pilot:
            # The footer is composed after the screen mounts: wait for the keys a replay does offer, so
            # that the absences below are read from a footer that is there.
            await wait_for(pilot, lambda: {"quit", "help"} <= offered_actions(app)["footer"])
            offered = offered_actions(app)
            for action in ("talk", "mute", "turn_mode", "send_text", "respond", "cancel", "mark"):
                assert action not in offered["footer"] and f"session.{action}" not in offered["help"], action
            assert not offered["palette"] & {
                "Send a text message",
                "Send response.create",
                "Send response.cancel",
                "Push-to-talk: start, then stop talking",
            }
            await pilot.press("t")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, Prompt)
            assert not any("replay" in notice and "off" in notice for notice in engine.state.notices)
            await pilot.press("escape", "q")
    finally:
        runner.stop()


async def test_the_replay_header_and_stats_are_the_replays_own(tmp_path):
    # A voice turn recorded on 2026-11-22, its session expiring an hour after it opened: replayed any
    # day later, the header counts down on the recording's clock, shows the one URL the replay talks to
    # (the same as its handshake row), and pace and resp are measured on the replayed frames.
    engine = ReplayEngine(
        load_script(example("engine-headless-voice-turn")), timing=Timing(2.0), output=str(tmp_path / "new.jsonl")
    )
    runner = EngineThread(engine)  # type: ignore[arg-type]
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
        async with app.run_test(size=(160, 32)) as pilot:
            deadline = time.monotonic() + 20
            headers, paces = [], []
            while engine.outcome is None:
                assert time.monotonic() < deadline, "the replay did not finish"
                await pilot.pause(0.05)
                if engine.state.phase == "open":
                    headers.append(app.live_screen.header.plain)
                    paces.append(app.live_screen.stats.plain.split()[1])
            await log_shown(pilot, app)
            rows = app.live_screen.event_log.visible_rows
            stats = app.live_screen.stats.plain
            await pilot.press("q")
    finally:
        runner.stop()
    expiring = [h for h in headers if "expires in" in h]
    assert expiring and not any("past expiry" in h for h in headers), headers[-1:]
    assert all(" 59:" in h.split("expires in")[1][:5] for h in expiring), expiring[-1]
    handshake = next(r for r in rows if r.line.label == "handshake_request")
    url = handshake.line.summary
    assert url.startswith("ws://127.0.0.1:") and all(url in h for h in headers)
    assert str(engine.script.header["url"]) != url and not any(engine.script.header["url"] in h for h in headers)
    assert "served by rtui" in headers[-1]
    assert any(pace not in ("-", "0.00x") for pace in paces), paces
    assert "resp -" not in stats and "resp " in stats, stats
    assert engine.state.counters.response_latency_ms is not None


async def test_the_verdict_has_a_panel_with_the_report_and_R_replays_again(tmp_path):
    engine = ReplayEngine(
        load_script(example("story2-beta-header-close-4000")), timing=Timing(None), output=str(tmp_path / "new.jsonl")
    )
    runner = EngineThread(engine)  # type: ignore[arg-type]
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
        async with app.run_test(size=(110, 32)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))
            await pilot.press("escape")
            panel = app.live_screen.verdict
            await wait_for(pilot, lambda: panel.display and "MATCH" in panel.plain)
            assert panel.plain.startswith(" MATCH: the replay reproduces the recording")
            # The verdict is its own panel, not a warning notice.
            assert not any("MATCH" in notice for notice in engine.state.notices)
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen))
            report = str(app.screen.query_one("#report-text").render())
            assert "identical after normalization" in report and "new recording:" in report
            await pilot.press("escape")

            await pilot.press("R")  # again: a second run, its own recording beside the first
            await wait_for(pilot, lambda: engine.runs == 2 and engine.state.verdict is not None)
            await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard))  # its close, its card
            await pilot.press("escape")
            await wait_for(pilot, lambda: "(run 2)" in panel.plain)
            assert (tmp_path / "new.jsonl").exists() and (tmp_path / "new.run2.jsonl").exists()
            await pilot.press("q")
    finally:
        runner.stop()
    assert engine.result is not None and engine.result.ok and engine.result.recording == tmp_path / "new.run2.jsonl"


async def test_a_replay_that_differs_says_so_in_its_panel(tmp_path, monkeypatch):
    # The new recording cannot be written whole (the disk fills after 20 lines): the replay cannot
    # be a match, and the panel says why in its first line.
    fill_disk_after(monkeypatch, 20, "full.jsonl")
    engine = ReplayEngine(load_script(example("voice-turn-barge-in")), timing=Timing(None), output=str(tmp_path / "full.jsonl"))
    runner = EngineThread(engine)  # type: ignore[arg-type]
    runner.start()
    try:
        app = RtuiApp(engine, settings=UISettings())  # type: ignore[arg-type]
        async with app.run_test(size=(110, 32)) as pilot:
            panel = app.live_screen.verdict
            await wait_for(pilot, lambda: panel.display and "MISMATCH" in panel.plain, timeout=30)
            assert "could not be written completely: No space left on device" in panel.plain
            assert panel.has_class("-mismatch")
            await pilot.press("q")
    finally:
        runner.stop()
