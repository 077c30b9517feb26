"""A writer that holds its records (the relay's): flushes from another thread, racing with the
recording, still leave every record in the file once, in `seq` order."""

from __future__ import annotations

import asyncio
import os
import threading

import orjson

from tui.wire.reader import SessionReader
from tui.wire.writer import TURN_WRITE_LIMIT, SessionWriter


def test_records_held_and_flushed_from_another_thread_reach_the_file_in_order(tmp_path):
    writer = SessionWriter(tmp_path / "held.jsonl", mode="proxy", url="ws://127.0.0.1/v1/realtime")
    writer.hold()
    conn = writer.new_conn()
    stop = threading.Event()

    def flush_all_the_time() -> None:
        while not stop.is_set():
            writer.flush()

    flusher = threading.Thread(target=flush_all_the_time)
    flusher.start()
    try:
        for n in range(5_000):
            writer.frame(conn, "c2s", '{"type":"input_audio_buffer.append","audio":"%d"}' % n)
            if n == 2_500:
                writer.mark("half way")  # a mark syncs: what is held so far reaches the disk
    finally:
        stop.set()
        flusher.join()
    writer.close()
    with SessionReader(tmp_path / "held.jsonl") as reader:
        records = list(reader)
    assert [r["seq"] for r in records] == list(range(1, 5_002))
    frames = [r for r in records if r["kind"] == "frame"]
    assert [r["text"] for r in frames] == ['{"type":"input_audio_buffer.append","audio":"%d"}' % n for n in range(5_000)]
    assert writer.unwritten == 0


def _lines(path) -> int:  # type: ignore[no-untyped-def]
    return len(path.read_bytes().splitlines())


async def test_a_writer_writing_each_turn_has_every_record_of_a_turn_in_the_file_once_the_turn_ends(tmp_path):
    path = tmp_path / "turns.jsonl"
    writer = SessionWriter(path, mode="live", url="ws://127.0.0.1/v1/realtime")
    writer.write_each_turn()
    conn = writer.new_conn()
    for n in range(3):
        writer.frame(conn, "c2s", '{"type":"input_audio_buffer.append","audio":"%d"}' % n)
    writer.record("ping", "c2s", conn, data_b64="")
    other = threading.Thread(target=lambda: writer.frame(conn, "s2c", '{"type":"error"}'))  # off the loop's thread
    other.start()
    other.join()
    for _ in range(3):
        await asyncio.sleep(0)
    assert _lines(path) == 1 + 5  # the header and every record
    writer.close()
    with SessionReader(path) as reader:
        assert [r["seq"] for r in reader] == [1, 2, 3, 4, 5]


async def test_a_writer_held_by_its_owner_stays_held_when_a_connection_asks_for_writes_each_turn(tmp_path):
    # The relay holds its writers and flushes them off the event loop; its upstream connection's
    # request for writes each turn must not bring the writes back onto the loop.
    path = tmp_path / "relay.jsonl"
    writer = SessionWriter(path, mode="proxy", url="ws://127.0.0.1/v1/realtime")
    writer.hold()
    writer.write_each_turn()
    writer.frame(writer.new_conn(), "c2s", '{"type":"session.update"}')
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert _lines(path) == 1
    writer.flush()
    assert _lines(path) == 2
    writer.close()


async def test_a_turn_that_never_ends_still_writes_what_it_records_once_it_holds_the_write_limit(tmp_path):
    # A client streaming into a socket that never fills never yields to the event loop: its whole
    # stream is one turn. Its records must reach the file as they pile up, not at the end of the turn.
    path = tmp_path / "one-turn.jsonl"
    writer = SessionWriter(path, mode="live", url="ws://127.0.0.1/v1/realtime")
    writer.write_each_turn()
    conn = writer.new_conn()
    frames = ['{"type":"input_audio_buffer.append","event_id":"e%03d","audio":"%s"}' % (n, "A" * 1280) for n in range(300)]
    in_file = []  # after each record: how many of the turn's records are in the file
    for text in frames:  # about 420 KB, in one turn
        writer.frame(conn, "c2s", text)
        in_file.append(_lines(path) - 1)
    await asyncio.sleep(0)  # the turn ends
    record_sizes = [len(line) + 1 for line in path.read_bytes().splitlines()[1:]]
    assert len(record_sizes) == 300
    held_bytes = [sum(record_sizes[written:made]) for made, written in enumerate(in_file, 1)]
    assert max(held_bytes) < TURN_WRITE_LIMIT + max(record_sizes)
    assert in_file[-1] > 250  # most of the turn was in the file before it ended
    writer.close()


def test_a_mark_neither_waits_for_a_slow_disk_nor_stops_other_threads_recording_meanwhile(tmp_path, monkeypatch):
    # An fsync can take seconds on a busy or remote disk; a mark comes from the engine's event loop
    # (which must keep answering pings) or the UI's thread.
    path = tmp_path / "marked.jsonl"
    writer = SessionWriter(path, mode="live", url="ws://127.0.0.1/v1/realtime")
    conn = writer.new_conn()
    disk_busy, disk_done = threading.Event(), threading.Event()
    synced: list[int] = []  # the inode of each file fsynced
    policies: list[int] = []  # the scheduling policy of each thread that fsynced
    real_fsync = os.fsync

    def slow_fsync(descriptor: int) -> None:
        policies.append(os.sched_getscheduler(0))
        disk_busy.set()
        assert disk_done.wait(30), "the test never let the disk finish"
        synced.append(os.fstat(descriptor).st_ino)
        real_fsync(descriptor)

    def mark_as_the_engine_does() -> None:
        # From a real-time thread where that is permitted, as the audio engine's event loop is: the
        # fsync is background work all the same.
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
        except PermissionError:
            pass
        writer.mark("what just happened")

    monkeypatch.setattr(os, "fsync", slow_fsync)
    marking = threading.Thread(target=mark_as_the_engine_does)
    marking.start()
    marking.join(30)
    assert not marking.is_alive(), "the mark waited for the fsync"
    assert disk_busy.wait(30)  # the fsync has started, and waits
    recorded = threading.Thread(target=writer.frame, args=(conn, "c2s", '{"type":"input_audio_buffer.commit"}'))
    recorded.start()
    recorded.join(30)
    assert not recorded.is_alive(), "recording waited for the fsync"
    kinds = [orjson.loads(line)["kind"] for line in path.read_bytes().splitlines()]
    assert kinds == ["header", "mark", "frame"]  # both in the file while the disk is still busy
    assert synced == []
    disk_done.set()
    for thread in threading.enumerate():
        if thread.name == "rtui-mark-fsync":
            thread.join(30)
    assert synced == [path.stat().st_ino]  # the mark's fsync, of the recording
    assert policies == [os.SCHED_OTHER]
    writer.close()
