"""scripts/virtual-audio as a user runs it: start (idempotent), env, status, stop, other rates."""

from __future__ import annotations

import os
import subprocess

import pytest

from audio_support import SCRIPT

pytestmark = pytest.mark.audio


def script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def test_start_env_status_stop_at_44100(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
    env["RTUI_AUDIO_DIR"] = str(tmp_path / "va")
    line = f"export PULSE_SERVER=unix:{tmp_path}/va/pulse/native\n"
    try:
        assert script("status", env=env).returncode == 1
        started = script("start", "--mic-rate", "44100", "--speaker-rate", "44100", env=env)
        assert started.returncode == 0, started.stderr
        assert started.stdout == line
        assert script("start", env=env).stdout == line  # already running: the same line, no second server
        assert script("env", env=env).stdout == line
        assert script("status", env=env).returncode == 0

        pulse_env = {**env, "PULSE_SERVER": line.split("=", 1)[1].strip()}
        sinks = subprocess.run(["pactl", "list", "short", "sinks"], env=pulse_env, capture_output=True, text=True).stdout
        rows = {row.split("\t")[1]: row for row in sinks.splitlines()}
        assert set(rows) == {"rtui_mic", "rtui_speaker"}
        assert all("s16le 1ch 44100Hz" in row for row in rows.values())
        info = subprocess.run(["pactl", "info"], env=pulse_env, capture_output=True, text=True).stdout
        assert "Default Sink: rtui_speaker" in info and "Default Source: rtui_mic.monitor" in info
        keepers = (tmp_path / "va" / "keepers.pid").read_text().split()
        assert len(keepers) == 2
    finally:
        stopped = script("stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert script("status", env=env).returncode == 1
    for pid in keepers:  # the low-latency keepers went with the server
        state = subprocess.run(["ps", "-p", pid, "-o", "stat="], capture_output=True, text=True).stdout.strip()
        assert state in ("", "Z"), state
    missing = script("env", env=env)
    assert missing.returncode == 1
    assert missing.stderr == "virtual-audio: not running: start it with scripts/virtual-audio start\n"
