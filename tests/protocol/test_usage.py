"""Usage and cost: every response.done's usage summed per response and for the session, priced from
the price table (overridable with RTUI_PRICES), shown on the TUI's stats line, at the end of
`rtui --headless`, and after `rtui show`'s timeline; input transcription counted apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app_support import on_screen, wait_for
from cli_support import rtui
from diagnose_support import Script, session_created
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.protocol.prices import PriceError, load_prices
from tui.protocol.usage import UsageTotals, token_counts
from tui.wire.reader import SessionReader

# Two responses with every kind of token, and a transcription; the costs below are worked by hand
# from the built-in gpt-realtime row (USD per 1M: text 4 / cached 0.4 / out 16, audio 32 / 0.4 / 64).
FIRST = {
    "total_tokens": 1300,
    "input_tokens": 1000,
    "output_tokens": 300,
    "input_token_details": {
        "text_tokens": 400,
        "audio_tokens": 600,
        "cached_tokens": 500,
        "cached_tokens_details": {"text_tokens": 200, "audio_tokens": 300},
    },
    "output_token_details": {"text_tokens": 50, "audio_tokens": 250},
}
# (400-200)*4 + 200*0.4 + (600-300)*32 + 300*0.4 + 50*16 + 250*64 = 800+80+9600+120+800+16000 = 27400 µ$
SECOND = {
    "total_tokens": 220,
    "input_tokens": 120,
    "output_tokens": 100,
    "input_token_details": {"text_tokens": 120, "audio_tokens": 0, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 100, "audio_tokens": 0},
}
# 120*4 + 100*16 = 2080 µ$; the session: 29480 µ$ = $0.02948
TRANSCRIPTION = {
    "type": "tokens",
    "input_tokens": 30,
    "output_tokens": 7,
    "total_tokens": 37,
    "input_token_details": {"audio_tokens": 30, "text_tokens": 0},
}


def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str = "gpt-realtime-2025-08-28") -> Path:
    script = Script(tmp_path / "usage.jsonl", monkeypatch).handshake()
    script.at(0.1).receive(session_created(model=model))
    script.at(1.0).receive(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e2",
            "item_id": "item_1",
            "content_index": 0,
            "transcript": "hi",
            "usage": TRANSCRIPTION,
        }
    )
    for at, rid, usage in ((2.0, "resp_1", FIRST), (4.0, "resp_2", SECOND)):
        script.at(at).receive(
            {
                "type": "response.done",
                "event_id": f"e{at}",
                "response": {"object": "realtime.response", "id": rid, "status": "completed", "usage": usage},
            }
        )
    script.at(5.0).close("c2s", 1000)
    script.end(1000, "client")
    return script.done()


def totals_of(path: Path, prices_path: str | None = None) -> UsageTotals:
    totals = UsageTotals(load_prices(prices_path))
    with SessionReader(path) as reader:
        totals.on_record(reader.header)
        for record in reader:
            totals.on_record(record)
    return totals


def test_totals_and_cost_of_a_recording_whose_usage_is_known(tmp_path, monkeypatch):
    totals = totals_of(recording(tmp_path, monkeypatch))
    assert totals.model == "gpt-realtime-2025-08-28"  # a dated snapshot, priced as gpt-realtime
    assert [r.response_id for r in totals.per_response] == ["resp_1", "resp_2"]
    assert [round(r.cost * 1e6) for r in totals.per_response] == [27400, 2080]
    t = totals.tokens
    assert (t.input, t.output, t.total) == (1120, 400, 1520)
    assert (t.text_in, t.cached_text_in, t.audio_in, t.cached_audio_in, t.text_out, t.audio_out) == (520, 200, 600, 300, 150, 250)
    assert round(totals.cost * 1e6) == 29480 and totals.cost_text() == "$0.029"
    # Transcription is counted apart, not in the response totals.
    assert (totals.transcription.count, totals.transcription.input_tokens, totals.transcription.output_tokens) == (1, 30, 7)


def test_an_unknown_model_has_no_price_but_its_tokens_count(tmp_path, monkeypatch):
    totals = totals_of(recording(tmp_path, monkeypatch, model="some-future-model"))
    assert totals.tokens.total == 1520 and totals.cost_text() == "$?"
    assert "(no price for some-future-model)" in totals.summary()


def test_a_price_file_overrides_one_model_and_keeps_the_rest(tmp_path, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "date": "2030-01-01",
                "source": "my contract",
                "models": {"gpt-realtime": {"text_in": 1, "text_out": 1, "audio_in": 1, "audio_out": 1}},
            }
        )
    )
    totals = totals_of(recording(tmp_path, monkeypatch), str(prices))
    # Cached input not given: free. 320 + 300 uncached input, 150 + 250 output, at $1 per 1M.
    assert round(totals.cost * 1e6) == 1020
    table = load_prices(str(prices))
    assert table.date == "2030-01-01" and table.rates("gpt-realtime-2.1-mini") == load_prices().rates("gpt-realtime-2.1-mini")


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not JSON"),
        ('{"models": {"gpt-realtime": {"text_inn": 4}}}', "unknown price 'text_inn'"),
        ('{"models": {"gpt-realtime": {"text_in": "4"}}}', "text_in must be a price"),
        ("[1]", 'expected an object with "models"'),
    ],
)
def test_a_bad_price_file_is_one_line_and_status_2(tmp_path, content, message):
    prices = tmp_path / "prices.json"
    prices.write_text(content)
    with pytest.raises(PriceError, match=message):
        load_prices(str(prices))
    result = rtui("show", "nothing.jsonl", cwd=tmp_path, RTUI_PRICES=str(prices))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"rtui: RTUI_PRICES: {prices}: ")


def test_the_built_in_table_names_its_date_and_source():
    data = json.loads((Path(__file__).resolve().parents[2] / "tui" / "protocol" / "prices.json").read_text())
    assert data["date"] and data["source"].startswith("https://")
    table = load_prices()
    for model in ("gpt-realtime", "gpt-realtime-mini"):
        assert table.rates(model) is not None


def test_show_prints_each_response_and_the_session_total(tmp_path, monkeypatch):
    path = recording(tmp_path, monkeypatch)
    result = rtui("show", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tail = result.stdout.splitlines()[-3:]
    assert tail == [
        "usage resp_1: in 1000 (text 400, audio 600, cached 500) out 300 (text 50, audio 250) $0.0274",
        "usage resp_2: in 120 (text 120, audio 0, cached 0) out 100 (text 100, audio 0) $0.0021",
        "usage: 2 responses, 1520 tokens (in 1120: text 520, audio 600, cached 500; out 400: text 150, audio 250), "
        "cost $0.029; input transcription 30 in / 7 out tokens (not priced)",
    ]
    as_json = rtui("show", "--json", str(path), cwd=tmp_path)
    assert all(line.startswith("{") for line in as_json.stdout.splitlines())  # --json stays one record a line


# The mock's usage for its answer to one text message (tui/mock/session.py): 100 text tokens in; out,
# a token a word of "Hello from the rtui mock server." and one per 20 ms of its voice. At gpt-realtime's
# prices: 100*4 + 6*16 + 102*64 = 7024 µ$.
MOCK_TURN = "usage: 1 response, 208 tokens (in 100: text 100, audio 0, cached 0; out 108: text 6, audio 102), cost $0.007"


def test_headless_ends_with_the_session_totals(tmp_path):
    result = rtui("--headless", "--input", "none", "--output", "null", "--text", "Hello", "--no-record", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == MOCK_TURN and lines[-1].startswith("session ended:")


async def test_the_stats_line_shows_tokens_and_cost_after_a_response(tmp_path):
    config = EngineConfig(
        Endpoint(url="", kind="mock"), audio=AudioSettings(input="none", output="null"), record_dir=tmp_path, texts=["Hello"]
    )
    engine = EngineProcess(config)
    async with on_screen(engine) as (runner, app, pilot):
        stats = app.screen.query_one("#stats")
        await wait_for(pilot, lambda: "tok 208 $0.007" in str(stats.render()))
        await pilot.press("q")


def test_wrong_typed_usage_counts_nothing_and_breaks_nothing():
    totals = UsageTotals(load_prices())
    hostile = [
        {"type": ["response.done"]},
        {
            "type": "response.done",
            "response": {
                "usage": {
                    "input_tokens": "9",
                    "output_tokens": True,
                    "input_token_details": [1],
                    "output_token_details": {"audio_tokens": -5},
                }
            },
        },
        {"type": "response.done", "response": {"usage": 5}},
        {"type": "session.updated", "session": {"model": ["x"]}},
        {"type": "conversation.item.input_audio_transcription.completed", "usage": {"type": "duration", "seconds": "1"}},
    ]
    for event in hostile:
        totals.on_record(
            {"kind": "frame", "dir": "s2c", "conn": 1, "t_ns": 0, "size": 1, "opcode": "text", "text": json.dumps(event)}
        )
    assert totals.responses == 1 and totals.tokens.total == 0 and totals.cost_text() == "$?"  # no model named
    assert totals.transcription.count == 1 and totals.transcription.seconds == 0
    # Cached tokens without their split: text first, the rest audio.
    counts = token_counts(
        {"input_tokens": 30, "input_token_details": {"text_tokens": 10, "audio_tokens": 20, "cached_tokens": 25}}
    )
    assert (counts.cached_text_in, counts.cached_audio_in) == (10, 15)
