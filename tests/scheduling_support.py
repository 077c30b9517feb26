"""What the kernel says of a process's scheduling, for the tests of rtui's real-time scheduling (the
audio engine's and the relay's): thread policies read from /proc, as `ps -eLo cls` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def realtime_permitted() -> bool:
    probe = "import os; os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def policies(pid: int | str = "self") -> dict[int, int]:
    """Thread id -> scheduling policy (SCHED_OTHER 0, SCHED_RR 2) of every thread of a process."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        found[int(task.name)] = int(stat.rsplit(")", 1)[1].split()[38])  # field 41, policy
    return found


def realtime_threads(pid: int | str = "self") -> set[int]:
    return {tid for tid, policy in policies(pid).items() if policy == os.SCHED_RR}
