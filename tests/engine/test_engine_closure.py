"""The one-sentence explanations the close card and headless output show."""

from tui.engine.closure import summarize_close
from tui.protocol.summary import Line


def line(direction: str, label: str) -> Line:
    return Line(seq=1, t_ns=0, conn=1, direction=direction, label=label)


def test_server_close_right_after_a_binary_frame_names_it():
    end = {
        "code": 1000,
        "reason": "",
        "closed_by": "server",
        "clean": True,
        "side": "client",
        "conn": 1,
        "close_sent": {"code": 1000, "reason": ""},
        "close_rcvd": {"code": 1000, "reason": ""},
    }
    summary = summarize_close(end, [line("s2c", "session.created"), line("c2s", "(binary)"), line("s2c", "close")], None)
    assert summary.explanation == (
        "The server closed the connection with 1000 (normal closure) and no reason, right after the client sent (binary)."
    )


def test_unanswered_client_close_keeps_its_own_code():
    end = {
        "code": 1006,
        "reason": "",
        "closed_by": "client",
        "clean": False,
        "side": "client",
        "conn": 1,
        "close_sent": {"code": 1009, "reason": "over size limit (2048 > 1024 bytes)"},
        "close_rcvd": None,
        "protocol_error": "PayloadTooBig: over size limit (2048 > 1024 bytes)",
    }
    summary = summarize_close(end, [], None)
    assert (summary.code, summary.meaning, summary.closed_by) == (1009, "message too big", "client")
    assert summary.explanation.startswith("This client closed the connection with 1009 (message too big)")
    assert "never answered" in summary.explanation and "ended as 1006" in summary.explanation
    assert "PayloadTooBig" in summary.explanation


def test_client_that_closes_after_an_error_is_told_apart_from_the_server():
    end = {
        "code": 1000,
        "reason": "",
        "closed_by": "client",
        "clean": True,
        "side": "client",
        "conn": 1,
        "close_sent": {"code": 1000, "reason": ""},
        "close_rcvd": {"code": 1000, "reason": ""},
    }
    summary = summarize_close(end, [], "unknown_parameter [session.modalities]: Unknown parameter")
    assert "This client closed" in summary.explanation
    assert "the client chose to close" in summary.explanation


def test_transport_drop_has_no_closer():
    end = {
        "code": 1006,
        "reason": "",
        "closed_by": None,
        "clean": False,
        "side": "client",
        "conn": 1,
        "close_sent": None,
        "close_rcvd": None,
    }
    summary = summarize_close(end, [line("c2s", "input_audio_buffer.append")], None)
    assert summary.closed_by is None and summary.code == 1006
    assert "without a close frame" in summary.explanation and "input_audio_buffer.append" in summary.explanation
