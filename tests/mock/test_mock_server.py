"""The mock server over real sockets on 127.0.0.1: handshake, closes, faults, recording, scale."""

from __future__ import annotations

import asyncio
import base64

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from mock_support import Client, open_client, validate
from tui.mock import (
    CloseAfter,
    DelayFrames,
    DropConnection,
    MockConfig,
    MockServer,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    StallFrames,
    WithholdPongs,
)
from tui.mock import server as mock_server
from tui.wire.reader import SessionReader


def fast(**kwargs) -> MockConfig:
    return MockConfig(realtime=False, **kwargs)


async def closed_with(client: Client) -> tuple[int | None, str | None, list[dict]]:
    """Reads until the connection closes; returns the close code and reason and the events before it."""
    events = []
    try:
        while True:
            events.append(await client.recv())
    except ConnectionClosed:
        pass
    await client.ws.wait_closed()
    return client.ws.close_code, client.ws.close_reason, events


async def status_of(url: str, **kwargs) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, proxy=None, **kwargs):
            pass
    response = info.value.response
    return response.status_code, orjson.loads(response.body)


# -- handshake -------------------------------------------------------------------------------


async def test_handshake_checks():
    async with MockServer(fast(require_key="sk-right")) as server:
        status, body = await status_of(server.url, additional_headers={"Authorization": "Bearer sk-right"})
        assert status == 400 and body["error"]["param"] == "model"
        status, body = await status_of(
            server.url_for("gpt-4o-realtime-preview"), additional_headers={"Authorization": "Bearer sk-right"}
        )
        assert status == 404 and body["error"]["code"] == "model_not_found"
        status, body = await status_of(server.url_for("gpt-realtime"), additional_headers={"Authorization": "Bearer sk-wrong"})
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        assert (await status_of(server.url_for("gpt-realtime")))[0] == 401
        assert (await status_of(f"ws://127.0.0.1:{server.port}/v1/other?model=gpt-realtime"))[0] == 404
        client = await open_client(server.url_for("gpt-realtime-mini"), additional_headers={"Authorization": "Bearer sk-right"})
        assert (await client.recv())["session"]["model"] == "gpt-realtime-mini"
        await client.ws.close()


async def test_browser_subprotocols_carry_the_key_and_realtime_is_echoed():
    async with MockServer(fast(require_key="sk-right")) as server:
        client = await open_client(server.url_for(), subprotocols=["realtime", "openai-insecure-api-key.sk-right"])
        assert client.ws.subprotocol == "realtime"
        assert (await client.recv())["type"] == "session.created"
        await client.ws.close()


async def test_azure_style_path_and_api_key_header():
    async with MockServer(fast(require_key="azure-key")) as server:
        url = f"ws://127.0.0.1:{server.port}/openai/v1/realtime?model=gpt-realtime"
        client = await open_client(url, additional_headers={"api-key": "azure-key"})
        assert (await client.recv())["type"] == "session.created"
        await client.ws.close()
        assert (await status_of(url, additional_headers={"api-key": "other"}))[0] == 401


async def test_transcription_intent():
    async with MockServer(fast()) as server:
        client = await open_client(f"{server.url}?intent=transcription")
        assert (await client.recv())["session"]["type"] == "transcription"
        await client.ws.close()


async def test_an_idle_client_is_prompted_after_idle_timeout_ms():
    """server VAD's idle_timeout_ms (5 s at least, as the service allows) runs on the server's own
    clock: a client that stays silent after an answer gets timeout_triggered and a new response."""
    async with MockServer(fast()) as server:
        client = await open_client(server.url_for())
        await client.until("session.created")
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}},
                },
            }
        )
        await client.until("session.updated")
        await client.send({"type": "response.create"})
        await client.until("response.done")
        answered = asyncio.get_running_loop().time()
        silence = asyncio.create_task(client.stream(bytes(48_000 * 7)))  # 7 s of silence, in real time
        events = await client.until("input_audio_buffer.timeout_triggered", timeout=10)
        waited = asyncio.get_running_loop().time() - answered
        assert 4.9 <= waited < 9, waited
        assert "input_audio_buffer.speech_started" not in [e["type"] for e in events]
        await client.until("response.done")  # read on: an unread answer would hold up the close
        silence.cancel()
        await client.ws.close()


