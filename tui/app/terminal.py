"""The terminal the TUI draws on: that there is one, and keeping it free of native libraries' chatter.

ALSA and PortAudio print diagnostics ("underrun occurred", ...) straight to file descriptor 2, which
is the terminal Textual draws on, so they scribble over the screen. While the TUI runs, Textual gets
its own handle on the terminal and fd 2 goes to a file; the user is told about that file at exit
only when something was written to it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def no_terminal(command: str, instead: str) -> str | None:
    """Why `command` cannot open the TUI here, as the line to print, or None when it can. The TUI
    reads keys from standard input and draws on standard output; given a file or a pipe, Textual
    writes escape codes into it and spins on the input's end of file, at full CPU, forever (a
    script or CI job that forgot `--headless`). `instead` says what to do."""
    for name, stream in (("standard input", sys.stdin), ("standard output", sys.stdout)):
        if stream is None or not stream.isatty():
            return f"{command}: the TUI needs a terminal, and {name} is not one; {instead}."
    return None


@contextmanager
def native_stderr_to_file() -> Iterator[Path | None]:
    """Route fd 2 to a file for the duration; yields the file's path (None when stderr is no tty)."""
    original = sys.__stderr__
    if original is None or not os.isatty(2):
        yield None
        return
    original.flush()
    saved = os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", encoding=original.encoding, errors=original.errors, buffering=1)
    fd, name = tempfile.mkstemp(prefix=f"rtui-{os.getpid()}-", suffix="-stderr.log")
    os.dup2(fd, 2)
    os.close(fd)
    # typeshed makes __stderr__ final; rtui moves it too, for code that writes to it directly.
    sys.__stderr__ = sys.stderr = terminal  # type: ignore[misc]
    try:
        yield Path(name)
    finally:
        terminal.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.__stderr__, sys.stderr = original, original  # type: ignore[misc]
        terminal.close()
        path = Path(name)
        if path.stat().st_size == 0:
            path.unlink()
        else:
            lines = path.read_bytes().count(b"\n")
            print(f"rtui: audio libraries wrote {lines} lines of diagnostics while the TUI ran; see {path}", file=sys.stderr)
