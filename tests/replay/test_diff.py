"""`rtui diff A B`: identical after normalization, or a readable report of where they differ."""

from __future__ import annotations

import base64
import re

import orjson

from tests.replay_support import example, records, rewrite
from tui.cli.main import main


def diff(capsys, a, b) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    status = main(["diff", str(a), str(b)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_a_recording_is_identical_to_itself(capsys):
    status, out = diff(capsys, example("voice-turn-barge-in"), example("voice-turn-barge-in"))
    assert status == 0
    assert "identical after normalization" in out


def test_another_run_with_other_ids_event_ids_and_expiry_is_identical(tmp_path, capsys):
    source = example("voice-turn-barge-in")
    ids = sorted(set(re.findall(rb"(?:item|resp|sess|event)_[A-Za-z0-9]{8,}", source.read_bytes())))
    assert len(ids) > 5

    def other_run(record: dict) -> dict:  # type: ignore[type-arg]
        # What another server would have said: every id and event_id different, a later expiry.
        if "text" in record:
            text = record["text"]
            for n, old in enumerate(ids):
                text = text.replace(old.decode(), f"{old.decode().split('_')[0]}_other{n:04d}")
            text = re.sub(r'"expires_at":\d+', '"expires_at":1999999999', text)
            record["text"] = text
        return record

    status, out = diff(capsys, source, rewrite(source, tmp_path / "other.jsonl", other_run))
    assert status == 0, out


def test_the_same_audio_in_other_chunks_is_identical(tmp_path, capsys):
    source = example("voice-turn-barge-in")
    lines = source.read_bytes().splitlines()
    out = [lines[0]]
    seq = 0
    for line in lines[1:]:
        record = orjson.loads(line)
        parts = [record]
        if record.get("type") == "input_audio_buffer.append":
            audio = base64.b64decode(orjson.loads(record["text"])["audio"])
            half = len(audio) // 3 * 2  # split each append in two uneven pieces
            parts = [
                {
                    **record,
                    "text": orjson.dumps(
                        {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
                    ).decode(),
                }
                for piece in (audio[:half], audio[half:])
            ]
        for part in parts:
            seq += 1
            out.append(orjson.dumps({**part, "seq": seq}))
    rechunked = tmp_path / "rechunked.jsonl"
    rechunked.write_bytes(b"\n".join(out) + b"\n")
    status, text = diff(capsys, source, rechunked)
    assert status == 0, text


def test_one_changed_field_is_reported_at_its_position(tmp_path, capsys):
    source = example("story3-beta-fields-client-closes")

    def change(record: dict) -> dict:  # type: ignore[type-arg]
        if record.get("type") == "session.update":
            record["text"] = record["text"].replace('"modalities"', '"output_modalities"')
        return record

    status, out = diff(capsys, source, rewrite(source, tmp_path / "changed.jsonl", change))
    assert status == 1
    seq = next(r["seq"] for r in records(source) if r.get("type") == "session.update")
    assert "client frames (c2s): DIFFERENT" in out
    assert f"divergence at client frame #1 (recorded seq {seq}): session.update differs from the recording" in out
    assert '-    "modalities": [' in out and '+    "output_modalities": [' in out
    assert "server frames (s2c): same" in out
    assert out.rstrip().endswith("the recordings differ")


def test_a_different_ending_is_reported(tmp_path, capsys):
    source = example("fault-close-4001")

    def other_close(record: dict) -> dict:  # type: ignore[type-arg]
        if record["kind"] == "close":
            record["code"] = 4002
        if record["kind"] == "end":
            record["code"] = 4002
            record["close_rcvd"] = {"code": 4002, "reason": "bye"}
        return record

    status, out = diff(capsys, source, rewrite(source, tmp_path / "ending.jsonl", other_close))
    assert status == 1
    assert "ending: DIFFERENT" in out
    assert 'A: server closed first with 4001 "bye"' in out and 'B: server closed first with 4002 "bye"' in out


def test_a_file_that_is_not_a_recording_is_refused_clearly(tmp_path, capsys):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello\n")
    status, out = diff(capsys, example("fault-close-4001"), bogus)
    assert status == 2
    assert f"rtui diff: {bogus}:1: not an rtui recording" in out