@pytest.mark.parametrize("how", ["header", "subprotocol"])
async def test_beta_clients_get_the_error_then_4000(how):
    kwargs = (
        {"additional_headers": {"OpenAI-Beta": "realtime=v1"}}
        if how == "header"
        else {"subprotocols": ["realtime", "openai-beta.realtime-v1"]}
    )
    async with MockServer(fast()) as server:
        client = await open_client(server.url_for(), **kwargs)
        code, reason, events = await closed_with(client)
        assert [e["error"]["code"] for e in events] == ["beta_api_shape_disabled"]
        assert events[0]["error"]["message"] == (
            "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
        )
        assert (code, reason) == (4000, "invalid_request_error.beta_api_shape_disabled")


# -- other inputs and expiry -----------------------------------------------------------------


async def test_binary_frame_closes_1000_without_an_error_event_by_default():
    async with MockServer(fast()) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send(b'{"type": "input_audio_buffer.append", "audio": ""}')
        assert await closed_with(client) == (1000, "", [])


@pytest.mark.parametrize("policy", ["error", "ignore"])
async def test_other_binary_policies_keep_the_socket_open(policy):
    async with MockServer(fast(binary_policy=policy)) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send(b"\x00\x01")
        await client.send({"type": "input_audio_buffer.clear"})
        events = await client.until("input_audio_buffer.cleared")
        assert [e["type"] for e in events] == (
            ["error", "input_audio_buffer.cleared"] if policy == "error" else ["input_audio_buffer.cleared"]
        )
        await client.ws.close()


async def test_session_expiry_sends_session_expired_then_1001():
    async with MockServer(fast(session_max=0.5)) as server:
        client = await open_client(server.url_for())
        code, reason, events = await closed_with(client)
        assert [e["type"] for e in events] == ["session.created", "error"]
        assert events[1]["error"]["code"] == "session_expired"
        assert code == 1001


async def test_errors_leave_the_socket_open():
    async with MockServer(fast()) as server:
        client = await open_client(server.url_for())
        await client.recv()
        for frame in (
            "not json",
            '{"no": "type"}',
            '{"type": "nope"}',
            '{"type": "session.update", "session": {"modalities": ["audio"]}}',
        ):
            await client.send(frame)
            assert (await client.recv())["type"] == "error"
        await client.send({"type": "response.create"})
        assert (await client.until("response.done"))[-1]["response"]["status"] == "completed"
        await client.ws.close()


# -- faults ----------------------------------------------------------------------------------


async def test_close_fault_after_frames():
    async with MockServer(fast(faults=(CloseAfter(code=1000, reason="", after_frames=2),))) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(3200)).decode()})
        await asyncio.sleep(0.2)
        assert not client.ws.close_code  # one frame is not enough
        await client.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(3200)).decode()})
        assert await closed_with(client) == (1000, "", [])


async def test_a_fault_with_both_triggers_waits_for_both():
    async with MockServer(fast(faults=(CloseAfter(code=4003, after_frames=1, after_seconds=0.3),))) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await asyncio.sleep(0.5)
        assert client.ws.close_code is None  # the time has passed, but no frame yet
        await client.send({"type": "input_audio_buffer.clear"})
        assert (await closed_with(client))[0] == 4003


async def test_close_fault_after_seconds_with_reason():
    async with MockServer(fast(faults=(CloseAfter(code=4001, reason="mock says bye", after_seconds=0.3),))) as server:
        client = await open_client(server.url_for())
        code, reason, events = await closed_with(client)
        assert (code, reason, [e["type"] for e in events]) == (4001, "mock says bye", ["session.created"])


