"""Real-time scheduling for the audio engine, as sound servers do for their own threads (and for
`rtui proxy`'s relay, whose added latency is its wait for a CPU: tui/cli/proxy.py).

When the cores are taken by work that does not sleep, a normally scheduled engine can wait behind
it, and captured audio waits that long to reach the socket. Under `SCHED_RR` the engine's threads
run as soon as they are runnable. Linux only, and only where the process may (root, CAP_SYS_NICE, or
an `rtprio` limit such as the `audio` group's in /etc/security/limits.conf); elsewhere the engine
runs as before.

A runaway real-time thread would freeze the machine's other work on its core, so the kernel is
asked (RLIMIT_RTTIME) to signal the process once a thread has run for `BUDGET_US` without sleeping;
the signal puts every thread back to normal scheduling for the rest of the session.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

# Below PulseAudio's own real-time priority (5): the sound server feeding the device must win.
PRIORITY = 4
# An engine thread busy this long without sleeping is a bug, not audio work (PulseAudio uses 200 ms).
BUDGET_US = 200_000
NOT_ASKED = "normal scheduling (real-time not asked for)"  # the status with --no-realtime


def leave_realtime(tid: int = 0) -> None:
    """Puts a thread of this process (0: the calling one) back under normal scheduling if it runs
    real-time; lowering a policy needs no privilege. Threads inherit their creator's policy, so a
    thread doing background work for a real-time engine or relay (writing recordings) calls this as
    it starts: that work must never preempt the programs whose frames are being recorded."""
    if hasattr(os, "sched_getscheduler") and os.sched_getscheduler(tid) in (os.SCHED_RR, os.SCHED_FIFO):
        os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))


def _every_thread_to_normal() -> None:
    for task in Path("/proc/self/task").iterdir():
        try:
            leave_realtime(int(task.name))
        except OSError:  # the thread ended meanwhile
            pass


class RealtimeScheduling:
    """Puts the calling thread, and every thread it starts afterwards (which inherit its policy: the
    audio streams' callback threads among them), under `SCHED_RR` until `release()`.

    `status` says in one phrase what was granted, or why not; `on_revoked` is called (in the main
    thread) if the budget ran out and real-time scheduling was given up."""

    def __init__(self, priority: int = PRIORITY, budget_us: int = BUDGET_US) -> None:
        self.priority = priority
        self.budget_us = budget_us
        self.active = False
        self.status = "normal scheduling"
        self.on_revoked: Callable[[str], None] | None = None
        self._saved_limit: tuple[int, int] | None = None
        self._saved_handler: Callable[[int, FrameType | None], Any] | int | signal.Handlers | None = None
        self._budget_in_force = budget_us

    def acquire(self) -> bool:
        """Asks for real-time scheduling; returns whether it was granted (see `status`)."""
        refusal = self._refusal()
        if refusal is not None:
            self.status = f"normal scheduling ({refusal})"
            return False
        soft, hard = resource.getrlimit(resource.RLIMIT_RTTIME)
        # A stricter limit already in place (an administrator's) is kept.
        budget = min([self.budget_us] + [limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY])
        self._saved_limit = (soft, hard)
        self._budget_in_force = budget
        self._saved_handler = signal.signal(signal.SIGXCPU, self._revoke)
        resource.setrlimit(resource.RLIMIT_RTTIME, (budget, hard))
        granted = self._set_priority(min(self.priority, os.sched_get_priority_max(os.SCHED_RR)))
        if granted is None:
            self._restore()
            self.status = (
                "normal scheduling (real-time scheduling not permitted: run as root, or allow it with an "
                "rtprio limit in /etc/security/limits.conf)"
            )
            return False
        self.active = True
        self.status = f"real-time scheduling (SCHED_RR priority {granted})"
        return True

    @staticmethod
    def _set_priority(priority: int) -> int | None:
        """The priority granted to the calling thread, or None. Without CAP_SYS_NICE the soft rtprio
        limit caps it, so a priority above the limit is retried at the limit."""
        limit, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
        for candidate in dict.fromkeys((priority, min(priority, limit))):
            if candidate < 1:
                continue
            try:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(candidate))
                return candidate
            except PermissionError:
                pass
        return None

    def release(self) -> None:
        """Back to normal scheduling for every thread still real-time, and the process as it was."""
        if self.active:
            _every_thread_to_normal()
            self.active = False
        self._restore()

    def _refusal(self) -> str | None:
        if not hasattr(os, "sched_setscheduler") or not Path("/proc/self/task").is_dir():
            return "real-time scheduling is only asked for on Linux"
        if threading.current_thread() is not threading.main_thread():
            return "real-time scheduling needs the engine on the main thread"
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return "the process already runs under a special scheduling policy"
        return None

    def _revoke(self, _signum: int, _frame: object) -> None:
        _every_thread_to_normal()
        self.active = False
        self.status = f"normal scheduling (real-time given up: a thread ran {self._budget_in_force // 1000} ms without pausing)"
        if self.on_revoked is not None:
            self.on_revoked(self.status)

    def _restore(self) -> None:
        if self._saved_limit is not None:
            resource.setrlimit(resource.RLIMIT_RTTIME, self._saved_limit)
            self._saved_limit = None
        if self._saved_handler is not None:
            signal.signal(signal.SIGXCPU, self._saved_handler)
            self._saved_handler = None
