"""Readable reports of where a replay or a comparison went wrong: positions, a diff of the expected
and actual frames (as indented JSON, long strings shortened), and the nearest recorded candidates."""

from __future__ import annotations

import difflib
import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tui.replay.normalize import NormalizedItem

# Close codes and reasons a replay ends a session with (docs/replay.md).
DIVERGENCE_CODE, DIVERGENCE_REASON = 4900, "rtui.replay.divergence"
TIMEOUT_CODE, TIMEOUT_REASON = 4901, "rtui.replay.timeout"
TRUNCATED_CODE, TRUNCATED_REASON = 4902, "rtui.replay.end_of_recording"

_LONG = 96
_NAMES = {"c2s": "client frame", "s2c": "server frame"}


def _shorten(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str) and len(value) > _LONG:
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"{value[:40]}… ({len(value)} chars, sha256 {digest})"
    return value


def pretty(item: NormalizedItem | None) -> list[str]:
    if item is None:
        return ["(nothing)"]
    text = orjson.dumps(_shorten(item.describe()), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
    return text.splitlines()


def json_diff(
    expected: NormalizedItem | None, actual: NormalizedItem | None, *, labels: tuple[str, str] = ("expected", "actual")
) -> str:
    lines = difflib.unified_diff(pretty(expected), pretty(actual), labels[0], labels[1], n=2, lineterm="")
    return "\n".join(lines)


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else k))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_leaves(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def distance(a: NormalizedItem, b: NormalizedItem) -> int:
    """How many leaf fields differ (a rough measure for ranking candidates)."""
    if a.kind != b.kind:
        return 10_000
    left, right = _leaves(a.describe()), _leaves(b.describe())
    return sum(1 for k in left.keys() | right.keys() if left.get(k) != right.get(k))


def changed_fields(a: NormalizedItem, b: NormalizedItem) -> list[str]:
    left, right = _leaves(a.describe()), _leaves(b.describe())
    return sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))


def mismatch_message(expected: NormalizedItem, actual: NormalizedItem) -> str:
    if expected.kind == actual.kind and expected.type == actual.type:
        fields = changed_fields(expected, actual)
        shown = ", ".join(fields[:5]) + (f" and {len(fields) - 5} more" if len(fields) > 5 else "")
        return f"{actual.label()} differs from the recording in {shown}"
    return f"expected {expected.label()}, got {actual.label()}"


def nearest(
    actual: NormalizedItem, expected: Iterable[tuple[int, NormalizedItem]], limit: int = 3, skip: int | None = None
) -> list[tuple[int, NormalizedItem]]:
    """The recorded items (index, item) most like `actual`, closest first (ties: earliest first),
    except `skip`; `expected` is streamed, only the best `limit` are kept."""
    scored = ((distance(actual, item), index, item) for index, item in expected if item.type == actual.type and index != skip)
    return [(index, item) for _, index, item in heapq.nsmallest(limit, scored, key=lambda t: (t[0], t[1]))]


@dataclass(eq=False)
class Divergence(Exception):
    """A frame that is not the one the recording has at this position (or none arrived)."""

    direction: str
    index: int  # position in the direction's items (0-based)
    message: str
    expected: NormalizedItem | None = None
    actual: NormalizedItem | None = None
    candidates: list[tuple[int, NormalizedItem]] = field(default_factory=list)
    code: int = DIVERGENCE_CODE
    reason: str = DIVERGENCE_REASON

    def __str__(self) -> str:
        return self.report()

    def report(self) -> str:
        name = _NAMES.get(self.direction, self.direction)
        seq = f" (recorded seq {self.expected.seq})" if self.expected is not None and self.expected.seq else ""
        lines = [f"divergence at {name} #{self.index + 1}{seq}: {self.message}"]
        if self.expected is not None or self.actual is not None:
            lines.append(json_diff(self.expected, self.actual, labels=("recorded (expected)", "replayed (actual)")))
        for index, item in self.candidates:
            where = f"seq {item.seq}" if item.seq else "no seq"
            lines.append(f"  nearest recorded {name}: #{index + 1} ({where}) {item.label()}")
        return "\n".join(lines)


class GateTimeout(Divergence):
    """Waited too long for the other side to reach a recorded position."""


def unused_lines(title: str, items: list[tuple[int, NormalizedItem]], total: int | None = None, limit: int = 20) -> list[str]:
    """`items`: the first of them (at least `limit` when there are more); `total`: how many in all."""
    total = len(items) if total is None else total
    if not total:
        return []
    lines = [f"{title}: {total}"]
    for index, item in items[:limit]:
        lines.append(f"  #{index + 1} (seq {item.seq}) {item.label()}")
    if total > limit:
        lines.append(f"  … and {total - limit} more")
    return lines
