"""Real audio devices for the tests: one private PulseAudio per test session (scripts/virtual-audio in
a temporary runtime directory), null sinks at 44 100 and 48 000 Hz, and the measuring helpers the
audio tests share (speech made with espeak-ng and sox, an energy detector, cross-correlation).

Import the fixtures explicitly: `from audio_support import virtual_audio, devices_at`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soxr

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "virtual-audio"
RATES = (44_100, 48_000)
NEEDED_TOOLS = ("pulseaudio", "pactl", "paplay", "parecord", "parec", "espeak-ng", "sox")


@dataclass
class Devices:
    """A pair of null sinks at `rate`: play into `mic` to be heard, record `speaker_monitor`."""

    rate: int
    mic: str
    speaker: str

    @property
    def mic_monitor(self) -> str:
        return f"{self.mic}.monitor"

    @property
    def speaker_monitor(self) -> str:
        return f"{self.speaker}.monitor"


class VirtualAudio:
    """One PulseAudio for the whole test session, started by scripts/virtual-audio."""

    _shared: VirtualAudio | None = None

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.env = {**os.environ, "RTUI_AUDIO_DIR": str(directory)}
        self.server = f"unix:{directory}/pulse/native"
        self.env["PULSE_SERVER"] = self.server
        self._keepers: list[subprocess.Popen] = []
        self._pairs: dict[int, Devices] = {}

    def start(self) -> None:
        out = subprocess.run([str(SCRIPT), "start", "--rate", "48000"], env=self.env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"export PULSE_SERVER={self.server}"
        self._pairs[48_000] = Devices(48_000, "rtui_mic", "rtui_speaker")

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop"], env=self.env, capture_output=True, timeout=30)
        for keeper in self._keepers:
            keeper.kill()
            keeper.wait()
        self._keepers.clear()

    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def devices(self, rate: int) -> Devices:
        """The sink pair at `rate`, loaded on first use (with the same 10 ms keepers as the script's)."""
        if rate not in self._pairs:
            pair = Devices(rate, f"rtui_mic_{rate}", f"rtui_speaker_{rate}")
            outputs = self.pactl("list", "short", "source-outputs").count("\n")
            for sink in (pair.mic, pair.speaker):
                self.pactl("load-module", "module-null-sink", f"sink_name={sink}", f"rate={rate}", "channels=1")
                self._keepers.append(
                    subprocess.Popen(
                        ["parec", "--raw", "--latency-msec=10", f"--device={sink}.monitor"],
                        env=self.env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            deadline = time.monotonic() + 5
            while self.pactl("list", "short", "source-outputs").count("\n") < outputs + 2:
                assert time.monotonic() < deadline, "the keepers did not connect"
                time.sleep(0.05)
            for sink in (pair.mic, pair.speaker):  # restart the sinks' clocks (see scripts/virtual-audio)
                self.pactl("suspend-sink", sink, "1")
                self.pactl("suspend-sink", sink, "0")
            self._pairs[rate] = pair
        return self._pairs[rate]

    @classmethod
    def shared(cls) -> VirtualAudio:
        if cls._shared is None:
            missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
            assert not missing, f"install {' '.join(missing)} (scripts/test does it)"
            audio = cls(Path(tempfile.mkdtemp(prefix="rtui-audio-test-")))
            audio.start()
            cls._shared = audio
        return cls._shared

    @classmethod
    def stop_shared(cls) -> None:
        if cls._shared is not None:
            cls._shared.stop()
            shutil.rmtree(cls._shared.dir, ignore_errors=True)
            cls._shared = None


@pytest.fixture(scope="session")
def virtual_audio(request: pytest.FixtureRequest) -> VirtualAudio:
    """The session's PulseAudio; this process's PortAudio is pointed at it and rescanned."""
    audio = VirtualAudio.shared()
    request.session.config.add_cleanup(VirtualAudio.stop_shared)
    os.environ["PULSE_SERVER"] = audio.server
    from tui.audio.portaudio import rescan_devices

    rescan_devices()
    return audio


@pytest.fixture(params=RATES, ids=lambda rate: f"{rate}Hz")
def devices_at(request: pytest.FixtureRequest, virtual_audio: VirtualAudio, monkeypatch: pytest.MonkeyPatch) -> Devices:
    """Sinks at the parametrized rate, made this process's default microphone and speaker (the
    ALSA pulse plugin reads PULSE_SOURCE and PULSE_SINK when a stream opens)."""
    pair = virtual_audio.devices(request.param)
    monkeypatch.setenv("PULSE_SOURCE", pair.mic_monitor)
    monkeypatch.setenv("PULSE_SINK", pair.speaker)
    return pair


# --- signals and measurements -------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    pcm = np.clip(np.rint(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


def read_wav_mono(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return data.reshape(-1, channels).mean(axis=1), rate


def make_speech(directory: Path) -> Path:
    """Two utterances with a pause, padded with silence: 0.4 s, speech, 0.5 s, speech, 0.6 s."""
    parts = []
    for n, text in enumerate(("Hello there.", "How are you today?")):
        raw = directory / f"say{n}.wav"
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(raw), text], check=True, timeout=30)
        parts.append(raw)
    # espeak pads each utterance a little itself; sox adds the pauses the detector must find.
    middle = directory / "speech-gap.wav"
    subprocess.run(["sox", str(parts[0]), str(middle), "pad", "0.4", "0.5"], check=True, timeout=30)
    final = directory / "speech-final.wav"
    subprocess.run(["sox", str(middle), str(parts[1]), str(final), "pad", "0", "0.6"], check=True, timeout=30)
    return final


def to_wire_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    return samples if rate == 24_000 else soxr.resample(samples, rate, 24_000).astype(np.float32)


def speech_edges(samples: np.ndarray, rate: int = 24_000, frame_ms: int = 10) -> list[float]:
    """Onsets and offsets (seconds) of the loud stretches: 10 ms frames more than 30 dB above the
    quietest, gaps shorter than 150 ms bridged, blips shorter than 60 ms ignored."""
    frame = rate * frame_ms // 1000
    n = len(samples) // frame
    energy = np.square(samples[: n * frame].reshape(n, frame)).mean(axis=1) + 1e-12
    db = 10 * np.log10(energy)
    active = db > db.max() - 30
    segments: list[list[int]] = []
    for i, on in enumerate(active):
        if not on:
            continue
        if segments and i - segments[-1][1] <= 150 // frame_ms:
            segments[-1][1] = i + 1
        else:
            segments.append([i, i + 1])
    edges = []
    for start, end in segments:
        if (end - start) * frame_ms >= 60:
            edges += [start * frame_ms / 1000, end * frame_ms / 1000]
    return edges


def best_alignment(reference: np.ndarray, recorded: np.ndarray) -> tuple[int, float]:
    """(lag, normalized correlation) where `reference` best matches inside `recorded`."""
    n = len(recorded) + len(reference)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(reference, size)), size)
    lag = int(np.argmax(corr[: len(recorded)]))
    window = recorded[lag : lag + len(reference)]
    ref = reference[: len(window)]
    score = float(np.dot(window, ref) / (np.linalg.norm(window) * np.linalg.norm(ref) + 1e-12))
    return lag, score


def chunks_to_samples(chunks) -> np.ndarray:
    return np.frombuffer(b"".join(c.pcm for c in chunks), dtype="<i2").astype(np.float32) / 32768
