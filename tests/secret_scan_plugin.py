"""Runs last: scans every recording and log the suite produced for the fake keys it used.

Registered from tests/conftest.py (`pytest_plugins`). After the whole session, every recording
(`*.jsonl`), log (`*.log`, `*.txt`) and HAR (`*.har`) under pytest's base temporary directory, and
those written to ./sessions during the run, are searched for each key in tests/fake_keys.py, raw,
JSON-escaped, and in the decoded strings of JSON lines and payloads that use `\\u` escapes (a key
spelled `sk-\\u0041…` is a key to whoever reads the file). A hit fails the run with the file, line
and key, since a secret on disk is the one failure the recorder must never have.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
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
