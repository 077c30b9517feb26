"""Every connection rtui opens or accepts reads its socket in heap-sized chunks (tui/wire/reads.py),
and a message many times that size still arrives whole: over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio

from tests.wire_support import scripted_server
from tui.mock import MockConfig, MockServer
from tui.wire.client import ConnectOptions, open_connection
from tui.wire.reads import READ_SIZE
from tui.wire.server import RecordingServerConnection, recording_connection_factory

GLIBC_MMAP_THRESHOLD = 128 * 1024  # reads at or above it pay mmap, mremap and munmap each


async def test_both_ends_read_in_heap_sized_chunks_and_a_large_message_arrives_whole():
    server_read_sizes: list[int] = []

    async def echo_noting_the_read_size(ws: RecordingServerConnection) -> None:
        server_read_sizes.append(ws.transport.max_size)
        async for message in ws:
            await ws.send(message)

    factory = recording_connection_factory(lambda connection: None)
    async with scripted_server(echo_noting_the_read_size, create_connection=factory) as url:
        client = await open_connection(url, ConnectOptions(max_size=None))
        try:
            assert client.transport.max_size == READ_SIZE < GLIBC_MMAP_THRESHOLD
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
            assert [c.transport.max_size for c in server._server.connections] == [READ_SIZE]
        finally:
            await client.close()
