"""Every mock fault against the live engine: the client survives (the engine returns an outcome,
never an exception), the headless output says what happened, and the recording is complete: every
frame the engine counted is in the file, in order, with the connection's ending."""

from __future__ import annotations

import asyncio
import io

import pytest

from tests.engine_support import engine_config, mock_server
from tests.fake_keys import RELIABILITY_KEY
from tui.engine.headless import run_headless
from tui.engine.session import Engine
from tui.mock import CloseAfter, DelayFrames, DropConnection, InvalidJson, OversizedEvent, RejectHandshake, StallFrames, WithholdPongs
from tui.wire.reader import SessionReader

# fault, headless exit status, what the output must say, the recorded ending (code, closed_by) or None
CASES = [
    (CloseAfter(code=4001, reason="rtui reliability", after_frames=2), 1, ["4001", "rtui reliability"], (4001, "server")),
    (DropConnection(after_frames=2), 1, ["1006"], (1006, None)),
    # The client fails the connection: its 1011 close frame is sent, none comes back, so the end is 1006.
    (WithholdPongs(), 1, ["1011"], (1006, "client")),
    (DelayFrames(seconds=0.3), 0, ["response.done"], (1000, "client")),
    (StallFrames(seconds=0.5, after_frames=1), 0, ["response.done"], (1000, "client")),
    (OversizedEvent(after_frames=1), 0, ["conversation.item.retrieved", "response.done"], (1000, "client")),
    (InvalidJson(after_frames=1), 0, ["(not JSON)", "response.done"], (1000, "client")),
    (RejectHandshake(status=503), 3, ["503"], None),
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
    if ending is None:  # refused: the evidence is the error record, and no connection ran
        assert records[-1]["kind"] == "error" and "503" in records[-1]["message"]
        assert frames == []
    else:
        end = records[-1]
        assert end["kind"] == "end"
        assert (end["code"], end["closed_by"]) == ending
    raw = engine.state.recording_path and open(engine.state.recording_path, "rb").read()
    assert RELIABILITY_KEY.encode() not in raw
