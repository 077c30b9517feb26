"""Function calls in the TUI over the real engine process: a call rtui has no answer for is answered
from the answer prompt (`a`), and the transcript shows the call, its output and the model's answer."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, wait_for
from engine_support import ToolServer
from tui.app.screens.modals import Prompt
from tui.app.widgets.transcript import Transcript
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.engine.tools import ToolBook

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}


async def test_the_answer_prompt_sends_the_output_and_the_model_answers(tmp_path: Path) -> None:
    async with ToolServer() as server:
        config = EngineConfig(
            Endpoint(url=server.url, kind="live"), audio=AudioSettings(input="none", output="null"),
            record_dir=tmp_path, tools=ToolBook((WEATHER,)), texts=["Weather in Paris?"], stay_after_close=True,
        )
        engine = EngineProcess(config)
        async with on_screen(engine) as (_, app, pilot):
            await wait_for(pilot, lambda: bool(engine.state.unanswered_calls))
            await pilot.press("a")
            prompt = app.screen
            assert isinstance(prompt, Prompt)
            assert "Answer get_weather (call_" in prompt.title_text and '"city": "Paris"' in prompt.notes
            await pilot.press(*"sunny", "enter")
            await wait_for(pilot, lambda: any(e.text == "The tool said: sunny" for e in engine.state.transcript))
            await pilot.pause(0.1)
            shown = app.screen.query_one(Transcript).plain
            assert 'call  > get_weather({"city": "Paris"})\n        → sunny' in shown
            assert engine.state.unanswered_calls == []
            await pilot.press("a")  # nothing left to answer: a notice, no prompt
            assert not isinstance(app.screen, Prompt)
            await pilot.press("q")
    assert [event["type"] for event in server.received][3:] == ["conversation.item.create", "response.create"]
    assert server.received[3]["item"]["output"] == "sunny"
