"""Appended audio is compared byte for byte, however it is chunked: a replayed client or a second
recording that re-cuts the audio matches, and one changed byte, a missing or an extra piece of audio
is caught at its segment, in `rtui diff` and in a replay alike."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import re

import orjson
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.replay_support import example, recorded_steps
from tui.replay.diff import compare
from tui.replay.normalize import AUDIO_APPEND, b64_length
from tui.replay.script import load_script
from tui.replay.serve import serve_recording

SOURCE = "voice-turn-barge-in"  # c2s items: session.update, one 96 000-byte audio segment, a truncate
SEGMENT = 1


def append(pcm: bytes) -> str:
    return orjson.dumps({"type": AUDIO_APPEND, "audio": base64.b64encode(pcm).decode()}).decode()


def client_frames(recut) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The recording's client frames, its appended audio joined and passed through `recut(pcm) ->
    list of chunks` (the other events as recorded), each with how many server frames were recorded
    before it."""
    script = load_script(example(SOURCE))
    frames: list[tuple[str, int]] = []
    pcm = b""
    server_frames = 0
    for step in recorded_steps(script):
        if step.kind != "frame":
            continue
        if step.direction == "s2c":
            server_frames += 1
            continue
        event = orjson.loads(step.payload)
        if event.get("type") == AUDIO_APPEND:
            pcm += base64.b64decode(event["audio"])
            continue
        if pcm:
            frames.extend((append(chunk), 0) for chunk in recut(pcm))
            pcm = b""
        frames.append((step.payload, server_frames))
    return frames


def pieces(pcm: bytes, size: int = 3_001) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def flip(pcm: bytes, at: int) -> bytes:
    return pcm[:at] + bytes([pcm[at] ^ 1]) + pcm[at + 1 :]


