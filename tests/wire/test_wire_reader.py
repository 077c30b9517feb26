"""The reader streams, validates, names FILE:LINE for every problem and survives damage."""

from __future__ import annotations

import orjson
import pytest

from tui.wire.reader import RecordingError, SessionReader
from tui.wire.writer import SessionWriter


def make_recording(path, n=5):
    with SessionWriter(path, mode="mock", url="ws://127.0.0.1:1/v1/realtime") as writer:
        for i in range(n):
            writer.frame(1, "c2s", f'{{"type":"input_audio_buffer.append","audio":"AAAA","i":{i}}}')
    return path


def test_clean_file_reads_back_with_header(tmp_path):
    path = make_recording(tmp_path / "a.jsonl")
    with SessionReader(path) as reader:
        records = list(reader)
    assert reader.header["schema"] == "rtui.session/1"
    assert reader.header["mode"] == "mock"
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert reader.problems == [] and not reader.truncated


@pytest.mark.parametrize(
    "first_line, message",
    [
        (b'{"kind":"header","schema":"rtui.session/2"}\n', "schema 'rtui.session/2' is not supported"),
        (b'{"kind":"header","schema":"har/1"}\n', "unknown schema 'har/1'"),
        (b'{"seq":1}\n', "first line is not a header"),
        (b"HTTP/1.1 200 OK\n", "first line is not JSON"),
        (b"", "empty file"),
    ],
)
def test_non_recordings_are_refused_with_file_and_line(tmp_path, first_line, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(first_line)
    with pytest.raises(RecordingError) as caught:
        SessionReader(path)
    assert str(caught.value).startswith(f"{path}:1: ")
    assert message in str(caught.value)


def test_damaged_lines_are_reported_and_skipped(tmp_path):
    path = make_recording(tmp_path / "a.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"not json at all\n")  # becomes line 4
    lines.insert(5, b'{"seq":99,"t_ns":1,"conn":1,"kind":"frame","dir":"sideways","opcode":"text","text":"","size":0}\n')
    lines.insert(6, b'{"seq":2,"t_ns":1,"conn":1,"kind":"mark","dir":"local","note":"old seq"}\n')
    path.write_bytes(b"".join(lines))
    with SessionReader(path) as reader:
        records = list(reader)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    problems = [str(p) for p in reader.problems]
    assert problems[0].startswith(f"{path}:4: not valid JSON (") and problems[0].endswith("; line skipped")
    assert problems[1:] == [
        f"{path}:6: unknown dir 'sideways'; line skipped",
        f"{path}:7: seq 2 does not increase (previous 3); line skipped",
    ]


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"opcode": ["text"], "text": "", "size": 0}, "frame with invalid opcode ['text']"),  # unhashable
        ({"opcode": {"text": 1}, "text": "", "size": 0}, "frame with invalid opcode {'text': 1}"),
        ({"opcode": None, "text": "", "size": 0}, "frame with invalid opcode None"),
        ({"opcode": "close", "text": "", "size": 0}, "frame with invalid opcode 'close'"),
        ({"opcode": "text", "text": 5, "size": 1}, "text frame without 'text' or 'data_b64'"),
        ({"opcode": "binary", "text": "AAAA", "size": 3}, "binary frame without 'data_b64'"),
        ({"opcode": "text", "data_b64": "AAAA"}, "frame without 'size'"),
    ],
)
def test_malformed_frames_are_reported_and_skipped(tmp_path, fields, problem):
    path = make_recording(tmp_path / "a.jsonl", n=1)
    bad = {"seq": 2, "t_ns": 1, "conn": 1, "kind": "frame", "dir": "c2s", **fields}
    good = {"seq": 3, "t_ns": 2, "conn": 1, "kind": "frame", "dir": "c2s", "opcode": "text", "data_b64": "/w==", "size": 1}
    with path.open("ab") as file:
        file.write(orjson.dumps(bad) + b"\n" + orjson.dumps(good) + b"\n")
    with SessionReader(path) as reader:
        assert [r["seq"] for r in reader] == [1, 3]  # text not valid UTF-8 is kept as bytes
    assert [str(p) for p in reader.problems] == [f"{path}:3: {problem}; line skipped"]


def test_truncated_last_line_keeps_everything_before_it(tmp_path):
    path = make_recording(tmp_path / "a.jsonl")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])  # cut the last record mid-write
    with SessionReader(path) as reader:
        records = list(reader)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert reader.truncated
    (problem,) = reader.problems
    assert problem.line == 6
    assert "truncated last line" in problem.message and "4 records before it are intact" in problem.message


def test_unknown_record_kinds_pass_through_for_forward_compatibility(tmp_path):
    path = make_recording(tmp_path / "a.jsonl", n=1)
    with open(path, "ab") as f:
        f.write(orjson.dumps({"seq": 2, "t_ns": 5, "conn": 0, "kind": "future_thing", "dir": "local"}) + b"\n")
    with SessionReader(path) as reader:
        assert [r["kind"] for r in reader] == ["frame", "future_thing"]
    assert reader.problems == []


def test_reader_streams_without_loading_the_file(tmp_path):
    path = make_recording(tmp_path / "a.jsonl", n=3)
    reader = SessionReader(path)
    iterator = iter(reader)
    first = next(iterator)
    # Only what was consumed has been read: append a record now and it is still seen.
    with open(path, "ab") as f:
        f.write(orjson.dumps({"seq": 4, "t_ns": 9, "conn": 1, "kind": "mark", "dir": "local", "note": "late"}) + b"\n")
    rest = list(iterator)
    assert first["seq"] == 1 and [r["seq"] for r in rest] == [2, 3, 4]


def test_unwritable_directory_is_a_clear_error(tmp_path):
    from tui.wire.writer import RecordingFailed

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(RecordingFailed, match="cannot create recording"):
        SessionWriter.create(blocker / "sessions", mode="live", url="ws://127.0.0.1/")
