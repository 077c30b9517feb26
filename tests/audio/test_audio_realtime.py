"""Real-time scheduling for the audio engine (tui/audio/realtime.py): the engine's loop and the device
threads it starts run under SCHED_RR while the microphone and speaker are open, and go back to
normal afterwards; a thread that never pauses loses it; without permission (or with
--no-realtime) nothing changes.

Thread policies are read from /proc, as `ps -eLo cls` does, on real PortAudio devices."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from audio_support import virtual_audio  # noqa: F401 - fixture
from scheduling_support import realtime_permitted, realtime_threads
from tests.engine_support import engine_config, mock_server, wait_for
from tui.audio.capture import MicrophoneSource
from tui.audio.playback import SpeakerSink
from tui.audio.realtime import BUDGET_US
from tui.engine.config import AudioSettings
from tui.engine.session import Engine

ROOT = Path(__file__).resolve().parents[2]


needs_realtime = pytest.mark.skipif(
    not realtime_permitted(), reason="this machine permits no real-time scheduling (no CAP_SYS_NICE, rtprio limit 0)"
)


@needs_realtime
@pytest.mark.audio
async def test_the_engine_and_its_device_threads_run_real_time_while_the_devices_are_open(virtual_audio, tmp_path, monkeypatch):
    pair = virtual_audio.devices(48_000)
    monkeypatch.setenv("PULSE_SOURCE", pair.mic_monitor)
    monkeypatch.setenv("PULSE_SINK", pair.speaker)
    handler_before = signal.getsignal(signal.SIGXCPU)
    limit_before = resource.getrlimit(resource.RLIMIT_RTTIME)
    assert realtime_threads() == set()
    async with mock_server() as mock:
        config = engine_config(mock.url_for(), tmp_path, audio=AudioSettings(input="mic", output="speaker", realtime=True))
        engine = Engine(config, source=MicrophoneSource(), sink=SpeakerSink())
        run = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: engine.state.phase == "open" and engine.state.counters.frames_sent > 5, 15)
            while_open = realtime_threads()
            # The loop's thread, and the threads started for the two streams (PortAudio's callback
            # thread and the ALSA pulse plugin's for each).
            assert threading.get_native_id() in while_open
            assert len(while_open) >= 5
            assert resource.getrlimit(resource.RLIMIT_RTTIME)[0] == BUDGET_US
        finally:
            engine.stop()
            assert await asyncio.wait_for(run, 15) == "stopped"
    assert realtime_threads() == set()
    assert signal.getsignal(signal.SIGXCPU) == handler_before
    assert resource.getrlimit(resource.RLIMIT_RTTIME) == limit_before
    assert engine.state.notices == []


RUNAWAY = """
import os, resource, sys, time
from tui.audio.realtime import RealtimeScheduling
if sys.argv[1] != "none":  # an administrator's stricter limit, which rtui must keep
    resource.setrlimit(resource.RLIMIT_RTTIME, (int(sys.argv[1]), resource.RLIM_INFINITY))
realtime = RealtimeScheduling(budget_us=50_000)
revoked = []
realtime.on_revoked = revoked.append
assert realtime.acquire(), realtime.status
start = time.process_time()
while realtime.active and time.process_time() - start < 5:
    pass  # never sleeps: the kernel signals once the budget of CPU time went by
print(os.sched_getscheduler(0), realtime.status, revoked == [realtime.status], sep="\\n")
"""


@needs_realtime
@pytest.mark.parametrize(("limit", "budget_ms"), [("none", 50), ("30000", 30)])
def test_a_real_time_thread_that_never_pauses_is_put_back_to_normal_scheduling(limit, budget_ms):
    done = subprocess.run([sys.executable, "-c", RUNAWAY, limit], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    policy, status, reported = done.stdout.splitlines()
    assert int(policy) == os.SCHED_OTHER
    assert status == f"normal scheduling (real-time given up: a thread ran {budget_ms} ms without pausing)"
    assert reported == "True"


REFUSED = """
from tui.audio.realtime import RealtimeScheduling
realtime = RealtimeScheduling()
print(realtime.acquire(), realtime.status, sep="\\n")
"""


def no_rtprio() -> None:
    resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))


def test_without_permission_scheduling_stays_normal_and_says_why():
    command = [sys.executable, "-c", REFUSED]
    if os.geteuid() == 0:  # root may regardless: drop the capability that lets it (CAP_SYS_NICE)
        command = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps", "-sys_nice", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT, preexec_fn=no_rtprio)
    assert done.returncode == 0, done.stderr
    granted, status = done.stdout.splitlines()
    assert granted == "False"
    assert status.startswith("normal scheduling (real-time scheduling not permitted")


@needs_realtime
@pytest.mark.audio
@pytest.mark.parametrize("flags", [[], ["--no-realtime"]], ids=["default", "no-realtime"])
def test_rtui_asks_for_real_time_unless_told_not_to(virtual_audio, tmp_path, flags):
    pair = virtual_audio.devices(48_000)
    env = {**virtual_audio.env, "PULSE_SOURCE": pair.mic_monitor, "PULSE_SINK": pair.speaker}
    env.pop("OPENAI_API_KEY", None)
    rtui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "--headless",
            "--mock",
            "--input",
            "mic",
            "--output",
            "speaker",
            "--record-dir",
            str(tmp_path),
            "--text",
            "Hello?",
            *flags,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while "session.updated" not in (line := rtui.stdout.readline()):
            assert line and time.monotonic() < deadline, f"rtui did not start: {rtui.stderr.read() if not line else ''}"
        time.sleep(0.5)  # the devices opened before the session did; let their streams run
        running_real_time = realtime_threads(rtui.pid)
    finally:
        rtui.send_signal(signal.SIGINT)
        _, err = rtui.communicate(timeout=20)
    assert rtui.returncode == 0, err
    audio_line = next(line for line in err.splitlines() if line.startswith("rtui: audio in: "))
    assert "in: microphone '" in audio_line and "out: speaker '" in audio_line
    if flags:
        assert running_real_time == set()
        assert audio_line.endswith("; normal scheduling (real-time not asked for)")
    else:
        assert rtui.pid in running_real_time and len(running_real_time) >= 5
        assert audio_line.endswith("; real-time scheduling (SCHED_RR priority 4)")
