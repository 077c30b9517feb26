"""`rtui mock` as a user runs it: the first line, a session, Ctrl-C, the help and bad faults."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cli_support import hangup_as_in_a_terminal
from mock_support import open_client
from tui.cli.mock import register
from tui.mock.faults import FAULT_TYPES
from tui.mock.ids import IdFactory
from tui.wire.reader import SessionReader

RTUI = [sys.executable, "-m", "tui"]


@asynccontextmanager
async def running_mock(record_dir, *options: str, timeout: float, stop: int = signal.SIGINT) -> AsyncIterator[str]:
    """`rtui mock` on a free port, recording into `record_dir`: yields the URL its first line gives;
    on leaving, Ctrl-C (or `stop`) must end it cleanly (exit 0, no traceback)."""
    process = await asyncio.create_subprocess_exec(
        *RTUI,
        "mock",
        "--port",
        "0",
        "--fast",
        *options,
        "--record",
        str(record_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=hangup_as_in_a_terminal,
    )
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), timeout)).decode()
        match = re.fullmatch(r"listening on (ws://127\.0\.0\.1:(\d+)/v1/realtime)\n", first)
        assert match, first
        yield match.group(1)
        process.send_signal(stop)
        code = await asyncio.wait_for(process.wait(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await process.stderr.read()).decode()
    assert code == 0 and "Traceback" not in stderr, stderr


async def test_mock_prints_its_url_serves_and_exits_cleanly_on_ctrl_c(tmp_path):
    async with running_mock(tmp_path, timeout=20) as url:
        client = await open_client(f"{url}?model=gpt-realtime")
        assert (await client.recv())["type"] == "session.created"
        await client.send({"type": "response.create"})
        assert (await client.until("response.done"))[-1]["response"]["status"] == "completed"
        await client.ws.close()
    [recording] = list(tmp_path.glob("*.jsonl"))
    with SessionReader(recording) as reader:
        assert reader.header["mode"] == "mock"
        assert any(r.get("type") == "response.done" for r in reader)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
async def test_sigterm_or_a_lost_terminal_stops_the_mock_as_ctrl_c_does_with_a_session_open(tmp_path, stop):
    # A lost terminal (SIGHUP) used to kill it on the spot, the open session's recording cut off
    # without its end.
    async with running_mock(tmp_path, timeout=20, stop=stop) as url:
        client = await open_client(f"{url}?model=gpt-realtime")
        assert (await client.recv())["type"] == "session.created"
    [recording] = list(tmp_path.glob("*.jsonl"))
    with SessionReader(recording) as reader:
        records = list(reader)
    assert not reader.problems and not reader.truncated
    assert records[-1]["kind"] == "end", records[-1]


async def test_mcp_tools_option_names_what_a_server_lists(tmp_path):
    async with running_mock(tmp_path, "--mcp-tools", "lookup_order,refund", timeout=20) as url:
        client = await open_client(f"{url}?model=gpt-realtime")
        await client.recv()
        server = {"type": "mcp", "server_label": "shop", "server_url": "https://shop.example/mcp"}
        await client.send({"type": "session.update", "session": {"type": "realtime", "tools": [server]}})
        listed = (await client.until("conversation.item.done"))[-1]["item"]
        await client.ws.close()
    assert listed["type"] == "mcp_list_tools" and [t["name"] for t in listed["tools"]] == ["lookup_order", "refund"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers needs SO_REUSEPORT (Linux)")
async def test_workers_share_one_port_and_every_session_is_whole(tmp_path):
    async with running_mock(tmp_path, "--workers", "2", timeout=30) as url:

        async def session() -> tuple[str, str]:
            client = await open_client(f"{url}?model=gpt-realtime")
            created = await client.recv()
            await client.send({"type": "response.create"})
            done = (await client.until("response.done"))[-1]
            await client.ws.close()
            return created["session"]["id"], done["response"]["status"]

        results = await asyncio.gather(*(session() for _ in range(20)))
    assert all(status == "completed" for _, status in results)
    # Worker 1 numbers its connections 1, 3, 5, ..., worker 2 numbers them 2, 4, 6, ...: every session
    # has its own ids, and (20 connections spread by the kernel) both workers served some.
    ids = {IdFactory(f"0/{index}").session(): index for index in range(1, 41)}
    indexes = [ids[session_id] for session_id, _ in results]
    assert len(set(indexes)) == 20
    assert {index % 2 for index in indexes} == {0, 1}
    recordings = list(tmp_path.glob("*.jsonl"))
    assert len(recordings) == 20
    for recording in recordings:
        with SessionReader(recording) as reader:
            kinds = [r.get("type") for r in reader]
        assert "session.created" in kinds and "response.done" in kinds


def test_help_documents_every_option_and_fault():
    subparsers = argparse.ArgumentParser().add_subparsers()
    register(subparsers)
    mock = subparsers.choices["mock"]
    help_text = mock.format_help()
    for action in mock._actions:
        for flag in action.option_strings:
            assert flag in help_text
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
    for kind in FAULT_TYPES:
        assert f"\n  {kind}" in help_text
    assert "examples:" in help_text and "ws://HOST:PORT/v1/realtime?model=gpt-realtime" in help_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "explode"], "unknown fault 'explode'"),
        (["--fault", "close,cod=4000"], "'cod=4000' is not a setting of fault 'close'"),
        (["--session-max", "0"], "--session-max must be a positive number"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--port", "70000"], "--port must be from 0 to 65535"),
        (["--port", "-1"], "--port must be from 0 to 65535"),
        (["--workers", "2", "--serve", "any.jsonl"], "--workers serves the simulation"),
        (["--mcp-tools", "search,,fetch"], "--mcp-tools takes tool names"),
        (["--mcp-tools", "web search"], "--mcp-tools takes tool names"),
    ],
)
def test_bad_arguments_get_one_clear_line_and_status_2(args, message):
    result = subprocess.run([*RTUI, "mock", "--port", "0", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_in_use_is_explained(workers):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*RTUI, "mock", "--port", str(port), "--workers", workers], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--workers needs SO_REUSEPORT (Linux)")
def test_ctrl_c_in_a_terminal_stops_the_workers_without_a_traceback(tmp_path):
    # A terminal's Ctrl-C reaches the whole process group: every worker gets SIGINT, and the
    # parent's SIGTERM follows while the worker is stopping. Signals keep coming here (as from an
    # impatient user) through the workers' whole shutdown, so one lands while their loops close.
    process = subprocess.Popen(
        [*RTUI, "mock", "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("listening on")
        assert process.stdout.readline().strip() == "2 worker processes"
        workers = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and process.poll() is None:
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            time.sleep(0.001)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0 and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
