"""The usage table (`u`): each response.done's tokens (input text / audio / cached, output text /
audio) and cost, the session's sum, and input transcription counted apart; over a recording whose
usage is known, and live over the real engine process and the mock."""

from __future__ import annotations

from pathlib import Path

import orjson

from app_support import FrozenEngine, on_screen, wait_for
from tui.app.app import RtuiApp
from tui.app.screens.modals import ReportScreen
from tui.app.screens.recording import RecordingScreen
from tui.app.settings import UISettings
from tui.engine.commands import SendText
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess

HEADER = {
    "kind": "header",
    "schema": "rtui.session/1",
    "tool": "rtui",
    "version": "0.1.0",
    "started_at": "2026-12-06T21:00:00+00:00",
    "url": "ws://127.0.0.1:1/v1/realtime?model=gpt-realtime",
    "mode": "mock",
    "redaction": [],
}
EVENTS = [
    {"type": "session.created", "session": {"type": "realtime", "id": "sess_1", "model": "gpt-realtime"}},
    {
        "type": "response.done",
        "response": {
            "id": "resp_first",
            "status": "completed",
            "usage": {
                "total_tokens": 1300,
                "input_tokens": 1000,
                "output_tokens": 300,
                "input_token_details": {
                    "text_tokens": 400,
                    "audio_tokens": 600,
                    "cached_tokens": 500,
                    "cached_tokens_details": {"text_tokens": 300, "audio_tokens": 200},
                },
                "output_token_details": {"text_tokens": 50, "audio_tokens": 250},
            },
        },
    },
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_1",
        "content_index": 0,
        "transcript": "hello",
        "usage": {"type": "tokens", "total_tokens": 52, "input_tokens": 40, "output_tokens": 12},
    },
    {
        "type": "response.done",
        "response": {
            "id": "resp_second",
            "status": "completed",
            "usage": {
                "total_tokens": 300,
                "input_tokens": 200,
                "output_tokens": 100,
                "input_token_details": {"text_tokens": 200, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 100, "audio_tokens": 0},
            },
        },
    },
]


def known_recording(path: Path) -> Path:
    lines = [orjson.dumps(HEADER)]
    for seq, event in enumerate(EVENTS, 1):
        text = orjson.dumps(event).decode()
        lines.append(
            orjson.dumps(
                {
                    "seq": seq,
                    "t_ns": seq * 1_000_000,
                    "conn": 1,
                    "kind": "frame",
                    "dir": "s2c",
                    "opcode": "text",
                    "text": text,
                    "size": len(text),
                    "type": event["type"],
                }
            )
        )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def table_of(app: RtuiApp) -> list[str]:
    assert isinstance(app.screen, ReportScreen)
    return str(app.screen.query_one("#report-text").render()).splitlines()


async def test_usage_per_response_summed_with_cost_over_a_known_recording(tmp_path: Path) -> None:
    recording = known_recording(tmp_path / "known.jsonl")
    app = RtuiApp(FrozenEngine(), settings=UISettings())  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("o", *str(recording), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecordingScreen) and app.screen.loaded)
        await pilot.press("u")
        table = table_of(app)
        assert table[0].split() == ["#", "in", "text", "audio", "cached", "out", "text", "audio", "cost", "response"]
        # gpt-realtime per 1M: text in 4, cached 0.4, audio in 32, text out 16, audio out 64.
        assert table[1].split() == ["1", "1000", "400", "600", "500", "300", "50", "250", "$0.0302", "resp_first"]
        assert table[2].split() == ["2", "200", "200", "0", "0", "100", "100", "0", "$0.0024", "resp_second"]
        assert table[3].split()[:9] == ["all", "1200", "600", "600", "500", "400", "150", "250", "$0.033"]
        assert table[-2:] == ["Input transcription (billed apart, not priced):", "  1 item, 40 tokens in, 12 out"]
        await pilot.press("u")  # the key that opened it closes it
        assert isinstance(app.screen, RecordingScreen)


async def test_usage_table_live_over_the_engine_process(tmp_path: Path) -> None:
    config = EngineConfig(
        Endpoint(url="", kind="mock"),
        audio=AudioSettings(input="none", output="null"),
        record_dir=tmp_path,
        stay_after_close=True,
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        await pilot.press("u")
        assert table_of(app) == ["no response.done with usage yet"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: engine.state.phase == "open")
        engine.submit(SendText("Hello"))
        await wait_for(pilot, lambda: len(app.live_screen.usage.per_response) == 1)
        await pilot.press("u")
        first, total = table_of(app)[1:3]
        # The mock's usage: 100 text tokens in; out, a text token a word and an audio token per 20 ms.
        assert first.split()[1:4] == ["100", "100", "0"] and first.split()[-1].startswith("resp_")
        assert total.split()[0] == "all" and total.split()[8] == engine.state.counters.usage_cost
        await pilot.press("escape", "q")
