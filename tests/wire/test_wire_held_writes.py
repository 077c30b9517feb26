"""A writer that holds its records (the relay's): flushes from another thread, racing with the
recording, still leave every record in the file once, in `seq` order."""

from __future__ import annotations

import threading

from tui.wire.reader import SessionReader
from tui.wire.writer import SessionWriter


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
