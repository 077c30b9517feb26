"""The wire's audio format (docs/protocol.md section 3: pcm16, 24 kHz, mono, little-endian) and the
small conversions every source and sink needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

WIRE_RATE = 24_000
WIRE_DTYPE = np.dtype("<i2")
BYTES_PER_SAMPLE = 2
DEFAULT_CHUNK_MS = 20

# soxr's "LQ" is 16-bit precision (enough for pcm16) and holds back ~3 ms; "HQ" holds back
# 15-40 ms and releases output in 40 ms bursts, which would add that much capture latency.
RESAMPLE_QUALITY = "LQ"


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A fixed-size piece of wire audio. `t_ns` is `time.monotonic_ns()` when its last sample was
    captured (the device callback that completed it, or the pacing deadline of a file source), so
    that capture-to-wire latency is `send time - t_ns`."""

    pcm: bytes
    t_ns: int
    seq: int

    @property
    def samples(self) -> int:
        return len(self.pcm) // BYTES_PER_SAMPLE

    @property
    def duration_ms(self) -> float:
        return self.samples * 1000 / WIRE_RATE


def samples_for_ms(ms: float, rate: int = WIRE_RATE) -> int:
    return round(rate * ms / 1000)


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """Wire bytes to float32 samples in [-1, 1)."""
    return np.frombuffer(pcm, dtype=WIRE_DTYPE).astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """float32 samples to wire bytes, clipping what is out of range."""
    scaled = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    return scaled.astype(WIRE_DTYPE).tobytes()


def downmix(frames: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) to mono float32 by averaging the channels."""
    if frames.ndim == 1:
        return frames.astype(np.float32, copy=False)
    if frames.shape[1] == 1:
        return frames[:, 0].astype(np.float32, copy=True)
    return frames.mean(axis=1, dtype=np.float32)


def make_resampler(in_rate: int, out_rate: int) -> soxr.ResampleStream:
    """A streaming mono float32 resampler (keeps its filter state between chunks)."""
    return soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)


class Chunker:
    """Cuts a stream of float32 samples (already at 24 kHz) into wire chunks of exactly
    `chunk_samples` samples; the remainder waits for the next call."""

    def __init__(self, chunk_samples: int) -> None:
        if chunk_samples <= 0:
            raise ValueError("chunk_samples must be positive")
        self.chunk_samples = chunk_samples
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> list[bytes]:
        data = np.concatenate((self._pending, samples)) if self._pending.size else samples
        full = len(data) // self.chunk_samples * self.chunk_samples
        self._pending = data[full:].copy()
        if not full:
            return []
        pcm = float_to_pcm16(data[:full])
        size = self.chunk_samples * BYTES_PER_SAMPLE
        return [pcm[i : i + size] for i in range(0, len(pcm), size)]

    def rest(self) -> bytes:
        """What is left at the end of a stream (shorter than a chunk), as wire bytes."""
        pcm = float_to_pcm16(self._pending)
        self._pending = np.zeros(0, dtype=np.float32)
        return pcm
