"""The engine's tool loop: calls answered from --tools (a fixed output, a command), the follow-up
response.create once the calling response is done, calls left for the user, and the stall on purpose."""

from __future__ import annotations

import asyncio
import sys

import orjson

from tests.engine_support import ToolServer, engine_config
from tui.engine.commands import AnswerCall
from tui.engine.session import Engine
from tui.engine.tools import ToolAnswer, ToolBook

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}


def book(answer: ToolAnswer | None = None) -> ToolBook:
    return ToolBook((WEATHER,), (("get_weather", answer),) if answer else ())


def sent(server: ToolServer) -> list[str]:
    return [event["type"] for event in server.received]


async def run(server: ToolServer, tmp_path, tools: ToolBook, **overrides) -> Engine:
    config = engine_config(server.url, tmp_path, texts=["Weather in Paris?"], finish_when_input_ends=True, tools=tools)
    for key, value in overrides.items():
        setattr(config, key, value)
    engine = Engine(config)
    await asyncio.wait_for(engine.run(), 30)
    return engine


async def test_a_fixed_answer_goes_back_and_the_model_answers(tmp_path):
    async with ToolServer() as server:
        engine = await run(server, tmp_path, book(ToolAnswer(output='{"temperature_c": 18}')))
    assert sent(server) == [
        "session.update", "conversation.item.create", "response.create", "conversation.item.create", "response.create",
    ]
    assert server.received[0]["session"]["tools"] == [WEATHER]
    output = server.received[3]["item"]
    assert output == {"type": "function_call_output", "call_id": "call_0009", "output": '{"temperature_c": 18}'}
    assert engine.outcome == "finished"
    call, answer = engine.state.transcript[1], engine.state.transcript[2]
    assert (call.role, call.text, call.output) == ("call", 'get_weather({"city": "Paris"})', '{"temperature_c": 18}')
    assert answer.text == 'The tool said: {"temperature_c": 18}'


async def test_parallel_calls_get_one_follow_up_after_the_response_is_done(tmp_path):
    async with ToolServer(calls=2) as server:
        await run(server, tmp_path, book(ToolAnswer(output="sunny")))
    assert sent(server)[3:] == ["conversation.item.create", "conversation.item.create", "response.create"]


async def test_a_command_answers_with_what_it_prints(tmp_path):
    script = "import json, sys; print(json.dumps({'got': json.load(sys.stdin)['city']}))"
    answer = ToolAnswer(command=(sys.executable, "-c", script), cwd=str(tmp_path))
    async with ToolServer() as server:
        await run(server, tmp_path, book(answer))
    assert server.received[3]["item"]["output"] == '{"got": "Paris"}'


async def test_without_an_answer_headless_leaves_the_call_and_says_so(tmp_path):
    async with ToolServer() as server:
        engine = await run(server, tmp_path, book())
    assert sent(server) == ["session.update", "conversation.item.create", "response.create"]
    assert [call.name for call in engine.state.unanswered_calls] == ["get_weather"]
    assert any("no answer for it: it stays unanswered" in notice for notice in engine.state.notices)


async def test_the_user_answers_a_call_with_a_command(tmp_path):
    async with ToolServer() as server:
        config = engine_config(server.url, tmp_path, texts=["Weather in Paris?"], tools=book())
        engine = Engine(config)
        running = asyncio.create_task(engine.run())
        while not engine.state.unanswered_calls:
            await asyncio.sleep(0.02)
        (call,) = engine.state.unanswered_calls
        engine.submit(AnswerCall(call.call_id, "rainy"))
        while len(engine.state.transcript) < 3:
            await asyncio.sleep(0.02)
        engine.stop()
        await asyncio.wait_for(running, 10)
    assert sent(server)[3:] == ["conversation.item.create", "response.create"]
    assert engine.state.unanswered_calls == [] and engine.state.transcript[2].text == "The tool said: rainy"


async def test_respond_false_reproduces_the_stall(tmp_path):
    async with ToolServer() as server:
        engine = await run(server, tmp_path, book(ToolAnswer(output="sunny", respond=False)), response_timeout_s=0.5)
    assert sent(server) == ["session.update", "conversation.item.create", "response.create", "conversation.item.create"]
    assert any("No response within" in notice for notice in engine.state.notices)
    records = [orjson.loads(line) for line in open(engine.state.recording_path, "rb")]
    assert records[-1]["kind"] == "end" and records[-1]["closed_by"] == "client"
