"""Each direction's audio as a 24 kHz mono WAV file, placed on the recording's timeline.

A chunk (an `input_audio_buffer.append` sent, a `response.output_audio.delta` received) starts at
its record's `t_ns`, with silence before it, so a listener hears what was sent, when, and at what
speed: audio sent slower than real time has gaps, 16 kHz audio labelled as 24 kHz sounds high and
fast. A chunk that would start before the previous one has finished (audio sent faster than real
time, a burst of deltas) is appended right after it instead of mixed, so every sample is heard once
and in order; such audio then runs later than its send time. Both files share the same origin (the
recording's start), so they line up in an editor. Only `audio/pcm` (24 kHz pcm16) is exported.

The files are bounded by what the recording holds, never by a timestamp: a stretch of more than
MAX_GAP_S with no record at all (rtui's client pings every 20 s, so a longer one is a pause between
connections or a damaged or forged `t_ns`) is shortened to MAX_GAP_S on both tracks, which stay aligned, and said so; a track that
would pass the WAV format's 4 GiB limit (about 24.8 hours) stops there, and says so.
"""

from __future__ import annotations

import base64
import binascii
import os
import wave
from dataclasses import dataclass, field
from pathlib import Path

from tui.diagnose.items import Legs, parse_record
from tui.protocol.summary import counted, object_field
from tui.wire.format import C2S, MAX_GAP_NS, MAX_GAP_S, S2C
from tui.wire.reader import Problem, SessionReader

RATE = 24_000
SAMPLE_BYTES = 2
SILENCE_BLOCK = b"\x00" * (RATE * SAMPLE_BYTES)  # one second, written repeatedly for long gaps
AUDIO_EVENTS = {C2S: ("input_audio_buffer.append",), S2C: ("response.output_audio.delta", "response.audio.delta")}
AUDIO_FIELD = {C2S: "audio", S2C: "delta"}
FILE_NAMES = {C2S: "c2s.wav", S2C: "s2c.wav"}
PCM_FORMATS = (None, "audio/pcm", "pcm16")
# A RIFF file's sizes are 32-bit: the data chunk can hold this many bytes after the 44-byte header.
MAX_DATA_BYTES = 2**32 - 1 - 36


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
    full_at: int | None = None  # the seq of the first chunk that would have passed the WAV size limit

    def place(self, seq: int, t_s: float, pcm: bytes) -> None:
        if self.full_at is not None:
            return
        start = round(t_s * RATE)
        if len(pcm) % SAMPLE_BYTES:
            pcm = pcm[:-1]  # an odd byte: keep the samples aligned (diagnose reports it)
        samples = len(pcm) // SAMPLE_BYTES
        if (max(start, self.cursor) + samples) * SAMPLE_BYTES > MAX_DATA_BYTES:
            self.full_at = seq
            return
        if start > self.cursor:
            self._silence(start - self.cursor)
        elif start < self.cursor and self.chunks:
            self.appended_late += 1
        self.wav.writeframesraw(pcm)
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


class Timeline:
    """Each record's place on the exported timeline: its `t_ns`, except that the time from one
    record to the next counts for at most MAX_GAP_NS either way (further back counts as none), so a
    damaged `t_ns` moves what follows it by MAX_GAP_NS at most."""

    def __init__(self) -> None:
        self.last_t_ns = 0
        self.at_ns = 0
        self.shortened: list[int] = []  # seqs of the records after a shortened stretch

    def place(self, record: dict) -> float:
        """Seconds from the start of the timeline, for the next record in file order."""
        step = record["t_ns"] - self.last_t_ns
        if step > MAX_GAP_NS:
            self.shortened.append(record["seq"])
            step = MAX_GAP_NS
        elif step < -MAX_GAP_NS:
            step = 0
        self.at_ns = max(self.at_ns + step, 0)
        self.last_t_ns = record["t_ns"]
        return self.at_ns / 1e9


@dataclass
class WavExport:
    tracks: dict[str, Track]
    messages: list[str]
    problems: list[Problem] = field(default_factory=list)  # the recording's damaged lines

    def summary(self) -> list[str]:
        lines = []
        for direction, track in self.tracks.items():
            who = "client → server" if direction == C2S else "server → client"
            late = (
                f", {counted(track.appended_late, 'chunk')} appended after the previous one (sent faster than real time)"
                if track.appended_late
                else ""
            )
            lines.append(
                f"{track.path}: {who}, {counted(track.chunks, 'chunk')}, {track.audio_samples / RATE:.2f} s of audio on a "
                f"{track.cursor / RATE:.2f} s timeline{late}"
            )
        return lines + self.messages


def export_wav(recording: str | os.PathLike[str], directory: str | os.PathLike[str]) -> WavExport:
    """Writes c2s.wav and s2c.wav into `directory`; raises RecordingError for a non-recording."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    messages: list[str] = []
    timeline = Timeline()
    with SessionReader(recording) as reader:
        legs = Legs.from_header(reader.header)
        tracks = {direction: _open(out / FILE_NAMES[direction]) for direction in (C2S, S2C)}
        formats: dict[str, str | None] = {C2S: None, S2C: None}
        try:
            for record in reader:
                t_s = timeline.place(record)
                if record["kind"] != "frame":
                    continue
                item = parse_record(record, legs)
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
                audio = item.event.get(AUDIO_FIELD[direction])
                try:
                    pcm = base64.b64decode(audio if isinstance(audio, str) else "-", validate=True)
                except (binascii.Error, ValueError):
                    track.skipped.append(item.seq)
                    continue
                track.place(item.seq, t_s, pcm)
        finally:
            for track in tracks.values():
                track.wav.close()
    if timeline.shortened:
        messages.append(
            f"{len(timeline.shortened)} stretches of more than {MAX_GAP_S} s without a record (a damaged t_ns?) "
            f"shortened to {MAX_GAP_S} s on both tracks (first before seq {timeline.shortened[0]})"
        )
    for direction, track in tracks.items():
        if track.full_at is not None:
            messages.append(
                f"{FILE_NAMES[direction]}: stopped at seq {track.full_at}, where it would pass the WAV format's 4 GiB "
                "limit (about 24.8 hours at 24 kHz); the audio after it is left out"
            )
        if track.skipped:
            fmt = formats[direction]
            why = f"the session's format is {fmt}, not audio/pcm" if fmt not in PCM_FORMATS else "not valid base64"
            messages.append(
                f"{FILE_NAMES[direction]}: {counted(len(track.skipped), 'chunk')} left out "
                f"({why}; first at seq {track.skipped[0]})"
            )
    return WavExport(tracks, messages, list(reader.problems))


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
    audio = object_field(session, "audio")
    for direction, key, beta in ((C2S, "input", "input_audio_format"), (S2C, "output", "output_audio_format")):
        part = object_field(audio, key)
        fmt = part.get("format")
        if isinstance(fmt, dict) and isinstance(fmt.get("type"), str):
            kind, rate = fmt["type"], fmt.get("rate", RATE)
            # pcm at another rate is not what the WAV says it is: name it so it is left out.
            formats[direction] = f"{kind}@{rate}" if kind == "audio/pcm" and rate != RATE else kind
        elif isinstance(session.get(beta), str):
            formats[direction] = session[beta]
