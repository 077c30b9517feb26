"""The mock session with tools, fed events directly: calls, outputs, `max_output_tokens`, and the
validation of tools, `tool_choice` and `response.create`. Every event the mock sends is checked
against the SDK's RealtimeServerEvent (`events_of`), so none of these can reach a client unreadable."""

from __future__ import annotations

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_support import events_of
from tui.mock.config import MockConfig
from tui.mock.session import Handshake, MockSession
from tui.protocol.session import REALTIME_SESSION_FIELDS

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HANG_UP = {"type": "function", "name": "hang_up", "description": "End the call", "parameters": {"type": "object"}}


def new_session(**session) -> MockSession:
    mock = MockSession(MockConfig(realtime=False), Handshake(conn_index=1), wall_clock=1_800_000_000)
    mock.start(0.0)
    if session:
        assert kinds(update(mock, **session)) == ["session.updated"]
    return mock


def send(mock: MockSession, event: dict) -> list[dict]:
    return events_of(mock.receive_text(orjson.dumps(event).decode(), 1.0))


def update(mock: MockSession, **session) -> list[dict]:
    return send(mock, {"type": "session.update", "session": {"type": "realtime", **session}})


def say(mock: MockSession, text: str) -> None:
    send(
        mock,
        {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        },
    )


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def only_error(events: list[dict]) -> dict:
    assert kinds(events) == ["error"], kinds(events)
    return events[0]["error"]


def done(events: list[dict]) -> dict:
    return next(e for e in events if e["type"] == "response.done")["response"]


# -- calls ----------------------------------------------------------------------------------------


def test_a_call_follows_the_ga_sequence_with_valid_arguments():
    mock = new_session(output_modalities=["text"], tools=[WEATHER])
    say(mock, "What is the weather in Paris?")
    events = send(mock, {"type": "response.create"})
    assert [k for k in kinds(events) if k != "response.function_call_arguments.delta"] == [
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "conversation.item.added",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    call = done(events)["output"][0]
    assert call["type"] == "function_call" and call["status"] == "completed"
    jsonschema.validate(orjson.loads(call["arguments"]), WEATHER["parameters"])


def test_tools_given_in_response_create_are_called():
    mock = new_session(output_modalities=["text"])
    say(mock, "Hello")
    events = send(mock, {"type": "response.create", "response": {"tools": [HANG_UP], "tool_choice": "required"}})
    assert [o["name"] for o in done(events)["output"]] == ["hang_up"]


def test_parallel_tool_calls_in_one_response():
    mock = new_session(output_modalities=["text"], tools=[WEATHER, HANG_UP], parallel_tool_calls=True)
    say(mock, "Check the weather, then hang up")
    output = done(send(mock, {"type": "response.create"}))["output"]
    assert [o["name"] for o in output] == ["get_weather", "hang_up"]
    assert len({o["call_id"] for o in output}) == 2


def test_an_out_of_band_call_is_not_in_the_conversation():
    """`conversation: "none"` keeps the response out of the conversation, so its call's id is unknown
    to a later output."""
    mock = new_session(output_modalities=["text"], tools=[WEATHER])
    say(mock, "weather in Oslo")
    events = send(mock, {"type": "response.create", "response": {"conversation": "none"}})
    assert "conversation.item.added" not in kinds(events)
    call_id = done(events)["output"][0]["call_id"]
    error = only_error(
        send(
            mock,
            {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id, "output": "x"}},
        )
    )
    assert error["code"] == "invalid_tool_call_id"


def test_a_voice_answer_after_an_output_quotes_it_in_its_transcript():
    mock = new_session(tools=[WEATHER])
    say(mock, "What is the weather in Rome?")
    call_id = done(send(mock, {"type": "response.create"}))["output"][0]["call_id"]
    output = {"type": "function_call_output", "call_id": call_id, "output": "sunny"}
    send(mock, {"type": "conversation.item.create", "item": output})
    answer = done(send(mock, {"type": "response.create"}))
    assert answer["output"][0]["content"][0]["transcript"] == "The tool get_weather returned: sunny"


