"""Coalescing a connection's writes: `CorkedTransport`.

`websockets` writes each frame to the transport as it is sent, and asyncio's transport hands each
write to the kernel at once when its buffer is empty. A client sending faster than the peer reads
but not fast enough to fill the socket buffer then pays one `send` syscall, and one wakeup of the
peer, per frame: on loopback that costs the sender several times what building the frame does
(BENCHMARKS.md, "Loopback throughput"). Corked, the first write of an event-loop turn still goes
straight to the transport (a live audio chunk, alone in its turn, is not delayed), and the writes
that follow it in the same turn leave together at the end of the turn, or once `limit` bytes wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

DEFAULT_LIMIT = 64 * 1024


class CorkedTransport:
    """Wraps an asyncio transport; everything but writing and closing is passed through."""

    def __init__(self, transport: asyncio.Transport, limit: int = DEFAULT_LIMIT) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._in_turn = False  # something was written in this turn; the end-of-turn flush is due

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._in_turn:
            self._in_turn = True
            self._loop.call_soon(self._end_turn)
            self._transport.write(data)
            return
        self._chunks.append(bytes(data) if not isinstance(data, bytes) else data)
        self._size += len(data)
        if self._size >= self._limit:
            self.flush()

    @property
    def pending(self) -> int:
        """Writes waiting for the end of the turn."""
        return len(self._chunks)

    def flush(self) -> None:
        """Hands everything waiting to the transport in one write."""
        if not self._chunks:
            return
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        if not self._transport.is_closing():  # a lost connection drops its unsent bytes, as asyncio does
            self._transport.write(data)

    def _end_turn(self) -> None:
        self._in_turn = False
        self.flush()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._chunks.clear()
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
