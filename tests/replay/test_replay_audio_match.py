"""The audio matcher shared by the causal gate and the diff: chunking on either side never matters."""

from __future__ import annotations

import random

from tui.replay.audio_match import AudioMatch

AUDIO = bytes(random.Random(7).randrange(256) for _ in range(4_000))


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    if at < len(data):
        out.append(data[at:])
    return out


def feed(match: AudioMatch, expected: list[bytes], received: list[bytes]) -> None:
    """Interleaves the two sides as a replay would: recorded chunks only when received bytes wait."""
    expected = list(expected)
    for chunk in received:
        match.receive(chunk)
        while match.received_left and not match.differs and expected:
            match.expect(expected.pop(0))
    for chunk in expected:
        match.expect(chunk)


def test_the_same_audio_chunked_differently_matches_every_byte() -> None:
    rng = random.Random(1)
    for _ in range(50):
        a = chunks(AUDIO, [rng.randrange(1, 700) for _ in range(20)])
        b = chunks(AUDIO, [rng.randrange(1, 300) for _ in range(40)])
        match = AudioMatch()
        feed(match, a, b)
        assert not match.differs
        assert match.idle
        assert match.matched == len(AUDIO)


def test_a_differing_byte_is_found_and_matching_stops_before_it() -> None:
    changed = bytearray(AUDIO)
    changed[2_345] ^= 0xFF
    match = AudioMatch()
    feed(match, chunks(AUDIO, [1_000] * 3), chunks(bytes(changed), [640] * 6))
    assert match.differs
    assert match.matched <= 2_345
    match.receive(AUDIO)  # nothing more is compared after a difference
    assert match.differs


def test_what_is_left_on_either_side_is_told() -> None:
    match = AudioMatch()
    match.expect(AUDIO[:100])
    match.receive(AUDIO[:60])
    assert match.expected_left and not match.received_left and match.matched == 60
    match.receive(AUDIO[60:150])
    assert match.received_left and not match.expected_left and match.matched == 100
    match.reset()
    assert match.idle and match.matched == 0 and not match.differs


def test_empty_chunks_change_nothing() -> None:
    match = AudioMatch()
    match.expect(b"")
    match.receive(b"")
    assert match.idle and match.matched == 0


def test_many_small_chunks_against_one_long_segment_are_not_copied() -> None:
    """One recorded append of a minute matched in 20 ms pieces: the views only shrink."""
    minute = bytes(range(256)) * 11_250  # 2 880 000 bytes, a minute of 24 kHz pcm16
    match = AudioMatch()
    match.expect(minute)
    for at in range(0, len(minute), 960):
        match.receive(minute[at : at + 960])
    assert match.idle and match.matched == len(minute)
