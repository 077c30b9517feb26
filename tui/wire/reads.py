"""Socket reads sized for the heap: `READ_SIZE`, the frame pump's read buffer (tui.wire.pump), and
`read_from_heap(transport)` for the connections still on websockets' asyncio layer (the relay's).

asyncio's selector transport reads with `sock.recv(max_size)`, 256 KiB. glibc serves a buffer that
large with `mmap`, and when the bytes object is shrunk to the few kilobytes that arrived and then
freed, with `mremap` and `munmap`: three syscalls and a page fault for every read, about 20 µs on
loopback against 2 µs for the read itself (python/cpython#85451; BENCHMARKS.md, "Headless
replay"). A buffer below glibc's 128 KiB mmap threshold comes from the heap and shrinks in place.
"""

from __future__ import annotations

READ_SIZE = 64 * 1024


def read_from_heap(transport: object) -> None:
    """Caps the reads of a plain socket transport at `READ_SIZE`. A TLS transport has no
    `max_size` (its protocol reads into a buffer of its own) and is left as it is."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]
