#!/usr/bin/env python3
"""Capture -> wire latency (p50/p99) with the UI idle and flooded with 1 000 events/s, and capture
overflows / playback underflows over a whole session, on real PortAudio devices.

Everything real: a private PulseAudio with virtual devices (scripts/virtual-audio, in its own
runtime directory), a 440 Hz tone streamed into the virtual microphone (sox | pacat), rtui's engine
with the microphone source and the speaker sink in its own process as `rtui` runs it (`--engine
thread`: on a thread beside the UI, for comparison), and the Textual UI (headless driver, 120x40)
drawing it. The server (scripts/bench/_servers.py flood, its own process) sends an
endless real-time response (100 ms of audio every 100 ms, so playback never runs dry unless rtui
falls behind) and, for the second half of the run, 1 000 events per second on top: the UI flood
(transcript deltas of ordinary-length items and rate-limit updates; `--flood monologue` makes every
delta extend one transcript item without end instead). Latency is the engine's own
`capture_latencies_ns` (device callback -> append written to the socket), collected every second
and split by phase.

    .venv/bin/python scripts/bench/audio_latency.py [--minutes 10] [--flood-rate 1000] [--no-realtime] [--hogs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

LATENCY_TARGET_MS = 10.0
# Per run: two runs at once must not share (and stop) one PulseAudio.
AUDIO_DIR = Path(tempfile.gettempdir()) / f"rtui-bench-audio-{os.getuid()}-{os.getpid()}"


def virtual_audio(command: str) -> str:
    env = {**os.environ, "RTUI_AUDIO_DIR": str(AUDIO_DIR)}
    done = subprocess.run([str(_common.ROOT / "scripts/virtual-audio"), command], env=env, capture_output=True, text=True)
    if done.returncode != 0 and command == "start":
        raise SystemExit(f"cannot start the virtual audio devices: {done.stderr.strip()}")
    return done.stdout


async def session(args: argparse.Namespace, url: str, record_dir: Path) -> dict:
    from tui.app.app import RtuiApp
    from tui.app.settings import UISettings
    from tui.engine.config import AudioSettings, Endpoint, EngineConfig
    from tui.engine.media_factory import open_media
    from tui.engine.process import EngineProcess
    from tui.engine.runner import EngineThread
    from tui.engine.session import Engine

    audio = AudioSettings(input="mic", output="speaker", realtime=not args.no_realtime)
    config = EngineConfig(endpoint=Endpoint(url=url, kind="live"), audio=audio, record_dir=record_dir)
    engine: Engine | EngineProcess
    if args.engine == "process":  # as `rtui` runs it
        engine = EngineProcess(config)
        runner = EngineThread(engine, switch_interval=None)  # type: ignore[arg-type]
    else:
        media = open_media(audio)
        engine = Engine(config, source=media.source, sink=media.sink)
        # rtui's own GIL switch interval unless --switch-interval asks for another.
        runner = EngineThread(engine, **({"switch_interval": args.switch_interval / 1000} if args.switch_interval else {}))
    app = RtuiApp(engine, settings=UISettings())
    latencies: dict[str, list[float]] = {"idle": [], "flooded": []}
    received: dict[str, int] = {}
    total = args.minutes * 60
    runner.start()
    async with app.run_test(size=(120, 40)) as pilot:
        start = time.monotonic()
        flood_at = start + total / 2
        received_at_flood = 0
        while time.monotonic() - start < total:
            await pilot.pause(1.0)
            now = time.monotonic()
            phase = "idle" if now < flood_at else "flooded"
            if phase == "flooded" and not received_at_flood:
                received_at_flood = engine.state.counters.frames_received
            queue = engine.capture_latencies_ns
            while queue:
                latencies[phase].append(queue.popleft() / 1e6)
            if runner.error or engine.state.phase == "closed":
                break
        received["flooded_per_s"] = (engine.state.counters.frames_received - received_at_flood) / max(
            1.0, time.monotonic() - flood_at
        )
        counters = engine.state.counters
        result = {
            "latencies": latencies,
            "overflows": counters.capture_overflows,
            "dropped": counters.dropped_chunks,
            "underflows": counters.playback_underflows,
            "device_underruns": counters.device_underruns,
            "played_s": counters.audio_played_seconds,
            "sent_s": counters.audio_sent_seconds,
            "received": received,
            "phase": engine.state.phase,
            "close": engine.state.close.explanation if engine.state.close else None,
            "notices": list(engine.state.notices),
            "error": repr(runner.error) if runner.error else None,
            "ran_s": time.monotonic() - start,
        }
    runner.stop(10)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--flood-rate", type=int, default=1_000)
    parser.add_argument(
        "--flood",
        choices=["mixed", "monologue"],
        default="mixed",
        help="mixed: transcript deltas of ordinary-length items and rate limits (default); "
        "monologue: every delta extends one transcript item without end",
    )
    parser.add_argument(
        "--engine",
        choices=["process", "thread"],
        default="process",
        help="process: the engine in its own process, as rtui runs it (default); "
        "thread: the engine on a thread beside the UI, as rtui ran it before",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        metavar="MS",
        help="--engine thread: set Python's GIL switch interval (rtui set 0.5 ms beside its UI; Python's default is 5) "
        "to see its effect on the latency",
    )
    parser.add_argument(
        "--hogs",
        type=int,
        default=0,
        metavar="N",
        help="N busy-looping processes at normal priority for the whole run: a machine whose cores are all taken",
    )
    parser.add_argument(
        "--no-realtime", action="store_true", help="as `rtui --no-realtime`: the engine does not ask for real-time scheduling"
    )
    args = parser.parse_args()
    scheduling = "normal scheduling" if args.no_realtime else "real-time scheduling where permitted"
    busy = f", {args.hogs} CPU hogs" if args.hogs else ""
    _common.header(
        f"audio latency: {args.minutes:g} min on virtual devices, engine in its own {args.engine} ({scheduling}{busy}), "
        f"UI idle then flooded with {args.flood_rate:,} events/s"
    )
    env_line = virtual_audio("start")
    os.environ["PULSE_SERVER"] = env_line.strip().split("=", 1)[1]
    feeder = None
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    try:
        seconds = int(args.minutes * 60) + 30
        feeder = subprocess.Popen(
            f"sox -q -n -t raw -r 48000 -c 1 -b 16 -e signed - synth {seconds} sine 440 vol 0.3 | "
            "pacat --device=rtui_mic --rate=48000 --channels=1 --format=s16le --latency-msec=20",
            shell=True,
            start_new_session=True,
        )
        # ALSA reports device-level underruns on the process's stderr (fd 2): count them.
        stderr_copy = os.dup(2)
        alsa_log = tempfile.TemporaryFile(mode="w+b")
        os.dup2(alsa_log.fileno(), 2)
        try:
            with (
                _common.Peer("flood", str(args.minutes * 30), str(args.flood_rate), args.flood) as server,
                tempfile.TemporaryDirectory() as tmp,
            ):
                result = asyncio.run(session(args, server.url(), Path(tmp)))
        finally:
            os.dup2(stderr_copy, 2)
            os.close(stderr_copy)
        alsa_log.seek(0)
        stderr_lines = alsa_log.read().decode("utf-8", "replace").splitlines()
        result["alsa_underruns"] = sum("underrun occurred" in line for line in stderr_lines)
        others = [line for line in stderr_lines if "underrun occurred" not in line]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        if feeder is not None and feeder.poll() is None:
            os.killpg(feeder.pid, 15)
            feeder.wait()
        virtual_audio("stop")
        shutil.rmtree(AUDIO_DIR, ignore_errors=True)
    for phase, values in result["latencies"].items():
        p50, p99 = _common.percentile(values, 50), _common.percentile(values, 99)
        target = f"<= {LATENCY_TARGET_MS:g} ms p99" if phase == "flooded" else None
        _common.result(
            f"capture -> wire, UI {phase}",
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(values, default=float('nan')):.1f} ms ({len(values):,} chunks)",
            target,
            p99 <= LATENCY_TARGET_MS if phase == "flooded" else None,
        )
    _common.result("events received per second while flooded", f"{result['received']['flooded_per_s']:,.0f}")
    losses = result["overflows"] + result["dropped"] + result["underflows"]
    _common.result(
        f"capture overflows / dropped chunks / playback underflows in {result['ran_s'] / 60:.1f} min",
        f"{result['overflows']} / {result['dropped']} / {result['underflows']} "
        f"(sent {result['sent_s']:.0f} s, played {result['played_s']:.0f} s of audio)",
        "0",
        losses == 0,
    )
    _common.result(
        "device-level playback underruns: reported to rtui by PortAudio / printed by ALSA",
        f"{result['device_underruns']} / {result['alsa_underruns']}",
        "0",
        result["device_underruns"] + result["alsa_underruns"] == 0,
    )
    if result["ran_s"] < args.minutes * 60 - 2:
        print(f"   THE SESSION ENDED EARLY, after {result['ran_s']:.0f} s: {result['close']}")
    if result["error"] or result["notices"]:
        print(f"   engine: phase {result['phase']}, error {result['error']}, notices {result['notices']}")
    if others:
        print("   other stderr output:\n      " + "\n      ".join(others[-15:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
