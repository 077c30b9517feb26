"""A replay is loud: a changed field is caught at the right position with a readable diff and the
session is closed with the documented code; normalization keeps harmless differences quiet; a
recording cut off by a crash replays up to its last complete record and says so."""

from __future__ import annotations

import orjson

from tests.replay_support import end_of, example, fill_disk_after, recorded_items, records, rewrite
from tui.replay.client import replay_client
from tui.replay.full import full_replay
from tui.replay.report import DIVERGENCE_CODE, DIVERGENCE_REASON, TRUNCATED_CODE, TRUNCATED_REASON
from tui.replay.script import load_script
from tui.replay.serve import serve_recording
from tui.replay.timing import Timing
from tui.wire.writer import SessionWriter


def edit_event(record: dict, kind: str, **changes) -> dict:  # type: ignore[type-arg]
    """Changes fields of the client event of type `kind` (its text, byte for byte otherwise)."""
    if record.get("kind") == "frame" and record.get("dir") == "c2s" and record.get("type") == kind:
        event = orjson.loads(record["text"])
        event.update(changes)
        record["text"] = orjson.dumps(event).decode()
    return record


async def test_a_changed_field_is_caught_at_its_position_with_a_readable_diff(tmp_path):
    original = load_script(example("voice-turn-barge-in"))
    changed = load_script(
        rewrite(
            example("voice-turn-barge-in"),
            tmp_path / "changed.jsonl",
            lambda r: edit_event(r, "conversation.item.truncate", audio_end_ms=301),
        )
    )
    position = next(i for i, item in enumerate(recorded_items(original, "c2s")) if item.type == "conversation.item.truncate")
    async with serve_recording(original, timeout=5) as served:
        with SessionWriter(tmp_path / "client.jsonl", mode="replay", url=served.url) as writer:
            client = await replay_client(changed, served.url, timeout=5, writer=writer)
        server = await served.next_outcome(5)

    divergence = server.divergence
    assert divergence is not None and divergence.direction == "c2s"
    assert divergence.index == position
    assert divergence.expected is not None and divergence.expected.seq == recorded_items(original, "c2s")[position].seq
    report = divergence.report()
    assert f"client frame #{position + 1}" in report
    assert '-  "audio_end_ms": 300,' in report and '+  "audio_end_ms": 301,' in report
    assert "conversation.item.truncate differs from the recording in audio_end_ms" in report
    # The server closed the replay with the documented code instead of waiting.
    assert (client.close_code, client.close_reason) == (DIVERGENCE_CODE, DIVERGENCE_REASON)
    end = end_of(tmp_path / "client.jsonl")
    assert end["closed_by"] == "server" and (end["code"], end["reason"]) == (DIVERGENCE_CODE, DIVERGENCE_REASON)
    # What the recording still had in store is listed, not silently dropped.
    assert [s.kind for s in server.not_sent] and all(s.direction == "s2c" for s in server.not_sent)


async def test_a_missing_frame_names_the_recorded_frame_it_matches(tmp_path):
    # The client skips its session.update: its audio arrives where the update was expected.
    changed = load_script(
        rewrite(
            example("fault-close-4001"),
            tmp_path / "skipped.jsonl",
            lambda r: {**r, "conn": 99} if r.get("type") == "session.update" else r,
        )
    )
    original = load_script(example("fault-close-4001"))
    async with serve_recording(original, timeout=5) as served:
        await replay_client(changed, served.url, timeout=5)
        server = await served.next_outcome(5)
    divergence = server.divergence
    assert divergence is not None and divergence.index == 0
    assert "expected session.update, got appended audio" in divergence.message
    # The nearest recorded candidate is the audio the recording has next.
    assert "nearest recorded client frame: #2" in divergence.report()
    assert server.not_received and server.not_received[0][1].type == "session.update"


async def test_event_ids_and_audio_chunking_do_not_count_as_differences(tmp_path):
    # Same events with other event_ids, and the appended audio re-cut into different chunks.
    original = load_script(example("story6-commit-empty"))

    def recut(record: dict) -> dict:  # type: ignore[type-arg]
        return edit_event(record, "input_audio_buffer.commit", event_id="evt_something_else")

    changed = load_script(rewrite(example("story6-commit-empty"), tmp_path / "ids.jsonl", recut))
    async with serve_recording(original, timeout=5) as served:
        client = await replay_client(changed, served.url, timeout=5)
        server = await served.next_outcome(5)
    assert server.ok and client.ok, (server.divergence, client.divergence)


async def test_a_client_that_waits_too_long_gets_the_timeout_close(tmp_path):
    original = load_script(example("story3-beta-fields-client-closes"))
    from websockets.asyncio.client import connect

    async with serve_recording(original, timeout=0.3) as served:
        async with connect(served.url, proxy=None) as ws:
            await ws.recv()  # session.created, then say nothing
            await ws.wait_closed()
        server = await served.next_outcome(5)
    assert ws.close_code == 4901 and ws.close_reason == "rtui.replay.timeout"
    assert server.divergence is not None and "nothing came" in server.divergence.message


