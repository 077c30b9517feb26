"""Capture and playback on real PortAudio devices: null sinks of a private PulseAudio started by the
tests (see audio_support.py), at device rates of 44 100 and 48 000 Hz."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from audio_support import (
    VirtualAudio,
    best_alignment,
    chunks_to_samples,
    devices_at,  # noqa: F401 - fixture
    make_speech,
    read_wav_mono,
    speech_edges,
    to_wire_rate,
    virtual_audio,  # noqa: F401 - fixture
)
from tui.audio.capture import MicrophoneSource
from tui.audio.devices import resolve_device
from tui.audio.errors import DeviceLostError, DeviceNotFoundError
from tui.audio.pcm import float_to_pcm16
from tui.audio.playback import SpeakerSink

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    return make_speech(tmp_path_factory.mktemp("speech"))


async def run(env: dict, *argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*argv, env=env)


async def record_monitor(audio: VirtualAudio, monitor: str, rate: int, path: Path) -> asyncio.subprocess.Process:
    process = await run(
        audio.env,
        "parecord",
        f"--device={monitor}",
        "--latency-msec=10",
        "--channels=1",
        f"--rate={rate}",
        "--format=s16le",
        str(path),
    )
    await asyncio.sleep(0.3)  # parecord is connected and the monitor is flowing
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    process.terminate()
    await process.wait()


async def test_speech_into_the_microphone_is_captured_at_24khz_with_its_edges_in_place(virtual_audio, devices_at, speech):
    source = MicrophoneSource(samplerate=devices_at.rate, chunk_ms=20)
    chunks, peaks = [], []

    async def consume():
        async for chunk in source:
            chunks.append(chunk)
            peaks.append(source.levels.read().peak_dbfs)

    await source.start()
    assert source.samplerate == devices_at.rate and f"{devices_at.rate} Hz" in source.description
    started = time.monotonic()
    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    player = await run(virtual_audio.env, "paplay", f"--device={devices_at.mic}", "--latency-msec=20", str(speech))
    assert await player.wait() == 0
    await asyncio.sleep(0.3)
    await source.aclose()
    await consumer
    elapsed = time.monotonic() - started

    assert all(len(c.pcm) == 960 for c in chunks)  # 20 ms of 24 kHz pcm16
    assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
    assert source.stats.dropped_chunks == 0 and source.error is None
    captured = chunks_to_samples(chunks)
    assert len(captured) / 24_000 == pytest.approx(elapsed, abs=0.25)  # real time, at 24 kHz

    truth_samples, rate = read_wav_mono(speech)
    truth = speech_edges(to_wire_rate(truth_samples, rate))
    got = speech_edges(captured)
    assert len(truth) == 4 and len(got) == 4, (truth, got)
    # Both utterances keep their lengths and the pause between them, within 100 ms.
    assert np.allclose(np.subtract(got, got[0]), np.subtract(truth, truth[0]), atol=0.1), (truth, got)
    assert max(peaks) > -30  # the level meter saw the speech


async def test_audio_written_to_the_speaker_is_what_the_speaker_plays(virtual_audio, devices_at, speech, tmp_path):
    samples, rate = read_wav_mono(speech)
    sent = to_wire_rate(samples, rate)[: 24_000 * 2]
    sink = SpeakerSink(samplerate=devices_at.rate)
    await sink.start()
    recorder = await record_monitor(virtual_audio, devices_at.speaker_monitor, devices_at.rate, tmp_path / "out.wav")
    for start in range(0, len(sent), 1_200):  # output audio deltas of 50 ms, faster than real time
        sink.write("item_1", float_to_pcm16(sent[start : start + 1_200]))
        await asyncio.sleep(0.005)
    sink.end_item("item_1")
    deadline = time.monotonic() + 5
    while sink.state != "idle" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    await stop(recorder)
    await sink.aclose()

    assert sink.played_ms("item_1") == sink.received_ms("item_1") == 2_000
    assert sink.stats.underflows == 0
    recorded, recorded_rate = read_wav_mono(tmp_path / "out.wav")
    assert recorded_rate == devices_at.rate
    _, score = best_alignment(sent, to_wire_rate(recorded, recorded_rate))
    assert score > 0.95


async def test_barge_in_flush_stops_playback_quickly_and_reports_what_was_heard(virtual_audio, devices_at, monkeypatch):
    # The speaker's monitor is captured by our own capture engine, whose chunks carry the time
    # they were captured: the stop time measured that way includes the capture latency too, so it
    # is an upper bound of when the sound really stopped.
    monkeypatch.setenv("PULSE_SOURCE", devices_at.speaker_monitor)
    listener = MicrophoneSource(samplerate=devices_at.rate, chunk_ms=20)
    heard = []

    async def listen():
        async for chunk in listener:
            heard.append(chunk)

    await listener.start()
    listening = asyncio.create_task(listen())
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(24_000 * 3) / 24_000)).astype(np.float32)
    sink = SpeakerSink(samplerate=devices_at.rate)
    await sink.start()
    await asyncio.sleep(0.2)
    for start in range(0, len(tone), 2_400):
        sink.write("item_b", float_to_pcm16(tone[start : start + 2_400]))
    await asyncio.sleep(0.7)
    assert sink.state == "playing"
    flushed_ns = time.monotonic_ns()
    sink.flush(fade_ms=10)
    played_ms = sink.played_ms("item_b")
    await asyncio.sleep(0.4)
    assert sink.state == "idle"
    assert sink.played_ms("item_b") == played_ms  # final at once: the truncate can be sent now
    assert sink.stats.discarded_samples > 24_000
    sink.write("item_b", float_to_pcm16(tone[:4_800]))  # a delta that was in flight: stays silent
    await asyncio.sleep(0.2)
    assert sink.state == "idle" and sink.played_ms("item_b") == played_ms
    device_buffer_ms = sink.output_latency_s * 1000  # handed to the device already: it will be heard
    await sink.aclose()
    await listener.aclose()
    await listening

    recorded = chunks_to_samples(heard)
    loud = np.flatnonzero(np.abs(recorded) > 0.05)
    audible_ms = (loud[-1] - loud[0]) * 1000 / 24_000
    assert abs(audible_ms - played_ms) <= 20, (audible_ms, played_ms)
    # When the last audible sample was captured: its chunk's capture time, minus the samples after it.
    chunk = heard[loud[-1] // 480]
    stopped_ns = chunk.t_ns - (479 - loud[-1] % 480) * 1_000_000_000 // 24_000
    # Stopped, not drained: about 2 s of tone was still queued. The sample-exact check is the one
    # above (heard == reported played); this bound on the capture clock leaves room for a loaded
    # machine's scheduling of the capture, which is not what is tested here.
    assert (stopped_ns - flushed_ns) / 1e6 < 300 + device_buffer_ms


async def test_a_consumer_that_does_not_read_loses_new_chunks_not_the_stream(virtual_audio):
    source = MicrophoneSource(chunk_ms=20, queue_chunks=5)
    await source.start()
    await asyncio.sleep(0.5)  # nobody reads: the queue fills, then chunks are dropped and counted
    dropped = source.stats.dropped_chunks
    assert dropped >= 10
    received = []
    async for chunk in source:
        received.append(chunk)
        if len(received) == 10:
            break
    await source.aclose()
    # The five queued chunks, then fresh ones with a gap in the sequence where the drops were.
    assert received[5].seq - received[4].seq > dropped // 2
    assert source.error is None


async def test_devices_are_chosen_by_index_or_part_of_the_name(virtual_audio):
    assert resolve_device(None, "input").is_default_input
    assert resolve_device("PUL", "output").name == "pulse"
    index = resolve_device("pulse", "input").index
    assert resolve_device(str(index), "input").name == "pulse"
    with pytest.raises(DeviceNotFoundError) as caught:
        resolve_device("usb headset", "input")
    assert str(caught.value) == "No input device matches 'usb headset'; run `rtui devices` to list them."
    with pytest.raises(DeviceNotFoundError, match="no output device with index 999"):
        await SpeakerSink("999").start()


async def test_a_device_that_disappears_mid_session_becomes_an_error_with_counters_kept(virtual_audio, tmp_path, monkeypatch):
    doomed = VirtualAudio(tmp_path / "doomed")  # a second sound server, just for this test
    doomed.start()
    monkeypatch.setenv("PULSE_SERVER", doomed.server)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    monkeypatch.delenv("PULSE_SINK", raising=False)
    source, sink = MicrophoneSource(), SpeakerSink()
    try:
        await source.start()
        await sink.start()
        sink.write("item_1", float_to_pcm16(np.full(24_000 * 5, 0.1, dtype=np.float32)))
        chunks = 0
        with pytest.raises(DeviceLostError) as caught:
            async with asyncio.timeout(10):  # an error, not a hang
                async for _ in source:
                    chunks += 1
                    if chunks == 10:
                        doomed.stop()  # the sound server goes away under both streams
        assert caught.value is source.error
        message = str(caught.value)
        assert message.startswith("Audio input lost: ") and message.endswith("--input FILE.wav."), message
        assert source.stats.chunks >= 10
        deadline = time.monotonic() + 5
        while sink.state != "error" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sink.state == "error" and isinstance(sink.error, DeviceLostError)
        assert 0 < sink.played_ms("item_1") < 5_000 and sink.received_ms("item_1") == 5_000
        sink.write("item_1", bytes(960))  # still accepted: the engine carries on without sound
        assert sink.received_ms("item_1") == 5_020
    finally:
        await source.aclose()
        await sink.aclose()
        doomed.stop()


async def test_devices_that_stall_without_an_error_are_reported_not_waited_for(virtual_audio, monkeypatch):
    monkeypatch.delenv("PULSE_SOURCE", raising=False)  # the default devices: rtui_mic's monitor,
    monkeypatch.delenv("PULSE_SINK", raising=False)  # and rtui_speaker
    source, sink = MicrophoneSource(), SpeakerSink()
    await source.start()
    await sink.start()
    sink.write("item_1", float_to_pcm16(np.full(24_000 * 5, 0.1, dtype=np.float32)))
    chunks = 0
    try:
        with pytest.raises(DeviceLostError, match=r"^Audio input lost: no audio from the input device for 2\.\d s;"):
            async with asyncio.timeout(10):
                async for _ in source:
                    chunks += 1
                    if chunks == 10:  # both sinks stop their clocks: the callbacks just stop coming
                        virtual_audio.pactl("suspend-sink", "rtui_mic", "1")
                        virtual_audio.pactl("suspend-sink", "rtui_speaker", "1")
        assert source.stats.chunks == chunks >= 10
        async with asyncio.timeout(5):
            while sink.state != "error":
                await asyncio.sleep(0.05)
        assert str(sink.error).startswith("Audio output lost: the output device stopped asking for audio 2.")
        assert 0 < sink.played_ms("item_1") < 5_000
    finally:
        virtual_audio.pactl("suspend-sink", "rtui_mic", "0")
        virtual_audio.pactl("suspend-sink", "rtui_speaker", "0")
        await source.aclose()
        await sink.aclose()


async def test_a_missed_device_deadline_is_counted_as_a_device_underrun(virtual_audio, monkeypatch):
    pair = virtual_audio.devices(48_000)
    monkeypatch.setenv("PULSE_SINK", pair.speaker)
    sink = SpeakerSink(latency_ms=5)
    await sink.start()
    tone = np.sin(np.arange(24_000 * 2) * 2 * np.pi * 440 / 24_000).astype(np.float32) * 0.3
    sink.write("item_1", float_to_pcm16(tone))
    await asyncio.sleep(0.3)
    before = sink.stats.device_underflows
    # A C loop keeps the GIL for a few hundred ms: the callback cannot refill 5 ms of buffer in time.
    sum(range(30_000_000))
    await asyncio.sleep(0.3)
    await sink.aclose()
    assert sink.stats.device_underflows > before
