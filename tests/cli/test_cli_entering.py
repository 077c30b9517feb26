"""Starting the installed `rtui` with something it cannot do: one line on stderr and status 2, before
it connects anywhere or writes anything."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import RTUI, rtui, user_environment

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sessions" / "examples" / "story1-binary-append-close-1000.jsonl"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that only notes whether anything connected to it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def connected(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_headless_with_no_microphone_and_no_text_exits_2_before_connecting(tmp_path: Path, listener: socket.socket) -> None:
    # No PortAudio at all (a broken libportaudio.so.2 found first): the default input, the
    # microphone, cannot open, and there is no --text: nothing to send.
    libdir = tmp_path / "lib"
    libdir.mkdir()
    (libdir / "libportaudio.so.2").write_bytes(b"")
    port = listener.getsockname()[1]
    result = rtui(
        "--headless",
        "--output",
        "null",
        "--url",
        f"ws://127.0.0.1:{port}/v1/realtime",
        cwd=tmp_path,
        LD_LIBRARY_PATH=str(libdir),
        OPENAI_API_KEY="sk-test-nothing-to-send",
        NO_PROXY="127.0.0.1",
    )
    assert result.returncode == 2, result.stderr
    assert "rtui: Nothing to send: give --input FILE.wav, tone or silence, or --text TEXT.\n" in result.stderr
    assert "Traceback" not in result.stderr
    assert "recorded to" not in result.stdout
    assert not connected(listener)
    assert not list(tmp_path.glob("sessions/*")), "a recording was left behind"


def test_headless_with_input_none_and_no_text_exits_2_before_connecting(tmp_path: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    result = rtui(
        "--headless",
        "--input",
        "none",
        "--output",
        "null",
        "--url",
        f"ws://127.0.0.1:{port}/v1/realtime",
        cwd=tmp_path,
        OPENAI_API_KEY="sk-test-nothing-to-send",
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "rtui: --headless needs something to say: --input FILE.wav (or tone/silence) or --text TEXT\n"
    assert not connected(listener)
    assert not (tmp_path / "sessions").exists()


@pytest.mark.parametrize(
    "args, command",
    [
        (["replay", "/nonexistent.jsonl"], "rtui replay"),
        (["replay", "/nonexistent.jsonl", "--headless"], "rtui replay"),
        (["diff", "/nonexistent.jsonl", str(EXAMPLE)], "rtui diff"),
        (["diff", str(EXAMPLE), "/nonexistent.jsonl"], "rtui diff"),
        (["mock", "--serve", "/nonexistent.jsonl", "--port", "0"], "rtui mock"),
    ],
)
def test_a_missing_recording_gets_one_line_and_status_2(tmp_path: Path, args: list[str], command: str) -> None:
    result = rtui(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"{command}: /nonexistent.jsonl:0: cannot open: No such file or directory\n"


@pytest.fixture(params=["standard input", "standard output"])
def not_a_terminal(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """(which stream is not a terminal, the fd to give as standard input): /dev/null, or a real
    terminal (a pty) while standard output is a pipe, as in `rtui | tee log`."""
    if request.param == "standard input":
        with open(os.devnull) as devnull:
            yield request.param, devnull.fileno()
        return
    controller, terminal = os.openpty()
    try:
        yield request.param, terminal
    finally:
        os.close(terminal)
        os.close(controller)


@pytest.mark.parametrize(
    "args, command, instead",
    [
        (["--url", "{url}"], "rtui", "run it in a terminal, or add --headless"),
        (["replay", str(EXAMPLE)], "rtui replay", "run it in a terminal, or add --headless"),
        (
            ["proxy", "--ui", "--listen", "127.0.0.1:0", "--upstream", "{url}"],
            "rtui proxy",
            "run it in a terminal, or leave out --ui",
        ),
    ],
)
def test_the_tui_without_a_terminal_gets_one_line_and_status_2_before_connecting(
    tmp_path: Path, listener: socket.socket, not_a_terminal: tuple[str, int], args: list[str], command: str, instead: str
) -> None:
    # A script or CI job that forgot --headless: Textual would write escape codes into the pipe and
    # spin on the input's end of file at full CPU, forever.
    stream, stdin = not_a_terminal
    url = f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/realtime"
    argv = [arg.format(url=url) for arg in args]
    result = subprocess.run(
        [str(RTUI), *argv],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=user_environment(OPENAI_API_KEY="sk-test-no-terminal-here"),
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == f"{command}: the TUI needs a terminal, and {stream} is not one; {instead}.\n"
    assert not connected(listener)
    assert not list(tmp_path.glob("sessions/*")), "a recording was left behind"
