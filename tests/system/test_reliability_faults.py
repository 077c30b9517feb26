"""Every mock fault against the live engine: the client survives (the engine returns an outcome,
never an exception), the headless output and the TUI say what happened, and the recording is
complete: every frame the engine counted is in the file, in order, with the connection's ending."""

from __future__ import annotations

import asyncio
import io

import pytest

from app_support import log_shown, on_screen, read_records, wait_for
from tests.engine_support import engine_config, mock_server
from tests.fake_keys import RELIABILITY_KEY
from tui.app.screens.modals import ClosureCard
from tui.app.widgets.event_log import EventLog
from tui.app.widgets.transcript import Transcript
from tui.audio.sinks import NullSink
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.headless import run_headless
from tui.engine.session import Engine
from tui.mock import (
    CloseAfter,
    DelayFrames,
    DropConnection,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    StallFrames,
    WithholdPongs,
)
from tui.wire.reader import SessionReader

# fault, headless exit status, what the output must say, the recorded ending (code, closed_by)
CASES = [
    (CloseAfter(code=4001, reason="rtui reliability", after_frames=2), 1, ["4001", "rtui reliability"], (4001, "server")),
    (DropConnection(after_frames=2), 1, ["1006"], (1006, None)),
    # The client fails the connection: its 1011 close frame is sent, none comes back, so the end is 1006.
    (WithholdPongs(), 1, ["1011"], (1006, "client")),
    (DelayFrames(seconds=0.3), 0, ["response.done"], (1000, "client")),
    (StallFrames(seconds=0.5, after_frames=1), 0, ["response.done"], (1000, "client")),
    (OversizedEvent(after_frames=1), 0, ["conversation.item.retrieved", "response.done"], (1000, "client")),
    (SendInvalidJson(after_frames=1), 0, ["(not JSON)", "response.done"], (1000, "client")),
    # No WebSocket opened: the evidence is the response and the error; the aborted transport ends as 1006.
    (RejectHandshake(status=503), 3, ["503"], (1006, None)),
]


@pytest.mark.parametrize(("fault", "status", "shown", "ending"), CASES, ids=lambda v: getattr(v, "kind", None))
async def test_the_engine_survives_every_mock_fault(tmp_path, fault, status, shown, ending):
    # Withheld pongs need a session that outlasts the keepalive: response audio paced in real time.
    async with mock_server(faults=(fault,), realtime=isinstance(fault, WithholdPongs)) as server:
        config = engine_config(server.url_for(), tmp_path, texts=["Hello"], finish_when_input_ends=True, response_timeout_s=10)
        config.endpoint.api_key = RELIABILITY_KEY
        # Keepalive short enough for the withheld pongs to bite within the test.
        config.ping_interval, config.ping_timeout = 0.3, 0.3
        engine = Engine(config)
        out = io.StringIO()
        exit_status = await asyncio.wait_for(run_headless(engine, out), 30)
    printed = out.getvalue()
    assert exit_status == status, printed
    for text in shown:
        assert text in printed, f"{text!r} not in headless output:\n{printed}"
    last = printed.strip().splitlines()[-2 if engine.state.recording_path else -1]
    assert last.startswith("session ended: ")

    with SessionReader(engine.state.recording_path) as reader:
        records = list(reader)
    assert reader.problems == [] and not reader.truncated
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    frames = [r for r in records if r["kind"] == "frame"]
    counters = engine.state.counters
    # Nothing lost: every frame the engine saw is in the file, with its bytes.
    assert sum(r["dir"] == "c2s" for r in frames) == counters.frames_sent
    assert sum(r["dir"] == "s2c" for r in frames) == counters.frames_received
    assert sum(r["size"] for r in frames if r["dir"] == "s2c") == counters.bytes_received
    end = records[-1]
    assert end["kind"] == "end"
    assert (end["code"], end["closed_by"]) == ending
    if isinstance(fault, RejectHandshake):  # no connection ran: the refusal and the error come before the end
        assert [r["kind"] for r in records] == ["handshake_request", "handshake_response", "error", "end"]
        assert records[1]["status"] == 503 and "503" in records[2]["message"]
    raw = engine.state.recording_path and open(engine.state.recording_path, "rb").read()
    assert RELIABILITY_KEY.encode() not in raw


# fault, the header's first line, what the closure card must say (None: the session goes on and
# answers), the event log's rows that show the fault
ON_SCREEN = [
    (
        CloseAfter(code=4001, reason="rtui reliability", after_frames=2),
        "CLOSED 4001",
        ["closed first by  server", "'rtui reliability'"],
        ["close"],
    ),
    (DropConnection(after_frames=2), "CLOSED 1006", ["closed first by  nobody", "dropped the TCP connection"], ["end"]),
    (WithholdPongs(), "CLOSED 1011", ["closed first by  client", "'keepalive ping timeout'"], ["ping", "close"]),
    (DelayFrames(seconds=0.3), "OPEN", None, ["response.done"]),
    (StallFrames(seconds=0.5, after_frames=1), "OPEN", None, ["response.done"]),
    (OversizedEvent(after_frames=1), "OPEN", None, ["conversation.item.retrieved", "response.done"]),
    (SendInvalidJson(after_frames=1), "OPEN", None, ["(not JSON)", "response.done"]),
    (
        RejectHandshake(status=503),
        "REFUSED 503",
        ["refused the WebSocket handshake with HTTP 503 Service Unavailable", "Handshake refused by the mock's reject fault"],
        ["handshake_response", "error"],
    ),
]


@pytest.mark.parametrize(("fault", "badge", "card", "rows"), ON_SCREEN, ids=lambda v: getattr(v, "kind", None))
async def test_the_tui_shows_every_mock_fault(tmp_path, fault, badge, card, rows):
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        mock_options={"faults": (fault,), "realtime": isinstance(fault, WithholdPongs)},
        texts=["Hello"],
        stay_after_close=True,  # as `rtui` runs it: the card stays up
    )
    if isinstance(fault, WithholdPongs):
        config.ping_interval, config.ping_timeout = 0.3, 0.3
    engine = Engine(config, source=None, sink=NullSink())
    async with on_screen(engine) as (runner, app, pilot):
        if card is None:  # the session survives the fault and the answer reaches the screen
            await wait_for(
                pilot, lambda: "model > Hello from the rtui mock server." in app.live_screen.query_one(Transcript).plain
            )
            await wait_for(pilot, lambda: not engine.state.response_active)
        else:
            await wait_for(pilot, lambda: isinstance(app.screen, ClosureCard) and bool(app.screen.query("#card-text")))
            shown = str(app.screen.query_one("#card-text").render())
            for text in card:
                assert text in shown, f"{text!r} not on the card:\n{shown}"
            if isinstance(fault, RejectHandshake):  # no WebSocket opened: no close fields to show
                assert "closed first by" not in shown and "What crossed the wire" in str(
                    app.screen.query_one("#card-lines").render()
                )
            await pilot.press("escape")
        await wait_for(pilot, lambda: app.live_screen.header.plain.startswith(f" {badge} "))
        await log_shown(pilot, app)
        labels = [row.line.label for row in app.live_screen.query_one(EventLog).visible_rows]
        for label in rows:
            assert label in labels, f"no {label} row in the log: {labels}"
        await pilot.press("q")
    # Under the TUI too, the recording holds the connection to its end, whatever the fault.
    assert read_records(engine.state.recording_path)[-1]["kind"] == "end"
