"""Function calls in the TUI over the real engine process and the embedded mock: a call rtui has no
answer for is answered from the answer prompt (`a`), and the transcript shows the call, its output and
the model's answer."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, read_records, wait_for
from tui.app.screens.modals import Prompt
from tui.app.widgets.transcript import Transcript
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.engine.tools import ToolBook

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def test_the_answer_prompt_sends_the_output_and_the_model_answers(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        mock_options={"realtime": False},
        tools=ToolBook((WEATHER,)),
        texts=["What is the weather in Paris?"],
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (_, app, pilot):
        await wait_for(pilot, lambda: bool(engine.state.unanswered_calls))
        (call,) = engine.state.unanswered_calls
        await pilot.press("a")
        prompt = app.screen
        assert isinstance(prompt, Prompt)
        assert f"Answer get_weather ({call.call_id})" in prompt.title_text and '"city": ' in prompt.notes
        await pilot.press(*"sunny", "enter")
        answer = "The tool get_weather returned: sunny"
        await wait_for(pilot, lambda: any(e.text.startswith(answer) for e in engine.state.transcript))
        await wait_for(pilot, lambda: "→ sunny" in app.screen.query_one(Transcript).plain)
        shown = app.screen.query_one(Transcript).plain
        assert f"call  > get_weather({call.arguments})\n        → sunny" in shown
        assert engine.state.unanswered_calls == []
        await pilot.press("a")  # nothing left to answer: a notice, no prompt
        assert not isinstance(app.screen, Prompt)
        await pilot.press("q")
    (recording,) = tmp_path.glob("*.jsonl")
    sent = [r for r in read_records(recording) if r["kind"] == "frame" and r["dir"] == "c2s"]
    assert [r["type"] for r in sent][-2:] == ["conversation.item.create", "response.create"]
    assert f'"call_id":"{call.call_id}","output":"sunny"' in sent[-2]["text"]