# -- max_output_tokens ----------------------------------------------------------------------------


def test_max_output_tokens_cuts_a_text_answer():
    """SDK `RealtimeResponseStatus`: for an `incomplete` response, `reason` is `max_output_tokens` or
    `content_filter`; `max_output_tokens` is "inclusive of tool calls" (`RealtimeResponseCreateParams`)."""
    mock = new_session(output_modalities=["text"], max_output_tokens=3)
    say(mock, "Hello")
    response = done(send(mock, {"type": "response.create"}))
    assert response["status"] == "incomplete"
    assert response["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert response["output"][0]["content"][0]["text"] == "Hello from the"
    assert response["usage"]["output_tokens"] == 3 and response["max_output_tokens"] == 3


def test_max_output_tokens_of_one_response_cuts_its_audio():
    mock = new_session()
    say(mock, "Hello")
    full = done(send(mock, {"type": "response.create"}))
    cut = done(send(mock, {"type": "response.create", "response": {"max_output_tokens": 20}}))
    assert full["status"] == "completed" and cut["status"] == "incomplete"
    assert 0 < cut["usage"]["output_tokens"] <= 20 < full["usage"]["output_tokens"]


def test_max_output_tokens_cuts_a_calls_arguments():
    mock = new_session(output_modalities=["text"], tools=[WEATHER])
    say(mock, "weather in Paris")
    events = send(mock, {"type": "response.create", "response": {"max_output_tokens": 1}})
    response = done(events)
    assert response["status"] == "incomplete" and response["output"][0]["status"] == "incomplete"
    arguments = next(e for e in events if e["type"] == "response.function_call_arguments.done")["arguments"]
    assert arguments == '{"city":'


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_choice", "code", "param"),
    [
        ({"x": 1}, "missing_required_parameter", "session.tool_choice.type"),
        ({"type": "function"}, "missing_required_parameter", "session.tool_choice.name"),
        ({"type": "mcp"}, "missing_required_parameter", "session.tool_choice.server_label"),
        ({"type": "web_search"}, "invalid_value", "session.tool_choice.type"),
        ({"type": "function", "name": "f", "extra": 1}, "unknown_parameter", "session.tool_choice.extra"),
        ("sometimes", "invalid_value", "session.tool_choice"),
        (3, "invalid_type", "session.tool_choice"),
    ],
)
def test_tool_choice_is_validated(tool_choice, code, param):
    """SDK `RealtimeToolChoiceConfig`: "none" | "auto" | "required" | `ToolChoiceFunction` {type, name}
    | `ToolChoiceMcp` {type, server_label, name?}. Anything else would be echoed in a `session.updated`
    the SDK cannot read."""
    error = only_error(update(new_session(), tool_choice=tool_choice))
    assert (error["code"], error["param"]) == (code, param)


@pytest.mark.parametrize(
    "tool_choice", ["none", "auto", "required", {"type": "function", "name": "f"}, {"type": "mcp", "server_label": "s"}]
)
def test_valid_tool_choices_are_echoed_readably(tool_choice):
    events = update(new_session(), tool_choice=tool_choice)
    assert events[0]["session"]["tool_choice"] == tool_choice  # events_of checked it with the SDK


def test_a_forced_tool_replaces_the_previous_one_whole():
    mock = new_session(tool_choice={"type": "function", "name": "f"})
    events = update(mock, tool_choice={"type": "mcp", "server_label": "s"})
    assert events[0]["session"]["tool_choice"] == {"type": "mcp", "server_label": "s"}


