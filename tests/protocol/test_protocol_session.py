"""session.update validation and merging, with the real service's codes, messages and params."""

from __future__ import annotations

import pytest

from tui.protocol.events import BETA_SESSION_FIELDS
from tui.protocol.session import default_session, merge_session, validate_session_update


def error_of(session):
    error = validate_session_update(session)
    assert error is not None, f"{session} should be rejected"
    return error.code, error.message, error.param


@pytest.mark.parametrize("field", BETA_SESSION_FIELDS)
def test_every_beta_field_is_an_unknown_parameter(field):
    assert error_of({"type": "realtime", field: "x"}) == (
        "unknown_parameter",
        f"Unknown parameter: 'session.{field}'.",
        f"session.{field}",
    )


def test_beta_fields_without_type_are_reported_as_unknown_first():
    assert error_of({"modalities": ["audio"]})[0] == "unknown_parameter"


def test_missing_session_type():
    assert error_of({"instructions": "hi"}) == (
        "missing_required_parameter",
        "Missing required parameter: 'session.type'.",
        "session.type",
    )


def test_unknown_nested_parameter_names_the_path():
    assert error_of({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "foo": 1}}}}) == (
        "unknown_parameter",
        "Unknown parameter: 'session.audio.input.turn_detection.foo'.",
        "session.audio.input.turn_detection.foo",
    )


def test_pcm_format_without_rate_is_24khz():
    # The SDK's AudioPCM has `rate` optional (24000 is the only rate): the service takes it without.
    update = {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm"}}}}
    assert validate_session_update(update) is None
    merged = merge_session(default_session("sess_1", "gpt-realtime", 0), update)
    assert merged["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_beta_format_name_is_an_invalid_value():
    assert error_of({"type": "realtime", "audio": {"input": {"format": {"type": "pcm16"}}}}) == (
        "invalid_value",
        "Invalid value: 'pcm16'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.",
        "session.audio.input.format.type",
    )


def test_only_24khz_pcm():
    code, message, param = error_of({"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}})
    assert (code, param) == ("invalid_value", "session.audio.input.format.rate")
    assert "16000" in message and "24000" in message


def test_wrong_type():
    assert error_of({"type": "realtime", "instructions": 3}) == (
        "invalid_type",
        "Invalid type for 'session.instructions': expected a string, but got an integer instead.",
        "session.instructions",
    )


@pytest.mark.parametrize(
    ("detection", "code"),
    [
        ({"type": "server_vad", "threshold": 1.5}, "decimal_above_max_value"),
        ({"type": "server_vad", "threshold": -0.1}, "decimal_below_min_value"),
        ({"type": "server_vad", "silence_duration_ms": -1}, "integer_below_min_value"),
        ({"type": "server_vad", "prefix_padding_ms": 0.5}, "invalid_type"),
        ({"type": "semantic_vad", "eagerness": "eager"}, "invalid_value"),
        ({"type": "vad"}, "invalid_value"),
        ({"threshold": 0.5}, "missing_required_parameter"),
    ],
)
def test_turn_detection_values(detection, code):
    assert error_of({"type": "realtime", "audio": {"input": {"turn_detection": detection}}})[0] == code


def test_speed_range_and_modalities():
    assert error_of({"type": "realtime", "audio": {"output": {"speed": 2}}})[0] == "integer_above_max_value"
    assert error_of({"type": "realtime", "output_modalities": ["audio", "text"]})[0] == "invalid_value"


def test_session_type_cannot_change():
    assert error_of({"type": "transcription"})[:1] == ("invalid_value",)


@pytest.mark.parametrize(
    "session",
    [
        {"type": "realtime"},
        {"type": "realtime", "instructions": "Be brief.", "output_modalities": ["text"]},
        {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}, "output": {"voice": "cedar", "speed": 1.2}}},
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}}},
        {"type": "realtime", "tools": [{"type": "function", "name": "f", "parameters": {}}], "tool_choice": "auto"},
        {"type": "realtime", "max_output_tokens": "inf", "tracing": "auto", "truncation": "disabled"},
    ],
)
def test_valid_updates_pass(session):
    assert validate_session_update(session) is None


def test_merge_keeps_what_the_update_does_not_name():
    current = default_session("sess_1", "gpt-realtime", 0)
    merged = merge_session(
        current, {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.8}}}}
    )
    detection = merged["audio"]["input"]["turn_detection"]
    assert detection["threshold"] == 0.8 and detection["silence_duration_ms"] == 200 and detection["prefix_padding_ms"] == 300
    assert merged["audio"]["output"] == current["audio"]["output"]
    assert current["audio"]["input"]["turn_detection"]["threshold"] == 0.5  # the original is untouched


def test_merge_replaces_turn_detection_of_another_kind_and_null_disables_it():
    current = default_session("sess_1", "gpt-realtime", 0)
    semantic = merge_session(current, {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}})
    assert semantic["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }
    off = merge_session(current, {"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    assert off["audio"]["input"]["turn_detection"] is None
