"""The closure moment in a real terminal: the installed `rtui` against `rtui mock --fault close,...`.
The card appears, the TUI idles while it is shown, Esc returns to the log, and q leaves at once."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_support import read_records
from cli_support import RTUI
from tmux_support import Terminal, exited, terminal  # noqa: F401  (fixture)

pytestmark = pytest.mark.tmux

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture
def closing_mock() -> Iterator[str]:
    """`rtui mock` that closes every session with 1000 after the client's fifth frame: its URL."""
    mock = subprocess.Popen(
        [str(RTUI), "mock", "--port", "0", "--fault", "close,code=1000,after-frames=5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = mock.stdout.readline() if mock.stdout else ""
        assert first.startswith("listening on ws://127.0.0.1:"), first + (mock.stderr.read() if mock.stderr else "")
        yield first.split()[-1]
    finally:
        mock.terminate()
        mock.wait(timeout=10)


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def family(pid: int) -> list[int]:
    """The process and its children (the UI and the session engine it started)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]


def test_a_server_close_in_a_real_terminal(terminal: Terminal, closing_mock: str, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && exec env -u COLUMNS -u LINES TERM=xterm-256color OPENAI_API_KEY=sk-x "
        f"NO_PROXY=127.0.0.1,localhost {RTUI} --url {closing_mock} --input tone:440 --output null --record-dir {sessions}"
    )
    pid = terminal.start(command)
    terminal.wait_for(
        lambda s: "Session closed: 1000 normal closure" in s and "closed first by  server" in s, 30, "the closure card"
    )

    pids = family(pid)
    before, started = cpu_seconds(pids), time.monotonic()
    time.sleep(3)
    busy = (cpu_seconds(pids) - before) / (time.monotonic() - started)
    assert busy < 0.2, f"the TUI used {busy:.0%} of a core while showing the card"

    terminal.tmux("send-keys", "-t", "rtui", "Escape")
    screen = terminal.wait_for(lambda s: "Session closed:" not in s and " Events " in s, 5, "the log after Esc")
    assert "CLOSED 1000" in screen
    time.sleep(0.5)  # many refreshes later, the card has not come back by itself
    assert "Session closed:" not in terminal.screen()

    terminal.tmux("send-keys", "-t", "rtui", "q")
    deadline = time.monotonic() + 2
    while not exited(pid):
        assert time.monotonic() < deadline, f"rtui did not exit within 2 s of q; screen:\n{terminal.screen()}"
        time.sleep(0.05)
    records = read_records(next(sessions.glob("*.jsonl")))
    assert records[-1]["kind"] == "end" and records[-1]["closed_by"] == "server" and records[-1]["code"] == 1000


STORY1 = Path(__file__).resolve().parents[2] / "sessions/examples/story1-binary-append-close-1000.jsonl"
BINARY_FRAME = "binary-frame  The client sent 1 binary frame"


def test_a_replay_explains_its_closure_on_the_card(terminal: Terminal, tmp_path: Path) -> None:
    # The seed report, replayed in the TUI: the card says what `rtui diagnose` says, without quitting.
    command = (
        f"cd {shlex.quote(str(tmp_path))} && exec env -u COLUMNS -u LINES TERM=xterm-256color "
        f"{RTUI} replay {STORY1} --record-dir {tmp_path / 'sessions'}"
    )
    pid = terminal.start(command, height=40)
    screen = terminal.wait_for(lambda s: BINARY_FRAME in s, 30, "the binary-frame finding on the card")
    assert "Session closed: 1000 normal closure" in screen and "evidence: seq 4, 5" in screen
    terminal.tmux("send-keys", "-t", "rtui", "q")
    deadline = time.monotonic() + 5
    while not exited(pid):
        assert time.monotonic() < deadline, f"rtui did not exit after q; screen:\n{terminal.screen()}"
        time.sleep(0.05)


def test_an_opened_recording_explains_its_closure_on_the_card(terminal: Terminal, tmp_path: Path) -> None:
    # The same file opened with `o` from a live session (on the embedded mock, no key).
    command = (
        f"cd {shlex.quote(str(tmp_path))} && exec env -u COLUMNS -u LINES -u OPENAI_API_KEY TERM=xterm-256color "
        f"{RTUI} --input silence --output null --no-record"
    )
    pid = terminal.start(command, height=40)
    terminal.wait_for(lambda s: "OPEN" in s, 30, "the live session")
    terminal.tmux("send-keys", "-t", "rtui", "o")
    terminal.wait_for(lambda s: "Open a recording" in s, 5, "the open prompt")
    terminal.tmux("send-keys", "-t", "rtui", "-l", str(STORY1))
    terminal.tmux("send-keys", "-t", "rtui", "Enter")
    screen = terminal.wait_for(lambda s: BINARY_FRAME in s, 15, "the binary-frame finding on the recording's card")
    assert "Session closed: 1000 normal closure" in screen
    terminal.tmux("send-keys", "-t", "rtui", "Escape")
    terminal.wait_for(lambda s: "RECORDING (read-only)" in s and BINARY_FRAME not in s, 5, "the recording view")
    terminal.tmux("send-keys", "-t", "rtui", "c")
    terminal.wait_for(lambda s: BINARY_FRAME in s, 5, "the card again after c")
    terminal.tmux("send-keys", "-t", "rtui", "q")
    deadline = time.monotonic() + 5
    while not exited(pid):
        assert time.monotonic() < deadline, f"rtui did not exit after q; screen:\n{terminal.screen()}"
        time.sleep(0.05)
