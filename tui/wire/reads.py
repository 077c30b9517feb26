"""Socket reads sized for the heap: `READ_SIZE`, the frame pump's read buffer (tui.wire.pump).

asyncio's selector transport reads with `sock.recv(max_size)`, 256 KiB. glibc serves a buffer that
large with `mmap`, and when the bytes object is shrunk to the few kilobytes that arrived and then
freed, with `mremap` and `munmap`: three syscalls and a page fault for every read, about 20 µs on
loopback against 2 µs for the read itself (python/cpython#85451; BENCHMARKS.md, "Headless
replay"). A buffer below glibc's 128 KiB mmap threshold comes from the heap; the pump reads into
one such buffer of its own, reused for every read.
"""

from __future__ import annotations

READ_SIZE = 64 * 1024
