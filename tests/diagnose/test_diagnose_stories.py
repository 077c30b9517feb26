"""The closure stories end to end: a client goes through the relay (`rtui proxy`'s Relay) to the mock
(`rtui mock`'s MockServer), and `diagnose` on the relay's recording names the cause and who closed
first. All on 127.0.0.1; only the pacing story takes ~10 s of wall clock, as the issue asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from diagnose_support import connect_proxy, seed_story_client
from tui.diagnose import Diagnosis, diagnose
from tui.mock import (
    CloseAfter,
    DropConnection,
    MockConfig,
    MockServer,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    WithholdPongs,
)
from tui.wire.client import ConnectOptions, RecordingClientConnection, open_connection
from tui.wire.proxy import Relay, RelayConfig
from tui.wire.writer import SessionWriter


@asynccontextmanager
async def relayed_mock(tmp_path: Path, config: MockConfig | None = None) -> AsyncIterator[str]:
    """Yields the relay's URL; the relay records to tmp_path/relay.jsonl and forwards to the mock."""
    async with MockServer(config or MockConfig(realtime=False)) as mock:
        relay_config = RelayConfig(
            upstream=mock.url_for("gpt-realtime"),
            record=tmp_path / "relay.jsonl",
            record_to_directory=False,
            env={},
            close_timeout=3,
        )
        async with Relay(relay_config) as relay:
            yield relay.url + "/v1/realtime?model=gpt-realtime"
            await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 15)


def ids(diagnosis: Diagnosis) -> set[str]:
    return {f.id for f in diagnosis.findings}


async def until_session_created(ws: RecordingClientConnection) -> None:
    while orjson.loads(await ws.recv()).get("type") != "session.created":
        pass


async def close_on_first_error(ws: RecordingClientConnection) -> str | None:
    """A client that closes 1000 on any error event, as many apps do; returns the error code."""
    async for message in ws:
        event = orjson.loads(message)
        if event.get("type") == "error":
            await ws.close(1000)
            return event["error"]["code"]
    return None


async def test_seed_story_binary_frames_server_closes_1000_right_after_the_first_one(tmp_path):
    async with relayed_mock(tmp_path) as url:
        code, reason = await seed_story_client(url, None, binary=True, seconds=2)
    assert (code, reason) == (1000, "")  # what the app saw, through the relay
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    ending = diagnosis.ending
    assert (ending.how, ending.closed_first_by, ending.code, ending.reason) == ("close", "server", 1000, "")
    assert ending.previous is not None and ending.previous["opcode"] == "binary"
    assert ending.previous["type"] == "input_audio_buffer.append" and ending.previous["dir"] == "c2s"
    binary = diagnosis.finding("binary-frame")
    assert binary is not None and binary.details["count"] == 1 and ending.previous["seq"] in binary.evidence
    assert "right after the first one" in binary.message
    assert "sent-before-session-updated" not in ids(diagnosis)  # it never sends session.update


async def test_seed_story_in_text_frames_for_ten_seconds_shows_16khz_pacing(tmp_path):
    # Turn detection stays on, the tone never ends a turn (it is steady), so the session runs 10 s.
    async with relayed_mock(tmp_path) as url:
        code, _ = await seed_story_client(url, None, binary=False, seconds=10)
    assert code == 1000  # the client closed at the end, politely
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert diagnosis.ending.closed_first_by == "client"
    pacing = diagnosis.finding("sample-rate-pacing")
    assert pacing is not None, [f.id for f in diagnosis.findings]
    assert pacing.details["likely_rate"] == 16000
    assert pacing.details["pace"] == pytest.approx(0.667, abs=0.03)
    assert "binary-frame" not in ids(diagnosis)


async def test_beta_header_gets_error_then_4000_from_the_server(tmp_path):
    async with relayed_mock(tmp_path) as url:
        ws = await open_connection(url, ConnectOptions(extra_headers=[("OpenAI-Beta", "realtime=v1")], ping_interval=None))
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("server", 4000)
    assert {"beta-header", "error-before-close"} <= ids(diagnosis)
    assert diagnosis.finding("beta-header").severity == "error"
    assert diagnosis.finding("error-before-close").details["code"] == "beta_api_shape_disabled"


async def test_unknown_parameter_with_a_client_that_closes_on_any_error(tmp_path):
    async with relayed_mock(tmp_path) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        await until_session_created(ws)
        await ws.send(orjson.dumps({"type": "session.update", "session": {"type": "realtime", "turn_detection": None}}).decode())
        assert await close_on_first_error(ws) == "unknown_parameter"
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("client", 1000)
    assert diagnosis.finding("unknown-parameter").details["fields"] == ["session.turn_detection"]
    assert {"client-closed-after-error", "error-before-close", "beta-event-names"} <= ids(diagnosis)


async def test_session_expiry_then_1001(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, session_max=0.5)) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("server", 1001)
    assert "session-expired" in ids(diagnosis)


