"""Helpers for the tests of readers under hostile input: a small recording that holds every record
kind and the events readers look into, and `rtui` run in this process with a hang guard."""

from __future__ import annotations

import base64
import contextlib
import io
import signal
from collections.abc import Iterator
from pathlib import Path

import orjson

from tui.cli.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "sessions" / "examples" / "story1-binary-append-close-1000.jsonl"
HANG_S = 30  # one reader over a small file takes milliseconds; this long is a hang


def _text_frame(direction: str, event: dict) -> dict:
    text = orjson.dumps(event).decode()
    return {
        "seq": 0,
        "t_ns": 0,
        "conn": 1,
        "kind": "frame",
        "dir": direction,
        "opcode": "text",
        "text": text,
        "size": len(text),
        "type": event["type"],
    }


def base_recording() -> tuple[dict, list[dict]]:
    """The example's header and records, with every other kind and the events readers look into."""
    lines = EXAMPLE.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    request, response, created, binary_append, close_first, close_echo, end = map(orjson.loads, lines[1:])
    pcm = base64.b64encode(b"\x01\x00" * 480).decode()
    pcm_format = {"format": {"type": "audio/pcm", "rate": 24000}}
    records = [
        request,
        response,
        created,
        _text_frame("c2s", {"type": "session.update", "session": {"type": "realtime", "instructions": "hi"}}),
        _text_frame(
            "s2c",
            {"type": "session.updated", "session": {"type": "realtime", "audio": {"input": pcm_format, "output": pcm_format}}},
        ),
        _text_frame("c2s", {"type": "input_audio_buffer.append", "audio": pcm}),
        binary_append,
        {"seq": 0, "t_ns": 0, "conn": 1, "kind": "ping", "dir": "c2s", "data_b64": "AQI="},
        {"seq": 0, "t_ns": 0, "conn": 1, "kind": "pong", "dir": "s2c", "data_b64": "AQI="},
        _text_frame("s2c", {"type": "response.output_audio.delta", "response_id": "resp_1", "item_id": "item_1", "delta": pcm}),
        _text_frame("s2c", {"type": "input_audio_buffer.speech_started", "audio_start_ms": 10, "item_id": "item_0"}),
        _text_frame("s2c", {"type": "input_audio_buffer.committed", "item_id": "item_0", "previous_item_id": None}),
        _text_frame(
            "s2c", {"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_0", "transcript": "hi"}
        ),
        _text_frame("s2c", {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}),
        _text_frame(
            "s2c",
            {
                "type": "response.output_item.added",
                "response_id": "resp_1",
                "item": {"id": "item_1", "type": "message", "role": "assistant"},
            },
        ),
        _text_frame("s2c", {"type": "response.output_audio_transcript.delta", "item_id": "item_1", "delta": "hel"}),
        _text_frame(
            "s2c",
            {
                "type": "response.done",
                "response": {"id": "resp_1", "status": "cancelled", "output": [{"id": "item_1"}], "usage": {"total_tokens": 5}},
            },
        ),
        _text_frame(
            "s2c",
            {
                "type": "rate_limits.updated",
                "rate_limits": [{"name": "tokens", "limit": 100, "remaining": 50, "reset_seconds": 1.5}],
            },
        ),
        _text_frame(
            "s2c",
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "code": "invalid_value", "message": "no", "param": "audio"},
            },
        ),
        {"seq": 0, "t_ns": 0, "conn": 0, "kind": "mark", "dir": "local", "note": "here"},
        {"seq": 0, "t_ns": 0, "conn": 1, "kind": "error", "dir": "local", "message": "something local"},
        close_first,
        close_echo,
        end,
    ]
    for seq, record in enumerate(records, 1):
        record["seq"], record["t_ns"] = seq, seq * 1_000_000
    return header, records


class Hang(Exception):
    pass


@contextlib.contextmanager
def no_hang(seconds: float) -> Iterator[None]:
    def alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(*argv: str) -> tuple[int, str, str]:
    """`rtui ARGV` in this process: (status, stdout, stderr). Any exception escapes to the test."""
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_hang(HANG_S):
        status = main(list(argv))
    out.flush()
    return status, out.buffer.getvalue().decode("utf-8", "replace"), err.getvalue()  # type: ignore[attr-defined]
