"""Sinks that need no device: a WAV file (24 kHz mono pcm16, written as audio arrives) and null.
Both "play" everything at once, so what was played is what was received."""

from __future__ import annotations

import collections
import wave
from pathlib import Path

from tui.audio.base import SinkState, SinkStats
from tui.audio.errors import AudioError, AudioFileError
from tui.audio.levels import AudioLevelMeter
from tui.audio.pcm import BYTES_PER_SAMPLE, WIRE_RATE, pcm16_to_float


class ItemLedger:
    """24 kHz samples received per item, and which items a barge-in interrupted."""

    def __init__(self) -> None:
        self.received: dict[str, int] = collections.defaultdict(int)
        self.interrupted: set[str] = set()

    def interrupt_all(self) -> None:
        self.interrupted.update(self.received)

    def add(self, item_id: str, pcm: bytes) -> int:
        samples = len(pcm) // BYTES_PER_SAMPLE
        self.received[item_id] += samples
        return samples

    def received_ms(self, item_id: str) -> int:
        return self.received.get(item_id, 0) * 1000 // WIRE_RATE


class _ImmediateSink:
    description = "sink"

    def __init__(self) -> None:
        self.stats = SinkStats()
        self.levels = AudioLevelMeter()
        self.error: AudioError | None = None
        self._ledger = ItemLedger()
        self._played_at_flush: dict[str, int] = {}
        self._closed = False

    @property
    def state(self) -> SinkState:
        return "closed" if self._closed else "error" if self.error else "idle"

    async def start(self) -> None:
        pass

    def write(self, item_id: str, pcm: bytes) -> None:
        samples = self._ledger.add(item_id, pcm)
        self.stats.received_samples += samples
        if item_id in self._ledger.interrupted:
            self.stats.discarded_samples += samples  # in flight when the user barged in
            return
        self.stats.played_samples += samples
        self.levels.update(pcm16_to_float(pcm))
        self._write(pcm)

    def _write(self, pcm: bytes) -> None:
        pass

    def end_item(self, item_id: str) -> None:
        pass

    def flush(self, fade_ms: float = 10.0) -> None:
        """Nothing is buffered here; like the speaker, later deltas of the items so far are dropped."""
        self.stats.flushes += 1
        for item in self._ledger.received:
            self._played_at_flush.setdefault(item, self._ledger.received_ms(item))
        self._ledger.interrupt_all()

    def played_ms(self, item_id: str) -> int:
        if item_id in self._ledger.interrupted:
            return self._played_at_flush[item_id]
        return self._ledger.received_ms(item_id)

    def received_ms(self, item_id: str) -> int:
        return self._ledger.received_ms(item_id)

    async def aclose(self) -> None:
        self._closed = True

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()


class NullSink(_ImmediateSink):
    """Discards the audio, keeping the counts and levels."""

    description = "no audio output"


class WavFileSink(_ImmediateSink):
    """Appends every write to a 24 kHz mono pcm16 WAV whose header is kept valid after each write,
    so the file is playable even if rtui is killed. Raises `AudioFileError` if it cannot be created;
    a later write failure sets `error` (state "error") and stops writing, never raises."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        try:
            self._file = open(self.path, "wb")
        except OSError as error:
            raise AudioFileError(f"Cannot write {self.path}: {error.strerror}; choose another --output path.") from None
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(BYTES_PER_SAMPLE)
        self._wav.setframerate(WIRE_RATE)
        self._wav.writeframes(b"")  # writes the header now
        self._file.flush()
        self.description = f"file {self.path}"

    def _write(self, pcm: bytes) -> None:
        if self.error is not None or self._closed:
            return
        try:
            self._wav.writeframes(pcm)  # also rewrites the header's sizes
            self._file.flush()
        except OSError as error:
            self.error = AudioFileError(f"Writing {self.path} failed ({error.strerror}); the audio before it is kept.")

    async def aclose(self) -> None:
        if not self._closed:
            try:
                self._wav.close()
                self._file.close()
            except OSError:
                pass
        await super().aclose()
