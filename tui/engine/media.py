"""What the engine needs from audio sources and sinks (tui.audio provides them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from tui.engine.state import Levels


class Source(Protocol):
    """24 kHz mono pcm16 chunks, from a microphone, a file, a tone or silence."""

    description: str

    def chunks(self) -> AsyncIterator[tuple[bytes, int]]:
        """Yields (pcm, capture time in monotonic ns); ends when the source is exhausted."""
        ...

    def levels(self) -> Levels: ...

    def counters(self) -> tuple[int, int]:
        """(device overflows, chunks dropped because the consumer was slow)."""
        ...

    async def aclose(self) -> None: ...


class Sink(Protocol):
    """Plays (or writes) the assistant's 24 kHz mono pcm16 audio, tracking what was played per item."""

    description: str

    def write(self, item_id: str, pcm: bytes) -> None: ...

    def flush(self) -> None:
        """Stop at once (with a short fade) and drop what is buffered: the user barged in."""
        ...

    def played_ms(self, item_id: str) -> float: ...

    def buffered_ms(self) -> float: ...

    @property
    def playing(self) -> bool: ...

    def levels(self) -> Levels: ...

    def underflows(self) -> int: ...

    async def aclose(self) -> None: ...
