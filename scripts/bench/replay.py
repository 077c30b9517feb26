#!/usr/bin/env python3
"""Headless replay of a long session with audio both ways: x real time and peak RSS.

The recording is generated synthetically with `SessionWriter` (the writer's clock replaced by a
synthetic one, so the file spans the requested minutes): a GA session where the client streams
20 ms `input_audio_buffer.append` events without a break and, every 10 s, the server answers a turn
(VAD events, a response with 5 s of `response.output_audio.delta` audio in 100 ms deltas and its
transcript). Then `rtui replay FILE --headless --output NEW` replays it as fast as causality allows
in a child process, whose wall time and peak RSS (wait4) are the figures; its CPU time is printed
too (steadier than wall time on a shared machine). `--checkout DIR` replays with the `tui` package of
another checkout (e.g. `git archive HEAD~3 tui | tar -x -C DIR`), for a side-by-side comparison.

    .venv/bin/python scripts/bench/replay.py [--minutes 60] [--keep DIR] [--profile FILE] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
from tui.wire import writer as writer_module  # noqa: E402
from tui.wire.format import C2S, LOCAL, S2C  # noqa: E402
from tui.wire.writer import SessionWriter  # noqa: E402

SPEED_TARGET = 200.0
RSS_TARGET_MB = 150.0
URL = "ws://127.0.0.1:8765/v1/realtime?model=gpt-realtime"
TURN_S = 10
CHUNK_MS = 20
DELTA_MS = 100
ANSWER_S = 5


class SyntheticClock:
    """Stands in for the `time` module inside the writer while generating: t_ns is synthetic."""

    def __init__(self) -> None:
        self.now_ns = 0

    def monotonic_ns(self) -> int:
        return self.now_ns


def pcm_chunks(milliseconds: int, count: int) -> list[str]:
    """`count` distinct base64 chunks of 24 kHz pcm16 (a ramp, so no two are alike)."""
    samples = 24 * milliseconds
    chunks = []
    for k in range(count):
        pcm = b"".join(((i * 37 + k * 101) % 20000 - 10000).to_bytes(2, "little", signed=True) for i in range(samples))
        chunks.append(base64.b64encode(pcm).decode())
    return chunks


def event(kind: str, **fields: object) -> str:
    import orjson

    return orjson.dumps({"type": kind, **fields}).decode()


def generate(path: Path, minutes: float) -> int:
    """Writes the synthetic session; returns its number of records."""
    clock = SyntheticClock()
    real_time = writer_module.time
    writer_module.time = types.SimpleNamespace(monotonic_ns=clock.monotonic_ns)  # type: ignore[assignment]
    try:
        w = SessionWriter(path, mode="live", url=URL)
        conn = w.new_conn()
        ms = 1_000_000
        clock.now_ns = 2 * ms
        w.record(
            "handshake_request",
            C2S,
            conn,
            url=URL,
            path="/v1/realtime?model=gpt-realtime",
            headers=[
                ["Host", "127.0.0.1:8765"],
                ["Upgrade", "websocket"],
                ["Connection", "Upgrade"],
                ["Authorization", "Bearer [redacted]"],
            ],
            subprotocols=[],
        )
        clock.now_ns = 4 * ms
        w.record(
            "handshake_response",
            S2C,
            conn,
            status=101,
            reason="Switching Protocols",
            headers=[["Upgrade", "websocket"], ["Connection", "Upgrade"]],
            subprotocol=None,
            extensions=[],
        )
        session = {"type": "realtime", "id": "sess_bench", "model": "gpt-realtime", "output_modalities": ["audio"]}
        w.frame(conn, S2C, event("session.created", event_id="event_s0", session=session))
        clock.now_ns = 5 * ms
        w.frame(conn, C2S, event("session.update", session={"type": "realtime", "instructions": "Answer briefly."}))
        w.frame(conn, S2C, event("session.updated", event_id="event_s1", session=session))
        mic = pcm_chunks(CHUNK_MS, 50)
        voice = pcm_chunks(DELTA_MS, 20)
        total_chunks = int(minutes * 60_000 / CHUNK_MS)
        chunks_per_turn = TURN_S * 1000 // CHUNK_MS
        server_n = 1
        for n in range(total_chunks):
            clock.now_ns = 6 * ms + n * CHUNK_MS * ms
            w.frame(conn, C2S, event("input_audio_buffer.append", audio=mic[n % len(mic)]))
            turn, position = divmod(n, chunks_per_turn)
            if position == 25:
                server_n += 1
                w.frame(
                    conn,
                    S2C,
                    event(
                        "input_audio_buffer.speech_started",
                        event_id=f"event_{server_n}",
                        audio_start_ms=turn * 10_000 + 300,
                        item_id=f"item_u{turn}",
                    ),
                )
            elif position == 200:
                for kind in ("input_audio_buffer.speech_stopped", "input_audio_buffer.committed"):
                    server_n += 1
                    w.frame(
                        conn,
                        S2C,
                        event(kind, event_id=f"event_{server_n}", audio_end_ms=turn * 10_000 + 4_000, item_id=f"item_u{turn}"),
                    )
                w.frame(
                    conn,
                    S2C,
                    event(
                        "response.created", event_id=f"event_r{turn}", response={"id": f"resp_{turn}", "status": "in_progress"}
                    ),
                )
            elif (
                210 <= position < 210 + ANSWER_S * 1000 // DELTA_MS * DELTA_MS // CHUNK_MS
                and (position - 210) % (DELTA_MS // CHUNK_MS) == 0
            ):
                k = (position - 210) // (DELTA_MS // CHUNK_MS)
                w.frame(
                    conn,
                    S2C,
                    event(
                        "response.output_audio.delta",
                        event_id=f"event_a{turn}_{k}",
                        response_id=f"resp_{turn}",
                        item_id=f"item_a{turn}",
                        output_index=0,
                        content_index=0,
                        delta=voice[(turn + k) % len(voice)],
                    ),
                )
                if k % 10 == 0:
                    w.frame(
                        conn,
                        S2C,
                        event(
                            "response.output_audio_transcript.delta",
                            event_id=f"event_t{turn}_{k}",
                            response_id=f"resp_{turn}",
                            item_id=f"item_a{turn}",
                            output_index=0,
                            content_index=0,
                            delta="Sure, here is a part of the answer. ",
                        ),
                    )
            elif position == 470:
                w.frame(
                    conn,
                    S2C,
                    event(
                        "response.output_audio.done",
                        event_id=f"event_d{turn}",
                        response_id=f"resp_{turn}",
                        item_id=f"item_a{turn}",
                        output_index=0,
                        content_index=0,
                    ),
                )
                w.frame(
                    conn,
                    S2C,
                    event("response.done", event_id=f"event_e{turn}", response={"id": f"resp_{turn}", "status": "completed"}),
                )
        clock.now_ns += 50 * ms
        w.record("close", C2S, conn, code=1000, reason="", by="client", first=True)
        clock.now_ns += 1 * ms
        w.record("close", S2C, conn, code=1000, reason="", by="server", first=False)
        w.record(
            "end",
            LOCAL,
            conn,
            code=1000,
            reason="",
            closed_by="client",
            clean=True,
            close_sent={"code": 1000, "reason": ""},
            close_rcvd={"code": 1000, "reason": ""},
            side="client",
        )
        w.close()
        return w.records_written
    finally:
        writer_module.time = real_time  # type: ignore[assignment]


def replay(
    path: Path, output: Path, profile_to: Path | None, rss_limit_mb: float, checkout: Path | None = None
) -> tuple[float, float, float, int, str]:
    """Runs `rtui replay --headless` on `path`: (wall seconds, CPU seconds, peak RSS MB, exit status, output).

    The child is killed if its RSS passes `rss_limit_mb`, so a replay that loads the whole file
    cannot take the shared machine down with it."""
    command = [
        str(_common.ROOT / ".venv/bin/rtui"),
        "replay",
        str(path),
        "--headless",
        "--output",
        str(output),
        "--timeout",
        "60",
    ]
    if profile_to is not None:
        _common.ensure_package("pyinstrument", "pyinstrument")
        command = [sys.executable, "-m", "pyinstrument", "--no-color", "-o", str(profile_to), *command]
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve())) if checkout else None
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    killed: list[float] = []

    def guard() -> None:
        while process.poll() is None:
            try:
                rss = _common.rss_mb(process.pid)
            except (OSError, ValueError):
                return
            if rss > rss_limit_mb:
                killed.append(time.perf_counter() - start)
                process.kill()
                return
            time.sleep(0.1)

    threading.Thread(target=guard, daemon=True).start()
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if killed:
        out += f"\nKILLED by the benchmark after {killed[0]:.1f} s: RSS passed {rss_limit_mb:g} MB"
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this directory")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="run the replay under pyinstrument, report to FILE")
    parser.add_argument("--rss-limit-mb", type=float, default=3000, help="kill the replay above this RSS (default %(default)s)")
    parser.add_argument("--checkout", type=Path, metavar="DIR", help="replay with DIR/tui instead of this checkout's")
    args = parser.parse_args()
    _common.header(f"replay: a synthetic {args.minutes:g}-minute session with audio both ways, rtui replay --headless")
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        source = directory / f"synthetic-{args.minutes:g}min.jsonl"
        output = directory / f"synthetic-{args.minutes:g}min-replayed.jsonl"
        output.unlink(missing_ok=True)
        if not source.exists():
            start = time.perf_counter()
            records = generate(source, args.minutes)
            print(
                f"   generated {records:,} records, {source.stat().st_size / 1e6:,.0f} MB "
                f"in {time.perf_counter() - start:.1f} s: {source}"
            )
        if args.checkout:
            print(f"   replay from {args.checkout}/tui")
        elapsed, cpu, rss, status, out = replay(source, output, args.profile, args.rss_limit_mb, args.checkout)
        tail = [line for line in out.splitlines() if line.strip()][-3:]
        speed = args.minutes * 60 / elapsed
        print("   replay said: " + " | ".join(tail))
        _common.result("replay exit status", f"{status} ({'match' if status == 0 else 'NOT a match'})")
        _common.result(
            "speed",
            f"{speed:,.0f}x real time ({elapsed:.1f} s for {args.minutes:g} min)",
            f">= {SPEED_TARGET:g}x",
            speed >= SPEED_TARGET,
        )
        _common.result(
            "CPU time of the replay process", f"{cpu:.1f} s ({args.minutes * 60 / cpu:,.0f}x real time per CPU second)"
        )
        _common.result("peak RSS of the replay process", f"{rss:,.0f} MB", f"<= {RSS_TARGET_MB:g} MB", rss <= RSS_TARGET_MB)
        if args.profile:
            print(f"   profile: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
