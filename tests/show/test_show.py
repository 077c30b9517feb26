"""`rtui show` prints a readable timeline: runs collapsed, errors marked, the close at the end."""

from __future__ import annotations

import base64

import orjson

from cli_support import rtui
from tui.wire.writer import SessionWriter


def write_session(path) -> None:
    chunk = base64.b64encode(bytes(4800)).decode()  # 100 ms of 24 kHz pcm16
    with SessionWriter(path, mode="live", url="wss://api.openai.com/v1/realtime?model=gpt-realtime") as w:
        w.frame(1, "s2c", '{"type":"session.created","session":{"type":"realtime","model":"gpt-realtime"}}')
        for _ in range(10):
            w.frame(1, "c2s", f'{{"type":"input_audio_buffer.append","audio":"{chunk}"}}')
        w.frame(1, "s2c", '{"type":"input_audio_buffer.speech_started","audio_start_ms":120,"item_id":"item_1"}')
        for word in ("Hello ", "there", "!"):
            w.frame(1, "s2c", orjson.dumps({"type": "response.output_audio_transcript.delta", "delta": word}).decode())
            w.frame(1, "s2c", f'{{"type":"response.output_audio.delta","delta":"{chunk}"}}')
        w.frame(1, "c2s", b'{"type":"input_audio_buffer.append","audio":""}')
        w.frame(
            1,
            "s2c",
            '{"type":"error","error":{"type":"invalid_request_error","code":"unknown_parameter","message":"Unknown parameter: \'session.modalities\'.","param":"session.modalities"}}',  # noqa: E501 - a JSON frame reads best whole
        )
        w.record("close", "s2c", 1, code=1000, reason="", by="server", first=True)
        w.record("close", "c2s", 1, code=1000, reason="", by="client", first=False)
        w.record("end", "local", 1, code=1000, reason="", closed_by="server", clean=True)


def test_timeline_collapses_audio_and_ends_with_the_close(tmp_path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    result = rtui("show", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "mode live" in lines[0] and "wss://api.openai.com/v1/realtime?model=gpt-realtime" in lines[1]
    body = lines[2:]
    assert any("input_audio_buffer.append ×10" in line and "audio 1.00 s over" in line for line in body)
    assert any("response.output_audio.delta ×3" in line and "audio 300 ms" in line for line in body)
    assert any("response.output_audio_transcript.delta ×3" in line and "'Hello there!'" in line for line in body)
    binary = next(line for line in body if "BINARY FRAME" in line)
    assert binary.startswith("!!") and " c2s " in binary
    error = next(line for line in body if " error " in line)
    assert error.startswith("!!") and "unknown_parameter [session.modalities]" in error
    assert "closed first by server" in body[-1] and body[-1].split()[4] == "end"
    # The timeline is in recorded order: appends before speech_started, deltas after it.
    order = [
        next(i for i, line in enumerate(body) if key in line) for key in ("append ×10", "speech_started", "delta ×3", " end ")
    ]
    assert order == sorted(order)


def test_json_output_is_one_object_per_record(tmp_path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    result = rtui("show", "--json", str(path))
    assert result.returncode == 0
    objects = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert objects[0]["kind"] == "header"
    assert [o["seq"] for o in objects[1:]] == list(range(1, len(objects)))
    assert objects[-1]["kind"] == "end" and "closed first by server" in objects[-1]["summary"]


def test_damaged_file_is_shown_up_to_the_damage_with_file_and_line(tmp_path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    data = path.read_bytes()
    path.write_bytes(data[:-30])
    result = rtui("show", str(path))
    assert result.returncode == 0
    assert f"{path}:" in result.stderr and "truncated last line" in result.stderr
    assert "closed first by server" not in result.stdout  # the end record was the one cut off
    assert "error" in result.stdout


def test_not_a_recording_is_refused_clearly(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    result = rtui("show", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"rtui show: {path}:1: not an rtui recording: first line is not JSON")


def write_relay_session(path) -> None:
    """What `rtui proxy` records for one 67 ms append and one output delta: each frame on both legs."""
    chunk = base64.b64encode(bytes(3200)).decode()  # 67 ms of 24 kHz pcm16
    append = f'{{"type":"input_audio_buffer.append","audio":"{chunk}"}}'
    delta = f'{{"type":"response.output_audio.delta","delta":"{chunk}"}}'
    with SessionWriter(
        path, mode="proxy", url="ws://127.0.0.1:9/v1/realtime", header_extra={"relay": {"client_conn": 1, "upstream_conn": 2}}
    ) as w:
        w.frame(1, "c2s", append)  # received from the app
        w.frame(2, "c2s", append)  # sent on to the server
        w.frame(2, "s2c", delta)
        w.frame(1, "s2c", delta)
        w.record("close", "c2s", 1, code=1000, reason="", by="client", first=True)


def test_a_relay_recording_names_its_legs_and_never_merges_them(tmp_path):
    path = tmp_path / "relay.jsonl"
    write_relay_session(path)
    result = rtui("show", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "#1 client" in lines[2] and "#2 upstream" in lines[2]
    appends = [line for line in lines[3:] if "input_audio_buffer.append" in line]
    assert len(appends) == 2, appends  # one per leg, not one run "×2 ... 133 ms over 0 ms wall"
    assert "#1 client " in appends[0] and "#2 upstream " in appends[1]
    assert all("audio 67 ms" in line and "×" not in line for line in appends)
    deltas = [line for line in lines[3:] if "response.output_audio.delta" in line]
    assert [("#2 upstream" in deltas[0]), ("#1 client" in deltas[1])] == [True, True]
    records = [orjson.loads(line) for line in rtui("show", "--json", str(path)).stdout.splitlines()[1:]]
    assert [r["leg"] for r in records] == ["client", "upstream", "upstream", "client", "client"]


def test_a_recording_without_legs_shows_plain_connections(tmp_path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    result = rtui("show", str(path))
    assert "relay legs" not in result.stdout and "client " not in result.stdout.splitlines()[2]
    assert all("leg" not in orjson.loads(line) for line in rtui("show", "--json", str(path)).stdout.splitlines())
