"""Odd and hostile files given to every reader (show, diagnose, replay, diff, export): a named pipe,
a device behind a symlink, a line without end, and the wrong-typed fields that used to crash the
readers. Each gets one clear line on stderr and exit status 2 (not a recording) or is reported as
damage (FILE:LINE) like a line that is not JSON; never a traceback, a hang or a runaway read."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from cli_support import rtui
from reader_support import EXAMPLE, base_recording, run_in_process
from tui.wire import reader as reader_module
from tui.wire.reader import SessionReader


def reader_argvs(path: Path, work: Path) -> list[list[str]]:
    return [
        ["show", str(path)],
        ["diagnose", str(path)],
        ["replay", str(path), "--headless", "--output", str(work / "replayed.jsonl")],
        ["diff", str(EXAMPLE), str(path)],
        ["diff", str(path), str(EXAMPLE)],
        ["export", str(path), "--wav", str(work / "wav")],
        ["export", str(path), "--har", str(work / "out.har")],
    ]


def limited_memory() -> None:
    """The child may map 2 GiB at most: a reader that loads an endless file dies, not the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-symlink", "directory"])
def test_every_reader_refuses_what_is_not_a_regular_file(tmp_path, kind):
    path = tmp_path / "f.jsonl"
    if kind == "fifo":
        os.mkfifo(path)  # nobody ever writes: opening it to read blocked every reader forever
    elif kind == "dev-zero-symlink":
        path.symlink_to("/dev/zero")  # endless, without a newline: readers read it into memory
    else:
        path.mkdir()
    what = {"fifo": "a named pipe", "dev-zero-symlink": "a character device", "directory": "a directory"}[kind]
    for argv in reader_argvs(path, tmp_path):
        result = rtui(*argv, timeout=60, preexec_fn=limited_memory)
        assert result.returncode == 2, (argv, result.returncode, result.stderr[-2000:])
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"{path}:0: {what}, not a recording: rtui reads regular files only" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-symlink", "directory"])
def test_the_json_files_rtui_reads_are_regular_files_too(tmp_path, kind):
    """--session, --tools and RTUI_PRICES name small JSON files: the same refusal, before anything
    connects, instead of a hang on a pipe or a read of /dev/zero until memory runs out."""
    path = tmp_path / "f.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero-symlink":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    what = {"fifo": "a named pipe", "dev-zero-symlink": "a character device", "directory": "a directory"}[kind]
    offline = ["--headless", "--input", "none", "--output", "null", "--url", "ws://127.0.0.1:1/v1/realtime"]
    for argv, env in (
        ([*offline, "--session", str(path)], {}),
        ([*offline, "--tools", str(path)], {}),
        (["show", str(EXAMPLE)], {"RTUI_PRICES": str(path)}),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tui", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limited_memory,
            env={**os.environ, "OPENAI_API_KEY": "", **env},
        )
        assert result.returncode == 2, (argv, result.returncode, result.stderr[-2000:])
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"{path}: {what}, not a JSON file: rtui reads regular files only" in result.stderr


def test_a_line_longer_than_the_limit_is_reported_and_skipped_without_being_held(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "MAX_LINE_BYTES", 20_000)
    header, records = base_recording()
    huge = {**records[3], "text": "x" * 1_000_000}
    lines = [orjson.dumps(r) for r in (header, *records[:3], huge, *records[4:])]
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with SessionReader(path) as reader:
        seqs = [record["seq"] for record in reader]
    assert seqs == [r["seq"] for r in records if r is not records[3]]
    assert [str(p) for p in reader.problems] == [f"{path}:5: line longer than 20000 bytes; line skipped"]
    # The same limit for the header, which is refused outright.
    path.write_bytes(orjson.dumps({**header, "padding": "x" * 30_000}) + b"\n")
    with pytest.raises(reader_module.RecordingError, match=r":1: not an rtui recording: the first line is longer than"):
        SessionReader(path)


