"""Audio the mock reads and writes: the session's input/output formats (PCM16 24 kHz, G.711 at
8 kHz) and the packaged response clip."""

from __future__ import annotations

import base64
import json
import wave
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np
import soxr

PCM_RATE = 24000
G711_RATE = 8000
_PCM16 = np.dtype("<i2")


def format_rate(fmt: dict) -> int:
    return PCM_RATE if fmt.get("type", "audio/pcm") == "audio/pcm" else G711_RATE


def bytes_per_sample(fmt: dict) -> int:
    return 2 if fmt.get("type", "audio/pcm") == "audio/pcm" else 1


# -- G.711 (ITU-T), vectorised ------------------------------------------------------------------


def _ulaw_decode(data: np.ndarray) -> np.ndarray:
    u = ~data.astype(np.int32) & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode(data: np.ndarray) -> np.ndarray:
    a = data.astype(np.int32) ^ 0x55
    sign, exponent, mantissa = a & 0x80, (a >> 4) & 0x07, a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _encode_with_table(samples: np.ndarray, decode) -> bytes:
    # Encode by nearest decoded value: exact for G.711's 256 levels and short to write.
    table = decode(np.arange(256, dtype=np.uint8)).astype(np.int32)
    order = np.argsort(table)
    sorted_table = table[order]
    index = np.clip(np.searchsorted(sorted_table, samples.astype(np.int32)), 1, 255)
    left, right = sorted_table[index - 1], sorted_table[index]
    nearest = np.where(np.abs(samples - left) <= np.abs(right - samples), index - 1, index)
    return order[nearest].astype(np.uint8).tobytes()


def decode(data: bytes, fmt: dict) -> np.ndarray:
    """int16 samples at `format_rate(fmt)` from a format's bytes (PCM needs an even length)."""
    kind = fmt.get("type", "audio/pcm")
    if kind == "audio/pcm":
        return np.frombuffer(data, dtype=_PCM16)
    raw = np.frombuffer(data, dtype=np.uint8)
    return _ulaw_decode(raw) if kind == "audio/pcmu" else _alaw_decode(raw)


def encode_from_pcm24k(pcm: bytes, fmt: dict) -> bytes:
    """The response clip (PCM16 24 kHz) in the session's output format."""
    kind = fmt.get("type", "audio/pcm")
    if kind == "audio/pcm":
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    down = np.clip(soxr.resample(samples, PCM_RATE, G711_RATE) * 32768.0, -32768, 32767).astype(np.int32)
    return _encode_with_table(down, _ulaw_decode if kind == "audio/pcmu" else _alaw_decode)


# -- the response clip -------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceClip:
    pcm: bytes  # PCM16 little-endian, mono, 24 kHz
    transcript: str

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 / PCM_RATE * 1000


@lru_cache(maxsize=1)
def default_voice() -> VoiceClip:
    """The packaged clip (scripts/make-mock-voice made it with espeak-ng) and its transcript."""
    package = resources.files("tui.mock")
    meta = json.loads(package.joinpath("voice.json").read_text())
    with package.joinpath(meta["wav"]).open("rb") as handle, wave.open(handle) as wav:
        assert wav.getframerate() == PCM_RATE and wav.getnchannels() == 1 and wav.getsampwidth() == 2
        pcm = wav.readframes(wav.getnframes())
    return VoiceClip(pcm=pcm, transcript=meta["transcript"])


class AudioDelta(NamedTuple):
    b64: str  # what a `response.output_audio.delta` carries
    size: int  # bytes of audio in it


@lru_cache(maxsize=16)
def response_deltas(clip: VoiceClip, fmt_type: str, delta_ms: int) -> tuple[AudioDelta, ...]:
    """The clip in an output format, cut into deltas of `delta_ms` and base64-encoded once: every
    response of every session sends the same ones (encoding them per response was a cost per session)."""
    fmt = {"type": fmt_type}
    audio = encode_from_pcm24k(clip.pcm, fmt)
    step = bytes_per_sample(fmt) * format_rate(fmt) * delta_ms // 1000
    return tuple(
        AudioDelta(base64.b64encode(audio[i : i + step]).decode(), len(audio[i : i + step])) for i in range(0, len(audio), step)
    )
