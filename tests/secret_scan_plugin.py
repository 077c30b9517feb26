"""Runs last: scans every recording and log the suite produced for the fake keys it used.

Registered from tests/conftest.py (`pytest_plugins`). After the whole session, every recording
(`*.jsonl`), log (`*.log`, `*.txt`) and HAR (`*.har`) under pytest's base temporary directory, and
those written to ./sessions during the run, are searched for each key in tests/fake_keys.py, raw,
JSON-escaped, and in the decoded strings of JSON lines and payloads that use `\\u` escapes (a key
spelled `sk-\\u0041…` is a key to whoever reads the file). A hit fails the run with the file, line
and key, since a secret on disk is the one failure the recorder must never have.

The screen is scanned too, as the test runs: every Pilot test's screen (from Textual's SVG
screenshot) after each pause and key press and at its end, and every tmux capture
(tests/tmux_support.py calls `check_screen`). A fake key there fails that test at once.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SCANNED_SUFFIXES = frozenset({".jsonl", ".log", ".txt", ".har"})
MAX_BYTES = 512 * 2**20  # a benchmark-sized file is still scanned, a runaway one is not read whole


@dataclass(frozen=True)
class Leak:
    path: Path
    line: int
    key: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: contains the fake key {self.key[:12]}…"


def _needles(keys: Iterable[str]) -> list[tuple[bytes, str]]:
    needles = []
    for key in keys:
        for form in {key, json.dumps(key)[1:-1]}:
            needles.append((form.encode(), key))
    return needles


def candidate_files(roots: Iterable[Path], since: float = 0.0) -> Iterator[Path]:
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            try:
                if path.suffix in SCANNED_SUFFIXES and path.is_file() and path.stat().st_mtime >= since:
                    yield path
            except OSError:
                continue  # removed while we looked


def _decoded_strings(value: object, depth: int = 0) -> Iterator[str]:
    """Every string in a decoded JSON value; a string that is itself JSON (a frame's text) is
    decoded in turn, so a key spelled with escapes inside a payload is seen as readers see it."""
    if isinstance(value, str):
        yield value
        if depth < 2 and value[:1] in ("{", "[") and "\\" in value:
            try:
                yield from _decoded_strings(json.loads(value), depth + 1)
            except ValueError:
                pass
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _decoded_strings(inner, depth)
    elif isinstance(value, list):
        for inner in value:
            yield from _decoded_strings(inner, depth)


def _escaped_leaks(line: bytes, keys: Iterable[str]) -> list[str]:
    """The keys a JSON line holds once decoded (only lines with a `\\u` escape can hide one)."""
    if b"\\u" not in line:
        return []
    try:
        record = json.loads(line)
    except ValueError:
        return []
    strings = list(_decoded_strings(record))
    return [key for key in keys if any(key in string for string in strings)]


def find_leaks(paths: Iterable[Path], keys: Iterable[str]) -> list[Leak]:
    keys = list(keys)
    needles = _needles(keys)
    leaks = []
    for path in paths:
        try:
            with open(path, "rb") as file:
                for number, line in enumerate(file, 1):
                    found = {key for needle, key in needles if needle in line}
                    found.update(_escaped_leaks(line, keys))
                    leaks.extend(Leak(path, number, key) for key in sorted(found))
                    if file.tell() > MAX_BYTES:
                        break
        except OSError:
            continue
    return leaks


# -- the screen -----------------------------------------------------------------------------------


class SecretOnScreen(AssertionError):
    pass


def check_screen(text: str, where: str) -> None:
    """Fails at once when a fake key is on the screen (`text` as the user reads it)."""
    from fake_keys import ALL

    flat = text.replace("\n", "")  # a key cut by a line break is on screen all the same
    for key in ALL:
        if key in text or key in flat:
            raise SecretOnScreen(f"{where} shows the fake key {key[:12]}…")


_SVG_TEXT = re.compile(r"<text[^>]*>(.*?)</text>", re.S)


def app_screen_text(app: object) -> str:
    """The text of a running Textual app's screen, from its SVG screenshot (the public API)."""
    svg = app.export_screenshot(simplify=True)  # type: ignore[attr-defined]
    return "".join(html.unescape(part) for part in _SVG_TEXT.findall(svg)).replace("\xa0", " ")


def _scan_pilot_screens() -> None:
    """Every Pilot test's screen is checked after each pause and key press, and when it ends."""
    try:
        from textual.app import App
        from textual.pilot import Pilot
    except ImportError:
        return
    pause, press, run_test = Pilot.pause, Pilot.press, App.run_test

    async def checked_pause(self: Pilot, delay: float | None = None) -> None:
        await pause(self, delay)
        check_screen(app_screen_text(self.app), "the TUI")

    async def checked_press(self: Pilot, *keys: str) -> None:
        await press(self, *keys)
        if self.app.is_running:
            check_screen(app_screen_text(self.app), "the TUI")

    @asynccontextmanager
    async def checked_run_test(self: App, *args: object, **kwargs: object) -> AsyncIterator[Pilot]:
        async with run_test(self, *args, **kwargs) as pilot:  # type: ignore[arg-type]
            yield pilot
            if self.is_running:
                check_screen(app_screen_text(self), "the TUI")

    Pilot.pause = checked_pause  # type: ignore[method-assign]
    Pilot.press = checked_press  # type: ignore[method-assign]
    App.run_test = checked_run_test  # type: ignore[method-assign,assignment]


def pytest_configure(config: pytest.Config) -> None:
    _scan_pilot_screens()


_started = time.time()


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.time()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from fake_keys import ALL

    factory = getattr(session.config, "_tmp_path_factory", None)
    roots = []
    if factory is not None:
        try:
            roots.append(factory.getbasetemp())
        except Exception:  # no test asked for tmp_path: nothing was written there
            pass
    files = list(candidate_files(roots))
    files += candidate_files([Path("sessions")], since=_started - 1)
    leaks = find_leaks(files, ALL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        if leaks:
            reporter.write_sep("=", "SECRET SCAN FAILED", red=True)
            for leak in leaks[:50]:
                reporter.write_line(str(leak))
        else:
            reporter.write_line(f"secret scan: {len(files)} recordings and logs, none holds a fake key")
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
