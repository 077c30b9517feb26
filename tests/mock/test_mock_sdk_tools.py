"""The official openai SDK (test-only) runs a whole tool loop against the mock: a function defined, the
model's call and its arguments, the client's output, `response.create`, the answer; every server event
checked against the SDK's RealtimeServerEvent type."""

from __future__ import annotations

import asyncio
import re

import jsonschema
import openai
import orjson

from mock_support import validate
from tui.mock import MockConfig, MockServer

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}
CALL_SEQUENCE = [
    "response.created",
    "rate_limits.updated",  # as a response starts, as the service sends it
    "response.output_item.added",
    "conversation.item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


class SdkClient:
    def __init__(self, conn) -> None:
        self.conn = conn

    async def next(self):
        data = await asyncio.wait_for(self.conn.recv_bytes(), 10)
        validate(orjson.loads(data))  # strict, against the SDK's RealtimeServerEvent
        return self.conn.parse_event(data)

    async def until(self, kind: str) -> list:
        events = [await self.next()]
        while events[-1].type != kind:
            events.append(await self.next())
        return events


async def connect(server: MockServer):
    client = openai.AsyncOpenAI(api_key="sk-test-not-a-real-key", websocket_base_url=server.base_url)
    return client.realtime.connect(model="gpt-realtime", websocket_connection_options={"proxy": None})


async def ask_for_the_weather(sdk: SdkClient) -> list:
    """Defines the tool, says what calls it, and returns the events of the response that calls it."""
    assert (await sdk.next()).type == "session.created"
    await sdk.conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER]})
    updated = await sdk.next()
    assert updated.type == "session.updated" and updated.session.tools[0].name == "get_weather"
    await sdk.conn.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "What is the weather in Paris?"}]}
    )
    await sdk.until("conversation.item.done")
    await sdk.conn.response.create()
    return await sdk.until("response.done")


async def test_sdk_tool_loop_call_arguments_output_and_answer():
    async with MockServer(MockConfig(realtime=False)) as server, await connect(server) as conn:
        sdk = SdkClient(conn)
        events = await ask_for_the_weather(sdk)
        kinds = [e.type for e in events]
        assert [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]] == CALL_SEQUENCE
        assert kinds.count("response.function_call_arguments.delta") > 1
        added = next(e for e in events if e.type == "response.output_item.added").item
        done = events[-1].response
        assert added.type == "function_call" and added.status == "in_progress" and added.name == "get_weather"
        assert re.fullmatch(r"[a-zA-Z0-9_-]+", added.call_id)  # the pattern the service requires of a call_id
        finished = next(e for e in events if e.type == "response.function_call_arguments.done")
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        assert finished.arguments == deltas and finished.call_id == added.call_id
        arguments = orjson.loads(finished.arguments)
        jsonschema.validate(arguments, WEATHER["parameters"])
        assert arguments["city"] == "Paris"
        assert done.status == "completed" and [o.call_id for o in done.output] == [added.call_id]

        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": added.call_id, "output": '{"temperature": 21}'}
        )
        stored = await sdk.until("conversation.item.done")
        assert stored[-1].item.type == "function_call_output"
        # The mock waits for response.create, as the service does: the next event answers the next request.
        await conn.conversation.item.retrieve(item_id=stored[-1].item.id)
        assert (await sdk.next()).type == "conversation.item.retrieved"

        await conn.response.create()
        answer = await sdk.until("response.done")
        text = "".join(e.delta for e in answer if e.type == "response.output_text.delta")
        assert text == 'The tool get_weather returned: {"temperature": 21}'
        assert answer[-1].response.output[0].type == "message"


async def test_sdk_output_for_a_wrong_call_id_is_refused():
    """The service's answer to an output for a call it never made: `invalid_tool_call_id`, "Tool call
    ID '…' not found in conversation.", param null (livekit/agents#3344)."""
    async with MockServer(MockConfig(realtime=False)) as server, await connect(server) as conn:
        sdk = SdkClient(conn)
        await ask_for_the_weather(sdk)
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": "call_made_up", "output": "sunny"}, event_id="evt_out"
        )
        error = (await sdk.until("error"))[-1]
        assert error.error.code == "invalid_tool_call_id"
        assert error.error.message == "Tool call ID 'call_made_up' not found in conversation."
        assert error.error.param is None and error.error.event_id == "evt_out"
        # The output was not stored: the next response calls the tool again rather than quote it.
        await conn.response.create()
        again = await sdk.until("response.done")
        assert [o.type for o in again[-1].response.output] == ["function_call"]


async def test_sdk_mcp_call_with_approval():
    """An MCP server's tools are listed, a call is asked for approval (`mcp_approval_request`), the
    client approves (`mcp_approval_response`) and sends `response.create`, and the response carries out
    the call (`mcp_call` with its arguments and output) and answers with it: the SDK's MCP event types."""
    docs = {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp", "require_approval": "always"}
    async with MockServer(MockConfig(realtime=False, mcp_tools=("search_docs",))) as server, await connect(server) as conn:
        sdk = SdkClient(conn)
        assert (await sdk.next()).type == "session.created"
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [docs]})
        listing = await sdk.until("conversation.item.done")
        assert [e.type for e in listing] == [
            "session.updated",
            "conversation.item.added",
            "mcp_list_tools.in_progress",
            "mcp_list_tools.completed",
            "conversation.item.done",
        ]
        assert [t.name for t in listing[-1].item.tools] == ["search_docs"]

        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Search docs for pricing"}]}
        )
        await sdk.until("conversation.item.done")
        await conn.response.create()
        asked = (await sdk.until("response.done"))[-1].response.output
        assert [o.type for o in asked] == ["mcp_approval_request"] and asked[0].name == "search_docs"

        await conn.conversation.item.create(
            item={"type": "mcp_approval_response", "approval_request_id": asked[0].id, "approve": True}
        )
        await sdk.until("conversation.item.done")
        await conn.response.create()
        events = await sdk.until("response.done")
        kinds = [e.type for e in events]
        assert kinds.index("response.mcp_call_arguments.done") < kinds.index("response.mcp_call.in_progress")
        assert kinds.index("response.mcp_call.in_progress") < kinds.index("response.mcp_call.completed")
        call, answer = events[-1].response.output
        assert call.type == "mcp_call" and call.approval_request_id == asked[0].id and call.arguments == asked[0].arguments
        assert answer.type == "message" and answer.content[0].text == f"The tool search_docs returned: {call.output}"
