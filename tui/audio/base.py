"""The two small interfaces the session engine talks to: a source of wire audio and a sink for the
assistant's audio. Every source and sink in this package implements one of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from tui.audio.errors import AudioError
from tui.audio.levels import AudioLevelMeter
from tui.audio.pcm import AudioChunk

SinkState = Literal["idle", "buffering", "playing", "error", "closed"]


@dataclass(slots=True)
class SourceStats:
    """Counters of a source, kept after an error. Plain ints written by one thread, read by others."""

    chunks: int = 0  # chunks delivered to the consumer
    samples: int = 0  # 24 kHz samples delivered
    dropped_chunks: int = 0  # chunks lost because the consumer did not keep up (queue full)
    device_overflows: int = 0  # callbacks where the device reported input overflow
    started_ns: int = 0  # time.monotonic_ns() of the first chunk

    @property
    def audio_ms(self) -> float:
        return self.samples * 1000 / 24_000


@dataclass(slots=True)
class SinkStats:
    received_samples: int = 0  # 24 kHz samples written to the sink
    played_samples: int = 0  # 24 kHz samples handed to the device (or file)
    discarded_samples: int = 0  # 24 kHz samples dropped by flush()
    underflows: int = 0  # playback ran dry mid-item (data came late)
    device_underflows: int = 0  # callbacks where the device reported output underflow
    flushes: int = 0
    playing_since_ns: int = 0  # time.monotonic_ns() of the callback that last started playing


@runtime_checkable
class AudioSource(Protocol):
    """Wire audio in fixed chunks. Use as `async with source: async for chunk in source: ...`.
    Iteration ends when the source ends (a file), raises `DeviceLostError` when a device goes away."""

    description: str
    chunk_ms: int
    stats: SourceStats
    levels: AudioLevelMeter
    error: AudioError | None

    async def start(self) -> None: ...
    def __aiter__(self) -> AsyncIterator[AudioChunk]: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class AudioSink(Protocol):
    """The assistant's audio. `write`, `end_item`, `flush` and `played_ms` never block: call them
    from the event loop. `played_ms(item_id)` is what to send as `audio_end_ms` after a `flush()`."""

    description: str
    levels: AudioLevelMeter
    error: AudioError | None

    @property
    def stats(self) -> SinkStats: ...
    @property
    def state(self) -> SinkState: ...
    async def start(self) -> None: ...
    def write(self, item_id: str, pcm: bytes) -> None: ...
    def end_item(self, item_id: str) -> None: ...
    def flush(self, fade_ms: float = 10.0) -> None: ...
    def played_ms(self, item_id: str) -> int: ...
    def received_ms(self, item_id: str) -> int: ...
    async def aclose(self) -> None: ...
