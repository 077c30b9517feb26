"""When the disk fills up or the session directory cannot be written: a clear message, the session
goes on, and the recording keeps every record written before the failure (at most the record
being written is lost). The disk is "filled" with a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored)
in a child process, which behaves for the writer exactly like ENOSPC/EFBIG on a full disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_support import rtui
from tests.fake_keys import RELIABILITY_KEY
from tui.wire.reader import SessionReader
from tui.wire.writer import RecordingFailed, SessionWriter

ROOT = Path(__file__).resolve().parents[2]


def limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a killed process

    return apply


RECORDING_CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from websockets.asyncio.server import serve
    from tui.wire.client import ConnectOptions, open_connection
    from tui.wire.writer import SessionWriter

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    async def main(path, key):
        failed = {}
        async with serve(echo, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime?model=gpt-realtime"
            writer = SessionWriter(path, mode="live", url=url,
                                   on_failure=lambda exc: failed.update(seq=writer.records_written, message=str(exc.strerror)))
            ws = await open_connection(url, ConnectOptions(api_key=key), writer=writer)
            audio = "A" * 1280
            sent = after = 0
            while after < 20:
                await ws.send('{"type":"input_audio_buffer.append","audio":"%s"}' % audio)
                assert (await ws.recv()).endswith('%s"}' % audio)
                sent += 1
                after += bool(failed)
            await ws.close()
            writer.close()
        print(json.dumps({"sent": sent, "echoes_after_failure": after, "unwritten": writer.unwritten, **failed}))

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def test_a_full_disk_stops_the_recording_but_not_the_connection(tmp_path):
    path = tmp_path / "full.jsonl"
    limit = 64 * 1024
    child = subprocess.run(
        [sys.executable, "-c", RECORDING_CHILD, str(path), RELIABILITY_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=limit_file_size(limit),
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["message"] == "File too large"
    assert report["echoes_after_failure"] == 20  # the connection never noticed
    assert report["unwritten"] >= 40  # the records it could not write are counted, not silently dropped
    assert path.stat().st_size <= limit
    with SessionReader(path) as reader:
        records = list(reader)
    # Every record before the one being written when the disk filled is there, in order.
    assert [r["seq"] for r in records] == list(range(1, report["seq"]))
    assert reader.truncated and len(reader.problems) == 1
    assert "the recording stopped mid-write" in str(reader.problems[0])


def test_headless_session_on_a_full_disk_says_so_and_finishes(tmp_path):
    # Room for the header and the handshake, not for the whole session.
    result = rtui(
        "--headless",
        "--input",
        "none",
        "--output",
        "null",
        "--text",
        "Hello",
        cwd=tmp_path,
        preexec_fn=limit_file_size(6000),
        PYTHONDONTWRITEBYTECODE="1",  # no .pyc written under the file size limit
    )
    assert result.returncode == 0, result.stderr
    assert "response.done" in result.stdout and "Hello from the rtui mock server." in result.stdout
    [recording] = (tmp_path / "sessions").glob("*.jsonl")
    assert f"Recording stopped: File too large; everything before this point is in sessions/{recording.name}" in result.stderr
    with SessionReader(recording) as reader:
        records = list(reader)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert records[0]["kind"] == "handshake_request"
    assert recording.stat().st_size <= 6000


def unwritable_directories(tmp_path: Path) -> list[Path]:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the session directory should be\n")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    # root ignores permission bits; sysfs refuses new entries to everyone.
    return [blocker / "sessions", Path("/sys/rtui-sessions") if os.geteuid() == 0 else read_only / "sessions"]


def test_an_unwritable_session_directory_is_refused_with_the_reason(tmp_path):
    for directory in unwritable_directories(tmp_path):
        with pytest.raises(RecordingFailed) as caught:
            SessionWriter.create(directory, mode="live", url="ws://127.0.0.1/v1/realtime")
        message = str(caught.value)
        assert message.startswith(f"cannot create recording {directory}/")
        assert message.endswith(
            (": Not a directory", ": Operation not permitted", ": Permission denied", ": Read-only file system")
        )


def test_headless_session_with_an_unwritable_session_directory_runs_and_says_why(tmp_path):
    for directory in unwritable_directories(tmp_path):
        result = rtui(
            "--headless", "--input", "none", "--output", "null", "--text", "Hello", "--record-dir", str(directory), cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert "Not recording: " in result.stderr and "Use --record-dir DIR or --no-record." in result.stderr
        assert "response.done" in result.stdout
        assert "recorded to" not in result.stdout