async def test_drop_fault_ends_tcp_without_a_close_frame():
    async with MockServer(fast(faults=(DropConnection(after_frames=1),))) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send({"type": "input_audio_buffer.clear"})
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                await client.recv()
        assert info.value.rcvd is None and client.ws.close_code == 1006


async def test_withheld_pongs_make_a_keepalive_client_close_1011():
    async with MockServer(fast(faults=(WithholdPongs(),))) as server:
        client = await open_client(server.url_for(), ping_interval=0.2, ping_timeout=0.3)
        await client.recv()
        with pytest.raises(ConnectionClosedError) as info:
            await client.recv(timeout=10)
        # The client sends 1011 and drops the connection without waiting for the server's echo.
        assert (info.value.sent.code, info.value.sent.reason) == (1011, "keepalive ping timeout")
    async with MockServer(fast()) as server:  # without the fault, pongs keep the client happy
        client = await open_client(server.url_for(), ping_interval=0.2, ping_timeout=0.3)
        await client.recv()
        await asyncio.sleep(1.0)
        assert client.ws.close_code is None
        await client.ws.close()


async def test_delay_fault_holds_every_frame_back():
    loop = asyncio.get_running_loop()
    async with MockServer(fast(faults=(DelayFrames(seconds=0.4),))) as server:
        start = loop.time()
        client = await open_client(server.url_for())
        await client.recv()
        assert loop.time() - start >= 0.4
        sent = loop.time()
        await client.send({"type": "input_audio_buffer.clear"})
        await client.recv()
        assert loop.time() - sent >= 0.4
        await client.ws.close()


async def test_stall_fault_sends_nothing_until_it_ends():
    loop = asyncio.get_running_loop()
    async with MockServer(fast(faults=(StallFrames(seconds=0.6, after_frames=1),))) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send({"type": "response.create"})
        stalled = loop.time()
        events = await client.until("response.done")
        assert loop.time() - stalled >= 0.6 and events[0]["type"] == "response.created"
        await client.ws.close()
    async with MockServer(fast(faults=(StallFrames(after_frames=1),))) as server:  # for good
        client = await open_client(server.url_for())
        await client.recv()
        await client.send({"type": "response.create"})
        with pytest.raises(TimeoutError):
            await client.recv(timeout=1.0)
        await client.ws.close()


async def test_oversized_event_is_valid_and_trips_a_default_max_size_client():
    async with MockServer(fast(faults=(OversizedEvent(size=2_000_000, after_frames=1),))) as server:
        client = await open_client(server.url_for(), max_size=None)
        await client.recv()
        await client.send({"type": "input_audio_buffer.clear"})
        assert (await client.recv())["type"] == "input_audio_buffer.cleared"  # the fault fires after handling
        raw = await client.ws.recv()
        assert len(raw) >= 2_000_000
        validate(orjson.loads(raw))
        await client.ws.close()
        default = await open_client(server.url_for())  # websockets' default max_size is 1 MiB
        await default.recv()
        await default.send({"type": "input_audio_buffer.clear"})
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                await default.recv()
        assert info.value.sent.code == 1009  # the client's own close: message too big


async def test_invalid_json_fault():
    async with MockServer(fast(faults=(SendInvalidJson(after_frames=1),))) as server:
        client = await open_client(server.url_for())
        await client.recv()
        await client.send({"type": "input_audio_buffer.clear"})
        frames = [await client.ws.recv(), await client.ws.recv()]
        bad = [f for f in frames if not f.startswith('{"type":"input_audio_buffer.cleared"')]
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(bad[0])
        await client.ws.close()


async def test_reject_fault_refuses_the_handshake():
    async with MockServer(fast(faults=(RejectHandshake(status=503),))) as server:
        assert (await status_of(server.url_for()))[0] == 503


