"""The engine in its own process (how `rtui` runs it under the TUI): the UI's mirror of its state and
log, its commands, and what happens when either side dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from engine_support import engine_config, mock_server, wait_for
from tui.engine.commands import Mark, SendText, SetMuted
from tui.engine.process import EngineProcess
from tui.engine.state import LogBuffer
from tui.wire.reader import SessionReader


def records(path: str | Path) -> list[dict]:
    return list(SessionReader(path))


def event_types(engine: EngineProcess) -> list[str]:
    entries, _, _ = engine.log.since(0)
    return [entry.record.get("type") for entry in entries if entry.record["kind"] == "frame"]


async def test_the_mirror_follows_the_child_and_commands_reach_it(tmp_path: Path) -> None:
    async with mock_server() as server:
        config = engine_config(server.url_for(), tmp_path, stay_after_close=True)
        config.audio.input = "tone"
        engine = EngineProcess(config)
        running = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.phase == "open", timeout=20)
        assert engine.pid is not None and engine.pid != os.getpid()

        engine.submit(SendText("What is the capital of France?"))
        await wait_for(lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript), timeout=20)
        assert "session.created" in event_types(engine)
        assert "conversation.item.create" in event_types(engine)
        assert engine.state.counters.audio_sent_seconds > 0  # the tone streams from the child's source
        await wait_for(lambda: len(engine.capture_latencies_ns) > 0)

        engine.submit(SetMuted(True))
        await wait_for(lambda: engine.state.muted)
        engine.submit(Mark("heard the answer"))
        engine.stop()
        assert await asyncio.wait_for(running, 20) == "stopped"

    assert engine.exitcode == 0 and engine.state.phase == "closed"
    assert engine.state.close is not None and engine.state.close.closed_by == "client"
    recorded = records(engine.state.recording_path)
    assert any(r["kind"] == "mark" and r["note"] == "heard the answer" for r in recorded)
    assert recorded[-1]["kind"] == "end" and recorded[-1]["code"] == 1000


async def test_a_killed_engine_process_is_reported_and_its_recording_kept(tmp_path: Path) -> None:
    async with mock_server() as server:
        engine = EngineProcess(engine_config(server.url_for(), tmp_path, stay_after_close=True))
        running = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.phase == "open", timeout=20)
        engine.submit(SendText("hello"))
        await wait_for(lambda: "response.done" in event_types(engine), timeout=20)
        os.kill(engine.pid, signal.SIGKILL)
        assert await asyncio.wait_for(running, 20) == "closed"

    assert engine.state.phase == "closed"
    assert any("killed by signal 9" in notice for notice in engine.state.notices)
    recorded = records(engine.state.recording_path)
    assert any(r.get("type") == "response.done" for r in recorded)
    engine.submit(SendText("nobody is listening"))  # commands to a dead engine are ignored, not raised


PARENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from tui.engine.config import AudioSettings, Endpoint, EngineConfig
    from tui.engine.process import EngineProcess

    async def main():
        config = EngineConfig(endpoint=Endpoint(url=sys.argv[1], kind="live"),
                              audio=AudioSettings(input="tone", output="null"),
                              record_dir=Path(sys.argv[2]), stay_after_close=True)
        engine = EngineProcess(config)
        task = asyncio.create_task(engine.run())
        while engine.state.phase != "open":
            await asyncio.sleep(0.02)
        print(engine.state.recording_path, flush=True)
        await task

    asyncio.run(main())
    """
)


async def test_when_the_ui_process_dies_the_engine_closes_the_session_and_the_recording(tmp_path: Path) -> None:
    async with mock_server() as server:
        parent = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PARENT, server.url_for(), str(tmp_path), stdout=subprocess.PIPE
        )
        line = await asyncio.wait_for(parent.stdout.readline(), 30)
        recording = Path(line.decode().strip())
        await asyncio.sleep(0.5)  # some audio on the wire
        parent.kill()
        await parent.wait()

        def ended() -> bool:
            return records(recording)[-1]["kind"] == "end"

        await wait_for(ended, timeout=20)

    end = records(recording)[-1]  # the mock was told goodbye with a close frame, not a dropped socket
    assert end["closed_by"] == "client" and end["code"] == 1000 and end["clean"]
    assert any(r.get("type") == "input_audio_buffer.append" for r in records(recording))


def test_a_mirror_told_of_lost_entries_reports_them_as_missed() -> None:
    log = LogBuffer(capacity=8)
    for i in range(3):
        log.append(i)  # type: ignore[arg-type]
    log.skip(4)
    log.append(7)  # type: ignore[arg-type]
    entries, cursor, skipped = log.since(0)
    assert (entries, cursor, skipped) == ([0, 1, 2, 7], 8, 4)
    log.skip(100)  # more than the ring holds
    log.append(108)  # type: ignore[arg-type]
    entries, cursor, skipped = log.since(cursor)
    assert (entries, cursor, skipped) == ([108], 109, 100)


def test_the_engine_process_starts_without_the_caller_importing_anything(tmp_path: Path) -> None:
    # `rtui` is a console script; the child must not depend on the parent's __main__ (multiprocessing's
    # spawn would re-run it). A script with no main guard starts an engine that works.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import asyncio\n"
        "from tui.engine.config import AudioSettings, Endpoint, EngineConfig\n"
        "from tui.engine.process import EngineProcess\n"
        "config = EngineConfig(endpoint=Endpoint(url='', kind='mock'), audio=AudioSettings(input='none', output='null'), "
        "record_dir=None)\n"
        "engine = EngineProcess(config)\n"
        "async def main():\n"
        "    task = asyncio.create_task(engine.run())\n"
        "    while engine.state.phase != 'open':\n"
        "        await asyncio.sleep(0.02)\n"
        "    engine.stop()\n"
        "    print(await task)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
