"""A client connection records every frame byte-exactly, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64

import pytest
from websockets.exceptions import ConnectionClosed

from tests.wire_support import scripted_server
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.reader import SessionReader
from tui.wire.server import serve
from tui.wire.tap import FrameTap
from tui.wire.writer import SessionWriter


def read_all(path):
    with SessionReader(path) as reader:
        records = list(reader)
        assert reader.problems == []
    return reader.header, records


def frames(records, direction):
    return [r for r in records if r["kind"] == "frame" and r["dir"] == direction]


def payload(record) -> str | bytes:
    return record["text"] if "text" in record else base64.b64decode(record["data_b64"])


async def test_text_and_binary_frames_round_trip_byte_exactly(tmp_path):
    messages: list[str | bytes] = [
        '{"type":"conversation.item.create","item":{"content":[{"type":"input_text","text":"héllo ✓ 🎙️ \\u00e9"}]}}',
        "naïve — not JSON at all",
        bytes(range(256)) * 3,
        b"",
        "x" * (2 * 2**20),  # 2 MiB text frame
        bytes(2 * 2**20),  # 2 MiB binary frame
    ]
    path = tmp_path / "s.jsonl"
    received_by_server: list[str | bytes] = []

    async def handler(ws):
        async for message in ws:
            received_by_server.append(message)
            await ws.send(message)

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, ConnectOptions(max_size=None), writer=writer)
            for message in messages:
                await ws.send(message)
                assert await ws.recv() == message
            await ws.close()

    _, records = read_all(path)
    assert received_by_server == messages
    for direction in ("c2s", "s2c"):
        recorded = frames(records, direction)
        assert [payload(r) for r in recorded] == messages
        assert [r["opcode"] for r in recorded] == ["text" if isinstance(m, str) else "binary" for m in messages]
        assert [r["size"] for r in recorded] == [len(m.encode() if isinstance(m, str) else m) for m in messages]
    assert frames(records, "c2s")[0]["type"] == "conversation.item.create"
    assert "type" not in frames(records, "c2s")[1]
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(1, len(records) + 1))
    assert [r["t_ns"] for r in records] == sorted(r["t_ns"] for r in records)


async def test_fragmented_message_is_one_record(tmp_path):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        await ws.recv()
        await ws.send(['{"type":', '"response.done"', "}"])  # three frames, one message

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.send("go")
            assert await ws.recv() == '{"type":"response.done"}'
            await ws.close()
    _, records = read_all(path)
    (incoming,) = frames(records, "s2c")
    assert incoming["text"] == '{"type":"response.done"}'
    assert incoming["type"] == "response.done"
    assert incoming["fragments"] > 1  # websockets ends an iterable with an empty final frame


async def test_pings_and_pongs_both_ways_are_recorded(tmp_path):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        await ws.ping(b"from-server")
        async for message in ws:
            await ws.send(message)

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            pong_waiter = await ws.ping(b"from-client")
            await asyncio.wait_for(pong_waiter, 5)
            await ws.send("sync")  # the server's ping precedes its echo of this
            await ws.recv()
            await ws.close()
    _, records = read_all(path)
    control = [(r["kind"], r["dir"], base64.b64decode(r["data_b64"])) for r in records if r["kind"] in ("ping", "pong")]
    assert ("ping", "c2s", b"from-client") in control
    assert ("pong", "s2c", b"from-client") in control
    assert ("ping", "s2c", b"from-server") in control
    assert ("pong", "c2s", b"from-server") in control
    # The automatic pong is recorded after the ping it answers.
    kinds = [(r["kind"], r["dir"]) for r in records]
    assert kinds.index(("ping", "s2c")) < kinds.index(("pong", "c2s"))


@pytest.mark.parametrize(
    "code, reason", [(1000, ""), (1000, "bye now"), (1001, "going away"), (4000, "invalid_request_error.beta_api_shape_disabled")]
)
async def test_server_close_is_recorded_with_code_reason_and_initiator(tmp_path, code, reason):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        await ws.recv()
        await ws.close(code, reason)

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.send('{"type":"input_audio_buffer.append","audio":""}')
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            await ws.wait_closed()
    _, records = read_all(path)
    closes = [r for r in records if r["kind"] == "close"]
    assert [(c["dir"], c["code"], c["reason"], c["first"], c["by"]) for c in closes] == [
        ("s2c", code, reason, True, "server"),
        ("c2s", code, reason, False, "client"),
    ]
    end = records[-1]
    assert end["kind"] == "end"
    assert (end["code"], end["reason"], end["closed_by"], end["clean"]) == (code, reason, "server", True)


async def test_client_close_is_recorded_as_client_first(tmp_path):
    path = tmp_path / "s.jsonl"
    async with scripted_server() as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.close(1000, "done talking")
    _, records = read_all(path)
    closes = [(r["dir"], r["first"]) for r in records if r["kind"] == "close"]
    assert closes == [("c2s", True), ("s2c", False)]
    assert records[-1]["closed_by"] == "client"


async def test_server_dropping_tcp_is_recorded_as_end_without_close_frame(tmp_path):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        await ws.recv()
        ws.transport.abort()  # no close frame: what a load balancer's idle timeout looks like

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.send("hello")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            await ws.wait_closed()
    _, records = read_all(path)
    assert not [r for r in records if r["kind"] == "close" and r["dir"] == "s2c"]
    end = records[-1]
    assert end["kind"] == "end"
    assert end["code"] == 1006
    assert end["closed_by"] in (None, "client")
    assert end["close_rcvd"] is None
    assert end["clean"] is False


async def test_message_too_big_is_recorded_as_the_clients_own_1009(tmp_path):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        await ws.recv()
        await ws.send("y" * 2048)
        await ws.wait_closed()

    async with scripted_server(handler) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            ws = await open_connection(url, ConnectOptions(max_size=1024), writer=writer)
            await ws.send("go")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            await ws.wait_closed()
    _, records = read_all(path)
    first_close = next(r for r in records if r["kind"] == "close")
    assert (first_close["dir"], first_close["code"], first_close["first"]) == ("c2s", 1009, True)
    assert records[-1]["closed_by"] == "client"
    assert "PayloadTooBig" in records[-1].get("protocol_error", "")


async def test_refused_handshake_is_recorded(tmp_path):
    from websockets.exceptions import InvalidStatus

    path = tmp_path / "s.jsonl"

    def reject(connection, request):
        return connection.respond(401, "Incorrect API key provided.\n")

    async with scripted_server(process_request=reject) as url:
        with SessionWriter(path, mode="live", url=url) as writer:
            with pytest.raises(InvalidStatus):
                await open_connection(url, writer=writer)
    _, records = read_all(path)
    kinds = [r["kind"] for r in records]
    assert kinds[:2] == ["handshake_request", "handshake_response"]
    assert records[1]["status"] == 401
    assert "Incorrect API key" in records[1]["body"]
    assert any(r["kind"] == "error" and "401" in r["message"] for r in records)


async def test_server_side_tap_records_the_same_frames(tmp_path):
    client_path, server_path = tmp_path / "c.jsonl", tmp_path / "s.jsonl"
    server_writer = SessionWriter(server_path, mode="mock", url="ws://127.0.0.1/")

    def attach(connection):
        return FrameTap(server_writer, server_writer.new_conn(), "server")

    async def handler(ws):
        async for message in ws:
            await ws.send(message)
            await ws.close(1000, "")

    async with await serve(handler, "127.0.0.1", 0, attach=attach, max_size=None) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime?model=gpt-realtime"
        with SessionWriter(client_path, mode="live", url=url) as writer:
            ws = await open_connection(url, writer=writer)
            await ws.send('{"type":"session.update"}')
            await ws.recv()
            await ws.wait_closed()
    await asyncio.sleep(0.05)
    server_writer.close()
    _, client_records = read_all(client_path)
    _, server_records = read_all(server_path)

    def essence(records):
        return [(r["kind"], r["dir"], r.get("text"), r.get("code")) for r in records if r["kind"] in ("frame", "close")]

    assert essence(client_records) == essence(server_records)
    assert server_records[0]["kind"] == "handshake_request"
    assert server_records[-1]["kind"] == "end" and server_records[-1]["side"] == "server"


def test_a_frame_recorded_twice_is_the_same_record_on_both_conns(tmp_path):
    # A relay records each frame as received on one leg and as sent on the other.
    path = tmp_path / "s.jsonl"
    text = '{"type":"input_audio_buffer.append","audio":"AAAA","note":"h\\u00e9"}'
    with SessionWriter(path, mode="proxy", url="ws://127.0.0.1:9/v1/realtime") as writer:
        seen: list[dict] = []
        writer.add_listener(seen.append)
        writer.frame(1, "c2s", text.encode(), opcode="text")
        writer.frame(2, "c2s", text.encode(), opcode="text")
        writer.frame(2, "s2c", text.encode(), opcode="binary")  # the same bytes, another opcode
    _, records = read_all(path)
    first, second, third = records
    assert {k: v for k, v in first.items() if k not in ("seq", "t_ns", "conn")} == {
        k: v for k, v in second.items() if k not in ("seq", "t_ns", "conn")
    }
    assert (first["conn"], second["conn"], second["text"], second["type"]) == (1, 2, text, "input_audio_buffer.append")
    assert (third["opcode"], base64.b64decode(third["data_b64"])) == ("binary", text.encode())
    assert seen == records  # listeners get the same records as the file


def test_a_repeated_frame_is_redacted_with_a_secret_learned_in_between(tmp_path):
    path = tmp_path / "s.jsonl"
    secret = "relay-token-0123456789"
    text = f'{{"type":"conversation.item.create","note":"{secret}"}}'
    with SessionWriter(path, mode="proxy", url="ws://127.0.0.1:9/v1/realtime") as writer:
        writer.frame(1, "c2s", text)
        writer.redactor.add_secret(secret)
        writer.frame(2, "c2s", text)
    _, (before, after) = read_all(path)
    assert before["text"] == text  # not yet known to be a secret
    assert after["text"] == text.replace(secret, "[redacted]") and after["redacted"] == ["secret"]


def test_a_reused_buffer_is_recorded_with_what_it_holds_each_time(tmp_path):
    path = tmp_path / "s.jsonl"
    buffer = bytearray(b'{"type":"a"}')
    with SessionWriter(path, mode="live", url="ws://127.0.0.1:9/v1/realtime") as writer:
        writer.frame(1, "c2s", buffer, opcode="text")
        buffer[9] = ord("b")
        writer.frame(1, "c2s", buffer, opcode="text")
    _, records = read_all(path)
    assert [(r["text"], r["type"]) for r in records] == [('{"type":"a"}', "a"), ('{"type":"b"}', "b")]
