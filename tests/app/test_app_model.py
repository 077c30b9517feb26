"""The UI's pure parts: live run collapsing, filters, meters, inspector text, settings."""

from __future__ import annotations

import json

import pytest

from app_support import CONVERSATION, entries_of, read_records
from tui.app.inspect_model import inspector_text, readable_record
from tui.app.log_model import LiveCollapser, LogFeed, LogRow, RowFilter, search_problem, searchable_text
from tui.app.present import PeakHold, clock_text, meter_cells, session_text, stats_text, timing_text, traffic_text
from tui.app.settings import UISettings
from tui.engine.state import Counters, EngineState, LogBuffer, RecordedClock
from tui.protocol.summary import collapse


def rows_of(records) -> list[LogRow]:
    collapser = LiveCollapser()
    rows: list[LogRow] = []
    for entry in entries_of(records):
        rows.extend(collapser.push(entry)[0])
    return rows


def test_live_rows_read_like_rtui_show() -> None:
    records = read_records(CONVERSATION)
    expected = list(collapse(records))
    rows = rows_of(records)
    assert [(r.line.label, r.line.count, r.line.size, r.line.summary) for r in rows] == [
        (line.label, line.count, line.size, line.summary) for line in expected
    ]


def test_open_run_grows_in_place() -> None:
    records = [r for r in read_records(CONVERSATION) if r.get("type") == "response.output_audio.delta"]
    assert len(records) >= 3
    collapser = LiveCollapser()
    first, changed = collapser.push(entries_of(records[:1])[0])
    assert len(first) == 1 and not changed and first[0].is_open
    for entry in entries_of(records[1:]):
        assert collapser.push(entry) == ([], True)
    run = first[0]
    assert run.line.count == len(records)
    assert run.line.summary.startswith("audio ") and "wall" in run.line.summary
    assert run.last_record is records[-1]
    # The engine's own Line is untouched (other views read it).
    assert entries_of(records[:1])[0].line.count == 1


def test_a_relay_recordings_two_legs_never_share_a_run() -> None:
    # The relay records each frame twice (received on one leg, sent on the other): the log of an opened
    # proxy recording shows one append per leg, as `rtui show` does, not one run of both.
    append = next(r for r in read_records(CONVERSATION) if r.get("type") == "input_audio_buffer.append")
    records = [{**append, "seq": 1, "conn": 1}, {**append, "seq": 2, "conn": 2}]
    rows = rows_of(records)
    assert [(r.line.conn, r.line.count) for r in rows] == [(1, 1), (2, 1)]
    assert [(line.conn, line.count) for line in collapse(records)] == [(1, 1), (2, 1)]


def test_the_feed_marks_a_connection_that_starts_after_another() -> None:
    def record(seq: int, conn: int, kind: str, direction: str = "local", **fields) -> dict:
        return {"seq": seq, "t_ns": seq * 1000, "conn": conn, "kind": kind, "dir": direction, **fields}

    # A reconnect whose attempt failed before any handshake: its error starts connection 2.
    buffer = LogBuffer()
    for entry in entries_of(
        [
            record(1, 1, "handshake_request", "c2s", url="ws://x"),
            record(2, 1, "end", code=1000, reason="", closed_by="client", clean=True),
            record(3, 2, "error", message="connection refused"),
        ]
    ):
        buffer.append(entry)
    labels = [row.line.label for row in LogFeed(buffer).drain()[0]]
    assert labels == ["handshake_request", "end", "── connection 2 ──", "error"]
    # A relay's upstream leg (conn 2) is not a new connection of the session: it starts with the
    # answer to the client's handshake, and gets no marker.
    buffer = LogBuffer()
    for entry in entries_of(
        [
            record(1, 1, "handshake_request", "c2s", url="ws://x"),
            record(2, 2, "handshake_response", "s2c", status=101, reason="Switching Protocols"),
        ]
    ):
        buffer.append(entry)
    assert [row.line.label for row in LogFeed(buffer).drain()[0]] == ["handshake_request", "handshake_response"]


def test_feed_drains_in_batches_and_reports_gaps() -> None:
    records = [r for r in read_records(CONVERSATION) if r["kind"] == "frame" and r.get("type") != "response.output_audio.delta"]
    buffer = LogBuffer(capacity=5)
    for entry in entries_of(records[:4]):
        buffer.append(entry)
    feed = LogFeed(buffer, batch=2)
    assert len(feed.drain()[0]) == 2 and feed.pending == 2
    for entry in entries_of(records[4:12]):
        buffer.append(entry)  # the buffer keeps 5: three entries the view never saw are gone
    rows, _ = feed.drain()
    assert rows[0].line.label == "(not shown)" and rows[0].line.severity == "warning"
    assert "5 events" in rows[0].line.summary and feed.skipped == 5


def test_search_matches_type_summary_and_payload_and_direction() -> None:
    rows = rows_of(read_records(CONVERSATION))
    audio = RowFilter("AUDIO")  # case-insensitive, anywhere in the type, the summary or the frame
    assert [r for r in rows if audio.matches(r)] == [r for r in rows if "audio" in searchable_text(r).lower()]
    assert {"response.output_audio.delta", "input_audio_buffer.append", "session.updated"} <= {
        r.line.label for r in rows if audio.matches(r)
    }  # session.updated says audio only in its payload
    not_audio = RowFilter("!audio")
    assert [r for r in rows if not_audio.matches(r)] == [r for r in rows if not audio.matches(r)]
    created = RowFilter("re:^response\\.created$")
    assert {r.line.label for r in rows if created.matches(r)} == {"response.created"}  # ^ and $ anchor the type, the first line
    assert search_problem("re:(") is not None and search_problem("re:a+") is None and search_problem("(") is None
    c2s = RowFilter(direction="c2s")
    assert {r.line.direction for r in rows if c2s.matches(r)} == {"c2s"}
    assert RowFilter().next_direction().direction == "c2s"
    assert RowFilter(direction="local").next_direction().direction is None
    assert RowFilter("x", "c2s").next_direction() == RowFilter("x", "s2c")


