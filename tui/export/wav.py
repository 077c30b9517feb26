"""Each direction's audio as a 24 kHz mono WAV file, placed on the recording's timeline.

A chunk (an `input_audio_buffer.append` sent, a `response.output_audio.delta` received) starts at
its record's `t_ns`, with silence before it, so a listener hears what was sent, when, and at what
speed: audio sent slower than real time has gaps, 16 kHz audio labelled as 24 kHz sounds high and
fast. A chunk that would start before the previous one has finished (audio sent faster than real
time, a burst of deltas) is appended right after it instead of mixed, so every sample is heard once
and in order; such audio then runs later than its send time. Both files share the same origin (the
recording's start), so they line up in an editor. Only `audio/pcm` (24 kHz pcm16) is exported.
"""

from __future__ import annotations

import base64
import binascii
import os
import wave
from dataclasses import dataclass, field
from pathlib import Path

from tui.diagnose.items import Legs, make_item
from tui.wire.format import C2S, S2C
from tui.wire.reader import SessionReader

RATE = 24_000
SAMPLE_BYTES = 2
SILENCE_BLOCK = b"\x00" * (RATE * SAMPLE_BYTES)  # one second, written repeatedly for long gaps
AUDIO_EVENTS = {C2S: ("input_audio_buffer.append",), S2C: ("response.output_audio.delta", "response.audio.delta")}
AUDIO_FIELD = {C2S: "audio", S2C: "delta"}
FILE_NAMES = {C2S: "c2s.wav", S2C: "s2c.wav"}
PCM_FORMATS = (None, "audio/pcm", "pcm16")


@dataclass
class Track:
    """One direction's WAV file, written as the chunks come."""

    path: Path
    wav: wave.Wave_write
    cursor: int = 0  # samples written so far
    chunks: int = 0
    audio_samples: int = 0
    appended_late: int = 0  # chunks placed after the previous one instead of at their time
    skipped: list[int] = field(default_factory=list)  # seqs of chunks that were not audio

    def place(self, seq: int, t_s: float, pcm: bytes) -> None:
        start = round(t_s * RATE)
        if start > self.cursor:
            self._silence(start - self.cursor)
        elif start < self.cursor and self.chunks:
            self.appended_late += 1
        if len(pcm) % SAMPLE_BYTES:
            pcm = pcm[:-1]  # an odd byte: keep the samples aligned (diagnose reports it)
        self.wav.writeframesraw(pcm)
        samples = len(pcm) // SAMPLE_BYTES
        self.cursor += samples
        self.audio_samples += samples
        self.chunks += 1

    def _silence(self, samples: int) -> None:
        remaining = samples * SAMPLE_BYTES
        while remaining:
            block = SILENCE_BLOCK[: min(remaining, len(SILENCE_BLOCK))]
            self.wav.writeframesraw(block)
            remaining -= len(block)
        self.cursor += samples


@dataclass
class WavExport:
    tracks: dict[str, Track]
    messages: list[str]

    def summary(self) -> list[str]:
        lines = []
        for direction, track in self.tracks.items():
            who = "client → server" if direction == C2S else "server → client"
            late = f", {track.appended_late} chunks appended after the previous one (sent faster than real time)" if track.appended_late else ""
            lines.append(
                f"{track.path}: {who}, {track.chunks} chunks, {track.audio_samples / RATE:.2f} s of audio on a "
                f"{track.cursor / RATE:.2f} s timeline{late}"
            )
        return lines + self.messages


def export_wav(recording: str | os.PathLike[str], directory: str | os.PathLike[str]) -> WavExport:
    """Writes c2s.wav and s2c.wav into `directory`; raises RecordingError for a non-recording."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    with SessionReader(recording) as reader:
        legs = Legs.from_header(reader.header)
        tracks = {direction: _open(out / FILE_NAMES[direction]) for direction in (C2S, S2C)}
        formats: dict[str, str | None] = {C2S: None, S2C: None}
        try:
            for record in reader:
                if record["kind"] != "frame":
                    continue
                item = make_item(record, legs)
                if item.event is None or not item.counts:
                    continue
                if item.dir == S2C and item.type in ("session.created", "session.updated"):
                    _note_formats(item.event, formats)
                    continue
                direction = item.dir
                if item.type not in AUDIO_EVENTS.get(direction, ()):
                    continue
                track = tracks[direction]
                if formats[direction] not in PCM_FORMATS:
                    track.skipped.append(item.seq)
                    continue
                try:
                    pcm = base64.b64decode(str(item.event.get(AUDIO_FIELD[direction], "")), validate=True)
                except (binascii.Error, ValueError):
                    track.skipped.append(item.seq)
                    continue
                track.place(item.seq, item.t_s, pcm)
        finally:
            for track in tracks.values():
                track.wav.close()
        for problem in reader.problems:
            messages.append(f"skipped: {problem}")
    for direction, track in tracks.items():
        if track.skipped:
            fmt = formats[direction]
            why = f"the session's format is {fmt}, not audio/pcm" if fmt not in PCM_FORMATS else "not valid base64"
            messages.append(f"{FILE_NAMES[direction]}: {len(track.skipped)} chunks left out ({why}; first at seq {track.skipped[0]})")
    return WavExport(tracks, messages)


def _open(path: Path) -> Track:
    wav = wave.open(str(path), "wb")
    wav.setnchannels(1)
    wav.setsampwidth(SAMPLE_BYTES)
    wav.setframerate(RATE)
    return Track(path, wav)


def _note_formats(event: dict, formats: dict[str, str | None]) -> None:
    session = event.get("session")
    if not isinstance(session, dict):
        return
    audio = session.get("audio") if isinstance(session.get("audio"), dict) else {}
    for direction, key, beta in ((C2S, "input", "input_audio_format"), (S2C, "output", "output_audio_format")):
        part = audio.get(key) if isinstance(audio.get(key), dict) else {}
        fmt = part.get("format")
        if isinstance(fmt, dict) and isinstance(fmt.get("type"), str):
            kind, rate = fmt["type"], fmt.get("rate", RATE)
            # pcm at another rate is not what the WAV says it is: name it so it is left out.
            formats[direction] = f"{kind}@{rate}" if kind == "audio/pcm" and rate != RATE else kind
        elif isinstance(session.get(beta), str):
            formats[direction] = session[beta]
