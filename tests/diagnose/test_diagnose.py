"""`rtui diagnose` on recordings written by SessionWriter on a controlled clock: each finding, the
ending analysis, the JSON shape and the command's exit status."""

from __future__ import annotations

import base64
import subprocess
import sys

import orjson
import pytest

from diagnose_support import Script, append_event, error_event, session_created, tone_chunk
from tui.diagnose import diagnose
from tui.diagnose.pacing import PacingMeter, likely_rate
from tui.wire.format import C2S, S2C


def ids(diagnosis) -> set[str]:
    return {f.id for f in diagnosis.findings}


def seed_story(tmp_path, monkeypatch, *, binary: bool = True) -> tuple[Script, int]:
    s = Script(tmp_path / "seed.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(0.2).receive(session_created())
    first = s.at(0.201).send(append_event(tone_chunk(16000, 0.1)).decode(), binary=binary)
    s.at(0.203).close(S2C, 1000, "")
    s.close(C2S, 1000, "")
    s.at(0.204).end(1000, "server")
    return s, first


def test_seed_story_server_closed_first_right_after_the_first_binary_frame(tmp_path, monkeypatch):
    script, first = seed_story(tmp_path, monkeypatch)
    diagnosis = diagnose(script.done())
    ending = diagnosis.ending
    assert (ending.how, ending.closed_first_by, ending.code, ending.reason) == ("close", "server", 1000, "")
    assert ending.previous is not None and ending.previous["seq"] == first and ending.previous["opcode"] == "binary"
    assert "server closed first with 1000" in ending.sentence and f"seq {first}" in ending.sentence
    binary = diagnosis.finding("binary-frame")
    assert binary is not None and binary.severity == "error" and first in binary.evidence
    assert "right after the first one" in binary.message
    # It never sent session.update: the server's defaults are the configuration it chose.
    assert "sent-before-session-updated" not in ids(diagnosis)
    assert "sample-rate-pacing" not in ids(diagnosis)  # one append is no pacing evidence
    assert [e.seq for e in diagnosis.timeline][-1] > ending.seq  # the echo and end follow the marker


def test_text_frames_are_not_flagged_and_session_updated_clears_the_early_send(tmp_path, monkeypatch):
    s = Script(tmp_path / "ok.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    s.send({"type": "session.update", "session": {"type": "realtime"}})
    s.at(0.1).receive({"type": "session.updated", "session": {"type": "realtime"}})
    s.send(append_event(tone_chunk(24000, 0.1)).decode())
    s.at(1).close(C2S, 1000)
    s.close(S2C, 1000)
    s.end(1000, "client")
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.closed_first_by == "client"
    assert ids(diagnosis) == set()


def test_content_sent_before_the_update_was_confirmed_is_flagged(tmp_path, monkeypatch):
    s = Script(tmp_path / "early.jsonl", monkeypatch)
    s.at(0).handshake()
    created = s.receive(session_created())
    update = s.at(0.001).send(
        {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}}}
    )
    append = s.at(0.002).send(append_event(tone_chunk(24000, 0.1)).decode())
    s.at(0.1).receive({"type": "session.updated", "session": {"type": "realtime"}})
    s.at(0.2).close(S2C, 1000)
    s.close(C2S, 1000)
    s.end(1000, "server")
    early = diagnose(s.done()).finding("sent-before-session-updated")
    assert early is not None and early.severity == "warning" and early.evidence == [created, update, append]
    assert f"its session.update (seq {update}) had not been confirmed yet" in early.message


