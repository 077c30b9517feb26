"""Secrets never reach a recording: headers, subprotocols, query strings, payloads, errors."""

from __future__ import annotations

import base64

import orjson
import pytest

from tests.wire_support import scripted_server
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.redact import Redactor
from tui.wire.writer import SessionWriter

FAKE_KEY = "sk-proj-FAKEfakeFAKE0123456789abcdefTESTKEY"
EPHEMERAL = "ek_68af1f2e0b9c8191a1b2c3d4e5f60718"


def assert_absent(path, *secrets: str) -> None:
    raw = path.read_bytes()
    for secret in secrets:
        assert secret.encode() not in raw
        # Binary payloads are base64 in the file: decode every one and look inside too.
        for line in raw.splitlines():
            record = orjson.loads(line)
            if "data_b64" in record:
                assert secret.encode() not in base64.b64decode(record["data_b64"])


async def test_fake_key_in_handshake_and_payloads_appears_nowhere(tmp_path):
    path = tmp_path / "s.jsonl"

    async def handler(ws):
        async for message in ws:
            await ws.send(message)  # echoes the key back in both opcodes

    async with scripted_server(handler, subprotocols=["realtime"]) as url:
        keyed_url = url + f"&api-key={FAKE_KEY}"
        with SessionWriter(path, mode="live", url=keyed_url) as writer:
            options = ConnectOptions(
                api_key=FAKE_KEY,
                subprotocols=["realtime", f"openai-insecure-api-key.{FAKE_KEY}"],
                extra_headers=[("api-key", FAKE_KEY)],
            )
            ws = await open_connection(keyed_url, options, writer=writer)
            await ws.send(f'{{"type":"session.update","note":"my key is {FAKE_KEY} and {EPHEMERAL}"}}')
            await ws.recv()
            await ws.send(f"binary {FAKE_KEY}".encode())
            await ws.recv()
            writer.mark(f"marked with {FAKE_KEY}")
            await ws.close(1000, f"closing {FAKE_KEY}")
            writer.error(1, f"failure mentioning {EPHEMERAL}")

    assert_absent(path, FAKE_KEY, EPHEMERAL, FAKE_KEY[3:])
    text = path.read_text()
    assert "Bearer [redacted]" in text  # the scheme survives as evidence
    assert "openai-insecure-api-key.[redacted]" in text
    records = [orjson.loads(line) for line in text.splitlines()[1:]]
    redacted_frames = [r for r in records if r["kind"] == "frame" and r.get("redacted")]
    assert len(redacted_frames) == 4  # two sent, two echoed
    assert all(r["size"] > 0 for r in redacted_frames)


def test_key_like_words_in_ordinary_text_are_left_alone():
    redactor = Redactor()
    text = "a risk-assessment-of-everything-here and task-management-for-the-long-run"
    assert redactor.text(text) == (text, [])


@pytest.mark.parametrize(
    "url, expected",
    [
        ("wss://api.openai.com/v1/realtime?model=gpt-realtime", "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        ("wss://x.openai.azure.com/openai/v1/realtime?model=d&api-key=SECRETVALUE123", "wss://x.openai.azure.com/openai/v1/realtime?model=d&api-key=[redacted]"),
        ("ws://user:hunter2hunter2@127.0.0.1:9/v1", "ws://user:[redacted]@127.0.0.1:9/v1"),
    ],
)
def test_url_secrets_are_redacted(url, expected):
    assert Redactor().url(url) == expected


def test_audio_payloads_are_never_mistaken_for_keys():
    audio = base64.b64encode(bytes(range(256)) * 40).decode()
    assert Redactor().text(f'{{"type":"input_audio_buffer.append","audio":"{audio}"}}')[1] == []


@pytest.mark.parametrize("key", [FAKE_KEY, EPHEMERAL])
@pytest.mark.parametrize(
    "template",
    [
        '{{"type":"input_audio_buffer.append","event_id":"{key}","audio":"{audio}"}}',  # before the audio
        '{{"type":"x","audio":"{audio}","note":"{key}"}}',  # after it, the text's last key character
        '{{"note":"{key}","audio":"{audio}","more":"a-b_c"}}',  # other '-' and '_' after the key
        "{key}",  # the whole text
    ],
)
def test_keys_anywhere_around_audio_are_redacted_in_text_and_bytes(key, template):
    audio = base64.b64encode(bytes(range(256)) * 8).decode()
    text = template.format(key=key, audio=audio)
    cleaned, hits = Redactor().text(text)
    assert key not in cleaned and hits == ["key"]
    cleaned_bytes, hits = Redactor().data(text.encode())
    assert key.encode() not in cleaned_bytes and hits == ["key"]
    assert cleaned_bytes == cleaned.encode()