async def test_a_recording_cut_off_by_a_crash_replays_up_to_its_last_complete_record(tmp_path):
    source = example("voice-turn-barge-in").read_bytes()
    cut = tmp_path / "crashed.jsonl"
    cut.write_bytes(source[: int(len(source) * 0.6)])  # the crash hits in the middle of a line
    script = load_script(cut)
    assert script.truncated and not script.ending.recorded
    result = await full_replay(script, output=tmp_path / "replayed.jsonl", timeout=5)
    report = result.report()
    assert "cut off mid-write" in report and f"seq {script.last_seq}" in report
    assert "truncated last line" in report  # the reader's FILE:LINE problem is passed on
    assert result.ok, report
    end = end_of(result.recording)
    assert (end["code"], end["reason"], end["closed_by"]) == (TRUNCATED_CODE, TRUNCATED_REASON, "server")
    assert result.comparison is not None
    replayed = load_script(result.recording)
    assert len(recorded_items(replayed, "s2c")) == len(recorded_items(script, "s2c"))


def write_recording(path, records: list[dict]) -> None:  # type: ignore[type-arg]
    header = {
        "kind": "header",
        "schema": "rtui.session/1",
        "tool": "rtui",
        "version": "test",
        "started_at": "2026-11-22T00:00:00+00:00",
        "url": "ws://127.0.0.1:1/v1/realtime?model=gpt-realtime",
        "mode": "live",
        "redaction": [],
    }
    lines = [orjson.dumps(header)]
    for seq, record in enumerate(records, 1):
        lines.append(orjson.dumps({"seq": seq, "conn": 1, **record}))
    path.write_bytes(b"\n".join(lines) + b"\n")


async def test_frames_in_flight_when_the_client_closed_are_still_replayed(tmp_path):
    # Client side: the client closed 10 ms after session.created while the server's next two events
    # were already on their way (recorded after the client's close, before the server's answer).
    ms = 1_000_000
    path = tmp_path / "in-flight.jsonl"
    write_recording(
        path,
        [
            {
                "t_ns": 1 * ms,
                "kind": "handshake_request",
                "dir": "c2s",
                "url": "ws://x/v1/realtime?model=gpt-realtime",
                "path": "/v1/realtime?model=gpt-realtime",
                "headers": [],
                "subprotocols": [],
            },
            {
                "t_ns": 2 * ms,
                "kind": "handshake_response",
                "dir": "s2c",
                "status": 101,
                "reason": "Switching Protocols",
                "headers": [],
                "subprotocol": None,
                "extensions": [],
            },
            {"t_ns": 3 * ms, "kind": "frame", "dir": "s2c", "opcode": "text", "text": '{"type":"session.created"}', "size": 26},
            {"t_ns": 13 * ms, "kind": "close", "dir": "c2s", "code": 1000, "reason": "", "by": "client", "first": True},
            {
                "t_ns": 40 * ms,
                "kind": "frame",
                "dir": "s2c",
                "opcode": "text",
                "text": '{"type":"rate_limits.updated"}',
                "size": 30,
            },
            {"t_ns": 41 * ms, "kind": "frame", "dir": "s2c", "opcode": "text", "text": '{"type":"error"}', "size": 16},
            {"t_ns": 42 * ms, "kind": "close", "dir": "s2c", "code": 1000, "reason": "", "by": "server", "first": False},
            {
                "t_ns": 43 * ms,
                "kind": "end",
                "dir": "local",
                "code": 1000,
                "reason": "",
                "closed_by": "client",
                "clean": True,
                "close_sent": {"code": 1000, "reason": ""},
                "close_rcvd": {"code": 1000, "reason": ""},
                "side": "client",
            },
        ],
    )
    script = load_script(path)
    results = [await full_replay(script, output=tmp_path / f"run{i}.jsonl", timing=Timing(1.0)) for i in range(3)]
    for result in results:
        assert result.ok, result.report()
        assert [r.get("type") for r in records(result.recording) if r["kind"] == "frame"] == [
            "session.created",
            "rate_limits.updated",
            "error",
        ]


async def test_a_new_recording_that_could_not_be_written_whole_is_not_a_match(tmp_path, monkeypatch):
    # The disk fills up after 20 lines of the new recording: the replay itself goes on, but the
    # recording it was to produce is incomplete, and the verdict says so.
    fill_disk_after(monkeypatch, 20, "full.jsonl")
    result = await full_replay(load_script(example("voice-turn-barge-in")), output=tmp_path / "full.jsonl", timeout=5)
    assert not result.ok
    report = result.report()
    assert "the new recording could not be written completely: No space left on device" in report
    assert report.endswith("MISMATCH: the replay differs from the recording")