def write_client_recording(tmp_path, frames: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    """The source recording with its client frames replaced by `frames` (server frames as recorded)."""
    lines = example(SOURCE).read_bytes().splitlines()
    out, seq, pending = [lines[0]], 0, [text for text, _ in frames]
    for line in lines[1:]:
        record = orjson.loads(line)
        if record.get("kind") == "frame" and record["dir"] == "c2s":
            if record.get("type") == AUDIO_APPEND or not pending:
                continue
            # The frames up to and including this event, in order.
            while pending:
                text = pending.pop(0)
                seq += 1
                out.append(
                    orjson.dumps({**record, "seq": seq, "text": text, "size": len(text), "type": orjson.loads(text)["type"]})
                )
                if text == record["text"]:
                    break
            continue
        seq += 1
        out.append(orjson.dumps({**record, "seq": seq}))
    path = tmp_path / "recut.jsonl"
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def test_recut_audio_is_the_same_and_one_changed_byte_is_not(tmp_path):
    original = load_script(example(SOURCE))
    same = load_script(write_client_recording(tmp_path, client_frames(pieces)))
    assert compare(original, same).same

    changed = load_script(write_client_recording(tmp_path, client_frames(lambda pcm: pieces(flip(pcm, 50_000)))))
    comparison = compare(original, changed)
    assert not comparison.same
    (divergence,) = comparison.divergences
    assert divergence.direction == "c2s" and divergence.index == SEGMENT
    report = comparison.report()
    assert "client frames (c2s): DIFFERENT" in report and "sha256" in report
    assert "A has 3, B has 3 in all" in report


def test_a_shorter_or_longer_audio_segment_is_a_difference(tmp_path):
    original = load_script(example(SOURCE))
    for recut in (lambda pcm: pieces(pcm[:-2]), lambda pcm: [*pieces(pcm), b"\x00\x00"]):
        comparison = compare(original, load_script(write_client_recording(tmp_path, client_frames(recut))))
        assert not comparison.same
        assert comparison.divergences[0].index == SEGMENT
        assert re.search(r"audio \d+ bytes \(\d+ ms\) differs from the recording in [a-z_, ]*bytes", comparison.report())


async def replay_client_frames(frames: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    """Sends `frames` to the served recording, each once the server frames recorded before it have
    come (as a causal client does); returns the served side's outcome and the connection."""
    script = load_script(example(SOURCE))
    received = 0

    async with serve_recording(script, timeout=5) as served:
        async with connect(served.url, proxy=None, max_size=None) as ws:

            async def receive() -> None:
                nonlocal received
                with contextlib.suppress(ConnectionClosed):
                    async for _ in ws:
                        received += 1

            receiver = asyncio.create_task(receive())
            with contextlib.suppress(ConnectionClosed):
                for frame, needs in frames:
                    while received < needs and not receiver.done():
                        await asyncio.sleep(0.002)
                    await ws.send(frame)
                # The recorded ending: the client closes once every server frame has come.
                total = sum(1 for step in recorded_steps(script) if step.kind == "frame" and step.direction == "s2c")
                while received < total and not receiver.done():
                    await asyncio.sleep(0.002)
                await ws.close(1000, "bye")
            await receiver
        return await served.next_outcome(10), ws


async def test_a_replayed_client_that_recuts_its_audio_matches():
    outcome, _ = await replay_client_frames(client_frames(pieces))
    assert outcome.ok, outcome.divergence


async def test_a_changed_byte_in_recut_audio_diverges_at_its_segment():
    outcome, ws = await replay_client_frames(client_frames(lambda pcm: pieces(flip(pcm, 50_000))))
    divergence = outcome.divergence
    assert divergence is not None and divergence.index == SEGMENT
    assert "the appended audio differs from the recorded audio" in divergence.message
    # The report shows the recorded segment and what arrived: the bytes up to the bad chunk and that chunk.
    assert divergence.expected is not None and divergence.expected.length == 96_000
    assert divergence.actual is not None and divergence.actual.length == 50_000 // 3_001 * 3_001 + 3_001
    assert ws.close_code == 4900


async def test_extra_or_missing_audio_diverges_at_its_segment():
    # A chunk that runs past the end of the recorded segment...
    outcome, _ = await replay_client_frames(client_frames(lambda pcm: pieces(pcm + b"\x01\x00")))
    assert outcome.divergence is not None and outcome.divergence.index == SEGMENT
    assert "more audio than recorded: 96002 bytes for a 96000-byte segment" in outcome.divergence.message
    # ...or a chunk after it, where the recording has the next event.
    outcome, _ = await replay_client_frames(client_frames(lambda pcm: [*pieces(pcm), b"\x01\x00"]))
    assert outcome.divergence is not None and outcome.divergence.index == SEGMENT + 1
    assert "expected conversation.item.truncate, got appended audio" in outcome.divergence.message

    # Audio missing at the end of the segment: the next event comes early (without waiting for the
    # server frames recorded after the whole segment, which are held back for it).
    frames = [(frame, 0) for frame, _ in client_frames(lambda pcm: pieces(pcm[:-3_000]))]
    outcome, _ = await replay_client_frames(frames)
    assert outcome.divergence is not None and outcome.divergence.index == SEGMENT
    assert "the audio segment ended after 93000 of its 96000 recorded bytes" in outcome.divergence.message


def strict_length(text: str) -> int | None:
    """What the replay used to decide with: the length strict decoding gives, None when it refuses."""
    try:
        return len(binascii.a2b_base64(text, strict_mode=True))
    except (binascii.Error, ValueError):
        return None


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%é \n", max_size=24))
def test_base64_is_judged_as_strict_decoding_judges_it(text):
    assert b64_length(text) == strict_length(text)


def test_every_short_string_is_judged_as_strict_decoding_judges_it():
    for length in range(8):
        for chars in itertools.product("A/=é", repeat=length):
            text = "".join(chars)
            assert b64_length(text) == strict_length(text), text


@given(st.binary(max_size=64))
def test_the_length_of_real_base64_is_the_decoded_length(data):
    assert b64_length(base64.b64encode(data).decode()) == len(data)
