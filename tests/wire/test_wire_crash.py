"""A recording process killed with SIGKILL mid-session loses at most the record being written."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from tui.wire.reader import SessionReader

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from websockets.asyncio.server import serve
    from tui.wire.client import open_connection
    from tui.wire.writer import SessionWriter

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main(path):
        async with serve(echo, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime?model=gpt-realtime"
            writer = SessionWriter(path, mode="live", url=url)
            ws = await open_connection(url, writer=writer)
            audio = "A" * 6400
            while True:
                await ws.send('{"type":"input_audio_buffer.append","audio":"%s"}' % audio)
                await ws.recv()
                print(writer.records_written, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


def test_sigkill_mid_session_keeps_every_record_written_before_it(tmp_path):
    path = tmp_path / "killed.jsonl"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        reported = 0
        assert child.stdout is not None
        for line in child.stdout:
            reported = int(line)
            if reported >= 400:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    with SessionReader(path) as reader:
        records = list(reader)
    seqs = [r["seq"] for r in records]
    # Everything the process had confirmed as written is there, in order, with nothing missing.
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= reported
    assert records[0]["kind"] == "handshake_request"
    assert not [r for r in records if r["kind"] == "end"]  # it never got to end cleanly
    if reader.truncated:
        (problem,) = reader.problems
        assert "truncated last line" in problem.message
    else:
        assert reader.problems == []
