"""From command-line style options to a source or a sink, so every front end (live TUI, headless)
accepts the same `--input`, `--output`, `--input-device` and `--output-device` values."""

from __future__ import annotations

from pathlib import Path

from tui.audio.base import AudioSink, AudioSource
from tui.audio.capture import MicrophoneSource
from tui.audio.errors import AudioFileError
from tui.audio.generated import SilenceSource, ToneSource, WavFileSource
from tui.audio.latency import DEFAULT_OUTPUT_LATENCY_MS
from tui.audio.pcm import DEFAULT_CHUNK_MS
from tui.audio.playback import SpeakerSink
from tui.audio.sinks import NullSink, WavFileSink

INPUT_HELP = "microphone (default), a WAV file, tone[:HZ] or silence"
OUTPUT_HELP = "speaker (default), a WAV file to write, or null"


def make_source(
    spec: str | None = None, *, device: int | str | None = None, chunk_ms: int = DEFAULT_CHUNK_MS, paced: bool = True
) -> AudioSource:
    """`spec`: None or "mic" (the device `device`), "tone" / "tone:HZ", "silence", or a WAV path.
    Files are checked at once (`AudioFileError`); devices are opened by `await source.start()`."""
    if spec in (None, "", "mic"):
        return MicrophoneSource(device, chunk_ms=chunk_ms)
    if spec == "silence":
        return SilenceSource(chunk_ms=chunk_ms, paced=paced)
    if spec == "tone" or spec.startswith("tone:"):
        _, _, hz = spec.partition(":")
        try:
            frequency = float(hz) if hz else 440.0
        except ValueError:
            raise AudioFileError(f"{spec!r} is not a tone; write tone:440 (a frequency in Hz).") from None
        return ToneSource(frequency, chunk_ms=chunk_ms, paced=paced)
    return WavFileSource(Path(spec), chunk_ms=chunk_ms, paced=paced)


def make_sink(
    spec: str | None = None,
    *,
    device: int | str | None = None,
    preroll_ms: float = 100.0,
    latency_ms: float = DEFAULT_OUTPUT_LATENCY_MS,
) -> AudioSink:
    """`spec`: None or "speaker" (the device `device`, `latency_ms` of device buffer), "null", or a
    WAV path to write."""
    if spec in (None, "", "speaker"):
        return SpeakerSink(device, preroll_ms=preroll_ms, latency_ms=latency_ms)
    if spec == "null":
        return NullSink()
    return WavFileSink(Path(spec))
