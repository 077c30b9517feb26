"""Helpers for the replay and diff tests: the committed examples and small recording edits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from tui.replay.normalize import NormalizedItem
from tui.replay.script import Script
from tui.replay.steps import Step
from tui.wire.format import C2S, S2C
from tui.wire.reader import SessionReader

EXAMPLES = Path(__file__).resolve().parent.parent / "sessions" / "examples"


def example(name: str) -> Path:
    return EXAMPLES / f"{name}.jsonl"


def all_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.jsonl"))


def records(path: Path) -> list[dict]:
    with SessionReader(path) as reader:
        return list(reader)


def end_of(path: Path) -> dict | None:
    ends = [r for r in records(path) if r["kind"] == "end"]
    return ends[-1] if ends else None


def first_close(path: Path) -> dict | None:
    closes = [r for r in records(path) if r["kind"] == "close" and r.get("first")]
    return closes[0] if closes else None


def rewrite(source: Path, target: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    """Copies a recording, passing each record (header included) through `edit(record) -> record`."""
    lines = source.read_bytes().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        out.append(orjson.dumps(edit(orjson.loads(line))))
    target.write_bytes(b"\n".join(out) + b"\n")
    return target


def recorded_steps(script: Script) -> list[Step]:
    """Every step of the script's connection, both directions in recorded order (in memory: small recordings)."""
    tape = script.open(("steps", C2S), ("steps", S2C))
    steps = [*tape.channel("steps", C2S), *tape.channel("steps", S2C)]
    return sorted(steps, key=lambda step: step.seq)


def recorded_items(script: Script, direction: str) -> list[NormalizedItem]:
    """The direction's items, each audio segment merged (in memory: small recordings)."""
    return [item for _, item in script.iter_items(direction)]


def fill_disk_after(monkeypatch, lines: int, file_name: str) -> None:  # type: ignore[no-untyped-def]
    """The recording writer's file named `file_name` fails with ENOSPC once more than `lines` lines are written, as on a
    disk that fills up (other files are untouched)."""
    import builtins
    import errno

    from tui.wire import writer as writer_module

    real_open = builtins.open

    class FillingDisk:
        def __init__(self, file) -> None:  # type: ignore[no-untyped-def]
            self.file, self.lines = file, 0

        def write(self, data: bytes) -> int:
            self.lines += bytes(data).count(b"\n")  # a write may hold several lines (held records)
            if self.lines > lines:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(data)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.file, name)

    def open_on_a_small_disk(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        file = real_open(path, mode, *args, **kwargs)  # noqa: SIM115 - the writer closes it
        return FillingDisk(file) if str(path).endswith(file_name) else file

    monkeypatch.setattr(writer_module, "open", open_on_a_small_disk, raising=False)


class FakeClock:
    """A `PacingClock` that only moves when told to, or when someone sleeps on it."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        # Time jumps to the end of the sleep at once; two sides sleeping at the same moment end
        # up at the later of their deadlines, not at the sum of their sleeps.
        self.sleeps.append(seconds)
        target = self.t + max(0.0, seconds)
        await asyncio.sleep(0)
        self.t = max(self.t, target)
