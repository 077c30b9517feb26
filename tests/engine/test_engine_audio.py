"""A whole voice turn on real PortAudio devices (virtual PulseAudio): microphone → engine → mock
→ engine → speaker, with a barge-in. The audio layer's own tests measure capture and playback in
isolation; this one checks that the engine puts them together right."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from pathlib import Path

import numpy as np
import orjson
import pytest

from audio_support import (
    best_alignment,
    read_wav_mono,
    speech_edges,
    to_wire_rate,
    virtual_audio,  # noqa: F401 - fixture
)
from tests.engine_support import engine_config, mock_server, speech_wav, wait_for
from tui.audio.capture import MicrophoneSource
from tui.audio.playback import SpeakerSink
from tui.engine.commands import SendText
from tui.engine.session import Engine
from tui.wire.reader import SessionReader

pytestmark = pytest.mark.audio
RATE = 44_100


def events(path: str) -> list[dict]:
    with SessionReader(path) as reader:
        return [{**orjson.loads(r["text"]), "_t_ns": r["t_ns"]} for r in reader if r["kind"] == "frame" and r["opcode"] == "text"]


async def play_into(audio, sink: str, wav: Path) -> None:
    """Plays `wav` into a virtual sink without blocking the event loop (the engine runs on it)."""
    player = await asyncio.create_subprocess_exec("paplay", f"--device={sink}", str(wav), env=audio.env)
    assert await asyncio.wait_for(player.wait(), 30) == 0


async def test_voice_turn_with_barge_in_on_virtual_devices(virtual_audio, tmp_path, monkeypatch):
    pair = virtual_audio.devices(RATE)
    monkeypatch.setenv("PULSE_SOURCE", pair.mic_monitor)
    monkeypatch.setenv("PULSE_SINK", pair.speaker)
    question = speech_wav(tmp_path / "question.wav", "Hello there, what can you do?", rate=RATE, pad_s=0.2)
    interruption = speech_wav(tmp_path / "stop.wav", "Wait, stop please.", rate=RATE, pad_s=0.2)
    monitor = tmp_path / "speaker.wav"

    async with mock_server(realtime=True) as server:
        config = engine_config(server.url_for(), tmp_path)
        config.audio.echo_gate = False  # the virtual speaker does not leak into the virtual microphone
        engine = Engine(config, source=MicrophoneSource(samplerate=RATE), sink=SpeakerSink(samplerate=RATE))
        run = asyncio.create_task(engine.run())
        await wait_for(lambda: engine.state.counters.audio_sent_seconds > 0.3)
        recorder = subprocess.Popen(
            [
                "parecord",
                f"--device={pair.speaker_monitor}",
                "--latency-msec=10",
                "--channels=1",
                f"--rate={RATE}",
                "--format=s16le",
                str(monitor),
            ],
            env=virtual_audio.env,
        )
        await play_into(virtual_audio, pair.mic, question)
        await wait_for(lambda: engine.state.assistant_speaking, timeout=15)
        await asyncio.sleep(0.8)  # let the answer play for a while, then talk over it
        await play_into(virtual_audio, pair.mic, interruption)
        await wait_for(lambda: any(e.interrupted for e in engine.state.transcript), timeout=15)
        await asyncio.sleep(0.5)
        recorder.terminate()
        recorder.wait(10)
        engine.stop()
        assert await asyncio.wait_for(run, 15) == "stopped"

    log = events(engine.state.recording_path)
    types = [e["type"] for e in log]

    # 1. The microphone's audio reached the mock at 24 kHz and its VAD found the speech where it is.
    stream = (
        np.frombuffer(
            b"".join(base64.b64decode(e["audio"]) for e in log if e["type"] == "input_audio_buffer.append"), dtype="<i2"
        ).astype(np.float32)
        / 32768
    )
    truth = speech_edges(stream)
    started = next(e for e in log if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in log if e["type"] == "input_audio_buffer.speech_stopped")
    # The service reports the start with its prefix padding and the end after its silence window.
    assert abs(started["audio_start_ms"] - (truth[0] * 1000 - 300)) <= 100, (started, truth)
    assert abs(stopped["audio_end_ms"] - (truth[1] * 1000 + 200)) <= 100, (stopped, truth)

    # 2. The answer played on the speaker is the mock's voice, and the barge-in cut it short.
    truncate = next(e for e in log if e["type"] == "conversation.item.truncate")
    assert types.index("conversation.item.truncate") > types.index(
        "input_audio_buffer.speech_started", types.index("response.created")
    )
    # The mock streams its answer in real time, so the barge-in lands while the response is active.
    cancelled = next(e for e in log if e["type"] == "response.done")
    assert cancelled["response"]["status"] == "cancelled"
    assert cancelled["response"]["status_details"]["reason"] == "turn_detected"
    assert "conversation.item.truncated" in types  # the mock accepted audio_end_ms: not more than it sent

    voice24 = np.frombuffer(server.config.voice.pcm, dtype="<i2").astype(np.float32) / 32768
    heard, heard_rate = read_wav_mono(monitor)
    heard24 = to_wire_rate(heard, heard_rate)
    lag = first_alignment(voice24[: 24_000 // 2], heard24)  # the first answer (a second one follows)
    _, score = best_alignment(voice24[: 24_000 // 2], heard24[lag : lag + 24_000])
    assert score > 0.9, score
    # What the truncate said was played is what the speaker's monitor heard, within 20 ms.
    audible_ms = cut_point_ms(voice24, heard24[lag:])
    assert abs(audible_ms - truncate["audio_end_ms"]) <= 20, (audible_ms, truncate["audio_end_ms"])
    assert truncate["audio_end_ms"] < server.config.voice.duration_ms


def first_alignment(reference: np.ndarray, recorded: np.ndarray, threshold: float = 0.9) -> int:
    """The earliest lag where `reference` matches `recorded` with a normalized correlation above
    `threshold` (best_alignment takes the strongest match, which may be a later repeat)."""
    n = len(recorded) + len(reference)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(reference, size)), size)[: len(recorded)]
    energy = np.concatenate([[0.0], np.cumsum(recorded.astype(np.float64) ** 2)])
    ends = np.minimum(np.arange(len(recorded)) + len(reference), len(recorded))
    window_energy = energy[ends] - energy[: len(recorded)]
    reference_energy = float(np.dot(reference, reference))
    score = corr / (np.sqrt(window_energy * reference_energy) + 1e-12)
    # Near-silent windows give meaningless ratios: a match must carry the reference's energy.
    matches = np.flatnonzero((score > threshold) & (window_energy > 0.5 * reference_energy))
    assert len(matches), "the reference is not in the recording"
    return int(matches[0])


def cut_point_ms(voice: np.ndarray, heard: np.ndarray, window_ms: int = 5, silent_ms: int = 100) -> float:
    """Where `heard` (aligned with `voice`) falls silent for good while `voice` goes on: the barge-in's
    cut. A short gap (a scheduling hiccup on a loaded machine) is not a cut; 100 ms of silence is."""
    w = 24 * window_ms
    rms = lambda x: float(np.sqrt(np.mean(x**2))) if len(x) else 0.0  # noqa: E731
    quiet = [rms(heard[i : i + w]) < 0.002 for i in range(0, len(heard) - w, w)]
    span = silent_ms // window_ms
    for k in range(min(len(voice) // w, len(quiet) - span)):
        if rms(voice[k * w : (k + 1) * w]) > 0.01 and all(quiet[k : k + span]):
            return k * window_ms
    raise AssertionError("the answer was never cut")


async def test_a_microphone_that_vanishes_leaves_the_session_open_for_text(virtual_audio, tmp_path, monkeypatch):
    from audio_support import VirtualAudio

    doomed = VirtualAudio(tmp_path / "doomed")  # a sound server of its own, killed mid-session
    doomed.start()
    monkeypatch.setenv("PULSE_SERVER", doomed.server)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    monkeypatch.delenv("PULSE_SINK", raising=False)
    try:
        async with mock_server() as server:
            engine = Engine(engine_config(server.url_for(), tmp_path), source=MicrophoneSource(), sink=SpeakerSink())
            run = asyncio.create_task(engine.run())
            await wait_for(lambda: engine.state.counters.audio_sent_seconds > 0.2)
            doomed.stop()
            await wait_for(lambda: any(n.startswith("Audio input stopped: Audio input lost") for n in engine.state.notices))
            assert engine.state.phase == "open"
            engine.submit(SendText("Are you still there?"))
            await wait_for(lambda: any(e.role == "assistant" and e.done for e in engine.state.transcript))
            engine.stop()
            assert await asyncio.wait_for(run, 15) == "stopped"
    finally:
        doomed.stop()
    assert engine.state.transcript[-1].role == "assistant"
    records = list(SessionReader(engine.state.recording_path))
    assert any(r["kind"] == "error" and "audio input stopped" in r["message"] for r in records)
    assert records[-1]["kind"] == "end" and records[-1]["closed_by"] == "client"
