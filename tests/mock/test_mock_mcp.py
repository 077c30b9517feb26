"""The mock playing MCP servers, fed events directly: the tools it lists, approval, the call and the
answer that uses it. Every event is checked against the SDK (`events_of`)."""

from __future__ import annotations

import orjson

from mock_support import events_of
from tui.mock.config import MockConfig
from tui.mock.mcp import listed_tools, needs_approval
from tui.mock.session import Handshake, MockSession

DOCS = {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp", "allowed_tools": ["search_docs"]}


def new_session(**session) -> tuple[MockSession, list[dict]]:
    mock = MockSession(MockConfig(realtime=False), Handshake(conn_index=1), wall_clock=1_800_000_000)
    mock.start(0.0)
    return mock, send(mock, {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"], **session}})


def send(mock: MockSession, event: dict) -> list[dict]:
    return events_of(mock.receive_text(orjson.dumps(event).decode(), 1.0))


def say(mock: MockSession, text: str) -> None:
    send(
        mock,
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        },
    )


def respond(mock: MockSession, **params) -> list[dict]:
    return send(mock, {"type": "response.create", "response": params})


def output_of(events: list[dict]) -> list[dict]:
    return next(e for e in events if e["type"] == "response.done")["response"]["output"]


def test_a_server_lists_its_allowed_tools_once():
    mock, events = new_session(tools=[DOCS])
    assert [e["type"] for e in events] == [
        "session.updated",
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "conversation.item.done",
    ]
    assert events[1]["item"]["tools"] == [] and [t["name"] for t in events[-1]["item"]["tools"]] == ["search_docs"]
    again = send(mock, {"type": "session.update", "session": {"type": "realtime", "tools": [DOCS], "instructions": "x"}})
    assert [e["type"] for e in again] == ["session.updated"]


def test_without_allowed_tools_a_server_lists_the_mocks_own():
    assert [t["name"] for t in listed_tools({"server_label": "s"}, ("a", "b"))] == ["a", "b"]
    assert [t["name"] for t in listed_tools({"server_label": "s", "allowed_tools": {"tool_names": ["c"]}}, ("a",))] == ["c"]


def test_require_approval_rules():
    assert needs_approval({}, "t") and needs_approval({"require_approval": "always"}, "t")
    assert not needs_approval({"require_approval": "never"}, "t")
    assert not needs_approval({"require_approval": {"never": {"tool_names": ["t"]}}}, "t")
    assert needs_approval({"require_approval": {"never": {"tool_names": ["u"]}}}, "t")


def test_a_call_without_approval_is_carried_out_and_answered_in_one_response():
    mock, _ = new_session(tools=[{**DOCS, "require_approval": "never"}])
    say(mock, "Please search docs for pricing")
    events = respond(mock)
    call, answer = output_of(events)
    assert call["type"] == "mcp_call" and call["approval_request_id"] is None
    assert orjson.loads(call["output"])["tool"] == "search_docs"
    assert answer["content"][0]["text"] == f"The tool search_docs returned: {call['output']}"
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert {e["output_index"] for e in deltas} == {1}


def test_a_refused_approval_is_answered_without_a_call():
    mock, _ = new_session(tools=[DOCS])
    say(mock, "search docs")
    [request] = output_of(respond(mock))
    assert request["type"] == "mcp_approval_request"
    send(
        mock,
        {
            "type": "conversation.item.create",
            "item": {"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": False},
        },
    )
    [answer] = output_of(respond(mock))
    assert answer["content"][0]["text"] == "The call to search_docs was not approved."


def test_a_forced_mcp_tool_and_a_servers_own_tools_in_response_create():
    mock, _ = new_session()
    say(mock, "Hello")
    server = {"type": "mcp", "server_label": "kb", "server_url": "https://kb.example", "require_approval": "never"}
    events = respond(mock, tools=[server], tool_choice={"type": "mcp", "server_label": "kb", "name": "fetch"})
    assert [e["type"] for e in events][:4] == [
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "conversation.item.done",
    ]
    assert [(o["type"], o.get("name")) for o in output_of(events)] == [("mcp_call", "fetch"), ("message", None)]