def rewrite_example(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    lines = EXAMPLE.read_bytes().splitlines()
    out = [lines[0]] + [orjson.dumps(edit(orjson.loads(line))) for line in lines[1:]]
    path = tmp_path / "edited.jsonl"
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def set_field(kind: str, name: str, value: object, **where: object):  # type: ignore[no-untyped-def]
    def edit(record: dict) -> dict:
        if record["kind"] == kind and all(record.get(k) == v for k, v in where.items()):
            record[name] = value
        return record

    return edit


def set_session_rate(value: object):  # type: ignore[no-untyped-def]
    def edit(record: dict) -> dict:
        if record.get("type") == "session.created":
            event = orjson.loads(record["text"])
            event["session"]["audio"]["input"]["format"]["rate"] = value
            record["text"] = orjson.dumps(event).decode()
        return record

    return edit


# The crashes the adversarial pass found (issue 18), each through the reader it crashed.
REPRODUCTIONS = [
    ("handshake_request.headers = true", set_field("handshake_request", "headers", True), ["diagnose"], 2),
    ("handshake_request.headers = null", set_field("handshake_request", "headers", None), ["export", "--har"], 2),
    ("end.closed_by = 0", set_field("end", "closed_by", 0), ["replay", "--headless"], 8),
    ("data_b64 = 'x'", set_field("frame", "data_b64", "x", opcode="binary"), ["replay", "--headless"], 5),
    ("close.code = 0", set_field("close", "code", 0, first=True), ["replay", "--headless"], 6),
]


@pytest.mark.parametrize("edit, command, line", [r[1:] for r in REPRODUCTIONS], ids=[r[0] for r in REPRODUCTIONS])
def test_a_wrong_typed_field_is_damage_not_a_crash(tmp_path, edit, command, line):
    path = rewrite_example(tmp_path, edit)
    argv = [command[0], str(path), *command[1:]]
    if command[0] == "export":
        argv.append(str(tmp_path / "out.har"))
    if command[0] == "replay":  # a skipped close is never served: the replay gives up after --timeout
        argv += ["--output", str(tmp_path / "replayed.jsonl"), "--timeout", "1"]
    status, out, err = run_in_process(*argv)
    assert status in (0, 1), err
    assert f"{path}:{line}: " in err and "line skipped" in err


def test_a_session_rate_of_null_is_a_finding_not_a_crash(tmp_path):
    path = rewrite_example(tmp_path, set_session_rate(None))
    for argv in (["diagnose", str(path)], ["diagnose", "--json", str(path)], ["export", str(path), "--wav", str(tmp_path / "w")]):
        status, out, err = run_in_process(*argv)
        assert status == 0 and "Traceback" not in err, err


# Payload values from the wire are untrusted in the live engine too: a server (or a relay in front of
# it) that sends wrong-typed fields gets its session explained, not a crashed engine.

HOSTILE_EVENTS = [
    {
        "type": "session.created",
        "session": {"id": 5, "expires_at": "soon", "audio": {"input": {"format": {"type": "audio/pcm", "rate": None}}}},
    },
    {"type": "session.updated", "session": []},
    {"type": "error", "error": "not an object"},
    {"type": "error", "error": ["x"]},
    {"type": ["response.output_audio_transcript.delta"], "delta": "x"},
    {"type": {"x": 1}},
    {"type": "response.output_item.added", "item": {"id": ["x"], "type": "message"}},
    {"type": "response.output_audio.delta", "item_id": 5, "delta": "!!not base64!!"},
    {"type": "response.output_audio.delta", "item_id": "item_1", "delta": ["AAAA"]},
    {"type": "response.output_audio.done", "item_id": None},
    {"type": "response.done", "response": {"status": "cancelled", "output": 5}},
    {"type": "input_audio_buffer.committed", "item_id": {"x": 1}},
]


async def test_the_live_engine_survives_wrong_typed_server_events(tmp_path):
    import asyncio

    from engine_support import engine_config
    from tui.audio.options import make_sink
    from tui.engine.session import Engine
    from wire_support import scripted_server

    async def hostile(ws):  # type: ignore[no-untyped-def]
        for event in HOSTILE_EVENTS:
            await ws.send(orjson.dumps(event).decode())
        await ws.close(1000, "done")

    async with scripted_server(hostile) as url:
        engine = Engine(engine_config(url, tmp_path), sink=make_sink("null"))  # deltas go to a sink
        outcome = await asyncio.wait_for(engine.run(), 30)
    assert outcome == "closed"
    state = engine.state
    assert state.close is not None and state.close.code == 1000 and state.close.closed_by == "server"
    assert state.counters.frames_received == len(HOSTILE_EVENTS)


@pytest.mark.parametrize("code", [1004, 1006, 1015, 2999])
def test_a_close_code_no_frame_may_carry_is_replayed_as_a_broken_connection(tmp_path, caplog, code):
    # In range for a record (1006 is how the recorder writes a malformed close payload), but
    # websockets refuses to send it: the replay used to crash in the served side's handler.
    path = rewrite_example(tmp_path, set_field("close", "code", code, first=True))
    status, out, err = run_in_process(
        "replay", str(path), "--headless", "--timeout", "2", "--output", str(tmp_path / "replayed.jsonl")
    )
    assert status == 1 and "MISMATCH" in out
    assert "Traceback" not in out + err
    # websockets logs a handler's exception (with its traceback) rather than raising it.
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
