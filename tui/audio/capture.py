"""The microphone: a PortAudio input stream at the device's own rate, downmixed and resampled to
wire chunks inside the audio callback, handed to asyncio through a bounded queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from tui.audio.base import SourceStats
from tui.audio.chunkqueue import ChunkQueue
from tui.audio.devices import resolve_device
from tui.audio.errors import AudioError, DeviceLostError
from tui.audio.levels import AudioLevelMeter
from tui.audio.pcm import DEFAULT_CHUNK_MS, WIRE_RATE, AudioChunk, Chunker, downmix, make_resampler, samples_for_ms
from tui.audio.portaudio import OPEN_TIMEOUT_S, STALL_TIMEOUT_S, close_stream, in_audio_thread, load_sounddevice


class MicrophoneSource:
    """Captures from an input device (`device`: index, part of a name, or None for the default).

    `samplerate` None uses the device's default rate; the device is never asked for 24 kHz. Counters
    in `stats` (`device_overflows`, `dropped_chunks`, ...) survive errors. `queue_chunks` bounds the
    audio waiting for a slow consumer (default 2 s worth); beyond it new chunks are dropped."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        chunk_ms: int = DEFAULT_CHUNK_MS,
        samplerate: int | None = None,
        queue_chunks: int | None = None,
        latency: str | float = "low",
    ) -> None:
        if not 10 <= chunk_ms <= 100:
            raise ValueError("chunk_ms must be between 10 and 100")
        self.chunk_ms = chunk_ms
        self.stats = SourceStats()
        self.levels = AudioLevelMeter()
        self.error: AudioError | None = None
        self.description = "microphone"
        self._device_spec = device
        self._samplerate = samplerate
        self._latency = latency
        self._queue: ChunkQueue[AudioChunk] = ChunkQueue(queue_chunks or max(1, 2000 // chunk_ms))
        self._stream: Any = None  # a sounddevice stream from start() on (sounddevice has no types)
        self._chunker = Chunker(samples_for_ms(chunk_ms))
        self._resampler: Any = None  # a soxr.ResampleStream from start() on (soxr has no types)
        self._seq = 0
        self._last_callback_ns = 0
        self._closing = False

    @property
    def samplerate(self) -> int | None:
        """The device rate in use once started."""
        return self._samplerate

    async def start(self) -> None:
        """Opens and starts the stream (in a worker thread: opening can take a while). Raises
        `NoAudioError`, `DeviceNotFoundError` or `AudioError` with a one-sentence message."""
        self._queue.bind(asyncio.get_running_loop())
        try:
            await in_audio_thread(self._open, OPEN_TIMEOUT_S)
        except TimeoutError:
            raise AudioError(
                f"The input device did not open within {OPEN_TIMEOUT_S:.0f} s (is its sound server "
                "stuck?); choose another with --input-device or use a WAV file."
            ) from None

    def _open(self) -> None:
        sd = load_sounddevice()
        info = resolve_device(self._device_spec, "input")
        rate = self._samplerate or info.default_samplerate
        channels = min(2, info.max_input_channels)
        self._resampler = make_resampler(rate, WIRE_RATE)
        try:
            stream = sd.InputStream(
                device=info.index,
                samplerate=rate,
                channels=channels,
                dtype="float32",
                latency=self._latency,
                callback=self._callback,
                finished_callback=self._finished,
            )
            stream.start()
        except sd.PortAudioError as error:
            raise AudioError(
                f"Could not open the input device {info.name!r} at {rate} Hz ({error}); "
                "choose another with --input-device (see `rtui devices`)."
            ) from None
        self._stream = stream
        self._samplerate = rate
        self._last_callback_ns = time.monotonic_ns()
        self.description = f"microphone {info.name!r} ({info.index}) at {rate} Hz"

    def _callback(self, indata: np.ndarray, frames: int, _time, status) -> None:
        now = time.monotonic_ns()
        self._last_callback_ns = now
        if status.input_overflow:
            self.stats.device_overflows += 1
        mono = downmix(indata)
        self.levels.update(mono)
        for pcm in self._chunker.push(self._resampler.resample_chunk(mono)):
            self._seq += 1
            self._queue.put(AudioChunk(pcm, now, self._seq))
        self.stats.dropped_chunks = self._queue.dropped

    def _finished(self) -> None:
        # PortAudio calls this when the stream stops, by our close or because the device failed.
        if self._stream is not None and not self._closing:
            self._fail("the input device stopped (disconnected, or its sound server went away)")
        self._queue.close(self.error)

    def _fail(self, detail: str) -> None:
        if self.error is None:
            self.error = DeviceLostError(f"Audio input lost: {detail}; check the device and restart, or use --input FILE.wav.")
        self._queue.close(self.error)

    def __aiter__(self) -> AsyncIterator[AudioChunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[AudioChunk]:
        if self._stream is None and self.error is None:
            raise RuntimeError("MicrophoneSource: await start() before iterating")
        while True:
            try:
                chunk = await self._queue.get(timeout=STALL_TIMEOUT_S / 4)
            except TimeoutError:
                self._check_alive()
                continue
            if chunk is None:
                return
            if not self.stats.chunks:
                self.stats.started_ns = chunk.t_ns
            self.stats.chunks += 1
            self.stats.samples += chunk.samples
            yield chunk

    def _check_alive(self) -> None:
        # Only our own timestamp: a PortAudio call here could block the loop on a dead server.
        if self._stream is None or self._closing:
            return
        silent_s = (time.monotonic_ns() - self._last_callback_ns) / 1e9
        if silent_s > STALL_TIMEOUT_S:
            self._fail(f"no audio from the input device for {silent_s:.1f} s")

    async def aclose(self) -> None:
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is not None:
            await close_stream(stream)
        self._queue.close(self.error)

    async def __aenter__(self) -> MicrophoneSource:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()
