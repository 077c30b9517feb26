"""`rtui diagnose` on function calls: the tool stall, unanswered calls, unknown call ids, incomplete
responses and a refused voice change."""

from __future__ import annotations

from tests.diagnose_support import Script, error_event, session_created
from tui.diagnose import diagnose
from tui.wire.format import C2S, S2C


def ids(diagnosis):
    return {finding.id for finding in diagnosis.findings}


def call_done(call_id="call_1", name="get_weather", arguments='{"city":"Paris"}', response="resp_1"):
    return {
        "type": "response.function_call_arguments.done",
        "event_id": "ev",
        "response_id": response,
        "item_id": "item_c",
        "output_index": 0,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def output(call_id="call_1", text='{"temperature_c": 18}'):
    return {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id, "output": text}}


def response_done(status="completed", reason=None):
    details = {"type": status, "reason": reason} if reason else None
    return {"type": "response.done", "event_id": "ev", "response": {"id": "resp_1", "status": status, "status_details": details}}


def opened(tmp_path, monkeypatch, name):
    s = Script(tmp_path / name, monkeypatch)
    s.at(0).handshake()
    s.receive(session_created())
    return s


def test_an_output_without_response_create_is_the_stall(tmp_path, monkeypatch):
    s = opened(tmp_path, monkeypatch, "stall.jsonl")
    s.at(0.5).receive(call_done())
    s.receive(response_done())
    sent = s.at(0.6).send(output())
    s.receive({"type": "conversation.item.added", "item": {"type": "function_call_output", "call_id": "call_1"}})
    close = s.at(10.6).close(C2S, 1000)
    s.close(S2C, 1000)
    s.end(1000, "client")
    diagnosis = diagnose(s.done())
    stall = diagnosis.finding("tool-output-without-response")
    assert stall.severity == "error" and stall.evidence == [sent, close]
    assert "output of get_weather (call_1" in stall.message and "sat idle for 10.0 s until the client closed" in stall.message
    assert ids(diagnosis) == {"tool-output-without-response"}


def test_an_output_followed_by_response_create_is_the_tool_loop(tmp_path, monkeypatch):
    s = opened(tmp_path, monkeypatch, "loop.jsonl")
    s.at(0.5).receive(call_done())
    s.receive(response_done())
    s.send(output())
    s.receive({"type": "conversation.item.added", "item": {"type": "function_call_output", "call_id": "call_1"}})
    s.send({"type": "response.create"})
    s.receive({"type": "response.created", "response": {"id": "resp_2"}})
    s.at(1).close(C2S, 1000)
    s.end(1000, "client")
    assert ids(diagnose(s.done())) == set()


def test_a_call_never_answered_before_the_close(tmp_path, monkeypatch):
    s = opened(tmp_path, monkeypatch, "unanswered.jsonl")
    called = s.at(0.5).receive(call_done(call_id="call_9", name="get_time"))
    s.receive(response_done())
    s.at(3).close(C2S, 1000)
    s.end(1000, "client")
    finding = diagnose(s.done()).finding("tool-call-unanswered")
    assert finding.evidence == [called] and "get_time (call_9)" in finding.message
    assert finding.details == {"calls": ["call_9"]}


def test_an_unknown_call_id_is_named(tmp_path, monkeypatch):
    s = opened(tmp_path, monkeypatch, "unknown.jsonl")
    sent = s.at(0.5).send(output(call_id="call_made_up"))
    refused = s.receive(
        error_event("invalid_tool_call_id", "Tool call ID 'call_made_up' not found in conversation.", "item.call_id")
    )
    s.send({"type": "response.create"})
    s.at(9).close(C2S, 1000)
    s.end(1000, "client")
    diagnosis = diagnose(s.done())
    finding = diagnosis.finding("tool-call-id-unknown")
    assert finding.evidence == [sent, refused] and "'call_made_up'" in finding.message
    assert "tool-output-without-response" not in ids(diagnosis)


def test_incomplete_responses_and_a_refused_voice_change(tmp_path, monkeypatch):
    s = opened(tmp_path, monkeypatch, "incomplete.jsonl")
    cut = s.at(0.5).receive(response_done("incomplete", "max_output_tokens"))
    s.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "cedar"}}}})
    refused = s.receive(error_event("cannot_update_voice", "Cannot update a conversation's voice if assistant audio is present."))
    s.at(9).close(C2S, 1000)
    s.end(1000, "client")
    diagnosis = diagnose(s.done())
    incomplete = diagnosis.finding("response-incomplete")
    assert incomplete.evidence == [cut] and "(max_output_tokens)" in incomplete.message
    assert diagnosis.finding("cannot-update-voice").evidence == [refused]
