"""Helpers shared by the benchmark scripts: percentiles, machine facts, bench-only tools, RSS.

Nothing here is imported by rtui itself. Bench-only packages (pyinstrument, py-spy, mitmproxy) are
installed on demand by the script that needs them, never added to the runtime dependencies.
"""

from __future__ import annotations

import os
import platform
import resource
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after PYTHONPATH: `PYTHONPATH=DIR` benchmarks another checkout's tui


def event_type_and_redaction_scans(text: str, secret: str) -> str | None:
    """What every recorded text frame costs beyond serialising it, done as cheaply as Python can:
    its event type (`orjson.loads`) and the redaction's scans (a known secret, then the `sk-` and
    `ek_` key prefixes, searched only up to the last '-' or '_'), finding nothing to redact. For the
    ceilings of `loopback.py --ceiling` and `recorder.py --ceiling`, not a recorder."""
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        event = None
    if secret in text or ((last := text.rfind("-")) >= 2 and text.find("sk-", 0, last + 1) >= 0):
        raise ValueError("the ceiling's frames hold nothing to redact")
    if (last := text.rfind("_")) >= 2 and text.find("ek_", 0, last + 1) >= 0:
        raise ValueError("the ceiling's frames hold nothing to redact")
    return event.get("type") if type(event) is dict else None


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, load average {load}"
    )


def header(title: str) -> None:
    print(f"== {title}")
    print(f"   machine: {machine()}")


def result(name: str, value: str, target: str | None = None, met: bool | None = None) -> None:
    verdict = "" if met is None else ("  [target met]" if met else "  [TARGET NOT MET]")
    print(f"   {name}: {value}" + (f"   (target {target})" if target else "") + verdict)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def rss_mb(pid: int | None = None) -> float:
    """Current resident set size of a process (this one by default), in MB."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User+system CPU time a live process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def ensure_package(module: str, requirement: str, python: Path | str = sys.executable) -> None:
    """Installs a bench-only package into `python`'s environment when `module` is missing."""
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
    if probe.returncode == 0:
        return
    print(f"   (installing bench-only {requirement} into {python})", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", requirement], check=True)


def profile_hint(script: str) -> None:
    print(f"   profile: {sys.executable} {ROOT / 'scripts/bench' / script} --profile")


class Peer:
    """A benchmark peer process (see _servers.py) that prints its port first; use as a context manager."""

    def __init__(self, kind: str, *args: str) -> None:
        self.kind = kind
        self.args = args
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Peer:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_servers.py")), self.kind, *self.args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        return self

    def url(self, path: str = "/v1/realtime?model=gpt-realtime") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def __exit__(self, *exc_info: object) -> None:
        stop(self.process)


def stop(process: subprocess.Popen | None, timeout: float = 5) -> None:
    """Ends a process this script started: SIGINT (Ctrl-C, so a profiler wrapping it writes its
    report), then SIGTERM, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    for send in (lambda: process.send_signal(signal.SIGINT), process.terminate, process.kill):
        send()
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue
