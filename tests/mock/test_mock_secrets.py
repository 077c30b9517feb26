"""Ephemeral keys against the mock: the official SDK mints one (`client.realtime.client_secrets.create`),
clients connect with it (Bearer, or a browser's subprotocol) into the session it was minted with, and
an expired or unknown key is refused at the handshake with the API's 401 and JSON body."""

from __future__ import annotations

import asyncio

import openai
import orjson
import pytest
from openai.types.realtime import ClientSecretCreateResponse
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from fake_keys import EPHEMERAL_KEY, OPENAI_KEY
from mock_support import validate
from tui.mock import MockConfig, MockServer
from tui.mock.secrets import KeyStore
from tui.wire import front

MINTED_SESSION = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "You are a pirate.",
    "audio": {"output": {"voice": "cedar"}, "input": {"format": {"type": "audio/pcm"}, "turn_detection": None}},
}


def sdk(server: MockServer, key: str = OPENAI_KEY) -> openai.AsyncOpenAI:
    # trust_env=False: an http(s)_proxy in the environment must not capture 127.0.0.1.
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=f"http://127.0.0.1:{server.port}/v1",
        websocket_base_url=server.base_url,
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
        max_retries=0,
    )


async def first_event(ws) -> dict:
    return validate(orjson.loads(await asyncio.wait_for(ws.recv(), 10)))


async def test_the_sdk_mints_a_key_and_clients_connect_with_it_into_the_minted_session():
    async with MockServer(MockConfig(realtime=False, require_key=OPENAI_KEY)) as server:
        client = sdk(server)
        secret = await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": 600},
            session=MINTED_SESSION,  # type: ignore[arg-type]
        )
        assert isinstance(secret, ClientSecretCreateResponse)
        assert secret.value.startswith("ek_") and len(secret.value) > 20
        assert secret.session.type == "realtime" and secret.session.instructions == "You are a pirate."
        assert secret.session.audio.output.voice == "cedar"
        # A pcm format without a rate is 24 kHz.
        assert secret.session.audio.input.format.rate == 24000

        # An iOS app: the Bearer header, the model named in the URL as usual.
        async with connect(server.url_for(), additional_headers={"Authorization": f"Bearer {secret.value}"}, proxy=None) as ws:
            created = await first_event(ws)
        # A browser: the key subprotocol, and no model in the URL (the key names it).
        async with connect(
            server.url,
            subprotocols=["realtime", f"openai-insecure-api-key.{secret.value}"],
            proxy=None,  # type: ignore[list-item]
        ) as ws:
            assert ws.subprotocol == "realtime"
            from_browser = await first_event(ws)
        # The SDK's own realtime client, given the ephemeral key as its API key.
        async with sdk(server, secret.value).realtime.connect(
            model="gpt-realtime", websocket_connection_options={"proxy": None}
        ) as conn:
            from_sdk = validate(orjson.loads(await asyncio.wait_for(conn.recv_bytes(), 10)))
    for event in (created, from_browser, from_sdk):
        session = event["session"]
        assert event["type"] == "session.created"
        assert session["instructions"] == "You are a pirate." and session["audio"]["output"]["voice"] == "cedar"
        assert session["audio"]["input"]["turn_detection"] is None
    assert created["session"]["id"] != from_browser["session"]["id"]  # one key, several sessions


