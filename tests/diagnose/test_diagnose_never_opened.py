"""A socket that never opened is explained by a finding, not by a 1006 "closed first by nobody":
`handshake-refused` (status, the server's words, a hint) and `connect-failed` (the error in plain
words), on the committed example and on what `rtui --headless` records against `rtui mock`."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from cli_support import rtui
from diagnose_support import Script
from tui.diagnose import diagnose
from tui.diagnose.text import render_text
from tui.engine.closure import summarize_refusal
from tui.mock import MockConfig, MockServer
from tui.protocol.handshake import REFUSAL_HINTS, body_excerpt, connect_error_words
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.format import C2S, LOCAL, S2C
from tui.wire.proxy import Relay, RelayConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "sessions" / "examples"
# Both listed in tests/fake_keys.py, so the suite's secret scan checks no recording holds them.
RIGHT_KEY, WRONG_KEY = "sk-right-key-0123456789abcdef", "sk-wrong-key-0123456789abcdef"


def nothing_listening() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_503_example_gets_a_finding_and_no_1006_timeline(tmp_path):
    result = rtui("diagnose", str(EXAMPLES / "fault-reject-503.jsonl"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "handshake-refused" in out and "HTTP 503 Service Unavailable" in out
    assert "Handshake refused by the mock's reject fault (503)." in out  # the server's own words
    assert "1006" not in out and "closed first by nobody" not in out and "abnormal" not in out
    report = json.loads(rtui("diagnose", "--json", str(EXAMPLES / "fault-reject-503.jsonl"), cwd=tmp_path).stdout)
    assert report["ending"]["how"] == "refused" and report["ending"]["status"] == 503
    (finding,) = report["findings"]
    assert finding["id"] == "handshake-refused" and finding["severity"] == "error"
    assert finding["details"]["status"] == 503 and finding["details"]["hint"]
    assert finding["evidence"] == [report["ending"]["seq"]]


async def test_a_wrong_key_recorded_by_rtui_reads_as_a_401_with_the_key_hint(tmp_path):
    async with MockServer(MockConfig(port=0, require_key=RIGHT_KEY)) as server:
        url = server.url_for().split("?")[0]
        run = await asyncio.to_thread(
            rtui,
            "--headless",
            "--input",
            "tone:440",
            "--output",
            "null",
            "--url",
            url,
            "--record-dir",
            "rec",
            cwd=tmp_path,
            OPENAI_API_KEY=WRONG_KEY,
        )
    assert run.returncode == 3, run.stderr
    (recording,) = (tmp_path / "rec").glob("*.jsonl")
    diagnosis = diagnose(recording)
    assert diagnosis.ending.how == "refused" and diagnosis.ending.status == 401
    (finding,) = diagnosis.findings
    assert finding.id == "handshake-refused" and finding.severity == "error"
    assert REFUSAL_HINTS[401] in finding.message and "Incorrect API key provided" in finding.message
    text = render_text(diagnosis)
    assert "1006" not in text and WRONG_KEY not in text


async def test_a_failed_connect_recorded_by_rtui_says_nothing_is_listening(tmp_path):
    port = nothing_listening()
    run = await asyncio.to_thread(
        rtui,
        "--headless",
        "--input",
        "tone:440",
        "--output",
        "null",
        "--url",
        f"ws://127.0.0.1:{port}/v1/realtime",
        "--record-dir",
        "rec",
        cwd=tmp_path,
        OPENAI_API_KEY=WRONG_KEY,
    )
    assert run.returncode == 3, run.stderr
    (recording,) = (tmp_path / "rec").glob("*.jsonl")
    diagnosis = diagnose(recording)
    assert diagnosis.ending.how == "failed" and diagnosis.ending.closed_first_by is None
    (finding,) = diagnosis.findings
    assert finding.id == "connect-failed" and finding.severity == "error"
    assert f"nothing is listening at 127.0.0.1:{port}" in finding.message
    assert "ConnectionRefusedError" in finding.details["error"]
    assert "still open" not in diagnosis.ending.sentence  # it never was


def test_a_timed_out_handshake_whose_transport_ended_is_a_failed_connect(tmp_path, monkeypatch):
    # The TCP connection opened, the server never answered the upgrade: error, then the transport's end.
    s = Script(tmp_path / "timeout.jsonl", monkeypatch)
    s.at(0).writer.record(
        "handshake_request",
        "c2s",
        s.conn,
        url="wss://api.openai.com/v1/realtime",
        path="/v1/realtime",
        headers=[],
        subprotocols=[],
    )
    s.at(10).writer.error(
        s.conn, "connection to wss://api.openai.com/v1/realtime failed: TimeoutError: timed out during opening handshake"
    )
    s.end(1006, None)
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.how == "failed"
    assert diagnosis.finding("connect-failed").details["words"] == "timed out: api.openai.com:443 did not answer in time"
    assert "abnormal-close" not in {f.id for f in diagnosis.findings}
    assert all(entry.kind != "end" for entry in diagnosis.timeline)


def test_a_reconnect_that_was_refused_is_found_too(tmp_path, monkeypatch):
    s = Script(tmp_path / "retry.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(1).close(S2C, 1001)
    s.close(C2S, 1001)
    s.end(1001, "server")
    s.conn = s.writer.new_conn()  # the reconnect (R) is turned away
    s.at(5).handshake(status=429)
    s.writer.record("end", LOCAL, s.conn, code=1006, reason="", closed_by=None, clean=False, side="client")
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.code == 1001 and [e.how for e in diagnosis.other_endings] == ["refused"]
    refused = diagnosis.finding("handshake-refused")
    assert refused is not None and REFUSAL_HINTS[429] in refused.message


@pytest.mark.parametrize("status", [401, 403, 404, 429])
def test_the_card_and_diagnose_share_one_hint_table(status):
    summary = summarize_refusal({"status": status, "reason": "Refused", "conn": 1, "body": ""}, [])
    assert REFUSAL_HINTS[status] in summary.explanation


def test_the_servers_body_is_bounded_and_carries_no_key():
    body = '{"error": {"message": "Incorrect API key provided: ' + WRONG_KEY + " " + "x" * 500 + '", "code": "invalid_api_key"}}'
    excerpt = body_excerpt(body)
    assert WRONG_KEY not in excerpt and len(excerpt) <= 200 and excerpt.startswith("Incorrect API key provided")
    assert body_excerpt("<html>\n  <body>Bad   Gateway</body>\n</html>") == "<html> <body>Bad Gateway</body> </html>"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 1)", "nothing is listening at 127.0.0.1:1"),
        ("gaierror: [Errno -2] Name or service not known", "could not be resolved (DNS)"),
        ("TimeoutError: timed out during opening handshake", "did not answer in time"),
        ("SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "TLS handshake"),
        ("SomethingNew: what happened", "SomethingNew: what happened"),
    ],
)
def test_connect_errors_in_plain_words(error, words):
    assert words in connect_error_words(
        error, "wss://127.0.0.1:1/v1/realtime" if "111" in error else "wss://api.openai.com/v1/realtime"
    )


@pytest.mark.parametrize(
    "fields, refused",
    [
        # A status that is not a number: the reader reports the record as damage (tui/wire/fields.py).
        ({"status": "401", "reason": None, "body": {"error": "not a string"}}, False),
        ({"status": None, "reason": 7, "body": '{"error": {"message": 12, "code": []}}'}, False),
        # A body that is JSON but not an error object: still a refusal, worded from what is there.
        ({"status": 401, "reason": "Unauthorized", "body": "[1, 2, 3]"}, True),
    ],
)
def test_hostile_refusal_fields_never_break_the_diagnosis(tmp_path, monkeypatch, fields, refused):
    s = Script(tmp_path / "hostile.jsonl", monkeypatch)
    s.at(0).writer.record(
        "handshake_request", C2S, s.conn, url="ws://x/v1/realtime", path="/v1/realtime", headers=[], subprotocols=[]
    )
    s.writer.record("handshake_response", S2C, s.conn, headers=[], subprotocol=None, extensions=[], **fields)
    s.writer.record("error", LOCAL, s.conn, message=["not", "a", "string"])
    diagnosis = diagnose(s.done())
    if refused:
        assert diagnosis.ending.how == "refused" and diagnosis.finding("handshake-refused") is not None
    else:
        assert diagnosis.problems and diagnosis.finding("handshake-refused") is None
    assert render_text(diagnosis)


async def relay_attempt(tmp_path: Path, upstream: str, key: str | None = None) -> Path:
    recording = tmp_path / "relay.jsonl"
    config = RelayConfig(upstream=upstream, record=recording, record_to_directory=False, env={}, close_timeout=3)
    async with Relay(config) as relay:
        with pytest.raises(InvalidStatus):
            await open_connection(relay.url + "/v1/realtime?model=gpt-realtime", ConnectOptions(api_key=key, ping_interval=None))
        await asyncio.wait_for(asyncio.gather(*(s.done for s in relay.sessions)), 15)
    return recording


async def test_a_relay_that_cannot_reach_upstream_says_so(tmp_path):
    port = nothing_listening()
    diagnosis = diagnose(await relay_attempt(tmp_path, f"ws://127.0.0.1:{port}/v1/realtime"))
    assert (diagnosis.ending.how, diagnosis.ending.leg) == ("failed", "upstream")
    failed = diagnosis.finding("connect-failed")
    assert failed.message.startswith("The relay (rtui proxy) could not connect") and f"127.0.0.1:{port}" in failed.message
    assert "1006" not in render_text(diagnosis)


async def test_upstreams_refusal_through_a_relay_is_the_servers(tmp_path):
    async with MockServer(MockConfig(port=0, require_key=RIGHT_KEY)) as server:
        diagnosis = diagnose(await relay_attempt(tmp_path, server.url_for(), WRONG_KEY))
    refused = diagnosis.finding("handshake-refused")
    assert refused.message.startswith("The server refused") and REFUSAL_HINTS[401] in refused.message
    assert diagnosis.ending.leg == "upstream" and WRONG_KEY not in render_text(diagnosis)
