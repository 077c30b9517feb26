"""rtui's command line run as a user runs it: the installed `rtui` in a child process, with what it
printed and its status, and none of the settings of whoever runs the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

RTUI = Path(sys.executable).parent / "rtui"  # the installed rtui of the environment running the tests
# The keys, and the variables that change what rtui shows (tui.app.settings, tui.protocol.prices).
USER_SETTINGS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "RTUI_PRICES", "RTUI_MOUSE", "RTUI_REFRESH_HZ", "RTUI_LOG_LINES")


def hangup_as_in_a_terminal() -> None:
    """For preexec_fn: SIGHUP at its default, as for a command typed in a terminal. The tests may run
    with it ignored (under nohup, or a CI runner that ignores it), which a child would inherit, and
    rtui's servers keep running through a hangup they were started ignoring."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def user_environment(**env: str) -> dict[str, str]:
    """This environment without USER_SETTINGS, and with `env` added (keys included)."""
    return {**{k: v for k, v in os.environ.items() if k not in USER_SETTINGS}, **env}


def rtui(
    *args: str, cwd: Path | None = None, timeout: float = 90, preexec_fn: Callable[[], None] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`rtui ARGS` to its end, in `user_environment(**env)`."""
    return subprocess.run(
        [str(RTUI), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=user_environment(**env),
        preexec_fn=preexec_fn,
    )


@contextmanager
def running_mock(*options: str) -> Iterator[str]:
    """`rtui mock --port 0 OPTIONS`: its URL while it runs."""
    mock = subprocess.Popen(
        [str(RTUI), "mock", "--port", "0", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = mock.stdout.readline() if mock.stdout else ""
        assert first.startswith("listening on ws://127.0.0.1:"), first + (mock.stderr.read() if mock.stderr else "")
        yield first.split()[-1]
    finally:
        mock.terminate()
        mock.wait(timeout=10)
