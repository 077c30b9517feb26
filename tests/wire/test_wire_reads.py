"""Every connection rtui opens or accepts reads its socket in heap-sized chunks (tui/wire/reads.py),
and a message many times that size still arrives whole: over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

from tui.mock import MockConfig, MockServer
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.pump import FramePump
from tui.wire.reads import READ_SIZE
from tui.wire.server import ServerConnection, serve

GLIBC_MMAP_THRESHOLD = 128 * 1024  # reads at or above it pay mmap, mremap and munmap each


def read_size(connection: FramePump) -> int:
    """How much one read of the socket may take: the size of the buffer the pump reads into."""
    return connection.get_buffer(-1).nbytes


async def test_both_ends_read_in_heap_sized_chunks_and_a_large_message_arrives_whole():
    server_read_sizes: list[int] = []

    async def echo_noting_the_read_size(ws: ServerConnection) -> None:
        server_read_sizes.append(read_size(ws))
        async for message in ws:
            await ws.send(message)

    async with await serve(echo_noting_the_read_size, "127.0.0.1", 0, max_size=None) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        client = await open_connection(url, ConnectOptions(max_size=None))
        try:
            assert read_size(client) == READ_SIZE < GLIBC_MMAP_THRESHOLD
            message = "".join(chr(ord("a") + n % 26) for n in range(16 * READ_SIZE + 7))
            await client.send(message)
            assert await asyncio.wait_for(client.recv(), 10) == message
        finally:
            await client.close()
    assert server_read_sizes == [READ_SIZE]


async def test_the_mock_server_reads_in_heap_sized_chunks_when_it_does_not_record():
    async with MockServer(MockConfig(realtime=False)) as server:
        client = await open_connection(server.url_for())
        try:
            await asyncio.wait_for(client.recv(), 10)  # session.created: the connection is served
            assert [read_size(c) for c in server._server.connections] == [READ_SIZE]
        finally:
            await client.close()
