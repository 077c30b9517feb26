"""Secrets never reach a recording: headers, subprotocols, query strings, payloads, errors."""

from __future__ import annotations

import base64

import orjson
import pytest

from tests.fake_keys import ESCAPED_KEY, PLAIN_SECRET
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
        (
            "wss://x.openai.azure.com/openai/v1/realtime?model=d&api-key=SECRETVALUE123",
            "wss://x.openai.azure.com/openai/v1/realtime?model=d&api-key=[redacted]",
        ),
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


# A key spelled with a JSON escape: the frame's text does not hold it, its decoded string does.
ESCAPED = r"sk-test-SECRET\u0056ALUE123"


def escaped_key_recording(path, secrets=()):  # type: ignore[no-untyped-def]
    """A recording whose frames spell secrets with JSON escapes, and one frame with escapes and no secret."""
    error = (
        '{"type":"error","error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided: %s."}}'  # noqa: E501 - a JSON frame reads best whole
        % ESCAPED
    )
    update = '{"type":"session.update","session":{"instructions":"my key is %s","note":"caf\\u00e9 \\"quoted\\"\\n"}}' % ESCAPED
    clean = '{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"caf\\u00e9 \\/ \\"hi\\""}]}}'  # noqa: E501 - a JSON frame reads best whole
    own = '{"type":"x","note":"%s"}' % PLAIN_SECRET.replace("FAKE", "\\u0046AKE")
    with SessionWriter(path, mode="live", url="ws://127.0.0.1:1/v1/realtime", secrets=secrets) as writer:
        conn = writer.new_conn()
        writer.frame(conn, "c2s", update)
        writer.frame(conn, "c2s", clean)
        writer.frame(conn, "c2s", update.encode(), opcode="binary")
        writer.frame(conn, "c2s", own)
        writer.frame(conn, "s2c", error)
    return path, clean


def decoded_strings(value):  # type: ignore[no-untyped-def]
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from decoded_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from decoded_strings(inner)


def test_a_key_behind_a_json_escape_is_redacted_on_the_decoded_text(tmp_path):
    path, clean = escaped_key_recording(tmp_path / "escaped.jsonl", secrets=[PLAIN_SECRET])
    from tui.wire.reader import SessionReader

    with SessionReader(path) as reader:
        frames = list(reader)
    for frame in frames:
        payload = frame["text"] if "text" in frame else base64.b64decode(frame["data_b64"]).decode()
        for string in decoded_strings(orjson.loads(payload)):
            assert ESCAPED_KEY not in string and PLAIN_SECRET not in string
    update, untouched, binary, own, error = frames
    assert update["redacted"] == ["key"] and binary["redacted"] == ["key"] and own["redacted"] == ["secret"]
    # Only the string that hid the key is rewritten; the rest of the frame is as sent.
    assert (
        update["text"]
        == '{"type":"session.update","session":{"instructions":"my key is sk-[redacted]","note":"caf\\u00e9 \\"quoted\\"\\n"}}'
    )
    assert orjson.loads(error["text"])["error"]["message"] == "Incorrect API key provided: sk-[redacted]."
    # A frame with escapes and no secret stays byte for byte what crossed the wire.
    assert untouched["text"] == clean and "redacted" not in untouched


def test_show_and_diagnose_never_print_a_key_spelled_with_escapes(tmp_path):
    import subprocess
    import sys

    path, _ = escaped_key_recording(tmp_path / "escaped.jsonl", secrets=[PLAIN_SECRET])
    for command in (["show"], ["show", "--json"], ["diagnose"], ["diagnose", "--json"]):
        result = subprocess.run([sys.executable, "-m", "tui", *command, str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        shown = result.stdout + result.stderr
        assert ESCAPED_KEY not in shown and ESCAPED not in shown and "SECRET\\\\u0056ALUE" not in shown
        if command == ["diagnose"]:
            assert "Incorrect API key provided: sk-[redacted]." in shown


def test_a_key_spelled_with_escapes_in_an_older_recording_stays_off_the_screen(tmp_path):
    import subprocess
    import sys

    # Written by hand, as an rtui before decoded redaction (or another tool) wrote it: the key is on
    # disk, so it is not one of tests/fake_keys.py (the suite's scan forbids those on disk).
    key = "sk-test-OLDFILE0123456789abcdef"
    spelled = key.replace("OLD", "\\u004fLD")
    error = (
        '{"type":"error","error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided: %s."}}'  # noqa: E501 - a JSON frame reads best whole
        % spelled
    )
    path = tmp_path / "old.jsonl"
    with SessionWriter(path, mode="live", url="ws://127.0.0.1:1/v1/realtime") as writer:
        writer.frame(writer.new_conn(), "s2c", "{}")
    record = {
        "seq": 2,
        "t_ns": 2,
        "conn": 1,
        "kind": "frame",
        "dir": "s2c",
        "opcode": "text",
        "text": error,
        "size": len(error),
        "type": "error",
    }
    with path.open("ab") as file:
        file.write(orjson.dumps(record) + b"\n")
    assert spelled.encode() in path.read_bytes().replace(b"\\\\", b"\\")
    for command in (["show"], ["diagnose"], ["diagnose", "--json"]):
        result = subprocess.run([sys.executable, "-m", "tui", *command, str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert key not in result.stdout + result.stderr
        assert "Incorrect API key provided: sk-[redacted]." in result.stdout, command


def test_an_ephemeral_key_keeps_its_prefix_so_diagnose_can_name_it():
    redactor = Redactor()
    assert redactor.header("Authorization", f"Bearer {EPHEMERAL}") == "Bearer ek_[redacted]"
    assert redactor.header("Authorization", f"Bearer {FAKE_KEY}") == "Bearer [redacted]"
    assert redactor.header("api-key", EPHEMERAL) == "ek_[redacted]"
    assert redactor.subprotocol(f"openai-insecure-api-key.{EPHEMERAL}") == "openai-insecure-api-key.ek_[redacted]"
    assert redactor.subprotocol(f"openai-insecure-api-key.{FAKE_KEY}") == "openai-insecure-api-key.[redacted]"
    offered = redactor.header("Sec-WebSocket-Protocol", f"realtime, openai-insecure-api-key.{EPHEMERAL}")
    assert offered == "realtime, openai-insecure-api-key.ek_[redacted]"
    # A short "ek_" value that is no key shape says nothing more than that it starts with ek_.
    assert redactor.header("Authorization", "Bearer ek_x") == "Bearer ek_[redacted]"
