"""Leaving the live TUI in a real terminal: the installed `rtui` against `rtui mock`. Quitting leaves
the recording's place (and, after an abnormal closure, the diagnosis in one line) on the terminal;
Ctrl+C quits as q does, closing the session with 1000. Quitting `rtui proxy --ui` says the same of
the last relayed session."""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app_support import read_records
from cli_support import RTUI, running_mock
from tmux_support import Terminal, exited, terminal  # noqa: F401  (fixture)
from tui.diagnose import diagnose
from tui.diagnose.text import one_line

pytestmark = pytest.mark.tmux


def rtui_command(tmp_path: Path, url: str, then: str = "") -> str:
    """The live TUI on `url` with a tone as input, recording under tmp_path/sessions; `then` runs after it
    in the same pane (so the pane outlives rtui and shows what it printed)."""
    run = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color OPENAI_API_KEY=sk-x NO_PROXY=127.0.0.1,localhost "
        f"{RTUI} --url {url} --input tone:440 --output null --record-dir sessions"
    )
    return f"cd {shlex.quote(str(tmp_path))} && {run if then else 'exec ' + run}{then}"


def ends_recorded(tmp_path: Path) -> list[dict]:
    """The `end` records of the one recording under tmp_path/sessions so far."""
    return [r for path in (tmp_path / "sessions").glob("*.jsonl") for r in read_records(path) if r["kind"] == "end"]


def wait_exit(pid: int, terminal: Terminal, seconds: float, key: str) -> None:
    deadline = time.monotonic() + seconds
    while not exited(pid):
        assert time.monotonic() < deadline, f"rtui did not exit within {seconds} s of {key}; screen:\n{terminal.screen()}"
        time.sleep(0.05)


def test_quitting_after_an_abnormal_closure_prints_the_recording_and_the_diagnosis(terminal: Terminal, tmp_path: Path) -> None:
    with running_mock("--fault", "close,code=1011,after-frames=5") as url:
        terminal.start(rtui_command(tmp_path, url, then='; echo "rtui exited with $?"; sleep 600'))
        terminal.wait_for(lambda s: "Session closed: 1011" in s, 30, "the closure card")
        terminal.tmux("send-keys", "-t", "rtui", "q")
        # -J joins the lines the terminal wrapped: what rtui printed, line by line.
        terminal.wait_for(lambda s: "rtui exited with" in s, 5, "the shell after rtui")
        printed = terminal.tmux("capture-pane", "-p", "-J", "-t", "rtui")
    recording = next((tmp_path / "sessions").glob("*.jsonl"))
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    assert lines[-1] == "rtui exited with 0"
    relative = recording.relative_to(tmp_path)
    assert lines[-3] == f"recorded to {relative}"
    diagnosis = one_line(diagnose(recording))
    assert diagnosis
    assert lines[-2] == f"session ended: {diagnosis} (rtui diagnose {relative} says more)"


@pytest.mark.parametrize("second_closed", [False, True], ids=["second-quit", "second-closed-too"])
def test_quitting_after_a_reconnect_says_which_connection_closed_before_it(
    terminal: Terminal, tmp_path: Path, second_closed: bool
) -> None:
    # The server closes the first connection (1011) and R reconnects. When q ends the second one
    # normally, the session did not end with the 1011: that closure is printed as what it is, the
    # one before the reconnect. When the server closes the second one too, that is how it ended.
    fault = ("--fault", "close,code=1011,after-frames=5")
    with running_mock(*fault) as url:
        terminal.start(rtui_command(tmp_path, url, then='; echo "rtui exited with $?"; sleep 600'))
        terminal.wait_for(lambda s: "Session closed: 1011" in s, 30, "the closure card")
    port = url.split(":")[2].split("/")[0]
    with running_mock("--port", port, *(fault if second_closed else ())):
        terminal.tmux("send-keys", "-t", "rtui", "R")
        if second_closed:  # the card covers the log: the recording says when the second connection has ended

            def second_card(screen: str) -> bool:
                return len(ends_recorded(tmp_path)) == 2 and "Session closed: 1011" in screen

            terminal.wait_for(second_card, 30, "the second card")
        else:
            terminal.wait_for(lambda s: "OPEN" in s and "connection 2" in s, 30, "the second connection open")
        terminal.tmux("send-keys", "-t", "rtui", "q")
        terminal.wait_for(lambda s: "rtui exited with" in s, 5, "the shell after rtui")
        printed = terminal.tmux("capture-pane", "-p", "-J", "-t", "rtui")
    recording = next((tmp_path / "sessions").glob("*.jsonl"))
    relative = recording.relative_to(tmp_path)
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    diagnosis = diagnose(recording)
    [second] = diagnosis.other_endings
    assert (diagnosis.ending.conn, diagnosis.ending.code, second.conn) == (1, 1011, 2)
    ended = [f"session ended: {second.sentence} (connection 2 of 2)"] if second_closed else []
    assert lines[-3 - len(ended) :] == [
        f"recorded to {relative}",
        *ended,
        f"connection 1 of 2 closed before the reconnect: {diagnosis.ending.sentence} (rtui diagnose {relative} says more)",
        "rtui exited with 0",
    ]


