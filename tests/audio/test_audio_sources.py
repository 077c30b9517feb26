"""Sources, sinks and the pieces behind them that need no sound device: WAV files of any format,
pacing, tone and silence, the bounded chunk queue, levels, the jitter buffer, the WAV and null sinks."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
import wave

import numpy as np
import pytest

from audio_support import read_wav_mono, write_wav
from tui.audio.chunkqueue import ChunkQueue
from tui.audio.errors import AudioFileError
from tui.audio.generated import SilenceSource, ToneSource, WavFileSource
from tui.audio.jitter import JitterBuffer
from tui.audio.levels import AudioLevelMeter
from tui.audio.options import make_sink, make_source
from tui.audio.pcm import Chunker, float_to_pcm16, pcm16_to_float
from tui.audio.sinks import NullSink, WavFileSink
from tui.audio.wavfile import WavReader


def sine(frequency: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


async def collect(source) -> list:
    async with source:
        return [chunk async for chunk in source]


# --- WAV file source ----------------------------------------------------------------------------


async def test_16khz_wav_lasts_its_true_duration_in_24khz_samples(tmp_path):
    path = write_wav(tmp_path / "q.wav", sine(440, 1.37, 16_000), 16_000)
    chunks = await collect(WavFileSource(path, paced=False, chunk_ms=20))
    total = sum(c.samples for c in chunks)
    assert total == pytest.approx(1.37 * 24_000, abs=2)
    assert all(c.samples == 480 for c in chunks[:-1])
    # Same pitch after resampling: the zero crossings of a 440 Hz tone at 24 kHz.
    audio = np.frombuffer(b"".join(c.pcm for c in chunks), dtype="<i2").astype(np.float32)
    crossings = np.count_nonzero(np.diff(np.signbit(audio[2400:-2400])))
    assert crossings / (len(audio[2400:-2400]) / 24_000) == pytest.approx(880, rel=0.01)


async def test_paced_wav_source_delivers_one_second_of_audio_per_second(tmp_path):
    path = write_wav(tmp_path / "q.wav", sine(300, 0.8, 16_000), 16_000)
    source = WavFileSource(path, paced=True, chunk_ms=40)
    started = time.monotonic()
    chunks = await collect(source)
    elapsed = time.monotonic() - started
    audio_s = sum(c.samples for c in chunks) / 24_000
    assert audio_s == pytest.approx(0.8, abs=0.001)
    # Real time, not 1.5x (16 kHz sent as 24 kHz) nor as fast as possible.
    assert 0.85 < audio_s / elapsed < 1.1
    # Each chunk carries the moment it would have been captured, one chunk apart.
    gaps = np.diff([c.t_ns for c in chunks[:-1]]) / 1e6
    assert np.allclose(gaps, 40, atol=0.1)


@pytest.mark.parametrize(
    "encoding",
    [["-b", "8", "-e", "unsigned-integer"], ["-b", "24"], ["-b", "32"], ["-b", "32", "-e", "floating-point"]],
    ids=["u8", "s24", "s32", "float32"],
)
def test_wav_reader_reads_the_encodings_sox_writes(tmp_path, encoding):
    source = write_wav(tmp_path / "src.wav", sine(1000, 0.2, 44_100), 44_100)
    converted = tmp_path / "conv.wav"
    subprocess.run(["sox", str(source), "-D", *encoding, "-c", "2", str(converted)], check=True, timeout=30)
    reference, _ = read_wav_mono(source)
    with WavReader(converted) as reader:
        assert (reader.samplerate, reader.channels) == (44_100, 2)
        frames = reader.read(100_000)
    assert frames.shape == (len(reference), 2)
    tolerance = 1 / 100 if encoding[1] == "8" else 1 / 30_000
    assert np.max(np.abs(frames[:, 0] - reference)) < tolerance


def test_a_file_that_is_not_a_wav_gets_one_sentence(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(AudioFileError) as caught:
        WavFileSource(bad)
    message = str(caught.value)
    assert str(bad) in message and "sox" in message and message.count(". ") == 0
    with pytest.raises(AudioFileError, match="Cannot open"):
        make_source(str(tmp_path / "missing.wav"))


# --- tone and silence ---------------------------------------------------------------------------


async def test_tone_and_silence_sources():
    tone = await collect(ToneSource(1000, level_dbfs=-6, duration_s=0.5, paced=False, chunk_ms=25))
    audio = np.concatenate([pcm16_to_float(c.pcm) for c in tone])
    assert len(audio) == 12_000 and all(c.samples == 600 for c in tone)
    assert np.max(np.abs(audio)) == pytest.approx(10 ** (-6 / 20), abs=0.001)
    source = SilenceSource(duration_s=0.3, paced=False)
    silent = await collect(source)
    assert b"".join(c.pcm for c in silent) == bytes(14_400)
    assert source.stats.chunks == 15 and source.levels.read().peak_dbfs == -120.0


def test_make_source_and_sink_specs(tmp_path):
    assert isinstance(make_source("tone:880"), ToneSource) and make_source("tone:880").frequency == 880
    assert isinstance(make_source("silence"), SilenceSource)
    with pytest.raises(AudioFileError, match="tone:440"):
        make_source("tone:high")
    assert isinstance(make_sink("null"), NullSink)
    assert isinstance(make_sink(str(tmp_path / "out.wav")), WavFileSink)


# --- chunking, the queue, levels ----------------------------------------------------------------


def test_chunker_cuts_exact_chunks_and_keeps_the_rest():
    chunker = Chunker(480)
    assert chunker.push(np.zeros(300, dtype=np.float32)) == []
    chunks = chunker.push(np.full(1000, 0.5, dtype=np.float32))
    assert [len(c) for c in chunks] == [960, 960]
    assert len(chunker.rest()) == (1300 - 960) * 2


async def test_queue_drops_new_chunks_when_the_consumer_does_not_read():
    queue: ChunkQueue[int] = ChunkQueue(maxsize=5)
    queue.bind(asyncio.get_running_loop())
    producer = threading.Thread(target=lambda: [queue.put(i) for i in range(50)])
    producer.start()
    producer.join()
    assert queue.dropped == 45 and len(queue) == 5
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    # A waiting consumer is woken by a put from another thread, and the close error arrives last.
    waiting = asyncio.create_task(queue.get(timeout=5))
    await asyncio.sleep(0.01)
    threading.Thread(target=queue.put, args=(99,)).start()
    assert await waiting == 99
    queue.put(100)
    queue.close(RuntimeError("gone"))
    assert await queue.get() == 100
    with pytest.raises(RuntimeError, match="gone"):
        await queue.get()
    with pytest.raises(TimeoutError):
        await ChunkQueue(1).get(timeout=0.01)


async def test_a_consumer_cancelled_as_a_chunk_arrives_stays_cancelled():
    # The engine stops its audio task by cancelling it; a chunk landing in the same loop turn must
    # not swallow the cancellation (Python 3.11's asyncio.wait_for does), or the session never ends.
    queue: ChunkQueue[int] = ChunkQueue(maxsize=5)
    queue.bind(asyncio.get_running_loop())
    consumer = asyncio.create_task(queue.get(timeout=5))
    await asyncio.sleep(0)  # the consumer now waits
    queue.put(1)  # schedules the wake-up ...
    consumer.cancel()  # ... and the cancellation lands in the same turn
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert len(queue) == 1  # the chunk stays queued for whoever reads next


def test_levels_in_dbfs_with_clipped_samples_counted():
    meter = AudioLevelMeter()
    meter.update(sine(1000, 0.1, 24_000, amplitude=1.0))
    levels = meter.read()
    assert levels.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert levels.rms_dbfs == pytest.approx(-3.01, abs=0.05)
    assert levels.clipped_samples > 0
    meter.update(sine(1000, 0.1, 24_000, amplitude=0.1))
    assert meter.read().peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert meter.read().clipped_samples == levels.clipped_samples  # a count over the whole run


# --- jitter buffer ------------------------------------------------------------------------------


def test_jitter_buffer_prerolls_plays_and_counts_underflows():
    jitter = JitterBuffer(rate=48_000, preroll=4_800)
    out = np.empty(960, dtype=np.float32)
    now = time.monotonic_ns()
    jitter.push("a", np.full(2_000, 0.5, dtype=np.float32))
    assert jitter.pull(out, now) == 0 and not out.any()  # below pre-roll: silence
    jitter.push("a", np.full(3_000, 0.5, dtype=np.float32))
    assert jitter.pull(out, now) == 960 and jitter.playing
    while jitter.pull(out, now):
        pass
    assert jitter.underflows == 1  # ran dry before the item was ended
    assert jitter.handed["a"] == 5_000
    jitter.push("b", np.full(1_000, 0.5, dtype=np.float32))
    jitter.end_item()  # a short answer plays at once, and its end is no underflow
    assert jitter.pull(out, now) == 960 and jitter.pull(out, now) == 40
    assert jitter.underflows == 1 and not jitter.playing


def test_jitter_buffer_emptied_exactly_by_a_pull_plays_on_without_a_gap():
    # A server sending exactly in real time: each chunk lands just as the last one was handed out.
    jitter = JitterBuffer(rate=48_000, preroll=4_800)
    out = np.empty(960, dtype=np.float32)
    now = time.monotonic_ns()
    for _ in range(3):
        jitter.push("a", np.full(2_880, 0.5, dtype=np.float32))  # 60 ms: less than the pre-roll
        if not jitter.playing:
            jitter.push("a", np.full(1_920, 0.5, dtype=np.float32))
        while jitter.buffered:
            assert jitter.pull(out, now) == 960 and out.all()
    assert jitter.playing and jitter.underflows == 0  # no re-buffering, no silence, nothing counted
    assert jitter.pull(out, now) == 0 and jitter.underflows == 1  # the next chunk is late: that is one
    assert not jitter.playing


def test_jitter_buffer_grows_its_preroll_after_each_underflow_up_to_three_times():
    # Chunks that once came late will again: the stream resumes with a deeper cushion.
    jitter = JitterBuffer(rate=48_000, preroll=4_800)
    out = np.empty(960, dtype=np.float32)
    now = time.monotonic_ns()
    prerolls = []
    for _ in range(6):
        jitter.push("a", np.full(jitter.preroll - 1, 0.5, dtype=np.float32))
        assert jitter.pull(out, now) == 0  # one sample short of the current pre-roll: still waiting
        jitter.push("a", np.full(1, 0.5, dtype=np.float32))
        while jitter.pull(out, now) == 960:
            pass
        prerolls.append(jitter.preroll)
    assert jitter.underflows == 6
    assert prerolls == [7_200, 9_600, 12_000, 14_400, 14_400, 14_400]  # 100 ms -> 150 ... 300 ms
    ended = JitterBuffer(rate=48_000, preroll=4_800)
    ended.push("b", np.ones(1_000, dtype=np.float32))
    ended.end_item()
    while ended.pull(out, now):
        pass
    assert ended.underflows == 0 and ended.preroll == 4_800  # the end of an answer is no reason to grow


def test_jitter_buffer_flush_fades_and_makes_the_played_count_final():
    jitter = JitterBuffer(rate=48_000, preroll=0)
    jitter.push("a", np.ones(48_000, dtype=np.float32))
    out = np.empty(4_800, dtype=np.float32)
    jitter.pull(out, time.monotonic_ns())
    dropped = jitter.flush(fade=480)
    assert jitter.handed["a"] == 4_800 + 480  # final before the callback plays the tail
    assert dropped == {"a": 48_000 - 4_800 - 480}
    tail = np.empty(1_000, dtype=np.float32)
    assert jitter.pull(tail, time.monotonic_ns()) == 480
    assert tail[0] == pytest.approx(1.0) and np.all(np.diff(tail[:480]) < 0) and not tail[480:].any()
    assert jitter.handed["a"] == 5_280 and jitter.underflows == 0


# --- file and null sinks ------------------------------------------------------------------------


async def test_wav_sink_is_a_valid_file_after_every_write(tmp_path):
    path = tmp_path / "answer.wav"
    sink = WavFileSink(path)
    audio = sine(500, 0.3, 24_000)
    sink.write("item_1", float_to_pcm16(audio[:3_600]))
    with wave.open(str(path)) as partial:  # readable while rtui still writes it
        assert (partial.getframerate(), partial.getnchannels(), partial.getnframes()) == (24_000, 1, 3_600)
    sink.write("item_1", float_to_pcm16(audio[3_600:]))
    sink.flush()
    assert sink.played_ms("item_1") == sink.received_ms("item_1") == 300
    await sink.aclose()
    written, rate = read_wav_mono(path)
    assert rate == 24_000 and np.max(np.abs(written - audio)) < 1 / 30_000
    with pytest.raises(AudioFileError, match="choose another --output"):
        WavFileSink(tmp_path / "no" / "such" / "dir.wav")


def test_null_sink_counts_what_it_was_given():
    sink = NullSink()
    sink.write("x", bytes(4_800))
    assert sink.played_ms("x") == 100 and sink.played_ms("other") == 0
    assert sink.stats.received_samples == 2_400 and sink.state == "idle"


async def test_after_a_barge_in_late_deltas_of_the_interrupted_item_are_not_written(tmp_path):
    sink = WavFileSink(tmp_path / "answer.wav")
    sink.write("item_1", bytes(4_800))  # 100 ms
    sink.flush()
    sink.write("item_1", bytes(9_600))  # still in flight when the user spoke: dropped
    sink.write("item_2", bytes(2_400))  # the next answer plays normally
    sink.flush()
    sink.write("item_1", bytes(960))
    assert sink.played_ms("item_1") == 100 and sink.received_ms("item_1") == 320
    assert sink.played_ms("item_2") == 50
    assert sink.stats.discarded_samples == 4_800 + 480
    await sink.aclose()
    assert read_wav_mono(tmp_path / "answer.wav")[0].size == 2_400 + 1_200
