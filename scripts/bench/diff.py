#!/usr/bin/env python3
"""`rtui diff` of a long recording against the same session chunked differently, old code against new.

A is the synthetic session of `replay.py` (the client streams 20 ms appends without a break, so its
audio is one segment as long as the session; the server answers every 10 s). B is A with each pair of
consecutive client appends merged into one 40 ms append, so nearly no append text of B is one of
A's: the diff decodes and matches the client's audio byte by byte (the path of `tui/replay/audio_match.py`), and the two
are identical after normalization. `rtui diff A B` runs in a child process, alternately with this
checkout's `tui` and with the `tui` of `--old REV` (extracted with `git archive`), best of `--rounds`
each; wall time, CPU time and peak RSS (wait4) of each are printed, and the ratio.

    .venv/bin/python scripts/bench/diff.py [--minutes 30] [--old REV] [--rounds 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import orjson  # noqa: E402

import _common  # noqa: E402
from replay import generate  # noqa: E402

APPEND = "input_audio_buffer.append"


def rechunk(source: Path, target: Path) -> int:
    """Writes `source` with each pair of consecutive client appends merged; returns the appends written."""
    appends = 0
    pending: dict | None = None  # a client append waiting for its partner

    def append_line(record: dict, audio: bytes) -> bytes:
        text = orjson.dumps({"type": APPEND, "audio": base64.b64encode(audio).decode()}).decode()
        return orjson.dumps({**record, "text": text, "size": len(text)}) + b"\n"

    with source.open("rb") as src, target.open("wb") as out:
        out.write(src.readline())
        for line in src:
            record = orjson.loads(line)
            is_append = record["kind"] == "frame" and record["dir"] == "c2s" and record.get("type") == APPEND
            if is_append:
                audio = base64.b64decode(orjson.loads(record["text"])["audio"])
                if pending is None:
                    pending = {"record": record, "audio": audio}
                    continue
                out.write(append_line(pending["record"], pending["audio"] + audio))
                pending = None
                appends += 1
                continue
            if pending is not None:  # an append between others stays alone: file order is seq order
                out.write(append_line(pending["record"], pending["audio"]))
                pending, appends = None, appends + 1
            out.write(line)
        if pending is not None:
            out.write(append_line(pending["record"], pending["audio"]))
            appends += 1
    return appends


def run_diff(a: Path, b: Path, checkout: Path | None) -> tuple[float, float, float, int, str]:
    """`rtui diff A B` in a child: (wall s, CPU s, peak RSS MB, exit status, last line of output)."""
    env = dict(os.environ, PYTHONPATH=str(checkout)) if checkout else dict(os.environ)
    command = [
        str(_common.VENV_PYTHON),
        "-c",
        "import sys; from tui.cli.main import main; sys.exit(main())",
        "diff",
        str(a),
        str(b),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=checkout or _common.ROOT
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    last = ([line for line in out.splitlines() if line.strip()] or ["(no output)"])[-1]
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--old", default="774606a~1", help="git revision of the old code (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this directory")
    args = parser.parse_args()
    _common.header(f"diff: a synthetic {args.minutes:g}-minute session against itself rechunked, old ({args.old}) vs new")
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        a = directory / f"synthetic-{args.minutes:g}min.jsonl"
        b = directory / f"synthetic-{args.minutes:g}min-rechunked.jsonl"
        if not a.exists():
            records = generate(a, args.minutes)
            print(f"   A: {records:,} records, {a.stat().st_size / 1e6:,.0f} MB")
        if not b.exists():
            appends = rechunk(a, b)
            print(f"   B: {appends:,} client appends (most of 40 ms), {b.stat().st_size / 1e6:,.0f} MB")
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(_common.ROOT), "archive", args.old, "tui"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        best: dict[str, tuple[float, float, float]] = {}
        for _ in range(args.rounds):
            for name, checkout in (("old", old), ("new", None)):
                elapsed, cpu, rss, status, last = run_diff(a, b, checkout)
                print(f"   {name}: {elapsed:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB, exit {status}: {last}")
                if status != 0:
                    print(f"   {name}: the diff did not find the recordings identical")
                    return 1
                previous = best.get(name)
                best[name] = (
                    (min(elapsed, previous[0]), min(cpu, previous[1]), max(rss, previous[2])) if previous else (elapsed, cpu, rss)
                )
        for name in ("old", "new"):
            elapsed, cpu, rss = best[name]
            _common.result(f"{name}, best of {args.rounds}", f"{elapsed:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB")
        _common.result("new / old CPU time", f"{best['new'][1] / best['old'][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
