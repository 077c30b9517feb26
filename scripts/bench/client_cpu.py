#!/usr/bin/env python3
"""CPU per minute of audio: rtui's client (the headless engine, recording every frame) vs the official
`openai` SDK's realtime client (not recording), streaming the same audio to the mock.

Both run side by side, at the same time, each in its own process, against one `rtui mock` process
(whose CPU is not counted): `rtui --headless --input FILE.wav --output null` (real-time paced WAV
source, server VAD, the responses decoded into a null sink, everything recorded) and
scripts/bench/sdk_client.py (real-time 20 ms appends, every event parsed into the SDK's models).
The audio is a tone/silence pattern, so the mock's VAD answers a turn every 3 s in both sessions.
The figure is each client's user+system CPU (wait4) divided by the minutes of audio, and the ratio.

    .venv/bin/python scripts/bench/client_cpu.py [--minutes 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

import _common  # noqa: E402

TARGET = 1.0


def pattern_wav(path: Path, minutes: float) -> None:
    rate = 24_000
    t = np.arange(int(rate * 60 * minutes)) / rate
    loud = (t % 3.0) < 1.5
    samples = np.where(loud, 0.25 * np.sin(2 * np.pi * 440 * t), 0.0)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())


def cpu_of(process: subprocess.Popen) -> tuple[float, int]:
    """Waits for `process`: (its user+system CPU seconds, exit status)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args()
    _common.header(f"client CPU: {args.minutes:g} min of audio to the mock, rtui (recording) vs the openai SDK, side by side")
    _common.ensure_package("openai", "openai")
    mock = subprocess.Popen([str(_common.ROOT / ".venv/bin/rtui"), "mock", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert mock.stdout is not None
        url = mock.stdout.readline().split("listening on ", 1)[1].strip()
        with tempfile.TemporaryDirectory() as tmp:
            audio = Path(tmp) / "pattern.wav"
            pattern_wav(audio, args.minutes)
            env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY")}
            start = time.perf_counter()
            rtui = subprocess.Popen(
                [
                    str(_common.ROOT / ".venv/bin/rtui"),
                    "--headless",
                    "--url",
                    url,
                    "--input",
                    str(audio),
                    "--output",
                    "null",
                    "--record-dir",
                    str(Path(tmp) / "sessions"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            sdk = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("sdk_client.py")), url.rsplit("/", 1)[0], str(audio)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            rtui_out = rtui.stdout.read()  # type: ignore[union-attr]
            sdk_out = sdk.stdout.read()  # type: ignore[union-attr]
            rtui_cpu, rtui_status = cpu_of(rtui)
            sdk_cpu, sdk_status = cpu_of(sdk)
            wall = time.perf_counter() - start
            recordings = list((Path(tmp) / "sessions").glob("*.jsonl"))
            recorded = recordings[0].stat().st_size / 1e6 if recordings else 0.0
    finally:
        _common.stop(mock, timeout=30)
    rtui_tail = [line for line in rtui_out.splitlines() if line.strip()][-2:]
    print("   rtui said: " + " | ".join(rtui_tail))
    print("   sdk said: " + sdk_out.strip().splitlines()[-1] if sdk_out.strip() else "   sdk said nothing")
    _common.result(
        "rtui client", f"{rtui_cpu / args.minutes:.2f} CPU s per minute of audio (exit {rtui_status}, recorded {recorded:.1f} MB)"
    )
    _common.result("openai SDK client", f"{sdk_cpu / args.minutes:.2f} CPU s per minute of audio (exit {sdk_status})")
    ratio = rtui_cpu / sdk_cpu if sdk_cpu else float("inf")
    _common.result("rtui / SDK", f"{ratio:.2f} (wall {wall:.0f} s)", f"<= {TARGET}", ratio <= TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
