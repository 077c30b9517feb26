"""The speaker: the assistant's 24 kHz audio resampled to the device's own rate, buffered in a
jitter buffer and played by a PortAudio output stream callback.

Played position: `played_ms(item)` counts the samples handed to the device (through the callback),
including the fade tail a `flush()` commits. Samples still in the device's own buffer (its output
latency, `output_latency_s`) are not subtracted: once handed they cannot be recalled, so after a
flush they will be heard, and the count equals what the listener hears in full. That is the value
`conversation.item.truncate` needs, and it is final as soon as `flush()` returns."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tui.audio.base import SinkState, SinkStats
from tui.audio.devices import resolve_device
from tui.audio.errors import AudioError, DeviceLostError
from tui.audio.jitter import JitterBuffer
from tui.audio.latency import DEFAULT_OUTPUT_LATENCY_MS
from tui.audio.levels import AudioLevelMeter
from tui.audio.pcm import WIRE_RATE, make_resampler, pcm16_to_float, samples_for_ms
from tui.audio.portaudio import OPEN_TIMEOUT_S, STALL_TIMEOUT_S, close_stream, in_audio_thread, load_sounddevice
from tui.audio.sinks import ItemLedger


class SpeakerSink:
    """Plays to an output device (`device`: index, part of a name, or None for the default) at its
    default rate unless `samplerate` is given. `preroll_ms` of audio is buffered before playing."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        preroll_ms: float = 100.0,
        samplerate: int | None = None,
        latency_ms: float = DEFAULT_OUTPUT_LATENCY_MS,
    ) -> None:
        self._stats = SinkStats()
        self.levels = AudioLevelMeter()
        self.error: AudioError | None = None
        self.description = "speaker"
        self.preroll_ms = preroll_ms
        self._device_spec = device
        self._samplerate = samplerate
        self._latency = latency_ms / 1000
        self._ledger = ItemLedger()
        self._stream: Any = None  # a sounddevice stream from start() on (sounddevice has no types)
        self._jitter: JitterBuffer | None = None
        self._resampler: Any = None  # a soxr.ResampleStream from start() on (soxr has no types)
        self._current_item: str | None = None
        self._closed = False
        self._last_callback_ns = 0

    @property
    def samplerate(self) -> int | None:
        return self._samplerate

    @property
    def output_latency_s(self) -> float:
        """The device's reported output latency (time from callback to the listener)."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    @property
    def state(self) -> SinkState:
        if self._closed:
            return "closed"
        if self.error is None and self._stream is not None:
            silent_s = (time.monotonic_ns() - self._last_callback_ns) / 1e9
            if silent_s > STALL_TIMEOUT_S:  # the device stopped asking for audio, without an error
                self._lose(f"the output device stopped asking for audio {silent_s:.1f} s ago")
        if self.error is not None:
            return "error"
        jitter = self._jitter
        if jitter is None or not jitter.buffered:
            return "idle"
        return "playing" if jitter.playing else "buffering"

    async def start(self) -> None:
        """Opens and starts the output stream in a worker thread. Raises `NoAudioError`,
        `DeviceNotFoundError` or `AudioError`, each with a one-sentence message."""
        try:
            await in_audio_thread(self._open, OPEN_TIMEOUT_S)
        except TimeoutError:
            raise AudioError(
                f"The output device did not open within {OPEN_TIMEOUT_S:.0f} s (is its sound server "
                "stuck?); choose another with --output-device or use a WAV file."
            ) from None

    def _open(self) -> None:
        sd = load_sounddevice()
        info = resolve_device(self._device_spec, "output")
        rate = self._samplerate or info.default_samplerate
        self._jitter = JitterBuffer(rate, samples_for_ms(self.preroll_ms, rate))
        self._resampler = make_resampler(WIRE_RATE, rate)
        error = None
        # Mono first; some hardware only opens in stereo, then the callback duplicates the channel.
        for channels in sorted({1, min(2, info.max_output_channels)}):
            try:
                stream = sd.OutputStream(
                    device=info.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="float32",
                    latency=self._latency,
                    callback=self._callback,
                    finished_callback=self._finished,
                )
                stream.start()
                break
            except sd.PortAudioError as exc:
                error = exc
        else:
            raise AudioError(
                f"Could not open the output device {info.name!r} at {rate} Hz ({error}); "
                "choose another with --output-device (see `rtui devices`) or use --output FILE.wav."
            )
        self._stream = stream
        self._last_callback_ns = time.monotonic_ns()
        self._samplerate = rate
        self.description = f"speaker {info.name!r} ({info.index}) at {rate} Hz"

    def _callback(self, outdata: np.ndarray, frames: int, _time, status) -> None:
        self._last_callback_ns = time.monotonic_ns()
        if status.output_underflow:
            self._stats.device_underflows += 1
        mono = np.empty(frames, dtype=np.float32)
        jitter = self._jitter
        assert jitter is not None  # the buffer exists before the stream that calls back
        was_playing = jitter.playing
        played = jitter.pull(mono, time.monotonic_ns())
        if played:
            self.levels.update(mono[:played])
            if not was_playing:
                self._stats.playing_since_ns = jitter.started_ns
        else:
            self.levels.update_silence()
        outdata[:] = mono[:, None]

    def _finished(self) -> None:
        if not self._closed:
            self._lose("the output device stopped (disconnected, or its sound server went away)")

    def _lose(self, detail: str) -> None:
        if self.error is None:
            self.error = DeviceLostError(f"Audio output lost: {detail}; check the device and restart, or use --output FILE.wav.")

    def write(self, item_id: str, pcm: bytes) -> None:
        """Queues an output audio delta (24 kHz pcm16 bytes) of `item_id`. Deltas of an item a
        `flush()` interrupted (still in flight when the user barged in) are counted, not played."""
        received = self._ledger.add(item_id, pcm)
        self._stats.received_samples += received
        if item_id in self._ledger.interrupted:
            self._stats.discarded_samples += received
            return
        if self._jitter is None or self.error is not None or self._closed:
            return
        if self._current_item is not None and item_id != self._current_item:
            self._drain_resampler()
        self._current_item = item_id
        self._jitter.push(item_id, self._resampler.resample_chunk(pcm16_to_float(pcm)))

    def end_item(self, item_id: str) -> None:
        """Call on `response.output_audio.done`: plays out the tail now (no pre-roll wait) and running
        dry afterwards is not an underflow."""
        if self._jitter is None:
            return
        if self._current_item == item_id:
            self._drain_resampler()
        self._jitter.end_item()

    def flush(self, fade_ms: float = 10.0) -> None:
        """Barge-in: fades out over `fade_ms`, drops everything queued and keeps the items received so
        far silent from now on. `played_ms()` is final when this returns."""
        self._stats.flushes += 1
        self._ledger.interrupt_all()
        if self._jitter is None:
            return
        self._resampler.clear()
        self._current_item = None
        dropped = self._jitter.flush(samples_for_ms(fade_ms, self._jitter.rate))
        self._stats.discarded_samples += sum(dropped.values()) * WIRE_RATE // self._jitter.rate

    def _drain_resampler(self) -> None:
        tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._resampler.clear()
        if self._current_item is not None and self._jitter is not None:
            self._jitter.push(self._current_item, tail)
        self._current_item = None

    def played_ms(self, item_id: str) -> int:
        """Milliseconds of `item_id` handed to the device, never more than was received."""
        jitter = self._jitter
        if jitter is None:
            return 0
        played = jitter.handed.get(item_id, 0) * 1000 // jitter.rate
        return min(played, self._ledger.received_ms(item_id))

    def received_ms(self, item_id: str) -> int:
        return self._ledger.received_ms(item_id)

    @property
    def stats(self) -> SinkStats:
        """The counters, with the callback-side ones brought up to date (read it at UI rate)."""
        jitter = self._jitter
        if jitter is not None:
            self._stats.underflows = jitter.underflows
            self._stats.played_samples = sum(jitter.handed.values()) * WIRE_RATE // jitter.rate
        return self._stats

    async def aclose(self) -> None:
        self._closed = True
        stream, self._stream = self._stream, None
        if stream is not None:
            await close_stream(stream)

    async def __aenter__(self) -> SpeakerSink:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()