def test_an_update_sent_only_after_the_content_is_flagged_too(tmp_path, monkeypatch):
    s = Script(tmp_path / "late-update.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    append = s.at(0.001).send(append_event(tone_chunk(24000, 0.1)).decode())
    update = s.at(0.002).send({"type": "session.update", "session": {"type": "realtime"}})
    s.at(10).close(C2S, 1000)
    s.close(S2C, 1000)
    s.end(1000, "client")
    early = diagnose(s.done()).finding("sent-before-session-updated")
    assert early is not None and early.severity == "info" and append in early.evidence
    assert f"came only later, at seq {update}" in early.message


@pytest.mark.parametrize(("rate", "expected_pace"), [(16000, 0.667), (8000, 0.333), (48000, 2.0), (44100, 1.8375)])
def test_sample_rate_pacing_names_the_likely_true_rate(tmp_path, monkeypatch, rate, expected_pace):
    s = Script(tmp_path / "pace.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    # A real-time source at `rate` sends 100 ms of its audio every 100 ms, labelled as 24 kHz. The
    # first chunk comes with a backlog of 1 s, as some capture paths deliver.
    s.at(0.5).send(append_event(tone_chunk(rate, 1.0)).decode())
    for i in range(1, 60):
        s.at(0.5 + i * 0.1).send(append_event(tone_chunk(rate, 0.1)).decode())
    s.at(6.5).close(C2S, 1000)
    diagnosis = diagnose(s.done())
    finding = diagnosis.finding("sample-rate-pacing")
    assert finding is not None
    assert finding.details["likely_rate"] == rate
    assert finding.details["pace"] == pytest.approx(expected_pace, rel=0.01)
    assert f"{rate / 1000:g} kHz" in finding.message


def test_real_time_24khz_audio_is_not_flagged_even_as_binary_frames_of_json(tmp_path, monkeypatch):
    s = Script(tmp_path / "pace.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    for i in range(50):
        s.at(0.5 + i * 0.1).send(append_event(tone_chunk(24000, 0.1)), binary=True)
    diagnosis = diagnose(s.done())
    assert "sample-rate-pacing" not in ids(diagnosis)
    assert diagnosis.finding("binary-frame").details["count"] == 50


def test_binary_appends_still_count_for_pacing(tmp_path, monkeypatch):
    s = Script(tmp_path / "pace.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    for i in range(50):
        s.at(0.5 + i * 0.1).send(append_event(tone_chunk(16000, 0.1)), binary=True)
    assert diagnose(s.done()).finding("sample-rate-pacing").details["likely_rate"] == 16000


def test_pacing_meter_uses_the_longest_streaming_period_and_skips_its_first_second():
    meter = PacingMeter()
    for i in range(20):  # 2 s at real time
        meter.add(i, i * 0.1, 0.1)
    for i in range(100):  # after a 10 s pause, 10 s at 16 kHz pace, starting with a 2 s backlog
        meter.add(100 + i, 20 + i * 0.1, 2.0 if i == 0 else 0.0667)
    period = meter.result()
    assert period is not None and period.first_seq == 100
    assert period.rate() == pytest.approx(0.667, rel=0.01)
    assert likely_rate(0.667) == 16000 and likely_rate(0.5) == 12000 and likely_rate(0.8) is None


def test_beta_header_then_error_then_4000(tmp_path, monkeypatch):
    s = Script(tmp_path / "beta.jsonl", monkeypatch)
    s.at(0).handshake(headers=[["Authorization", "Bearer [redacted]"], ["OpenAI-Beta", "realtime=v1"]])
    s.receive(session_created())
    err = s.at(0.01).receive(error_event("beta_api_shape_disabled", "The Realtime Beta API is no longer supported."))
    close = s.at(0.02).close(S2C, 4000, "invalid_request_error.beta_api_shape_disabled")
    s.close(C2S, 4000, "invalid_request_error.beta_api_shape_disabled")
    s.end(4000, "server")
    diagnosis = diagnose(s.done())
    assert (diagnosis.ending.closed_first_by, diagnosis.ending.code) == ("server", 4000)
    beta = diagnosis.finding("beta-header")
    assert beta.severity == "error" and {err, close} <= set(beta.evidence)
    assert diagnosis.finding("error-before-close").evidence == [err, close]
    assert "client-closed-after-error" not in ids(diagnosis)


def test_unknown_parameter_then_the_client_closes_itself(tmp_path, monkeypatch):
    s = Script(tmp_path / "unknown.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    s.send({"type": "session.update", "session": {"type": "realtime", "turn_detection": None, "input_audio_format": "pcm16"}})
    err = s.at(0.05).receive(
        error_event("unknown_parameter", "Unknown parameter: 'session.turn_detection'.", "session.turn_detection")
    )
    close = s.at(0.06).close(C2S, 1000, "")
    s.close(S2C, 1000, "")
    s.end(1000, "client")
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.closed_first_by == "client"
    unknown = diagnosis.finding("unknown-parameter")
    assert unknown.details["fields"] == ["session.turn_detection"] and unknown.evidence == [err]
    assert diagnosis.finding("client-closed-after-error").evidence == [err, close]
    assert diagnosis.finding("beta-event-names").details["client"] == ["session.turn_detection", "session.input_audio_format"]


def test_session_expired_then_1001(tmp_path, monkeypatch):
    s = Script(tmp_path / "expired.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    err = s.at(3600).receive(error_event("session_expired", "Your session hit the maximum duration of 60 minutes."))
    close = s.close(S2C, 1001, "")
    s.close(C2S, 1001, "")
    s.end(1001, "server")
    diagnosis = diagnose(s.done())
    assert diagnosis.finding("session-expired").evidence == [err, close]
    assert diagnosis.ending.closed_first_by == "server" and "going away" in diagnosis.ending.meaning
    # One finding says it once: the error, the close that followed and what to do.
    assert ids(diagnosis) == {"session-expired"}
    assert "closed with 1001 0 ms later" in diagnosis.finding("session-expired").message


def test_an_expiry_long_before_the_close_does_not_claim_the_close(tmp_path, monkeypatch):
    s = Script(tmp_path / "expired-then-more.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    err = s.at(10).receive(error_event("session_expired", "Your session hit the maximum duration of 60 minutes."))
    s.at(60).close(C2S, 1000)
    s.close(S2C, 1000)
    s.end(1000, "client")
    expired = diagnose(s.done()).finding("session-expired")
    assert expired.evidence == [err] and "later" not in expired.message


def test_commit_empty_names_the_commit_and_server_vad(tmp_path, monkeypatch):
    s = Script(tmp_path / "commit.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    commit = s.send({"type": "input_audio_buffer.commit"})
    err = s.receive(error_event("input_audio_buffer_commit_empty", "buffer too small"))
    diagnosis = diagnose(s.done())
    finding = diagnosis.finding("commit-empty")
    assert finding.evidence == [commit, err] and "Server VAD was on" in finding.message
    assert diagnosis.ending.how == "open"


def test_invalid_json_both_ways_and_bad_audio(tmp_path, monkeypatch):
    s = Script(tmp_path / "json.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    bad_client = s.send('{"type": "input_audio_buffer.append", "audio": ')
    s.receive(error_event("invalid_json", "The event could not be parsed as JSON"))
    not_b64 = s.send({"type": "input_audio_buffer.append", "audio": "!!!not base64!!!"})
    odd = s.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x01\x02\x03").decode()})
    bad_server = s.at(1).receive("{not json")
    s.close(C2S, 1007, "invalid JSON from server")
    diagnosis = diagnose(s.done())
    invalid = [f for f in diagnosis.findings if f.id == "invalid-json"]
    assert [f.details["direction"] for f in invalid] == [C2S, S2C]
    assert bad_client in invalid[0].evidence and invalid[1].evidence == [bad_server]
    audio = diagnosis.finding("bad-audio-payload")
    assert audio.evidence == [not_b64, odd] and "not valid base64" in audio.message


def test_keepalive_timeout_of_the_clients_own_making(tmp_path, monkeypatch):
    s = Script(tmp_path / "keepalive.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    ping = s.at(20).writer.record("ping", C2S, s.conn, data_b64="AAAA")
    close = s.at(40).close(C2S, 1011, "keepalive ping timeout")
    s.end(1011, "client")
    diagnosis = diagnose(s.done())
    finding = diagnosis.finding("keepalive-timeout")
    assert finding.details["closed_by"] == "client" and finding.evidence == [ping, close]
    assert "event loop was blocked" in finding.message


def test_keepalive_timeout_on_the_servers_side(tmp_path, monkeypatch):
    s = Script(tmp_path / "keepalive.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    ping = s.at(20).writer.record("ping", S2C, s.conn, data_b64="AAAA")
    close = s.at(40).close(S2C, 1011, "keepalive ping timeout")
    s.end(1011, "server")
    finding = diagnose(s.done()).finding("keepalive-timeout")
    assert finding.details["closed_by"] == "server" and finding.evidence == [ping, close]
    assert "got no pong in time from the other side" in finding.message


def test_message_too_big(tmp_path, monkeypatch):
    s = Script(tmp_path / "big.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    close = s.at(1).close(C2S, 1009, "frame with 2000000 bytes exceeds limit of 1048576 bytes")
    s.end(1009, "client")
    finding = diagnose(s.done()).finding("message-too-big")
    assert finding.details["closed_by"] == "client" and close in finding.evidence and "max_size" in finding.message


def test_abnormal_close_and_the_proxy_that_was_in_the_path(tmp_path, monkeypatch):
    s = Script(tmp_path / "drop.jsonl", monkeypatch)
    s.at(0).handshake(proxy="http://corp-proxy.example:3128")
    s.receive(session_created())
    end = s.at(90).end(1006, None, exception="ConnectionResetError: [Errno 104] Connection reset by peer")
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.how == "dropped" and diagnosis.ending.closed_first_by is None and diagnosis.ending.code == 1006
    assert "Nobody closed" in diagnosis.ending.sentence
    assert diagnosis.finding("abnormal-close").evidence == [end]
    proxy = diagnosis.finding("proxy-environment")
    assert proxy.severity == "warning" and "corp-proxy.example:3128" in proxy.message


def test_relay_recordings_count_each_frame_once_and_name_the_leg(tmp_path, monkeypatch):
    s = Script(
        tmp_path / "relay.jsonl", monkeypatch, mode="proxy", header_extra={"relay": {"client_conn": 1, "upstream_conn": 2}}
    )
    up = s.writer.new_conn()
    s.at(0).handshake()
    s.writer.frame(up, S2C, orjson.dumps(session_created()).decode())
    s.writer.frame(s.conn, S2C, orjson.dumps(session_created()).decode())
    for i in range(3):
        s.at(0.1 * i).writer.frame(s.conn, C2S, append_event(tone_chunk(24000, 0.1)))
        s.writer.frame(up, C2S, append_event(tone_chunk(24000, 0.1)))
    s.at(1).writer.record("end", "local", up, code=1006, reason="", closed_by=None, clean=False, side="client")
    s.writer.record("end", "local", s.conn, code=1006, reason="", closed_by=None, clean=False, side="server")
    diagnosis = diagnose(s.done())
    assert diagnosis.finding("binary-frame").details["count"] == 3
    assert diagnosis.ending.leg == "upstream" and "upstream leg" in diagnosis.ending.sentence
    assert diagnosis.other_endings == []  # two legs of one session, explained once


def test_a_client_that_reconnected_gets_each_connections_ending(tmp_path, monkeypatch):
    s = Script(tmp_path / "reconnected.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(0.2).receive(session_created())
    s.at(5).close(S2C, 4001, "idle")
    s.close(C2S, 4001, "idle")
    s.at(5.01).end(4001, "server")
    s.conn, s.first_close = s.writer.new_conn(), None  # the user pressed R
    s.at(8).handshake()
    s.at(8.2).receive(session_created())
    asked = s.at(9).send({"type": "response.create"})
    s.at(9.5).close(C2S, 1000, "")
    s.close(S2C, 1000, "")
    s.at(9.51).end(1000, "client")
    s.conn, s.first_close = s.writer.new_conn(), None
    s.at(12).handshake()
    s.at(12.2).receive(session_created())
    path = s.done()
    diagnosis = diagnose(path)
    assert (diagnosis.ending.conn, diagnosis.ending.code, diagnosis.ending.closed_first_by) == (1, 4001, "server")
    second, third = diagnosis.other_endings
    assert (second.conn, second.how, second.closed_first_by, second.code) == (2, "close", "client", 1000)
    assert second.previous is not None and second.previous["seq"] == asked
    assert (third.conn, third.how) == (3, "open")
    text = run_cli(str(path)).stdout
    assert "How the other connections ended\n  conn 2: The client closed first with 1000 (normal closure)" in text
    assert "  conn 3: The recording stops while the connection was still open" in text
    data = orjson.loads(run_cli(str(path), "--json").stdout)
    assert [(e["conn"], e["how"]) for e in data["other_endings"]] == [(2, "close"), (3, "open")]


def test_refused_handshake(tmp_path, monkeypatch):
    s = Script(tmp_path / "refused.jsonl", monkeypatch)
    s.at(0).handshake(status=401)
    diagnosis = diagnose(s.done())
    assert diagnosis.ending.how == "refused" and diagnosis.ending.status == 401


def test_truncated_recording_is_diagnosed_and_the_problem_reported(tmp_path, monkeypatch):
    script, _ = seed_story(tmp_path, monkeypatch)
    path = script.done()
    with open(path, "ab") as f:
        f.write(b'{"seq": 99, "t_ns": 5, "conn": 1, "kind": "fra')
    diagnosis = diagnose(path)
    assert diagnosis.truncated and "truncated last line" in diagnosis.problems[0]
    assert diagnosis.ending.closed_first_by == "server"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "diagnose", *args], capture_output=True, text=True, timeout=60)


def test_command_prints_text_and_stable_json_and_exits_0(tmp_path, monkeypatch):
    script, first = seed_story(tmp_path, monkeypatch)
    path = script.done()
    text = run_cli(str(path))
    assert text.returncode == 0
    assert "The server closed first with 1000" in text.stdout and "binary-frame" in text.stdout
    as_json = run_cli(str(path), "--json")
    assert as_json.returncode == 0
    data = orjson.loads(as_json.stdout)
    assert data["schema"] == "rtui.diagnosis/1"
    assert set(data) == {
        "schema",
        "file",
        "recording",
        "ending",
        "timeline",
        "findings",
        "problems",
        "truncated",
        "other_endings",
    }
    assert data["other_endings"] == [] and data["ending"]["conn"] == 1
    assert data["ending"]["closed_first_by"] == "server" and data["ending"]["previous"]["seq"] == first
    assert {"id", "severity", "message", "evidence", "details"} == set(data["findings"][0])


def test_command_refuses_a_file_that_is_not_a_recording_with_status_2(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    result = run_cli(str(path))
    assert result.returncode == 2 and "not an rtui recording" in result.stderr and result.stdout == ""


def test_diagnosis_streams_the_file_in_bounded_memory(tmp_path, monkeypatch):
    import tracemalloc

    s = Script(tmp_path / "long.jsonl", monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    chunk = append_event(tone_chunk(24000, 0.1)).decode()
    for i in range(3000):  # 5 minutes of appends: about 20 MB on disk
        s.at(1 + i * 0.1).send(chunk)
    path = s.done()
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    try:
        diagnosis = diagnose(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert diagnosis.recording["records"] == 3003  # handshake request and response, session.created, the appends
    assert peak < 2_000_000  # a few records at a time, never the file


def timed_session(tmp_path, monkeypatch, answers: list[float], *, name: str = "timed.jsonl") -> Script:
    """A session whose server answers each session.update after the given delays (seconds)."""
    s = Script(tmp_path / name, monkeypatch)
    s.at(0).handshake()
    s.at(0.01).receive(session_created())
    t = 0.02
    for delay in answers:
        s.at(t).send({"type": "session.update", "session": {"type": "realtime"}})
        t += delay
        s.at(t).receive({"type": "session.updated", "session": {"type": "realtime"}})
        t += 1.0
    return s


def end_politely(s: Script, t: float) -> Script:
    s.at(t).close(C2S, 1000)
    s.close(S2C, 1000)
    s.end(1000, "client")
    return s


def test_a_late_answer_is_a_server_silence_with_its_figure(tmp_path, monkeypatch):
    s = timed_session(tmp_path, monkeypatch, [0.01, 0.8, 0.01])
    diagnosis = diagnose(end_politely(s, 10).done())
    silent = diagnosis.finding("server-silent")
    assert silent is not None and silent.severity == "warning"  # answered, and not what ended the session
    assert silent.details == {"request": "session.update", "silent_s": 0.8, "answered": True, "waits": 1}
    assert "The server sent nothing for 800 ms after the client's session.update" in silent.message
    assert "slow-server" not in ids(diagnosis)  # one late answer among quick ones: the median is quick


def test_quick_answers_and_a_quick_server_close_are_not_silences(tmp_path, monkeypatch):
    s = timed_session(tmp_path, monkeypatch, [0.01, 0.02])
    s.at(5).send({"type": "response.create"})
    s.at(5.002).close(S2C, 1000)  # the server closed at once: that is the ending's story, not a stall
    s.close(C2S, 1000)
    s.end(1000, "server")
    assert not {"server-silent", "slow-server"} & ids(diagnose(s.done()))


def test_a_request_the_server_never_answers_before_the_client_gives_up(tmp_path, monkeypatch):
    s = Script(tmp_path / "stall.jsonl", monkeypatch)
    s.at(0).handshake()
    s.at(0.01).receive(session_created())
    request = s.at(0.02).send({"type": "response.create"})
    close = s.at(3.02).close(C2S, 4000, "gave up")
    s.close(S2C, 4000, "gave up")
    s.end(4000, "client")
    silent = diagnose(s.done()).finding("server-silent")
    assert silent is not None and silent.severity == "error" and silent.evidence == [request, close]
    assert silent.details["silent_s"] == 3.0 and not silent.details["answered"]
    assert (
        "for 3.0 s after the client's response.create" in silent.message and "until the client closed with 4000" in silent.message
    )


def test_every_answer_late_is_a_slow_server_with_median_and_max(tmp_path, monkeypatch):
    s = timed_session(tmp_path, monkeypatch, [0.2, 0.25, 0.3])
    diagnosis = diagnose(end_politely(s, 10).done())
    slow = diagnosis.finding("slow-server")
    assert slow is not None and slow.severity == "warning"
    # Four answers: session.created 10 ms after the 101, then the three updates.
    assert slow.details == {"median_s": pytest.approx(0.225), "max_s": pytest.approx(0.3), "answers": 4}
    assert "a median of 225 ms and at most 300 ms" in slow.message
    assert "server-silent" not in ids(diagnosis)
