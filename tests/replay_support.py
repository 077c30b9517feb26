"""Helpers for the replay and diff tests: the committed examples and small recording edits."""

from __future__ import annotations

from pathlib import Path

import orjson

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
