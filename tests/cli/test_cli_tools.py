"""`rtui --tools` end to end, as a user runs it: the installed rtui against its embedded mock, with the
shipped tools file; the recording replays with MATCH. And bad tools or session files stop it at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import rtui

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "sessions" / "examples" / "tools.json"


def test_the_weather_call_is_answered_shown_and_replays(tmp_path: Path) -> None:
    result = rtui(
        "--headless",
        "--input",
        "none",
        "--output",
        "null",
        "--tools",
        str(TOOLS),
        "--text",
        "What is the weather in Paris?",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    def line(label: str) -> str:
        return next(text for text in lines if f" {label} " in text or text.rstrip().endswith(label))

    # The call and its arguments, one row for the deltas; the output rtui sent; the answer quoting it.
    assert line("response.function_call_arguments.delta").endswith('get_weather({"city":"Paris","unit":"celsius"})')
    assert 'get_weather({"city":"Paris","unit":"celsius"}) call_' in line("response.function_call_arguments.done")
    sent = [text for text in lines if "c2s" in text and "conversation.item.create" in text][1]
    assert """: '{"city":"Paris","temperature_c":18,"conditions":"sunny"}'""" in sent and "output for call_" in sent
    assert 'returned: {"city":"Paris","temperature_c":18' in line("response.output_audio_transcript.done")
    c2s = [text.split()[4] for text in lines if " c2s " in text]
    assert c2s[-3:] == ["conversation.item.create", "response.create", "close"]  # the output, then the follow-up
    assert "usage: 2 responses" in result.stdout

    (recording,) = (tmp_path / "sessions").glob("*.jsonl")
    replayed = rtui("replay", str(recording), "--headless", cwd=tmp_path)
    assert replayed.returncode == 0 and "MATCH" in replayed.stdout, replayed.stdout + replayed.stderr


@pytest.mark.parametrize(
    "option, content, message",
    [
        (
            "--tools",
            '[{"name": "get_weather", "output": 1, "command": ["date"]}]',
            "tools.json: tools[0]: give an output or a command, not both",
        ),
        (
            "--session",
            '{"audio": {"input": {"turn_detection": {"type": "vad"}}}}',
            "session.json: audio.input.turn_detection.type: Invalid value: 'vad'. Supported values are: 'server_vad' and "
            "'semantic_vad'.",
        ),
    ],
)
def test_a_bad_file_is_one_line_and_status_2_before_connecting(tmp_path: Path, option: str, content: str, message: str) -> None:
    name = "tools.json" if option == "--tools" else "session.json"
    (tmp_path / name).write_text(content)
    result = rtui("--headless", "--input", "none", "--output", "null", option, name, "--text", "hi", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"rtui: {message}\n")
    assert not (tmp_path / "sessions").exists()