async def test_an_expired_key_and_an_unknown_key_are_refused_with_401_and_the_apis_json_error():
    # --key-lifetime 0: every key is minted already expired, so no test waits for one to run out.
    async with MockServer(MockConfig(realtime=False, key_lifetime=0)) as server:
        secret = await sdk(server).realtime.client_secrets.create(session={"type": "realtime"})
        refusals = []
        for key in (secret.value, EPHEMERAL_KEY):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.url_for(), additional_headers={"Authorization": f"Bearer {key}"}, proxy=None):
                    pass
            refusals.append(refused.value.response)
    for response in refusals:
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        error = orjson.loads(response.body)["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key"
        assert secret.value not in error["message"] and EPHEMERAL_KEY not in error["message"]
    assert "expired" in orjson.loads(refusals[0].body)["error"]["message"]
    assert "unknown" in orjson.loads(refusals[1].body)["error"]["message"]


async def test_minting_needs_the_real_key_and_a_valid_request():
    async with MockServer(MockConfig(realtime=False, require_key=OPENAI_KEY)) as server:
        with pytest.raises(openai.AuthenticationError):
            await sdk(server, "sk-wrong-key-0123456789abcdef").realtime.client_secrets.create()
        with pytest.raises(openai.AuthenticationError):
            await sdk(server, EPHEMERAL_KEY).realtime.client_secrets.create()  # an ek_ cannot mint
        client = sdk(server)
        cases = [
            ({"expires_after": {"anchor": "created_at", "seconds": 5}}, "integer_below_min_value", "expires_after.seconds"),
            ({"expires_after": {"anchor": "now"}}, "invalid_value", "expires_after.anchor"),
            ({"session": {"type": "realtime", "modalities": ["audio"]}}, "unknown_parameter", "session.modalities"),
            ({"session": {"instructions": "no type"}}, "missing_required_parameter", "session.type"),
            ({"lifetime": 5}, "unknown_parameter", "lifetime"),
            ({"session": {"type": "realtime", "model": "gpt-4o-realtime-preview"}}, "model_not_found", "session.model"),
        ]
        for body, code, param in cases:
            with pytest.raises(openai.BadRequestError) as refused:
                await client.post("/realtime/client_secrets", body=body, cast_to=object)
            error = refused.value.body
            assert isinstance(error, dict) and (error["code"], error["param"]) == (code, param), body
        minted = await client.realtime.client_secrets.create()  # no body fields: 600 s, a default session
        assert minted.session.type == "realtime" and minted.session.model == "gpt-realtime"


async def raw_http(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)  # the server closes after its answer
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_hostile_http_requests_get_a_status_and_never_a_traceback():
    async with MockServer(MockConfig(realtime=False)) as server:
        port = server.port
        path = b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n"
        cases = [
            (path + b"Content-Length: 5\r\n\r\n{nope", 400),  # not JSON
            (path + b"Content-Length: 2\r\n\r\n[]", 400),  # JSON, not an object
            (path + b"Content-Length: 999999999\r\n\r\n", 413),  # refused before the body is read
            (path + b"\r\n", 411),  # a POST without Content-Length
            (path + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
            (path + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400),
            (b"POST /v1/files HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 404),
            (b"BREW\r\n\r\n", 400),
            (b"POST /v1/realtime/client_secrets HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n", 431),
        ]
        for request, status in cases:
            got, body = await raw_http(port, request)
            assert got == status, (request[:60], body)
        got, body = await raw_http(port, path + b"Content-Length: 2\r\n\r\n{}")
        assert got == 200 and orjson.loads(body)["value"].startswith("ek_")
        ClientSecretCreateResponse.model_validate(orjson.loads(body), strict=True)
        # The WebSocket endpoint still answers on the same port.
        async with connect(server.url_for(), proxy=None) as ws:
            assert (await first_event(ws))["type"] == "session.created"


async def test_a_request_that_never_finishes_gets_408_and_its_socket_back(monkeypatch):
    # A client that stops sending mid-request (or never starts) cannot hold a socket of the server.
    monkeypatch.setattr(front, "REQUEST_TIMEOUT_S", 0.3)
    async with MockServer(MockConfig(realtime=False)) as server:
        head = b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n"
        for partial in (head + b'{"session": ', head[:30], b""):
            got, body = await raw_http(server.port, partial)
            assert (got, body) == (408, b"Request timeout.\n"), partial


def test_keys_minted_by_one_worker_open_sessions_on_another(tmp_path):
    clock = [1000.0]
    minting, serving = (KeyStore(directory=tmp_path, clock=lambda: clock[0]) for _ in range(2))
    key, _ = minting.mint({"type": "realtime", "instructions": "shared"}, 60)
    found = serving.check(key.value)
    assert not isinstance(found, type(None)) and getattr(found, "session", None) == {"type": "realtime", "instructions": "shared"}
    clock[0] += 60
    assert getattr(serving.check(key.value), "status_code", None) == 401  # expired everywhere
    assert key.value not in "".join(p.name for p in tmp_path.iterdir())  # files are named by the key's hash


async def test_the_mocks_own_recording_keeps_only_the_kind_of_an_ephemeral_key(tmp_path):
    async with MockServer(MockConfig(realtime=False, record_dir=tmp_path)) as server:
        secret = await sdk(server).realtime.client_secrets.create()
        async with connect(
            server.url,
            subprotocols=["realtime", f"openai-insecure-api-key.{secret.value}"],
            proxy=None,  # type: ignore[list-item]
        ) as ws:
            await first_event(ws)
    (recording,) = server.recordings
    text = recording.read_text()
    assert secret.value not in text and "openai-insecure-api-key.ek_[redacted]" in text


async def test_a_key_minted_for_transcription_opens_a_transcription_session():
    session = {"type": "transcription", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
    async with MockServer(MockConfig(realtime=False)) as server:
        secret = await sdk(server).realtime.client_secrets.create(session=session)  # type: ignore[arg-type]
        assert secret.session.type == "transcription"
        async with connect(server.url, additional_headers={"Authorization": f"Bearer {secret.value}"}, proxy=None) as ws:
            created = await first_event(ws)
    assert created["session"]["type"] == "transcription"
    assert created["session"]["audio"]["input"]["transcription"]["model"] == "whisper-1"
