"""`rtui` in a real terminal (tmux) on the embedded mock, with a virtual microphone: the screen shows
the session open, the input meter moving while speech plays, the model's answer, and the app leaves
cleanly (recording finished) when the terminal goes away."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from app_support import read_records
from audio_support import VirtualAudio, make_speech, virtual_audio  # noqa: F401  (fixture)
from cli_support import RTUI
from tmux_support import Terminal, exited, terminal  # noqa: F401  (fixture)

MIC_LEVEL = re.compile(r"^ mic\s+\[[^\]]*\]\s+(-inf|-?\d+\.\d) dBFS", re.MULTILINE)

pytestmark = [pytest.mark.tmux, pytest.mark.audio]


def mic_level(screen: str) -> float | None:
    match = MIC_LEVEL.search(screen)
    if match is None:
        return None
    return float("-inf") if match.group(1) == "-inf" else float(match.group(1))


def test_rtui_in_a_terminal_with_a_virtual_microphone(terminal: Terminal, virtual_audio: VirtualAudio, tmp_path: Path) -> None:  # noqa: F811
    speech = make_speech(tmp_path)
    sessions = tmp_path / "sessions"
    env = {
        "PULSE_SERVER": virtual_audio.server,
        "PULSE_SOURCE": "rtui_mic.monitor",
        "PULSE_SINK": "rtui_speaker",
        "TERM": "xterm-256color",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    # A stale COLUMNS/LINES in the environment must not shrink the screen: rtui reads the terminal.
    command = (
        f"cd {shlex.quote(str(tmp_path))} && "
        f"exec env -u OPENAI_API_KEY COLUMNS=80 LINES=24 {exports} {RTUI} --record-dir {sessions}"
    )
    pid = terminal.start(command)

    screen = terminal.wait_for(lambda s: "OPEN" in s and "EMBEDDED MOCK" in s and "session.updated" in s, 30, "the session open")
    assert "No audio device" not in screen
    assert "─" * 100 in screen  # the whole 100x30 terminal is used
    before = mic_level(screen)
    assert before is not None and before < -50

    player = subprocess.Popen(["paplay", "--device=rtui_mic", str(speech)], env=virtual_audio.env)
    levels = []
    try:
        while player.poll() is None:
            level = mic_level(terminal.screen())
            if level is not None:
                levels.append(level)
            time.sleep(0.05)
    finally:
        player.wait(timeout=30)
    assert player.returncode == 0
    assert max(levels) > -40, f"the input meter never moved: {levels}\n{terminal.screen()}"

    screen = terminal.wait_for(lambda s: "model > Hello from the rtui mock server." in s, 30, "the model's answer")
    assert "input_audio_buffer.append" in screen or "speech_started" in screen or "response.done" in screen

    terminal.kill()  # the terminal goes away: rtui gets SIGHUP
    deadline = time.monotonic() + 15
    while not exited(pid):
        assert time.monotonic() < deadline, "rtui did not exit after SIGHUP"
        time.sleep(0.1)
    recordings = list(sessions.glob("*.jsonl"))
    assert len(recordings) == 1
    records = read_records(recordings[0])
    assert records[-1]["kind"] == "end" and records[-1]["closed_by"] == "client" and records[-1]["clean"]


def test_rtui_in_a_plain_terminal_without_colour(terminal: Terminal, tmp_path: Path) -> None:
    """TERM=vt100 and NO_COLOR: the screen still reads, the keys work, and q leaves cleanly."""
    sessions = tmp_path / "sessions"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && exec env -u OPENAI_API_KEY -u COLUMNS -u LINES TERM=vt100 NO_COLOR=1 "
        f"NO_PROXY=127.0.0.1,localhost {RTUI} --input none --output null --record-dir {sessions}"
    )
    pid = terminal.start(command, width=80, height=24)
    terminal.wait_for(
        lambda s: " OPEN " in s and "session.updated" in s and "Space Talk" in s and "q Quit" in s, 30, "the session open"
    )
    terminal.tmux("send-keys", "-t", "rtui", "?")
    terminal.wait_for(lambda s: "rtui keys" in s and "session.respond" in s, 10, "the help screen")
    terminal.tmux("send-keys", "-t", "rtui", "Escape")
    terminal.wait_for(lambda s: "rtui keys" not in s, 10, "the help screen closed")
    terminal.tmux("send-keys", "-t", "rtui", "r")
    terminal.wait_for(lambda s: "response.done" in s, 20, "the answer to response.create")
    terminal.tmux("send-keys", "-t", "rtui", "q")
    deadline = time.monotonic() + 15
    while not exited(pid):
        assert time.monotonic() < deadline, "rtui did not exit on q"
        time.sleep(0.1)
    records = read_records(next(sessions.glob("*.jsonl")))
    assert records[-1]["kind"] == "end" and records[-1]["clean"]
