"""A real terminal for the tests: a private tmux server running the installed `rtui`.

Import the fixture explicitly: `from tmux_support import Terminal, terminal`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from secret_scan_plugin import check_screen

ROOT = Path(__file__).resolve().parent.parent


class Terminal:
    """A private tmux server (its own socket, no user config) running one command."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> int:
        self.tmux("new-session", "-d", "-s", "rtui", "-x", str(width), "-y", str(height), command)
        return int(self.tmux("list-panes", "-t", "rtui", "-F", "#{pane_pid}").split()[0])

    def screen(self) -> str:
        """What the terminal shows; a fake key on it fails the test (tests/secret_scan_plugin.py)."""
        text = self.tmux("capture-pane", "-p", "-t", "rtui")
        check_screen(text, "the terminal")
        return text

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"the screen never showed {what}; last screen:\n{text}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


@pytest.fixture
def terminal():
    if shutil.which("tmux") is None:
        pytest.fail("tmux is missing: apt-get install tmux (scripts/test does it)")
    term = Terminal(f"rtui-test-{os.getpid()}")
    yield term
    term.kill()