@pytest.mark.parametrize(
    ("tool", "code", "param"),
    [
        ({"type": "function", "description": "no name"}, "missing_required_parameter", "session.tools[0].name"),
        ({"type": "function", "name": 5}, "invalid_type", "session.tools[0].name"),
        ({"type": "function", "name": "f", "parameters": "{}"}, "invalid_type", "session.tools[0].parameters"),
        ({"type": "function", "name": "f", "strict": True}, "unknown_parameter", "session.tools[0].strict"),
        ({"type": "web_search"}, "invalid_value", "session.tools[0].type"),
        ({"name": "f"}, "missing_required_parameter", "session.tools[0].type"),
        ({"type": "mcp", "server_url": "https://x"}, "missing_required_parameter", "session.tools[0].server_label"),
        (
            {"type": "mcp", "server_label": "s", "require_approval": "sometimes"},
            "invalid_value",
            "session.tools[0].require_approval",
        ),
        ({"type": "mcp", "server_label": "s", "headers": {"a": 1}}, "invalid_type", "session.tools[0].headers.a"),
        ({"type": "mcp", "server_label": "s"}, "missing_required_parameter", "session.tools[0]"),
    ],
)
def test_tools_are_validated(tool, code, param):
    """SDK `RealtimeToolsConfigUnion`: a `function` tool (`name`, `description`, `parameters` an object)
    or an `mcp` tool (`server_label`, and its server: one of `server_url`, `connector_id`, `tunnel_id`);
    the type is the discriminator. A function needs a name: every call names one
    (`RealtimeConversationItemFunctionCall.name` is required)."""
    error = only_error(update(new_session(), tools=[tool]))
    assert (error["code"], error["param"]) == (code, param)


@pytest.mark.parametrize(
    "server", [{"server_url": "https://kb.example/mcp"}, {"connector_id": "connector_gmail"}, {"tunnel_id": "tun_1"}]
)
def test_an_mcp_tool_names_its_server_one_way_or_another(server):
    """The SDK documents `server_url`, `connector_id` and `tunnel_id` alike: "One of `server_url`,
    `connector_id`, or `tunnel_id` must be provided." With none, the tool is refused, in a session
    and in a single response alike."""
    tool = {"type": "mcp", "server_label": "kb", **server}
    events = update(new_session(), tools=[tool])
    assert events[0]["type"] == "session.updated" and events[0]["session"]["tools"] == [tool]
    assert "error" not in kinds(events) and "mcp_list_tools.completed" in kinds(events)  # then its tools are listed
    serverless = {"type": "mcp", "server_label": "kb"}
    error = only_error(send(new_session(), {"type": "response.create", "response": {"tools": [serverless]}}))
    assert error["code"] == "missing_required_parameter" and error["param"] == "response.tools[0]"
    assert error["message"] == (
        "Missing required parameter: one of 'response.tools[0].server_url', 'response.tools[0].connector_id' "
        "or 'response.tools[0].tunnel_id'."
    )


def test_response_create_accepts_every_field_the_sdk_allows():
    """SDK `RealtimeResponseCreateParams`: audio, conversation, input, instructions, max_output_tokens,
    metadata, output_modalities, parallel_tool_calls, prompt, reasoning, tool_choice, tools."""
    mock = new_session()
    say(mock, "Hello")
    params = {
        "audio": {"output": {"voice": "marin", "format": {"type": "audio/pcm", "rate": 24000}}},
        "conversation": "auto",
        "instructions": "Be brief.",
        "max_output_tokens": "inf",
        "metadata": {"topic": "test"},
        "output_modalities": ["text"],
        "parallel_tool_calls": True,
        "reasoning": {"effort": "low"},
        "tool_choice": "none",
        "tools": [WEATHER],
    }
    assert done(send(mock, {"type": "response.create", "response": params}))["status"] == "completed"
    assert done(send(mock, {"type": "response.create", "response": None}))["status"] == "completed"


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"metadata": {"a": 1}}, "invalid_type", "response.metadata.a"),
        ({"tool_choice": {"x": 1}}, "missing_required_parameter", "response.tool_choice.type"),
        ({"tools": [{"type": "function"}]}, "missing_required_parameter", "response.tools[0].name"),
        ({"max_output_tokens": 0}, "integer_below_min_value", "response.max_output_tokens"),
        ({"parallel_tool_calls": "yes"}, "invalid_type", "response.parallel_tool_calls"),
        ({"temperature": 0.8}, "unknown_parameter", "response.temperature"),
        (
            {"input": [{"type": "function_call", "call_id": {}, "name": "f", "arguments": "{}"}]},
            "invalid_type",
            "response.input[0].call_id",
        ),
        ({"input": [{"type": "item_reference"}]}, "invalid_type", "response.input[0].id"),
    ],
)
def test_response_create_is_validated(params, code, param):
    """`metadata` is `Dict[str, str]` in the SDK; a number there would come back in `response.created`
    unreadable. The bounds of `max_output_tokens` are the SDK's "between 1 and 4096, or inf"."""
    error = only_error(send(new_session(), {"type": "response.create", "response": params}))
    assert (error["code"], error["param"]) == (code, param)


