"""A bounded hand-over of chunks from an audio thread to an asyncio consumer.

The producer never blocks and never touches the event loop's queues unboundedly: chunks wait in a
deque capped at `maxsize` (a full queue drops the new chunk and counts it), and the loop is woken
with one `call_soon_threadsafe` only when the consumer is actually waiting."""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class ChunkQueue(Generic[T]):
    def __init__(self, maxsize: int) -> None:
        if maxsize <= 0:
            raise ValueError("maxsize must be positive")
        self.maxsize = maxsize
        self.dropped = 0
        self._items: collections.deque[T] = collections.deque()
        self._lock = threading.Lock()
        self._closed = False
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._wake_pending = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop whose coroutines call `get()`."""
        self._loop = loop

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> bool:
        """From any thread. False (and `dropped` += 1) when the queue is full or closed."""
        with self._lock:
            if self._closed or len(self._items) >= self.maxsize:
                self.dropped += 1
                return False
            self._items.append(item)
            self._wake_locked()
        return True

    def close(self, error: BaseException | None = None) -> None:
        """No more items; `get()` returns what is queued, then raises `error` or returns None."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._error = error
            self._wake_locked()

    async def get(self, timeout: float | None = None) -> T | None:
        """The next item; None at the end of a cleanly closed queue. Raises the close error after the
        queued items, or `TimeoutError` when nothing came within `timeout` seconds."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                if self._closed:
                    if self._error is not None:
                        raise self._error
                    return None
                self._waiter = loop.create_future()
                self._wake_pending = False
                waiter = self._waiter
            try:
                # Not asyncio.wait_for: on Python 3.11 it returns instead of raising when a
                # cancellation lands in the turn the waiter completes, and the consumer never stops.
                async with asyncio.timeout(timeout):
                    await waiter
            finally:
                with self._lock:
                    self._waiter = None

    def _wake_locked(self) -> None:
        if self._waiter is None or self._wake_pending or self._loop is None:
            return
        self._wake_pending = True
        waiter = self._waiter
        try:
            self._loop.call_soon_threadsafe(_set_done, waiter)
        except RuntimeError:  # the loop is closed: nobody is left to wake
            pass


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