async def test_faults_combine():
    faults = (DelayFrames(seconds=0.2), CloseAfter(code=4002, reason="combined", after_frames=1))
    loop = asyncio.get_running_loop()
    async with MockServer(fast(faults=faults)) as server:
        start = loop.time()
        client = await open_client(server.url_for())
        await client.recv()
        assert loop.time() - start >= 0.2
        await client.send({"type": "input_audio_buffer.clear"})
        code, reason, events = await closed_with(client)
        assert (code, reason) == (4002, "combined") and [e["type"] for e in events] == ["input_audio_buffer.cleared"]


async def test_a_session_failing_at_a_deadline_ends_its_connection_1011_and_the_server_goes_on(caplog, monkeypatch):
    from tui.mock import Send

    class FailsAtDeadline:
        def __init__(self, config, handshake):
            self.deadline = None

        def start(self, now):
            return [Send("hello")]

        def receive_text(self, text, now):
            self.deadline = now + 0.05 if text == "arm" else None
            return [Send("armed")]

        def receive_binary(self, data, now):
            return []

        def poll(self, now):
            raise RuntimeError("bug in the session")

        def next_deadline(self):
            return self.deadline

    monkeypatch.setattr(mock_server, "MockSession", FailsAtDeadline)  # a session with a bug in it
    async with MockServer(fast()) as server:
        async with connect(server.url_for(), proxy=None) as ws:
            assert await ws.recv() == "hello"
            await ws.send("arm")
            assert await ws.recv() == "armed"
            await ws.wait_closed()
            assert (ws.close_code, ws.close_reason) == (1011, "mock internal error")
        async with connect(server.url_for(), proxy=None) as ws:
            assert await ws.recv() == "hello"
            await ws.send("wait")
            assert await ws.recv() == "armed"
    assert "bug in the session" in caplog.text


# -- recording and scale ---------------------------------------------------------------------


async def test_record_writes_one_file_per_connection(tmp_path):
    async with MockServer(fast(record_dir=tmp_path, require_key="sk-secret-key-123")) as server:
        for _ in range(2):
            client = await open_client(server.url_for(), additional_headers={"Authorization": "Bearer sk-secret-key-123"})
            await client.recv()
            await client.send({"type": "response.create"})
            await client.until("response.done")
            await client.ws.close()
        await asyncio.sleep(0.1)
    assert len(server.recordings) == 2 and all(p.parent == tmp_path for p in server.recordings)
    for path in server.recordings:
        text = path.read_text()
        assert "sk-secret-key-123" not in text
        with SessionReader(path) as reader:
            assert reader.header["mode"] == "mock"
            records = list(reader)
            assert not reader.problems
        kinds = [r["kind"] for r in records]
        assert kinds[:2] == ["handshake_request", "handshake_response"] and kinds[-1] == "end"
        frames = [r for r in records if r["kind"] == "frame"]
        assert frames[0]["type"] == "session.created" and frames[0]["dir"] == "s2c"
        assert any(r["type"] == "response.done" for r in frames)
        assert records[-1]["clean"] and records[-1]["closed_by"] == "client"


async def test_fifty_concurrent_sessions():
    async with MockServer(fast()) as server:

        async def one_turn(index: int) -> tuple[str, str]:
            client = await open_client(server.url_for())
            created = await client.recv()
            await client.send({"type": "session.update", "session": {"type": "realtime", "instructions": f"session {index}"}})
            updated = await client.until("session.updated")
            assert updated[-1]["session"]["instructions"] == f"session {index}"
            await client.send({"type": "response.create"})
            done = await client.until("response.done", timeout=30)
            assert done[-1]["response"]["status"] == "completed"
            await client.ws.close()
            return created["session"]["id"], done[-1]["response"]["id"]

        results = await asyncio.gather(*(one_turn(i) for i in range(50)))
    assert len({session_id for session_id, _ in results}) == 50
