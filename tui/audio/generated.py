"""Sources that compute their audio instead of capturing it (a file, a tone, silence), delivered in
wire chunks either paced in real time (a chunk becomes available when a microphone would have
finished capturing it) or as fast as the consumer takes them (tests, replay)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from tui.audio.base import SourceStats
from tui.audio.errors import AudioError
from tui.audio.levels import AudioLevelMeter
from tui.audio.pcm import DEFAULT_CHUNK_MS, WIRE_RATE, AudioChunk, Chunker, downmix, make_resampler, samples_for_ms
from tui.audio.wavfile import WavReader


class GeneratedSource:
    """Base: subclasses implement `_produce(max_samples)` returning float32 mono samples at 24 kHz,
    or None at the end."""

    description = "generated audio"

    def __init__(self, *, chunk_ms: int = DEFAULT_CHUNK_MS, paced: bool = True) -> None:
        if not 10 <= chunk_ms <= 100:
            raise ValueError("chunk_ms must be between 10 and 100")
        self.chunk_ms = chunk_ms
        self.paced = paced
        self.stats = SourceStats()
        self.levels = AudioLevelMeter()
        self.error: AudioError | None = None
        self._chunk_samples = samples_for_ms(chunk_ms)

    async def start(self) -> None:
        pass

    def _produce(self, max_samples: int) -> np.ndarray | None:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[AudioChunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[AudioChunk]:
        chunker = Chunker(self._chunk_samples)
        start_ns = time.monotonic_ns()
        delivered = 0
        ended = False
        while not ended:
            block = self._produce(self._chunk_samples)
            if block is None:
                ended = True
                rest = chunker.rest()
                pieces = [rest] if rest else []
            else:
                pieces = chunker.push(block)
            for pcm in pieces:
                delivered += len(pcm) // 2
                # Paced: released when a real-time device would have captured its last sample.
                due_ns = start_ns + delivered * 1_000_000_000 // WIRE_RATE
                if self.paced:
                    delay = (due_ns - time.monotonic_ns()) / 1e9
                    await asyncio.sleep(max(0.0, delay))
                else:
                    await asyncio.sleep(0)  # let the consumer's other tasks run
                chunk = AudioChunk(pcm, due_ns if self.paced else time.monotonic_ns(), self.stats.chunks + 1)
                self.levels.update(np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0)
                if not self.stats.chunks:
                    self.stats.started_ns = chunk.t_ns
                self.stats.chunks += 1
                self.stats.samples += chunk.samples
                yield chunk

    async def aclose(self) -> None:
        pass

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


class WavFileSource(GeneratedSource):
    """A WAV file of any rate and channel count, downmixed and resampled to 24 kHz. Raises
    `AudioFileError` (one sentence) when the file cannot be read."""

    def __init__(self, path: str | Path, *, chunk_ms: int = DEFAULT_CHUNK_MS, paced: bool = True) -> None:
        super().__init__(chunk_ms=chunk_ms, paced=paced)
        self.path = Path(path)
        self._reader = WavReader(self.path)
        self.samplerate = self._reader.samplerate
        self.channels = self._reader.channels
        self.duration_s = self._reader.duration_s
        self._resampler = None if self.samplerate == WIRE_RATE else make_resampler(self.samplerate, WIRE_RATE)
        self._done = False
        pace = "paced" if paced else "fast"
        self.description = f"file {self.path.name} ({self.samplerate} Hz, {self.channels} ch, {self.duration_s:.1f} s, {pace})"

    def _produce(self, max_samples: int) -> np.ndarray | None:
        if self._done:
            return None
        frames = max(1, math.ceil(max_samples * self.samplerate / WIRE_RATE))
        mono = downmix(self._reader.read(frames))
        last = len(mono) < frames
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=last)
        if last:
            self._done = True
            self._reader.close()
        return mono

    async def aclose(self) -> None:
        self._reader.close()


class ToneSource(GeneratedSource):
    """A sine at `frequency` Hz and `level_dbfs`, forever or for `duration_s`."""

    def __init__(
        self,
        frequency: float = 440.0,
        *,
        level_dbfs: float = -12.0,
        duration_s: float | None = None,
        chunk_ms: int = DEFAULT_CHUNK_MS,
        paced: bool = True,
    ) -> None:
        super().__init__(chunk_ms=chunk_ms, paced=paced)
        self.frequency = frequency
        self._amplitude = 10 ** (level_dbfs / 20)
        self._left = None if duration_s is None else round(duration_s * WIRE_RATE)
        self._position = 0
        self.description = f"tone {frequency:g} Hz at {level_dbfs:g} dBFS"

    def _produce(self, max_samples: int) -> np.ndarray | None:
        n = max_samples if self._left is None else min(max_samples, self._left)
        if n <= 0:
            return None
        t = (self._position + np.arange(n)) / WIRE_RATE
        self._position += n
        if self._left is not None:
            self._left -= n
        return (self._amplitude * np.sin(2 * np.pi * self.frequency * t)).astype(np.float32)


class SilenceSource(GeneratedSource):
    """Digital silence, forever or for `duration_s` (keeps a session's audio clock running)."""

    def __init__(self, *, duration_s: float | None = None, chunk_ms: int = DEFAULT_CHUNK_MS, paced: bool = True) -> None:
        super().__init__(chunk_ms=chunk_ms, paced=paced)
        self._left = None if duration_s is None else round(duration_s * WIRE_RATE)
        self.description = "silence"

    def _produce(self, max_samples: int) -> np.ndarray | None:
        n = max_samples if self._left is None else min(max_samples, self._left)
        if n <= 0:
            return None
        if self._left is not None:
            self._left -= n
        return np.zeros(n, dtype=np.float32)