def test_reconnecting_an_open_session_and_quitting_prints_only_the_recording(terminal: Terminal, tmp_path: Path) -> None:
    # R on an open connection closes it (1000, by this client) before opening the next: nothing closed
    # the session but the user.
    with running_mock() as url:
        terminal.start(rtui_command(tmp_path, url, then='; echo "rtui exited with $?"; sleep 600'))
        terminal.wait_for(lambda s: "OPEN" in s and "session.updated" in s, 30, "the session open")
        terminal.tmux("send-keys", "-t", "rtui", "R")
        terminal.wait_for(lambda s: "OPEN" in s and "connection 2" in s, 30, "the second connection open")
        terminal.tmux("send-keys", "-t", "rtui", "q")
        terminal.wait_for(lambda s: "rtui exited with" in s, 5, "the shell after rtui")
        printed = terminal.tmux("capture-pane", "-p", "-J", "-t", "rtui")
    recording = next((tmp_path / "sessions").glob("*.jsonl"))
    assert len(diagnose(recording).other_endings) == 1  # two connections
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    assert lines[-2:] == [f"recorded to {recording.relative_to(tmp_path)}", "rtui exited with 0"]


def test_quitting_after_a_normal_session_prints_only_the_recording(terminal: Terminal, tmp_path: Path) -> None:
    with running_mock() as url:
        terminal.start(rtui_command(tmp_path, url, then='; echo "rtui exited with $?"; sleep 600'))
        terminal.wait_for(lambda s: "OPEN" in s and "session.updated" in s, 30, "the session open")
        terminal.tmux("send-keys", "-t", "rtui", "q")
        terminal.wait_for(lambda s: "rtui exited with" in s, 5, "the shell after rtui")
        printed = terminal.tmux("capture-pane", "-p", "-J", "-t", "rtui")
    recording = next((tmp_path / "sessions").glob("*.jsonl"))
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    assert lines[-2:] == [f"recorded to {recording.relative_to(tmp_path)}", "rtui exited with 0"]


def test_ctrl_c_quits_and_closes_the_session_with_1000(terminal: Terminal, tmp_path: Path) -> None:
    with running_mock() as url:
        pid = terminal.start(rtui_command(tmp_path, url))
        terminal.wait_for(lambda s: "OPEN" in s and "session.updated" in s, 30, "the session open")
        terminal.tmux("send-keys", "-t", "rtui", "C-c")
        wait_exit(pid, terminal, 3, "Ctrl+C")
    records = read_records(next((tmp_path / "sessions").glob("*.jsonl")))
    closes = [r for r in records if r["kind"] == "close"]
    assert closes and closes[0]["dir"] == "c2s" and closes[0]["code"] == 1000
    assert records[-1]["kind"] == "end" and records[-1]["closed_by"] == "client" and records[-1]["code"] == 1000


async def relayed_session_closed_by_upstream(url: str) -> None:
    async with connect(url + "/v1/realtime?model=gpt-realtime", proxy=None) as ws:
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        for _ in range(3):
            await ws.send('{"type":"input_audio_buffer.append","audio":"AAAAAA=="}')  # two samples of silence
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass


@pytest.mark.parametrize("sessions", [0, 2])
def test_quitting_the_relay_ui_prints_the_last_sessions_recording_and_diagnosis(
    terminal: Terminal, tmp_path: Path, sessions: int
) -> None:
    with running_mock("--fault", "close,code=4001,after-frames=3") as upstream:
        relay = f"{RTUI} proxy --ui --listen 127.0.0.1:0 --upstream {upstream} --record relay.jsonl"
        terminal.start(
            f"cd {shlex.quote(str(tmp_path))} && env -u COLUMNS -u LINES TERM=xterm-256color {relay}"
            '; echo "rtui exited with $?"; sleep 600',
            width=160,
        )
        screen = terminal.wait_for(lambda s: "Relay listening on ws://" in s, 30, "where the relay listens")
        match = re.search(r"Relay listening on (ws://127\.0\.0\.1:\d+)", screen)
        assert match is not None, screen
        for _ in range(sessions):
            asyncio.run(relayed_session_closed_by_upstream(match.group(1)))
        if sessions:
            terminal.wait_for(lambda s: "Session closed: 4001" in s, 30, "the closure card")
        terminal.tmux("send-keys", "-t", "rtui", "q")
        terminal.wait_for(lambda s: "rtui exited with" in s, 10, "the shell after rtui")
        printed = terminal.tmux("capture-pane", "-p", "-J", "-t", "rtui")
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    if not sessions:
        assert lines[-2:] == ["no client connected: nothing was relayed or recorded", "rtui exited with 0"]
        assert list(tmp_path.iterdir()) == []
        return
    last = Path("relay-2.jsonl")
    diagnosis = one_line(diagnose(tmp_path / last))
    assert "4001" in diagnosis
    assert lines[-4:] == [
        "relayed 2 sessions, each recorded to its own file; the last:",
        f"recorded to {last}",
        f"session ended: {diagnosis} (rtui diagnose {last} says more)",
        "rtui exited with 0",
    ]