def test_mcp_items_are_accepted():
    """The SDK's `ConversationItem` union holds the four MCP item types beside messages and calls."""
    mock = new_session()
    for item in [
        {"type": "mcp_list_tools", "server_label": "s", "tools": [{"name": "t", "input_schema": {}}]},
        {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "s", "name": "t", "arguments": "{}"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
        {"type": "mcp_call", "server_label": "s", "name": "t", "arguments": "{}", "output": "ok"},
    ]:
        events = send(mock, {"type": "conversation.item.create", "item": item})
        assert kinds(events) == ["conversation.item.added", "conversation.item.done"]
        assert events[0]["item"]["type"] == item["type"]


def test_an_approval_of_an_unknown_request_is_refused():
    """Like an output for an unknown call; the service's code and wording for this are not public."""
    item = {"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}
    error = only_error(send(new_session(), {"type": "conversation.item.create", "item": item}))
    assert error["message"] == "Approval request ID 'mcpr_nope' not found in conversation."


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}, "item.arguments"),
        ({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": "yes"}, "item.approve"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text", "text": 5}]}, "item.content[0].text"),
    ],
)
def test_item_fields_have_the_sdks_types(item, param):
    """An item is echoed in `conversation.item.added`: a field of the wrong type would reach the client
    in an event its SDK rejects (`arguments` and `text` are `str`, `approve` is `bool`)."""
    assert only_error(send(new_session(), {"type": "conversation.item.create", "item": item}))["param"] == param


# -- whatever a client sends, every event stays readable by the SDK --------------------------------

_hostile = st.one_of(st.none(), st.booleans(), st.integers(-3, 5000), st.text(max_size=8), st.just({"x": 1}), st.just([1]))
_schemas = st.one_of(
    _hostile,
    st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.dictionaries(
                st.sampled_from(["city", "query", "n", "tags"]),
                st.sampled_from(
                    [
                        {"type": "string"},
                        {"type": "integer", "minimum": 3},
                        {"type": "array", "items": {"type": "boolean"}},
                        {"enum": ["a", 1]},
                        {"type": "object", "properties": {"x": {"type": "number"}}},
                        {},
                    ]
                ),
                max_size=3,
            ),
        }
    ),
)
_tools = st.lists(
    st.one_of(
        st.builds(
            lambda name, params: {"type": "function", "name": name, "description": "Get the weather", "parameters": params},
            st.sampled_from(["get_weather", "hang_up", "x"]),
            _schemas,
        ),
        st.builds(
            lambda label, allowed, approval: {
                "type": "mcp",
                "server_label": label,
                "server_url": "https://m",
                "allowed_tools": allowed,
                "require_approval": approval,
            },
            st.sampled_from(["docs", "kb"]),
            st.one_of(st.none(), st.just(["search_docs"])),
            st.sampled_from(["always", "never", None, {"never": {"tool_names": ["search"]}}]),
        ),
        st.dictionaries(st.sampled_from(["type", "name", "server_label", "parameters"]), _hostile, max_size=3),
    ),
    max_size=3,
)
_choices = st.one_of(
    st.sampled_from(["auto", "none", "required"]),
    st.just({"type": "function", "name": "hang_up"}),
    st.just({"type": "mcp", "server_label": "docs"}),
    _hostile,
)
_settings = st.fixed_dictionaries(
    {},
    optional={
        "tools": _tools,
        "tool_choice": _choices,
        "parallel_tool_calls": st.one_of(st.booleans(), _hostile),
        "max_output_tokens": st.one_of(st.integers(1, 40), st.just("inf"), _hostile),
        "output_modalities": st.sampled_from([["text"], ["audio"]]),
    },
)


