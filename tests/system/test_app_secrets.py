"""Secrets stay off the screen: the live TUI over the engine `rtui` really runs (the child process)."""

from __future__ import annotations

from pathlib import Path

from app_support import on_screen, wait_for
from fake_keys import URL_QUERY_KEY
from tmux_support import terminal  # noqa: F401  (a fixture)
from tui.engine.config import AudioSettings, Endpoint, EngineConfig
from tui.engine.process import EngineProcess
from tui.mock import MockConfig, MockServer


async def test_a_key_in_the_url_is_redacted_in_the_header(tmp_path: Path) -> None:
    async with MockServer(MockConfig(port=0)) as server:
        url = f"{server.url_for()}&api-key={URL_QUERY_KEY}"
        config = EngineConfig(Endpoint(url, "live"), audio=AudioSettings(input="none", output="null"), record_dir=tmp_path)
        engine = EngineProcess(config)
        async with on_screen(engine) as (runner, app, pilot):
            await wait_for(pilot, lambda: engine.state.phase == "open" and "api-key" in app.live_screen.header.plain)
            header = app.live_screen.header.plain
            assert URL_QUERY_KEY not in header
            assert "api-key=[redacted]" in header and "model=gpt-realtime" in header
            await pilot.press("q")


# The suite's screen scan (tests/secret_scan_plugin.py) itself: a key on the screen fails the test.


async def test_the_screen_scan_catches_a_key_on_the_tui() -> None:
    import pytest

    from app_support import FrozenEngine
    from secret_scan_plugin import SecretOnScreen
    from tui.app.app import RtuiApp
    from tui.app.settings import UISettings
    from tui.engine.state import EngineState

    engine = FrozenEngine(EngineState(phase="open", endpoint_kind="live", url=f"wss://example.test/?api-key={URL_QUERY_KEY}"))
    with pytest.raises(SecretOnScreen, match="the TUI shows the fake key"):
        async with RtuiApp(engine, settings=UISettings()).run_test(size=(120, 30)) as pilot:  # type: ignore[arg-type]
            for _ in range(100):  # each pause scans the screen: the header shows the key once it is drawn
                await pilot.pause(0.05)


def test_the_screen_scan_catches_a_key_in_the_terminal(terminal) -> None:  # type: ignore[no-untyped-def]
    import time

    import pytest

    from secret_scan_plugin import SecretOnScreen

    # Cut over two lines, as a narrow terminal would wrap it.
    terminal.start(f"sh -c 'printf \"%s\\n%s\\n\" {URL_QUERY_KEY[:10]} {URL_QUERY_KEY[10:]}; sleep 30'")
    time.sleep(0.5)
    with pytest.raises(SecretOnScreen, match="the terminal shows the fake key"):
        for _ in range(50):
            terminal.screen()
            time.sleep(0.1)


def test_the_terminal_shows_the_url_with_its_key_redacted(terminal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `rtui --url '...?api-key=sk-…'` in a real terminal against `rtui mock`: every capture is
    # scanned for the key (tests/tmux_support.py), and the header shows it redacted.
    import shlex
    import socket
    import subprocess
    import time

    from cli_support import RTUI

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mock = subprocess.Popen([str(RTUI), "mock", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and mock.poll() is None, "rtui mock never listened"
                time.sleep(0.1)
        url = f"ws://127.0.0.1:{port}/v1/realtime?api-key={URL_QUERY_KEY}&model=gpt-realtime"
        terminal.start(
            f"exec env -u OPENAI_API_KEY TERM=xterm-256color {RTUI} --url {shlex.quote(url)} --input silence "
            f"--output null --record-dir {shlex.quote(str(tmp_path))}"
        )
        screen = terminal.wait_for(lambda s: "OPEN" in s and "api-key=[redacted]" in s, 30, "the session open, key redacted")
        assert f"127.0.0.1:{port}/v1/realtime?api-key=[redacted]&model=gpt-realtime" in screen
    finally:
        mock.terminate()
        mock.wait(10)
