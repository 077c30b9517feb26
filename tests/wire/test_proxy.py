"""`rtui proxy`'s relay against real websockets servers and clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Opcode

from proxy_support import data_frames, kinds, upstream_server
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.proxy import ProxyConfigError, Relay, RelayConfig, upstream_url
from tui.wire.writer import SessionWriter

KEY = "sk-test-relay-key-0123456789abcdef"
CLIENT_CONN, UPSTREAM_CONN = 1, 2


def relay_config(tmp_path, upstream, **kwargs) -> RelayConfig:
    kwargs.setdefault("env", {})
    return RelayConfig(upstream=upstream, record=tmp_path / "relay.jsonl", record_to_directory=False, close_timeout=3, **kwargs)


async def echo_then_close(ws: ServerConnection) -> None:
    """Echoes every message with its own opcode; closes 4001 when asked to."""
    async for message in ws:
        if message == "close please":
            await ws.close(4001, "asked to close")
            return
        await ws.send(message)


async def finished(relay: Relay) -> None:
    await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 10)


async def all_finished(relay: Relay) -> None:
    """Until every session has finished (and left `relay.sessions`)."""
    while relay.sessions:
        await asyncio.sleep(0.02)


async def test_round_trip_is_byte_identical_on_both_legs_including_a_10_mib_frame_and_the_close(tmp_path):
    big = os.urandom(10 * 2**20)
    messages: list[str | bytes] = ['{"type":"session.update"}', b"\x00\x01binary\xff", "caf\u00e9 \u2603", big]
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            client_writer = SessionWriter(tmp_path / "client.jsonl", mode="live", url=relay.url)
            ws = await open_connection(
                relay.url + "/v1/realtime?model=gpt-realtime",
                ConnectOptions(max_size=None, ping_interval=None),
                writer=client_writer,
            )
            received = []
            for message in messages:
                await ws.send(message)
                received.append(await ws.recv())
            await ws.close(4002, "client done")
            await finished(relay)
            client_writer.close()
    assert received == messages  # the echo came back with the same type and bytes

    sent = [("c2s", "text" if isinstance(m, str) else "binary", m.encode() if isinstance(m, str) else m) for m in messages]
    echoed = [("s2c", o, d) for _, o, d in sent]
    both = [x for pair in zip(sent, echoed, strict=True) for x in pair]
    relay_file = tmp_path / "relay.jsonl"
    assert data_frames(tmp_path / "client.jsonl") == both
    assert data_frames(relay_file, CLIENT_CONN) == both
    assert data_frames(relay_file, UPSTREAM_CONN) == both
    assert data_frames(upstream.recording) == both
    assert max(r["size"] for r in kinds(relay_file, "frame")) == len(big)

    # The client's close reached upstream with its code and reason, and came back the same.
    upstream_closes = kinds(upstream.recording, "close")
    assert [(c["dir"], c["code"], c["reason"], c["first"]) for c in upstream_closes] == [
        ("c2s", 4002, "client done", True),
        ("s2c", 4002, "client done", False),
    ]
    for conn in (CLIENT_CONN, UPSTREAM_CONN):
        first = [c for c in kinds(relay_file, "close", conn) if c["first"]]
        assert [(c["dir"], c["code"], c["reason"]) for c in first] == [("c2s", 4002, "client done")]


async def test_upstream_close_reaches_the_client_with_its_code_and_reason(tmp_path):
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                await ws.send("close please")
                with pytest.raises(ConnectionClosed) as caught:
                    await ws.recv()
            await finished(relay)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4001, "asked to close")
    ends = {e["conn"]: e for e in kinds(tmp_path / "relay.jsonl", "end")}
    assert ends[UPSTREAM_CONN]["closed_by"] == "server" and ends[UPSTREAM_CONN]["code"] == 4001
    assert ends[CLIENT_CONN]["closed_by"] == "server" and ends[CLIENT_CONN]["code"] == 4001


async def test_empty_close_frame_is_relayed_as_empty(tmp_path):
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        # A close frame with no payload: the client must see 1005 (no status), not a made-up code.
        async with ws.send_context():
            ws.protocol.send_close()

    async with upstream_server(tmp_path, handler) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                await ws.send("hi")
                with pytest.raises(ConnectionClosed) as caught:
                    await ws.recv()
            await finished(relay)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1005


async def test_upstream_tcp_drop_becomes_a_drop_for_the_client_not_a_close(tmp_path):
    async def drop(ws: ServerConnection) -> None:
        await ws.recv()
        ws.transport.abort()

    async with upstream_server(tmp_path, drop) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                await ws.send("hi")
                with pytest.raises(ConnectionClosed) as caught:
                    await ws.recv()
            await finished(relay)
    assert caught.value.rcvd is None  # no close frame reached the client: 1006
    ends = {e["conn"]: e for e in kinds(tmp_path / "relay.jsonl", "end")}
    assert ends[UPSTREAM_CONN]["code"] == 1006 and ends[UPSTREAM_CONN]["closed_by"] is None
    assert ends[CLIENT_CONN]["code"] == 1006 and ends[CLIENT_CONN]["closed_by"] is None


async def test_pings_and_pongs_cross_the_relay_both_ways(tmp_path):
    upstream_pong = asyncio.get_running_loop().create_future()

    async def ping_the_client(ws: ServerConnection) -> None:
        await ws.recv()
        pong = await ws.ping(b"from-upstream")
        await asyncio.wait_for(pong, 5)
        upstream_pong.set_result(True)
        await ws.wait_closed()

    async with upstream_server(tmp_path, ping_the_client) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                latency = await asyncio.wait_for(await ws.ping(b"from-client"), 5)
                await ws.send("go")
                assert await asyncio.wait_for(upstream_pong, 5)
            await finished(relay)
    assert latency >= 0
    pings = [(r["dir"], r["data_b64"]) for r in kinds(upstream.recording, "ping")]
    pongs = [(r["dir"], r["data_b64"]) for r in kinds(upstream.recording, "pong")]
    # Upstream itself received the client's ping and answered it; the client answered upstream's.
    assert ("c2s", "ZnJvbS1jbGllbnQ=") in pings and ("s2c", "ZnJvbS1jbGllbnQ=") in pongs
    assert ("s2c", "ZnJvbS11cHN0cmVhbQ==") in pings and ("c2s", "ZnJvbS11cHN0cmVhbQ==") in pongs


async def test_the_relay_never_answers_a_ping_itself(tmp_path):
    async def silent(ws: ServerConnection) -> None:
        # This upstream does not answer pings: its protocol drops them before the automatic pong.
        original = ws.protocol.recv_frame
        ws.protocol.recv_frame = lambda frame: None if frame.opcode is Opcode.PING else original(frame)
        await ws.wait_closed()

    async with upstream_server(tmp_path, silent) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                await asyncio.sleep(0.1)  # let the upstream handler install its filter
                pong = await ws.ping(b"anyone?")
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(pong), 0.5)
            await finished(relay)
    assert not kinds(tmp_path / "relay.jsonl", "pong")


async def test_query_headers_and_subprotocol_pass_through_and_the_key_is_added_and_never_recorded(tmp_path):
    async with upstream_server(tmp_path, echo_then_close, select_subprotocol=lambda ws, offered: "realtime") as upstream:
        config = relay_config(tmp_path, upstream.url.split("?")[0] + "?model=default", env={"OPENAI_API_KEY": KEY})
        async with Relay(config) as relay:
            async with connect(
                relay.url + "/anything?model=gpt-realtime-mini",
                additional_headers={"OpenAI-Beta": "realtime=v1", "X-Trace": "abc"},
                subprotocols=["realtime"],  # type: ignore[list-item]
                ping_interval=None,
            ) as ws:
                assert ws.subprotocol == "realtime"
                await ws.send(f'{{"type":"session.update","note":"{KEY}"}}')
                await ws.recv()
            await finished(relay)
    request = upstream.requests[0]
    assert request.path == "/v1/realtime?model=gpt-realtime-mini"
    assert request.headers["OpenAI-Beta"] == "realtime=v1" and request.headers["X-Trace"] == "abc"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    text = (tmp_path / "relay.jsonl").read_text()
    assert KEY not in text
    upstream_request = kinds(tmp_path / "relay.jsonl", "handshake_request", UPSTREAM_CONN)[0]
    assert ["Authorization", "Bearer [redacted]"] in upstream_request["headers"]


async def test_the_clients_own_key_is_forwarded_instead_of_the_environments(tmp_path):
    own = "sk-client-own-key-abcdefghijklmnop"
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url, env={"OPENAI_API_KEY": KEY})) as relay:
            async with connect(relay.url, additional_headers={"Authorization": f"Bearer {own}"}, ping_interval=None):
                pass
            await finished(relay)
    assert upstream.requests[0].headers.get_all("Authorization") == [f"Bearer {own}"]
    assert own not in (tmp_path / "relay.jsonl").read_text()


async def test_azure_upstream_gets_the_azure_key_as_api_key_header():
    from tui.wire.proxy import upstream_key

    env = {"OPENAI_API_KEY": "sk-openai-key-000000000000", "AZURE_OPENAI_API_KEY": "azure-key-0123456789"}
    assert upstream_key("wss://res.openai.azure.com/openai/v1/realtime?model=d", env) == ("api-key", "azure-key-0123456789")
    assert upstream_key("wss://api.openai.com/v1/realtime", env) == ("Authorization", "sk-openai-key-000000000000")
    assert upstream_key("wss://res.openai.azure.com/openai/v1/realtime", {"OPENAI_API_KEY": "sk-openai-key-000000000000"}) is None
    assert upstream_url("wss://h/v1/realtime?model=a&x=1", "/?model=b&token=t") == "wss://h/v1/realtime?x=1&model=b"
    assert upstream_url("wss://h/v1/realtime", "/v1/realtime?model=gpt-realtime&note=a%20b+c") == (
        "wss://h/v1/realtime?model=gpt-realtime&note=a%20b+c"  # the client's bytes, unchanged
    )


async def test_upstream_refusal_reaches_the_client_with_its_status(tmp_path):
    def refuse(connection: ServerConnection, request) -> object:
        return connection.respond(404, '{"error":"model not found"}')

    from websockets.asyncio.server import serve

    async with serve(echo_then_close, "127.0.0.1", 0, process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        async with Relay(relay_config(tmp_path, f"ws://127.0.0.1:{port}/v1/realtime")) as relay:
            with pytest.raises(InvalidStatus) as caught:
                async with connect(relay.url, ping_interval=None):
                    pass
            await finished(relay)
    assert caught.value.response.status_code == 404
    assert b"model not found" in caught.value.response.body
    responses = kinds(tmp_path / "relay.jsonl", "handshake_response")
    assert {r["conn"]: r["status"] for r in responses} == {UPSTREAM_CONN: 404, CLIENT_CONN: 404}


async def test_remote_mode_refuses_clients_without_the_token_before_reaching_upstream(tmp_path):
    token = "t0ken-for-remote-clients"
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        config = relay_config(tmp_path, upstream.url, allow_remote=True, token=token)
        async with Relay(config) as relay:
            for path, status in (("/", 401), ("/?token=wrong-token-value", 403)):
                with pytest.raises(InvalidStatus) as caught:
                    async with connect(relay.url + path, ping_interval=None):
                        pass
                assert caught.value.response.status_code == status
            assert upstream.requests == []  # nothing reached upstream
            async with connect(relay.url + f"/?token={token}&model=m", ping_interval=None) as ws:
                await ws.send("hello")
                assert await ws.recv() == "hello"
            await finished(relay)
    assert upstream.requests[0].path == "/v1/realtime?model=m"  # the token stays at the relay
    for path in tmp_path.glob("relay*.jsonl"):
        assert token not in path.read_text()


def test_settings_that_would_expose_the_relay_are_refused(tmp_path):
    with pytest.raises(ProxyConfigError, match="--allow-remote"):
        RelayConfig(upstream="ws://127.0.0.1:1", host="0.0.0.0").check()
    with pytest.raises(ProxyConfigError, match="--token"):
        RelayConfig(upstream="ws://127.0.0.1:1", host="0.0.0.0", allow_remote=True).check()
    with pytest.raises(ProxyConfigError, match="ws://"):
        RelayConfig(upstream="http://127.0.0.1:1").check()


async def test_a_client_that_leaves_during_the_upstream_handshake_leaves_no_upstream_connection_behind(tmp_path):
    from websockets.asyncio.server import serve

    upstream_side: list[bool] = []

    async def slow_handshake(connection: ServerConnection, request) -> None:
        await asyncio.sleep(0.5)  # the client gives up before upstream answers
        upstream_side.append(connection.connection_lost_waiter.done())

    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, process_request=slow_handshake, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with Relay(relay_config(tmp_path, f"ws://127.0.0.1:{port}/v1/realtime")) as relay:
            with pytest.raises(TimeoutError):
                async with connect(relay.url, open_timeout=0.1, ping_interval=None):
                    pass
            await asyncio.wait_for(all_finished(relay), 5)
            while not upstream_side:
                await asyncio.sleep(0.05)
    # By the time upstream would have answered, the relay had already dropped that connection.
    assert upstream_side == [True]


@pytest.mark.parametrize("to_directory", [True, False])
async def test_each_session_gets_its_own_recording(tmp_path, to_directory):
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        target = tmp_path / ("recordings" if to_directory else "bug.jsonl")
        config = RelayConfig(upstream=upstream.url, record=target, record_to_directory=to_directory, env={})
        async with Relay(config) as relay:
            for _ in range(2):
                async with connect(relay.url, ping_interval=None) as ws:
                    await ws.send("hi")
                    await ws.recv()
            await finished(relay)
    if to_directory:
        files = sorted(target.glob("*-proxy.jsonl"))
    else:
        files = [tmp_path / "bug.jsonl", tmp_path / "bug-2.jsonl"]
    assert len(files) == 2 and [len(data_frames(f)) for f in files] == [4, 4]


async def test_fragments_and_invalid_utf8_pass_through_untouched(tmp_path):
    async def send_odd_frames(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(["frag", "ment", "ed"])  # one text message in three frames
        async with ws.send_context():
            ws.protocol.send_text(b"\xff\xfe not utf-8")  # a text frame no decoder accepts
        await ws.wait_closed()

    async with upstream_server(tmp_path, send_odd_frames) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            client_writer = SessionWriter(tmp_path / "client.jsonl", mode="live", url=relay.url)
            ws = await open_connection(relay.url, ConnectOptions(ping_interval=None), writer=client_writer)
            await ws.send("go")
            assert await ws.recv() == "fragmented"
            with pytest.raises(ConnectionClosed) as caught:
                await ws.recv()
            await finished(relay)
            client_writer.close()
    # The client's own websockets refused the bytes (1007): the relay passed them on as they were.
    assert caught.value.sent is not None and caught.value.sent.code == 1007
    sent_fragments = [f for f in kinds(upstream.recording, "frame") if f["dir"] == "s2c"][0]["fragments"]
    assert sent_fragments >= 3  # websockets may end with an empty final fragment
    client_frames = kinds(tmp_path / "client.jsonl", "frame")
    assert client_frames[1]["fragments"] == sent_fragments
    assert client_frames[2]["opcode"] == "text" and base64.b64decode(client_frames[2]["data_b64"]) == b"\xff\xfe not utf-8"
    for conn in (CLIENT_CONN, UPSTREAM_CONN):
        relayed = [f for f in kinds(tmp_path / "relay.jsonl", "frame", conn) if f["dir"] == "s2c"]
        assert relayed[0]["fragments"] == sent_fragments and "data_b64" in relayed[1]
    first_close = [c for c in kinds(tmp_path / "relay.jsonl", "close") if c["first"]][0]
    assert (first_close["by"], first_close["code"]) == ("client", 1007)


async def test_the_close_answer_comes_from_the_far_end_not_from_the_relay(tmp_path):
    async def answer_with_its_own_code(ws: ServerConnection) -> None:
        original = ws.protocol.recv_frame

        def recv_frame(frame) -> None:
            if frame.opcode is Opcode.CLOSE:
                ws.protocol.send_close(1000, "upstream's own answer")  # RFC 6455 allows any code here
            original(frame)

        ws.protocol.recv_frame = recv_frame
        await ws.wait_closed()

    async with upstream_server(tmp_path, answer_with_its_own_code) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            ws = await connect(relay.url, ping_interval=None)
            await ws.close(4002, "client done")
            await finished(relay)
    assert ws.protocol.close_sent.code == 4002  # what the client sent first ...
    assert (ws.protocol.close_rcvd.code, ws.protocol.close_rcvd.reason) == (
        1000,
        "upstream's own answer",
    )  # ... and upstream's reply


async def test_a_far_end_that_never_answers_a_close_is_dropped_and_so_is_the_client(tmp_path):
    async def never_answer(ws: ServerConnection) -> None:
        original = ws.protocol.recv_frame
        ws.protocol.recv_frame = lambda frame: None if frame.opcode is Opcode.CLOSE else original(frame)
        await ws.wait_closed()

    async with upstream_server(tmp_path, never_answer) as upstream:
        config = relay_config(tmp_path, upstream.url)
        config.close_timeout = 0.5
        async with Relay(config) as relay:
            ws = await connect(relay.url, ping_interval=None, close_timeout=5)
            await ws.close(4002, "client done")
            await finished(relay)
    assert ws.protocol.close_rcvd is None  # no answer reached the client: upstream never gave one
    ends = {e["conn"]: e for e in kinds(tmp_path / "relay.jsonl", "end")}
    assert ends[UPSTREAM_CONN]["close_rcvd"] is None and ends[CLIENT_CONN]["close_sent"] is None


async def test_compression_is_declined_on_both_legs(tmp_path):
    async with upstream_server(tmp_path, echo_then_close, compression="deflate") as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, compression="deflate", ping_interval=None) as ws:
                assert ws.protocol.extensions == []  # the client's offer was declined
                await ws.send("plain")
                assert await ws.recv() == "plain"
            await finished(relay)
    assert "Sec-WebSocket-Extensions" not in upstream.requests[0].headers  # and not made upstream


async def test_a_slow_upstream_slows_the_client_instead_of_filling_the_relays_memory(tmp_path):
    resume = asyncio.Event()
    received = 0

    async def slow_reader(ws: ServerConnection) -> None:
        nonlocal received
        ws.transport.pause_reading()  # upstream stops reading, as a stalled peer would
        await resume.wait()
        ws.transport.resume_reading()
        async for _ in ws:
            received += 1
            if received == 20:
                await ws.close()

    chunk = os.urandom(512 * 1024)
    async with upstream_server(tmp_path, slow_reader) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            # A small send buffer on the client's socket, so the kernel does not absorb the test.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", relay.port))
            try:
                async with connect(relay.url, sock=sock, ping_interval=None, max_size=None) as ws:
                    sent = 0

                    async def send_all() -> None:
                        nonlocal sent
                        for _ in range(20):
                            await ws.send(chunk)
                            sent += 1

                    sender = asyncio.ensure_future(send_all())
                    await asyncio.sleep(0.5)
                    session = relay.sessions[0]
                    assert sent < 20  # the client is held back ...
                    assert not session.down.transport.is_reading()  # ... because the relay stopped reading it
                    assert session.up.transport.get_write_buffer_size() < 4 * 2**20  # and buffers little
                    resume.set()
                    await asyncio.wait_for(sender, 30)
                    await ws.wait_closed()
            finally:
                resume.set()
            await finished(relay)
    assert received == 20


async def test_a_live_sessions_frames_reach_its_recording_while_it_runs(tmp_path):
    # The relay writes recordings in batches; a file being watched (rtui show, tail -f) still
    # gets every frame within a moment, not only when the session ends.
    async with upstream_server(tmp_path, echo_then_close) as upstream:
        async with Relay(relay_config(tmp_path, upstream.url)) as relay:
            async with connect(relay.url, ping_interval=None) as ws:
                await ws.send('{"type":"session.update"}')
                await ws.recv()
                for _ in range(100):
                    if len(data_frames(tmp_path / "relay.jsonl")) == 4:  # each leg: the frame and its echo
                        break
                    await asyncio.sleep(0.05)
                assert len(data_frames(tmp_path / "relay.jsonl")) == 4