async def test_manual_commit_of_nothing_on_top_of_server_vad(tmp_path):
    async with relayed_mock(tmp_path) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        await until_session_created(ws)
        await ws.send('{"type":"input_audio_buffer.commit"}')
        assert await close_on_first_error(ws) == "input_audio_buffer_commit_empty"
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert diagnosis.ending.closed_first_by == "client"
    assert {"commit-empty", "client-closed-after-error"} <= ids(diagnosis)


async def test_client_sends_invalid_json(tmp_path):
    async with relayed_mock(tmp_path) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        await until_session_created(ws)
        await ws.send('{"type": "input_audio_buffer.append", "audio": ')
        assert await close_on_first_error(ws) is not None
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    invalid = diagnosis.finding("invalid-json")
    assert invalid is not None and invalid.details["direction"] == "c2s"
    assert diagnosis.ending.closed_first_by == "client"


async def test_server_sends_invalid_json_and_a_strict_client_closes(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(SendInvalidJson(),))) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        with pytest.raises(ConnectionClosed):
            while True:
                try:
                    orjson.loads(await ws.recv())
                except orjson.JSONDecodeError:
                    await ws.close(1007, "invalid JSON from server")
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("client", 1007)
    invalid = diagnosis.finding("invalid-json")
    assert invalid is not None and invalid.details["direction"] == "s2c"


async def test_keepalive_timeout_when_pongs_stop_coming(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(WithholdPongs(),))) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=0.2, ping_timeout=0.3))
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("client", 1011)
    finding = diagnosis.finding("keepalive-timeout")
    assert finding is not None and finding.details["closed_by"] == "client"
    assert finding.details["unanswered_pings"] >= 1


async def test_message_too_big_for_a_default_websockets_client(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(OversizedEvent(after_frames=1),))) as url:
        ws = await open_connection(url, ConnectOptions(max_size=2**20, ping_interval=None))
        await until_session_created(ws)
        await ws.send('{"type":"response.create"}')
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.recv()
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("client", 1009)
    assert "message-too-big" in ids(diagnosis)


async def test_server_close_with_a_code_after_a_few_frames(tmp_path):
    fault = CloseAfter(code=4001, reason="scripted", after_frames=2)
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(fault,))) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        await until_session_created(ws)
        with pytest.raises(ConnectionClosed):
            for _ in range(3):
                await ws.send('{"type":"input_audio_buffer.clear"}')
                await asyncio.sleep(0.05)
            await ws.recv()
            await ws.recv()
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code, diagnosis.ending.reason) == ("server", 4001, "scripted")


async def test_abnormal_close_when_the_server_drops_tcp(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(DropConnection(after_frames=1),))) as url:
        ws = await open_connection(url, ConnectOptions(ping_interval=None))
        await until_session_created(ws)
        await ws.send('{"type":"input_audio_buffer.clear"}')
        with pytest.raises(ConnectionClosed) as caught:
            while True:
                await ws.recv()
    assert caught.value.rcvd is None  # the client saw a drop, not a close frame
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    ending = diagnosis.ending
    assert (ending.how, ending.closed_first_by, ending.code, ending.leg) == ("dropped", None, 1006, "upstream")
    assert "abnormal-close" in ids(diagnosis)


async def test_a_proxy_from_the_environment_is_recorded_and_named(tmp_path, monkeypatch):
    async with MockServer(MockConfig(realtime=False, faults=(DropConnection(after_frames=1),))) as mock:
        async with connect_proxy(mock.port) as proxy_url:
            monkeypatch.setenv("ws_proxy", proxy_url)
            writer = SessionWriter(tmp_path / "live.jsonl", mode="live", url="ws://realtime.test")
            url = f"ws://realtime.test:{mock.port}/v1/realtime?model=gpt-realtime"
            ws = await open_connection(url, ConnectOptions(ping_interval=None), writer=writer)
            await until_session_created(ws)
            await ws.send('{"type":"input_audio_buffer.clear"}')
            with pytest.raises(ConnectionClosed):
                while True:
                    await ws.recv()
            writer.close()
    diagnosis = diagnose(tmp_path / "live.jsonl")
    proxy = diagnosis.finding("proxy-environment")
    assert proxy is not None and proxy.details["proxy"] == proxy_url and proxy.severity == "warning"
    assert diagnosis.ending.how == "dropped" and "abnormal-close" in ids(diagnosis)


async def test_refused_handshake_reaches_the_client_and_the_diagnosis(tmp_path):
    async with relayed_mock(tmp_path, MockConfig(realtime=False, faults=(RejectHandshake(status=503),))) as url:
        with pytest.raises(InvalidStatus) as caught:
            await open_connection(url, ConnectOptions(ping_interval=None))
    assert caught.value.response.status_code == 503
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    assert (diagnosis.ending.how, diagnosis.ending.status, diagnosis.ending.closed_first_by) == ("refused", 503, None)
    assert "HTTP 503" in diagnosis.ending.sentence
