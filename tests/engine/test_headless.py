"""`rtui --headless` from the command line: one line per event, a clear last line, exit statuses."""

from __future__ import annotations

import socket
import wave

from cli_support import rtui
from tests.engine_support import speech_wav


def test_text_turn_on_the_embedded_mock_exits_0_and_records(tmp_path):
    result = rtui("--headless", "--input", "none", "--output", "null", "--text", "Hello", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "embedded mock server" in result.stderr
    assert "rtui: audio in: none; out: no audio output\n" in result.stderr
    out = result.stdout
    assert "conversation.item.create" in out and "response.done" in out and "completed" in out
    assert "'Hello from the rtui mock server.'" in out
    last_lines = out.strip().splitlines()[-2:]
    assert last_lines[0].startswith("session ended: This client closed the connection with 1000")
    assert last_lines[1].startswith("recorded to sessions/")
    recordings = list((tmp_path / "sessions").glob("*.jsonl"))
    assert len(recordings) == 1
    shown = rtui("show", str(recordings[0]), cwd=tmp_path)
    assert "response.done" in shown.stdout


def test_wav_question_to_wav_answer(tmp_path):
    question = speech_wav(tmp_path / "question.wav", "What time is it?", rate=22_050)
    result = rtui("--headless", "--input", str(question), "--output", "answer.wav", "--no-record", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "input_audio_buffer.speech_started" in result.stdout
    assert "input_audio_buffer.speech_stopped" in result.stdout
    assert "recorded to" not in result.stdout
    assert not (tmp_path / "sessions").exists()
    with wave.open(str(tmp_path / "answer.wav")) as answer:
        assert answer.getframerate() == 24_000 and answer.getnframes() > 24_000


def test_transcribe_asks_for_input_transcription_and_prints_it(tmp_path):
    question = speech_wav(tmp_path / "question.wav", "What time is it?")
    result = rtui(
        "--headless",
        "--input",
        str(question),
        "--output",
        "null",
        "--no-record",
        "--transcribe",
        "gpt-4o-mini-transcribe",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    completed = next(i for i, line in enumerate(lines) if "input_audio_transcription.completed" in line)
    committed = next(i for i, line in enumerate(lines) if "input_audio_buffer.committed" in line)
    assert committed < completed and "(mock transcript of " in lines[completed]


def test_refused_connection_exits_3_with_one_sentence(tmp_path):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = rtui("--headless", "--url", f"ws://127.0.0.1:{port}/v1/realtime", "--input", "none", "--text", "hi", cwd=tmp_path)
    assert result.returncode == 3
    assert "session ended: Could not connect to ws://127.0.0.1:" in result.stdout


def test_bad_arguments_exit_2(tmp_path):
    missing = rtui("--headless", "--input", "no-such-file.wav", cwd=tmp_path)
    assert missing.returncode == 2 and "no-such-file.wav" in missing.stderr
    nothing = rtui("--headless", "--input", "none", cwd=tmp_path)
    assert nothing.returncode == 2 and "--text" in nothing.stderr
    chunk = rtui("--headless", "--chunk-ms", "5", "--text", "x", cwd=tmp_path)
    assert chunk.returncode == 2 and "between 20 and 40" in chunk.stderr
    latency = rtui("--headless", "--output-latency", "1000", "--text", "x", cwd=tmp_path)
    assert latency.returncode == 2 and "--output-latency must be between 5 and 500 ms" in latency.stderr
    for flag, value, message in [
        ("--jitter-ms", "-5", "--jitter-ms must be between 0 and 2000"),
        ("--log-lines", "5", "--log-lines must be at least 10"),
        ("--response-timeout", "0", "--response-timeout must be a positive number"),
    ]:
        refused = rtui("--headless", flag, value, "--text", "x", cwd=tmp_path)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