def test_inspector_abbreviates_audio_but_keeps_everything_else() -> None:
    record = next(r for r in read_records(CONVERSATION) if r.get("type") == "response.output_audio.delta")
    shown = readable_record(record)
    event = json.loads(record["text"])
    assert shown["event"]["delta"].startswith("<base64 audio: ") and "4800 bytes = 100 ms" in shown["event"]["delta"]
    assert {k: v for k, v in shown["event"].items() if k != "delta"} == {k: v for k, v in event.items() if k != "delta"}
    assert event["delta"] not in inspector_text(LogRow(rows_of([record])[0].line, record))


def test_meter_cells_scale_peak_and_ticks() -> None:
    assert meter_cells(-120, -120, 20) == "....:..:...:..:...."[:20] or "#" not in meter_cells(-120, -120, 20)
    half = meter_cells(-30, -120, 20)
    assert half.startswith("#" * 10) and "#" not in half[10:]
    full = meter_cells(0, 0, 20)
    assert full == "#" * 19 + "|"
    peak = meter_cells(-60, -12, 20)
    assert peak.index("|") == 15  # -12 dBFS is 4/5 of the way up
    assert set(meter_cells(-40, -6, 30)) <= set("#.:|")


def test_peak_hold_holds_then_falls_and_clip_stays_lit() -> None:
    hold = PeakHold()
    hold.update(-6.0, False, now=0.0)
    hold.update(-30.0, False, now=1.0)
    assert hold.value == -6.0  # held
    hold.update(-30.0, False, now=2.0)
    assert -30.0 < hold.value < -6.0  # falling
    hold.update(-30.0, False, now=10.0)
    assert hold.value == -30.0
    hold.update(-0.05, True, now=11.0)
    assert hold.clipping(12.5) and not hold.clipping(13.5)


def test_timing_and_stats_text() -> None:
    state = EngineState(phase="open", opened_at=100.0, expires_at=5000.0)
    assert timing_text(state, monotonic=165.0, wall=1400.0) == "elapsed 01:05  expires in 1:00:00"
    assert clock_text(-3) == "00:00"
    # A replay at twice the recorded pace, of a session that opened with an hour to go, ten real seconds
    # in: twenty recorded seconds have passed, whatever today's date is.
    replayed = EngineState(
        phase="open",
        opened_at=100.0,
        expires_at=1_795_321_530.0,
        recorded_clock=RecordedClock(opened_wall=1_795_317_930.0, rate=2.0),
    )
    assert timing_text(replayed, monotonic=110.0, wall=1_900_000_000.0) == "elapsed 00:20  expires in 59:40"
    text = stats_text(Counters(audio_sent_seconds=1.0, send_rate=0.667, response_latency_ms=412.4, playback_underflows=3))
    assert "pace 0.67x" in text and "resp 412ms" in text and "gaps 3" in text
    # A gap is a gap to the listener, whether the network or the device was late.
    assert "gaps 5" in stats_text(Counters(playback_underflows=3, device_underruns=2))
    assert "pace -" in stats_text(Counters())  # no audio sent yet: no pace to speak of
    busy = Counters(
        send_rate=1,
        audio_sent_seconds=1,
        response_latency_ms=9999,
        jitter_buffer_ms=120,
        dropped_chunks=999,
        playback_underflows=999,
        server_errors=99,
    )
    assert len(stats_text(busy)) <= 78  # fits an 80-column terminal
    assert stats_text(busy).endswith("  err 99  tok -")  # no response's usage yet
    # A long session's tokens and cost still fit.
    long = Counters(
        send_rate=1,
        audio_sent_seconds=1,
        response_latency_ms=1234,
        jitter_buffer_ms=240,
        dropped_chunks=12,
        playback_underflows=3,
        server_errors=1,
        usage_tokens=123_456,
        usage_cost="$12.35",
    )
    assert stats_text(long).endswith("  tok 123.5k $12.35") and len(stats_text(long)) <= 78
    assert traffic_text("tx", 180_000, 99_900_000) == "tx 180000fr 99.9M"
    assert traffic_text("rx", 3, 491) == "rx 3fr 491B"


def test_settings_from_env() -> None:
    assert UISettings.from_env({}) == UISettings()
    settings = UISettings.from_env({"RTUI_REFRESH_HZ": "20", "RTUI_LOG_LINES": "1000", "RTUI_MOUSE": "0"})
    assert (settings.refresh_hz, settings.log_lines, settings.mouse) == (20.0, 1000, False)
    with pytest.raises(ValueError, match="outside 1-30 Hz"):
        UISettings.from_env({"RTUI_REFRESH_HZ": "120"})
    with pytest.raises(ValueError, match="set a number"):
        UISettings.from_env({"RTUI_LOG_LINES": "many"})


def test_session_text_says_what_the_turn_is_doing() -> None:
    state = EngineState(model="gpt-realtime", session_id="sess_1")
    assert session_text(state) == "server VAD  gpt-realtime  sess_1"
    state.user_speaking, state.response_active = True, True
    state.turn_mode, state.talking, state.muted = "push_to_talk", True, True
    assert session_text(state) == "push-to-talk (TALKING)  MUTED  SPEECH  RESPONDING  gpt-realtime  sess_1"
