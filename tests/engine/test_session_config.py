"""`--session FILE.json`: an app's session object under rtui's flags, checked before connecting."""

from __future__ import annotations

import orjson
import pytest

from tui.engine.session_config import SessionFileError, build_session, initial_turn_mode, load_session_file

SEMANTIC = {"type": "semantic_vad", "eagerness": "low"}


def write(tmp_path, document) -> str:
    path = tmp_path / "session.json"
    path.write_bytes(document if isinstance(document, bytes) else orjson.dumps(document))
    return str(path)


def test_the_file_is_sent_and_the_flags_override_it(tmp_path):
    session = load_session_file(
        write(
            tmp_path,
            {
                "instructions": "Be brief.",
                "tools": [{"type": "function", "name": "get_weather"}],
                "audio": {
                    "input": {"turn_detection": SEMANTIC, "transcription": {"model": "whisper-1"}},
                    "output": {"voice": "cedar"},
                },
            },
        )
    )
    built = build_session(session, turn_mode="server_vad", voice="marin", tools=({"type": "function", "name": "now"},))
    assert built["instructions"] == "Be brief."
    assert built["audio"]["input"]["turn_detection"] == SEMANTIC  # as the app sends it
    assert built["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert built["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert built["audio"]["output"]["voice"] == "marin"
    assert [tool["name"] for tool in built["tools"]] == ["get_weather", "now"]
    assert build_session(session, turn_mode="push_to_talk")["audio"]["input"]["turn_detection"] is None


def test_a_whole_session_update_event_is_taken_too(tmp_path):
    path = write(tmp_path, {"type": "session.update", "session": {"type": "realtime", "instructions": "Hi."}})
    assert load_session_file(path)["instructions"] == "Hi."


def test_turn_detection_null_in_the_file_starts_in_push_to_talk(tmp_path):
    session = load_session_file(write(tmp_path, {"audio": {"input": {"turn_detection": None}}}))
    assert initial_turn_mode(session, push_to_talk=False) == "push_to_talk"
    assert initial_turn_mode(None, push_to_talk=False) == "server_vad"


@pytest.mark.parametrize(
    "document, problem",
    [
        (b"[1", "not JSON"),
        ([], "expected the session object"),
        (
            {"audio": {"input": {"turn_detection": {"type": "semnatic_vad"}}}},
            "audio.input.turn_detection.type: Invalid value: 'semnatic_vad'. Supported values are: 'server_vad' and "
            "'semantic_vad'.",
        ),
        ({"modalities": ["audio"]}, "modalities: Unknown parameter: 'session.modalities'."),
        ({"audio": {"output": {"speed": 9}}}, "audio.output.speed:"),
        ({"audio": {"input": {"format": {"type": "audio/pcmu"}}}}, "audio.input.format.type: rtui sends and plays audio/pcm"),
    ],
)
def test_a_bad_session_file_is_one_line_with_the_path_of_the_field(tmp_path, document, problem):
    path = write(tmp_path, document)
    with pytest.raises(SessionFileError) as raised:
        load_session_file(path)
    assert str(raised.value).startswith(f"{path}: ") and problem in str(raised.value)
