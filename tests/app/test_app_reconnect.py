"""After `R` (reconnect), the event log says where each connection starts, over the engine `rtui`
really runs (the child process and its pickled snapshots), and in a recording opened with `o`."""

from __future__ import annotations

from pathlib import Path

from app_support import FrozenEngine, log_shown, on_screen, wait_for
from tui.app.app import RtuiApp
from tui.app.screens.modals import ClosureCard
from tui.app.screens.recording import RecordingScreen
from tui.app.settings import UISettings
from tui.app.widgets.event_log import EventLog
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.wire.writer import SessionWriter


async def test_the_log_marks_where_the_reconnected_connection_starts(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
        first_session = engine.state.session_id
        await pilot.press("R")
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id not in (None, first_session))
        if isinstance(app.screen, ClosureCard):
            await pilot.press("escape")
        await log_shown(pilot, app)
        lines = [row.line for row in app.live_screen.event_log.visible_rows]
        await pilot.press("q")
    assert not runner.running
    markers = [i for i, line in enumerate(lines) if line.label.startswith("── connection")]
    assert len(markers) == 1, [line.label for line in lines]
    marker = lines[markers[0]]
    assert marker.label == "── connection 2 ──" and "rows above belong to connection 1" in marker.summary
    before, after = lines[: markers[0]], lines[markers[0] + 1 :]
    assert after[0].label == "handshake_request" and after[0].conn == 2
    assert {line.conn for line in before} == {1} and {line.conn for line in after} == {2}


def write_recording(path: Path, *, relayed: bool) -> None:
    """Two connections: one after the other (a reconnect), or at once as a relay's two legs."""
    extra = {"relay": {"client_conn": 1, "upstream_conn": 2}} if relayed else None
    append = '{"type":"input_audio_buffer.append","audio":"AAAA"}'
    with SessionWriter(path, mode="proxy" if relayed else "live", url="ws://127.0.0.1:9/v1/realtime", header_extra=extra) as w:
        for conn in (1, 2):
            w.record(
                "handshake_request",
                "c2s",
                conn,
                url="ws://127.0.0.1:9/v1/realtime",
                path="/v1/realtime",
                headers=[],
                subprotocols=[],
            )
            w.frame(conn, "c2s", append)
            if not relayed:
                w.record("end", "local", conn, code=1000, reason="", closed_by="client", clean=True)


async def open_rows(path: Path) -> list:
    app = RtuiApp(FrozenEngine(), settings=UISettings())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("o", *str(path), "enter")
        recording = await wait_for_screen(pilot, app)
        await wait_for(pilot, lambda: recording.loaded)
        await pilot.pause(0.1)
        return [row.line for row in recording.query_one(EventLog).visible_rows]


async def wait_for_screen(pilot, app: RtuiApp) -> RecordingScreen:
    # A recording that closed opens on its closure card, above the recording view.
    await wait_for(pilot, lambda: any(isinstance(screen, RecordingScreen) for screen in app.screen_stack))
    return next(screen for screen in app.screen_stack if isinstance(screen, RecordingScreen))


async def test_a_recording_opened_with_o_marks_reconnects_but_not_a_relays_legs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # short names to type
    write_recording(tmp_path / "reconnect.jsonl", relayed=False)
    labels = [line.label for line in await open_rows(Path("reconnect.jsonl"))]
    assert labels == [
        "handshake_request",
        "input_audio_buffer.append",
        "end",
        "── connection 2 ──",
        "handshake_request",
        "input_audio_buffer.append",
        "end",
    ]
    write_recording(tmp_path / "relay.jsonl", relayed=True)
    lines = await open_rows(Path("relay.jsonl"))
    assert [(line.conn, line.label, line.count) for line in lines] == [
        (1, "handshake_request", 1),
        (1, "input_audio_buffer.append", 1),
        (2, "handshake_request", 1),
        (2, "input_audio_buffer.append", 1),
    ]
