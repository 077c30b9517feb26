"""`rtui export`: WAV files on the recording's timeline and Chrome-style HAR."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys
import wave

import numpy as np
import orjson
import pytest

from diagnose_support import Script, append_event, session_created, tone_chunk
from tui.export.har import export_har
from tui.export.wav import export_wav
from tui.wire.format import C2S, S2C


def read_wav(path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def delta(pcm: bytes) -> dict:
    return {
        "type": "response.output_audio.delta",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(pcm).decode(),
    }


def test_chunks_are_placed_at_their_time_with_silence_between_and_bursts_appended(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    first, second = tone_chunk(24000, 0.1), tone_chunk(24000, 0.1, frequency=880)
    s.at(1.0).send(append_event(first).decode())
    s.at(2.0).send(append_event(second), binary=True)  # binary frames of JSON are audio all the same
    burst_a, burst_b = tone_chunk(24000, 0.2, frequency=300), tone_chunk(24000, 0.2, frequency=600)
    s.at(1.5).receive(delta(burst_a))
    s.receive(delta(burst_b))  # same instant: played after the first, not mixed into it
    result = export_wav(s.done(), tmp_path / "wav")

    c2s = read_wav(tmp_path / "wav" / "c2s.wav")
    assert len(c2s) == 48000 + 2400
    assert not c2s[:24000].any() and not c2s[26400:48000].any()
    assert c2s[24000:26400].tobytes() == first and c2s[48000:].tobytes() == second

    s2c = read_wav(tmp_path / "wav" / "s2c.wav")
    assert len(s2c) == 36000 + 9600
    assert not s2c[:36000].any() and s2c[36000:].tobytes() == burst_a + burst_b
    assert result.tracks[S2C].appended_late == 1 and result.tracks[C2S].chunks == 2


def test_16khz_audio_sent_as_24khz_is_heard_with_gaps_between_its_chunks(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    for i in range(10):
        s.at(1 + i * 0.1).send(append_event(tone_chunk(16000, 0.1, start=i * 1600)).decode())
    export_wav(s.done(), tmp_path)
    c2s = read_wav(tmp_path / "c2s.wav")
    for i in range(9):
        slot = c2s[24000 + i * 2400 : 24000 + (i + 1) * 2400]
        assert slot[:1600].any() and not slot[1600:].any()  # 66.7 ms of audio, 33.3 ms of silence


def test_relay_recordings_export_each_chunk_once(tmp_path, monkeypatch):
    s = Script(
        tmp_path / "relay.jsonl", monkeypatch, mode="proxy", header_extra={"relay": {"client_conn": 1, "upstream_conn": 2}}
    )
    up = s.writer.new_conn()
    chunk = tone_chunk(24000, 0.1)
    s.at(0.5).send(append_event(chunk).decode())
    s.writer.frame(up, C2S, append_event(chunk).decode())
    result = export_wav(s.done(), tmp_path)
    assert result.tracks[C2S].chunks == 1 and len(read_wav(tmp_path / "c2s.wav")) == 12000 + 2400


def test_har_has_chromes_websocket_messages_and_keeps_closes_in_rtui(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake(headers=[["Authorization", "Bearer [redacted]"], ["OpenAI-Beta", "realtime=v1"]])
    s.at(0.25).receive(session_created())
    s.at(0.5).send(b'{"type":"input_audio_buffer.append","audio":""}', binary=True)
    s.at(0.75).close(S2C, 1000, "")
    s.close(C2S, 1000, "")
    s.end(1000, "server")
    path = s.done()
    assert export_har(path, tmp_path / "out.har").entries == 1
    har = orjson.loads((tmp_path / "out.har").read_bytes())
    (entry,) = har["log"]["entries"]
    assert entry["_resourceType"] == "websocket" and entry["response"]["status"] == 101
    assert {"name": "OpenAI-Beta", "value": "realtime=v1"} in entry["request"]["headers"]
    assert {"name": "model", "value": "gpt-realtime"} in entry["request"]["queryString"]
    start = dt.datetime.fromisoformat(orjson.loads(path.read_bytes().split(b"\n")[0])["started_at"]).timestamp()
    received, sent = entry["_webSocketMessages"]
    assert (
        received["type"] == "receive" and received["opcode"] == 1 and orjson.loads(received["data"])["type"] == "session.created"
    )
    assert received["time"] == pytest.approx(start + 0.25, abs=1e-6)
    assert sent["type"] == "send" and sent["opcode"] == 2
    assert base64.b64decode(sent["data"]) == b'{"type":"input_audio_buffer.append","audio":""}'
    assert [(c["code"], c["by"], c["first"]) for c in entry["_rtui"]["closes"]] == [
        (1000, "server", True),
        (1000, "client", False),
    ]
    assert entry["_rtui"]["end"]["closed_by"] == "server"


async def test_mock_response_audio_exports_as_s2c_wav(tmp_path):
    from tui.mock import MockConfig, MockServer
    from tui.wire.client import ConnectOptions, open_connection
    from tui.wire.writer import SessionWriter

    expected = 0
    async with MockServer(MockConfig(realtime=False)) as mock:
        writer = SessionWriter(tmp_path / "live.jsonl", mode="live", url=mock.url)
        ws = await open_connection(mock.url_for("gpt-realtime"), ConnectOptions(ping_interval=None), writer=writer)
        await ws.send('{"type":"response.create"}')
        async for message in ws:
            event = orjson.loads(message)
            if event["type"] == "response.output_audio.delta":
                expected += len(base64.b64decode(event["delta"]))
            if event["type"] == "response.done":
                break
        await ws.close()
        writer.close()
    result = export_wav(tmp_path / "live.jsonl", tmp_path / "wav")
    assert expected > 0 and result.tracks[S2C].audio_samples * 2 == expected
    assert read_wav(tmp_path / "wav" / "s2c.wav").any()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "export", *args], capture_output=True, text=True, timeout=60)


def test_command_writes_both_and_explains_bad_input(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(0.5).send(append_event(tone_chunk(24000, 0.1)).decode())
    path = s.done()
    ok = run_cli(str(path), "--wav", str(tmp_path / "w"), "--har", str(tmp_path / "x.har"))
    assert ok.returncode == 0 and "c2s.wav: client → server, 1 chunk," in ok.stdout
    assert (tmp_path / "w" / "s2c.wav").exists() and (tmp_path / "x.har").exists()
    nothing = run_cli(str(path))
    assert nothing.returncode == 2 and "--wav DIR" in nothing.stderr
    (tmp_path / "bad.jsonl").write_text("not a recording\n")
    bad = run_cli(str(tmp_path / "bad.jsonl"), "--har", str(tmp_path / "y.har"))
    assert bad.returncode == 2 and "not an rtui recording" in bad.stderr


def test_har_of_a_relay_recording_has_one_entry_per_leg_with_the_clients_messages_as_send(tmp_path, monkeypatch):
    s = Script(
        tmp_path / "relay.jsonl", monkeypatch, mode="proxy", header_extra={"relay": {"client_conn": 1, "upstream_conn": 2}}
    )
    up = s.writer.new_conn()
    s.at(0.1).send('{"type":"response.create"}')
    s.writer.frame(up, C2S, '{"type":"response.create"}')
    s.writer.record("end", "local", s.conn, code=1006, reason="", closed_by=None, clean=False, side="server")
    s.writer.record("end", "local", up, code=1006, reason="", closed_by=None, clean=False, side="client")
    export_har(s.done(), tmp_path / "relay.har")
    entries = orjson.loads((tmp_path / "relay.har").read_bytes())["log"]["entries"]
    assert [e["_rtui"]["recorded_by"] for e in entries] == ["server", "client"]
    assert [[m["type"] for m in e["_webSocketMessages"]] for e in entries] == [["send"], ["send"]]


def test_audio_in_another_format_is_left_out_and_said_so(tmp_path, monkeypatch):
    s = Script(tmp_path / "pcmu.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(
        session_created(
            audio={"input": {"format": {"type": "audio/pcmu"}}, "output": {"format": {"type": "audio/pcm", "rate": 24000}}}
        )
    )
    skipped = s.at(0.5).send(append_event(b"\xff" * 800).decode())
    s.at(0.6).receive(delta(tone_chunk(24000, 0.1)))
    result = export_wav(s.done(), tmp_path / "wav")
    assert result.tracks[C2S].chunks == 0 and result.tracks[S2C].chunks == 1
    assert (
        f"c2s.wav: 1 chunk left out (the session's format is audio/pcmu, not audio/pcm; first at seq {skipped})"
        in result.messages
    )


def _no_bigger_than(megabytes: int):  # type: ignore[no-untyped-def]
    """A preexec_fn: the child may write no file bigger than this (it is killed by SIGXFSZ instead)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (megabytes * 2**20, megabytes * 2**20))

    return limit


