"""`rtui proxy` in front of an app that brings its own ephemeral key (ek_…): the key goes upstream
unchanged (the relay's own key is not added), never reaches the recording or the log, and a refusal
of an expired key reaches the app and is explained by `rtui diagnose` on the relay's recording."""

from __future__ import annotations

import asyncio

import openai
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from fake_keys import OPENAI_KEY
from mock_support import validate
from proxy_support import kinds
from tui.diagnose import diagnose
from tui.mock import MockConfig, MockServer
from tui.wire.proxy import Relay, RelayConfig

CLIENT_CONN, UPSTREAM_CONN = 1, 2


BACKEND_KEY = "sk-only-the-backend-has-this-0123"


async def mint(server: MockServer, key: str = OPENAI_KEY) -> str:
    """What the app's backend does: a key minted with the real key, for a session of its own."""
    client = openai.AsyncOpenAI(
        api_key=key,
        base_url=f"http://127.0.0.1:{server.port}/v1",
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
        max_retries=0,
    )
    secret = await client.realtime.client_secrets.create(session={"type": "realtime", "instructions": "Minted for the app."})
    return secret.value


def relay_to(server: MockServer, tmp_path, lines: list[str]) -> Relay:
    # The relay holds a real key of its own; a client that brings a key must not get it.
    config = RelayConfig(
        upstream=server.url_for(),
        record=tmp_path / "relay.jsonl",
        record_to_directory=False,
        close_timeout=3,
        env={"OPENAI_API_KEY": OPENAI_KEY},
    )
    return Relay(config, on_event=lines.append)


async def finished(relay: Relay) -> None:
    await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 10)


@pytest.mark.parametrize("how", ["bearer", "subprotocol"])
async def test_an_ephemeral_key_is_relayed_unchanged_and_redacted(tmp_path, how):
    lines: list[str] = []
    # --require-key: upstream would refuse the relay's own key in place of the app's ek_.
    async with MockServer(MockConfig(realtime=False, require_key=BACKEND_KEY)) as server:
        key = await mint(server, BACKEND_KEY)
        async with relay_to(server, tmp_path, lines) as relay:
            if how == "bearer":
                options = {"additional_headers": {"Authorization": f"Bearer {key}"}}
            else:
                options = {"subprotocols": ["realtime", f"openai-insecure-api-key.{key}"]}
            async with connect(relay.url + "/v1/realtime?model=gpt-realtime", proxy=None, **options) as ws:  # type: ignore[arg-type]
                created = validate(orjson.loads(await asyncio.wait_for(ws.recv(), 10)))
            await finished(relay)
    assert created["session"]["instructions"] == "Minted for the app."  # upstream saw the app's key
    text = (tmp_path / "relay.jsonl").read_text()
    assert key not in text and OPENAI_KEY not in text and key not in "\n".join(lines)
    for conn in (CLIENT_CONN, UPSTREAM_CONN):
        request = kinds(tmp_path / "relay.jsonl", "handshake_request", conn)[0]
        if how == "bearer":
            assert ["Authorization", "Bearer ek_[redacted]"] in request["headers"]
        else:
            assert "openai-insecure-api-key.ek_[redacted]" in request["subprotocols"]
            assert not any(name.lower() == "authorization" for name, _ in request["headers"])  # none added


async def test_an_expired_ephemeral_key_is_refused_through_the_relay_and_diagnosed(tmp_path):
    lines: list[str] = []
    async with MockServer(MockConfig(realtime=False, key_lifetime=0)) as server:
        key = await mint(server)
        async with relay_to(server, tmp_path, lines) as relay:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    relay.url + "/v1/realtime?model=gpt-realtime",
                    additional_headers={"Authorization": f"Bearer {key}"},
                    proxy=None,
                ):
                    pass
            await finished(relay)
    response = refused.value.response
    assert response.status_code == 401 and orjson.loads(response.body)["error"]["code"] == "invalid_api_key"
    diagnosis = diagnose(tmp_path / "relay.jsonl")
    (finding,) = [f for f in diagnosis.findings if f.id == "handshake-refused"]
    assert finding.details["status"] == 401 and finding.details["ephemeral_key"] is True
    assert "expired or unknown ephemeral key" in finding.message and "client_secrets" in finding.message
    assert key not in (tmp_path / "relay.jsonl").read_text()
