"""The engine's tool loop against the mock: calls answered from --tools (a fixed output, a command), the
follow-up response.create once the calling response is done (one for parallel calls), calls left for
the user, and the stall on purpose ("respond": false)."""

from __future__ import annotations

import asyncio
import sys

import orjson

from tests.engine_support import engine_config, mock_server
from tui.engine.commands import AnswerCall
from tui.engine.session import Engine
from tui.engine.tools import ToolAnswer, ToolBook

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CONVERT = {
    "type": "function",
    "name": "convert_temperature",
    "description": "Converts Celsius to Fahrenheit",
    "parameters": {"type": "object", "properties": {"celsius": {"type": "number"}}, "required": ["celsius"]},
}
ASK = "What is the weather in Paris?"


def book(answer: ToolAnswer | None = None, *more: tuple[dict, ToolAnswer]) -> ToolBook:
    definitions = (WEATHER, *(tool for tool, _ in more))
    answers = ((("get_weather", answer),) if answer else ()) + tuple((tool["name"], a) for tool, a in more)
    return ToolBook(definitions, answers)


def sent(engine: Engine) -> list[dict]:
    assert engine.state.recording_path
    records = [orjson.loads(line) for line in open(engine.state.recording_path, "rb")][1:]
    return [orjson.loads(r["text"]) for r in records if r["kind"] == "frame" and r["dir"] == "c2s"]


def types(engine: Engine) -> list[str]:
    return [event["type"] for event in sent(engine)]


async def run(tmp_path, tools: ToolBook, text: str = ASK, **overrides) -> Engine:
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, texts=[text], finish_when_input_ends=True, tools=tools)
        for key, value in overrides.items():
            setattr(config, key, value)
        engine = Engine(config)
        await asyncio.wait_for(engine.run(), 30)
    return engine


async def test_a_fixed_answer_goes_back_and_the_model_answers(tmp_path):
    engine = await run(tmp_path, book(ToolAnswer(output='{"temperature_c": 18}')))
    assert types(engine) == [
        "session.update",
        "conversation.item.create",
        "response.create",
        "conversation.item.create",
        "response.create",
    ]
    events = sent(engine)
    assert events[0]["session"]["tools"] == [WEATHER]
    call, answer = engine.state.transcript[1], engine.state.transcript[2]
    assert events[3]["item"] == {"type": "function_call_output", "call_id": call.item_id, "output": '{"temperature_c": 18}'}
    assert engine.outcome == "finished"
    assert call.role == "call" and call.text.startswith("get_weather({") and call.output == '{"temperature_c": 18}'
    assert answer.text.startswith('The tool get_weather returned: {"temperature_c": 18}')


async def test_parallel_calls_get_one_follow_up_after_the_response_is_done(tmp_path):
    tools = book(ToolAnswer(output="sunny"), (CONVERT, ToolAnswer(output="64.4")))
    engine = await run(
        tmp_path,
        tools,
        "What is the weather in Paris? And convert temperature 18 to Fahrenheit.",
        session={"parallel_tool_calls": True},
    )
    assert types(engine)[3:] == ["conversation.item.create", "conversation.item.create", "response.create"]
    assert {entry.output for entry in engine.state.transcript if entry.role == "call"} == {"sunny", "64.4"}


async def test_a_command_answers_with_what_it_prints(tmp_path):
    script = "import json, sys; print(json.dumps({'doubled': json.load(sys.stdin)['celsius'] * 2}))"
    answer = ToolAnswer(command=(sys.executable, "-c", script), cwd=str(tmp_path))
    engine = await run(tmp_path, ToolBook((CONVERT,), (("convert_temperature", answer),)), "Convert temperature 18, please.")
    (call,) = [entry for entry in engine.state.transcript if entry.role == "call"]
    celsius = orjson.loads(call.text.removeprefix("convert_temperature(").removesuffix(")"))["celsius"]
    assert orjson.loads(sent(engine)[3]["item"]["output"]) == {"doubled": celsius * 2}


async def test_without_an_answer_headless_leaves_the_call_and_says_so(tmp_path):
    engine = await run(tmp_path, book())
    assert types(engine) == ["session.update", "conversation.item.create", "response.create"]
    assert [call.name for call in engine.state.unanswered_calls] == ["get_weather"]
    assert any("no answer for it: it stays unanswered" in notice for notice in engine.state.notices)


async def test_the_user_answers_a_call(tmp_path):
    async with mock_server() as server:
        engine = Engine(engine_config(server.url_for(), tmp_path, texts=[ASK], tools=book()))
        running = asyncio.create_task(engine.run())
        while not engine.state.unanswered_calls:
            await asyncio.sleep(0.02)
        (call,) = engine.state.unanswered_calls
        engine.submit(AnswerCall(call.call_id, "rainy"))
        while not any(entry.text.startswith("The tool get_weather returned: rainy") for entry in engine.state.transcript):
            await asyncio.sleep(0.02)
        engine.stop()
        await asyncio.wait_for(running, 10)
    assert types(engine)[3:] == ["conversation.item.create", "response.create"]
    assert engine.state.unanswered_calls == []


async def test_respond_false_reproduces_the_stall(tmp_path):
    engine = await run(tmp_path, book(ToolAnswer(output="sunny", respond=False)), response_timeout_s=0.5)
    assert types(engine) == ["session.update", "conversation.item.create", "response.create", "conversation.item.create"]
    assert any("No response within" in notice for notice in engine.state.notices)
    assert engine.state.close is not None and engine.state.close.closed_by == "client"


async def test_an_answer_for_a_call_id_the_server_never_made_is_refused_and_diagnosed(tmp_path):
    from tui.diagnose import diagnose

    async with mock_server() as server:
        engine = Engine(engine_config(server.url_for(), tmp_path, texts=["Hello"]))
        running = asyncio.create_task(engine.run())
        while not any(entry.role == "assistant" and entry.done for entry in engine.state.transcript):
            await asyncio.sleep(0.02)
        engine.submit(AnswerCall("call_made_up", "sunny"))
        while not engine.state.counters.server_errors:
            await asyncio.sleep(0.02)
        engine.stop()
        await asyncio.wait_for(running, 10)
    assert engine.state.recording_path
    finding = diagnose(engine.state.recording_path).finding("tool-call-id-unknown")
    assert finding.details == {"call_id": "call_made_up"} and len(finding.evidence) == 2
