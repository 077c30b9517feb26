"""After `R` (reconnect), the event log says where each connection starts, over the engine `rtui`
really runs (the child process and its pickled snapshots)."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, wait_for

from tui.app.screens.modals import ClosureCard
from tui.engine.config import AudioSettings, EngineConfig, Endpoint
from tui.engine.process import EngineProcess


async def test_the_log_marks_where_the_reconnected_connection_starts(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"), audio=AudioSettings(input="none", output="null"), record_dir=tmp_path, stay_after_close=True
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id is not None)
        first_session = engine.state.session_id
        await pilot.press("R")
        await wait_for(pilot, lambda: engine.state.phase == "open" and engine.state.session_id not in (None, first_session))
        await pilot.pause(0.2)
        if isinstance(app.screen, ClosureCard):
            await pilot.press("escape")
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