def test_a_timestamp_far_in_the_future_makes_a_bounded_gap_not_a_huge_file(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    chunk = tone_chunk(24000, 0.1)
    s.at(1.0).send(append_event(chunk).decode())
    s.clock.ns = 2**63  # one damaged (or forged) t_ns
    s.send(append_event(chunk).decode())
    s.at(2.0).send(append_event(chunk).decode())
    path = s.done()
    result = subprocess.run(
        [sys.executable, "-m", "tui", "export", str(path), "--wav", str(tmp_path / "wav")],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_no_bigger_than(64),
    )
    assert result.returncode == 0, result.stderr
    c2s = read_wav(tmp_path / "wav" / "c2s.wav")
    # The jump counts as 300 s: the second chunk starts at 1 + 300 s, the third right after it.
    assert len(c2s) == 301 * 24000 + 2 * 2400
    assert c2s[24000:26400].tobytes() == chunk and c2s[-2 * 2400 :].tobytes() == chunk * 2
    assert "1 stretches of more than 300 s without a record" in result.stdout


def test_damage_is_reported_on_stderr_as_show_does(tmp_path, monkeypatch):
    s = Script(tmp_path / "rec.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(0.5).send(append_event(tone_chunk(24000, 0.1)).decode())
    path = s.done()
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"{not json\n")  # line 3
    path.write_bytes(b"".join(lines) + b'{"seq":99,"t_ns":')  # and cut off mid-write
    for argv in (("--wav", str(tmp_path / "w")), ("--har", str(tmp_path / "x.har"))):
        result = run_cli(str(path), *argv)
        assert result.returncode == 0
        damage = [line for line in result.stderr.splitlines() if line.startswith("rtui export: ")]
        assert damage[0].startswith(f"rtui export: {path}:3: not valid JSON")
        assert damage[1].startswith(f"rtui export: {path}:6: truncated last line") and len(damage) == 2
        assert "skipped" not in result.stdout.replace("line skipped", "")
