"""`rtui devices`, and what happens without PortAudio or without any device: one sentence with the
fix, no traceback, and file input still works. Each case runs rtui in a subprocess whose
environment really lacks the library or the sound server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from audio_support import ROOT, virtual_audio, write_wav  # noqa: F401 - fixture

FIX = "run with --input FILE.wav or text input, or start virtual devices with scripts/virtual-audio."
INPUT_FIX = "run with --input FILE.wav or send text (t, --text), or start virtual devices with scripts/virtual-audio."
OUTPUT_FIX = "run with --output FILE.wav (or --output null), or start virtual devices with scripts/virtual-audio."

# Opens the microphone and the speaker, then reads a WAV file: what a session does at start.
SESSION_START = textwrap.dedent(
    """
    import asyncio, sys
    from tui.audio.errors import AudioError
    from tui.audio.options import make_sink, make_source

    async def main():
        for make in (make_source, make_sink):
            try:
                await make().start()
                print("opened")
            except AudioError as error:
                print(type(error).__name__, getattr(error, "reason", ""), error)
        chunks = [c async for c in make_source(sys.argv[1], paced=False)]
        print("file chunks", len(chunks))

    asyncio.run(main())
    """
)


def rtui_env(**changes: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
    env.update(changes)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture
def question_wav(tmp_path):
    import numpy as np

    return write_wav(tmp_path / "question.wav", np.zeros(1_600, dtype=np.float32), 16_000)


@pytest.fixture
def without_portaudio(tmp_path) -> dict[str, str]:
    """The dynamic loader finds a broken libportaudio.so.2 first, as with a damaged installation:
    sounddevice's import fails with OSError, the way it does when libportaudio2 is missing."""
    libdir = tmp_path / "lib"
    libdir.mkdir()
    (libdir / "libportaudio.so.2").write_bytes(b"")
    return rtui_env(LD_LIBRARY_PATH=str(libdir))


@pytest.fixture
def without_devices(tmp_path) -> dict[str, str]:
    """No sound server (as over SSH): the machine has no sound card, so PortAudio finds nothing."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return rtui_env(PULSE_SERVER=f"unix:{tmp_path}/no-server", XDG_RUNTIME_DIR=str(runtime))


def test_devices_lists_the_virtual_devices_and_marks_the_ones_rtui_uses(virtual_audio):
    env = rtui_env(PULSE_SERVER=virtual_audio.server)
    out = run([sys.executable, "-m", "tui", "devices"], env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "input devices:" and "output devices:" in lines
    marked = [line for line in lines if line.startswith(">")]
    assert len(marked) == 2 and all("default" in line and "[ALSA]" in line for line in marked)
    assert any(line.lstrip("> ").split()[1] == "pulse" and "44100 Hz" in line for line in lines)

    chosen = run([sys.executable, "-m", "tui", "devices", "--output-device", "puls"], env)
    output_part = chosen.stdout.split("output devices:")[1]
    assert [line for line in output_part.splitlines() if line.startswith(">")][0].split()[2] == "pulse"

    unknown = run([sys.executable, "-m", "tui", "devices", "--input-device", "usb mic"], env)
    assert unknown.returncode == 1
    assert unknown.stderr == "rtui devices: No input device matches 'usb mic'; run `rtui devices` to list them.\n"


def test_without_portaudio_rtui_says_so_in_one_sentence_and_files_still_work(without_portaudio, question_wav):
    out = run([sys.executable, "-m", "tui", "devices"], without_portaudio)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("rtui devices: No audio device: the PortAudio library could not be loaded (")
    assert out.stderr.endswith(f"install libportaudio2); {FIX}\n") and "Traceback" not in out.stderr

    session = run([sys.executable, "-c", SESSION_START, str(question_wav)], without_portaudio)
    assert session.returncode == 0, session.stderr
    lines = session.stdout.splitlines()
    assert all(line.startswith("NoAudioError no-portaudio No audio device: the PortAudio") for line in lines[:2])
    assert lines[2] == "file chunks 5"  # 100 ms of 16 kHz audio as 20 ms chunks of 24 kHz


def test_without_any_device_rtui_says_so_in_one_sentence_and_files_still_work(without_devices, question_wav):
    out = run([sys.executable, "-m", "tui", "devices"], without_devices)
    assert out.returncode == 1
    assert out.stderr == f"rtui devices: No audio device: PortAudio sees no device (typical over SSH); {FIX}\n"

    session = run([sys.executable, "-c", SESSION_START, str(question_wav)], without_devices)
    assert session.returncode == 0, session.stderr
    assert session.stdout.splitlines() == [
        f"NoAudioError no-device No audio device: PortAudio sees no input device (typical over SSH); {INPUT_FIX}",
        # The missing speaker gets speaker advice, not the microphone's.
        f"NoAudioError no-device No audio device: PortAudio sees no output device (typical over SSH); {OUTPUT_FIX}",
        "file chunks 5",
    ]
    assert "Traceback" not in session.stderr