@st.composite
def _client_events(draw: st.DrawFn, mock: MockSession) -> dict:
    """A client event about tools, using the ids the conversation holds so far where it helps."""
    calls = [i.get("call_id") for i in mock.items.values() if i.get("type") == "function_call"] + ["call_bogus"]
    requests = [i["id"] for i in mock.items.values() if i.get("type") == "mcp_approval_request"] + ["mcpr_bogus"]
    kind = draw(st.sampled_from(["update", "say", "output", "approve", "respond"]))
    if kind == "update":
        return {"type": "session.update", "session": {"type": "realtime", **draw(_settings)}}
    if kind == "say":
        text = draw(st.sampled_from(["What is the weather in Paris?", "search docs please", "hang up", "hi"]))
        return {
            "type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
        }
    if kind == "output":
        output = draw(st.one_of(st.text(max_size=20), _hostile))
        return {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": draw(st.sampled_from(calls)), "output": output},
        }
    if kind == "approve":
        return {
            "type": "conversation.item.create",
            "item": {
                "type": "mcp_approval_response",
                "approval_request_id": draw(st.sampled_from(requests)),
                "approve": draw(st.one_of(st.booleans(), _hostile)),
            },
        }
    params = draw(st.one_of(st.none(), _settings))
    if params is not None and draw(st.booleans()):
        params["input"] = draw(
            st.lists(
                st.one_of(
                    st.dictionaries(
                        st.sampled_from(["type", "call_id", "id", "approval_request_id", "name", "output"]),
                        st.one_of(_hostile, st.sampled_from(["function_call", "mcp_approval_request", "item_reference"])),
                    ),
                    st.just({"type": "item_reference", "id": "item_1"}),
                ),
                max_size=3,
            )
        )
    return {"type": "response.create", "response": params}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_sequence_of_tool_events_gets_only_events_the_sdk_reads(data):
    mock = new_session()
    for step in range(data.draw(st.integers(1, 12))):
        events_of(mock.receive_text(orjson.dumps(data.draw(_client_events(mock))).decode(), float(step)))
        events_of(mock.poll(float(step) + 0.5))


_nested = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-2, 5000),
        st.floats(0, 2),
        st.sampled_from(["auto", "disabled", "inf", "low", "x", "retention_ratio", "input_text", "marin", "mcp"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(
            st.sampled_from(["type", "id", "name", "variables", "effort", "retention_ratio", "text", "metadata", "server_label"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(sorted(REALTIME_SESSION_FIELDS)), _nested, max_size=3))
def test_any_session_update_gets_an_answer_the_sdk_reads(fields):
    """Whatever a `session.update` holds, the mock answers an `error` or a `session.updated` the SDK's
    `SessionUpdatedEvent` accepts: a value it cannot read is refused, never echoed."""
    update(new_session(), **fields)  # `send` checks every event with the SDK


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("truncation", {}, "session.truncation.type"),
        ("truncation", {"type": "retention_ratio", "retention_ratio": 2}, "session.truncation.retention_ratio"),
        ("reasoning", {"effort": "extreme"}, "session.reasoning.effort"),
        ("prompt", {"id": "p", "variables": {"a": 1}}, "session.prompt.variables.a"),
        ("prompt", {"id": "p", "variables": {"a": {"type": "input_text"}}}, "session.prompt.variables.a.text"),
    ],
)
def test_session_fields_the_sdk_types_strictly_are_validated(field, value, param):
    """SDK: `truncation` is "auto" | "disabled" | `RealtimeTruncationRetentionRatio` (type, retention_ratio
    0..1); `reasoning.effort` is minimal..xhigh; `prompt.variables` values are strings or input parts."""
    assert only_error(update(new_session(), **{field: value}))["param"] == param
