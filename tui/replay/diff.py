"""Comparing two recordings after normalization (`rtui diff A B`, and the verdict of a full replay).

Each direction's items are compared in order (the order between directions is left to the network,
causality being what a replay enforces); pings and pongs by payload, per direction; then the
handshake answer and the ending: who closed first, the code and reason, and whether it was clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.replay.normalize import Item
from tui.replay.report import Divergence, mismatch_message, nearest
from tui.replay.script import Script
from tui.wire.format import C2S, S2C

_DIR_NAMES = {C2S: "client frames (c2s)", S2C: "server frames (s2c)"}


@dataclass(repr=False)
class Comparison:
    a: Script
    b: Script
    sections: list[tuple[str, bool, list[str]]] = field(default_factory=list)  # (title, same, lines)
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return all(same for _, same, _ in self.sections)

    def report(self) -> str:
        lines = [f"A: {self.a.describe()}", f"B: {self.b.describe()}"]
        for script, name in ((self.a, "A"), (self.b, "B")):
            if script.truncated or not script.ending.recorded:
                lines.append(f"note: {name} stops before its connection ended (seq {script.last_seq} is its last record)")
        for title, same, body in self.sections:
            lines.append(f"{title}: {'same' if same else 'DIFFERENT'}")
            lines.extend(f"  {line}" for line in body)
        lines.append("identical after normalization" if self.same else "the recordings differ")
        return "\n".join(lines)


def _compare_items(direction: str, a: list[Item], b: list[Item]) -> tuple[bool, list[str], Divergence | None]:
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if left is not None and right is not None and left.key() == right.key():
            continue
        if left is None:
            message = f"B has {len(b) - len(a)} more: first extra is {right.label()}"  # type: ignore[union-attr]
        elif right is None:
            message = f"B stops after {len(b)} of A's {len(a)}; first missing is {left.label()}"
        else:
            message = mismatch_message(left, right) + f" (B seq {right.seq})"
        divergence = Divergence(direction, index, message, left, right, nearest(right, a, skip=index) if right else [])
        body = divergence.report().replace("recorded (expected)", "A").replace("replayed (actual)", "B").splitlines()
        body.append(f"A has {len(a)}, B has {len(b)} in all")
        return False, body, divergence
    return True, [f"{len(a)} items"], None


def _control(script: Script, direction: str, kind: str) -> list[str]:
    return [bytes(s.data).hex() for s in script.steps if s.direction == direction and s.kind == kind]


def _ending(script: Script) -> tuple[object, ...]:
    e = script.ending
    return (e.refused, e.closed_by, e.code, e.reason, e.clean, e.dropped_by)


def compare(a: Script, b: Script) -> Comparison:
    result = Comparison(a, b)
    if a.status != b.status:
        result.sections.append(("handshake", False, [f"A answered {a.status}, B answered {b.status}"]))
    else:
        sub_a = a.response.get("subprotocol") if a.response else None
        sub_b = b.response.get("subprotocol") if b.response else None
        result.sections.append(
            ("handshake", sub_a == sub_b, [f"status {a.status}"] + ([] if sub_a == sub_b else [f"subprotocol {sub_a!r} vs {sub_b!r}"]))
        )
    for direction in (C2S, S2C):
        same, body, divergence = _compare_items(direction, a.items[direction], b.items[direction])
        result.sections.append((_DIR_NAMES[direction], same, body))
        if divergence is not None:
            result.divergences.append(divergence)
    for direction, kind in ((C2S, "ping"), (S2C, "pong"), (S2C, "ping"), (C2S, "pong")):
        left, right = _control(a, direction, kind), _control(b, direction, kind)
        if left or right:
            body = [f"{len(left)} in A, {len(right)} in B"]
            if left != right:
                body.append(f"payloads A {left[:6]} B {right[:6]}")
            result.sections.append((f"{kind}s {direction}", left == right, body))
    if a.ending.recorded and b.ending.recorded:
        same = _ending(a) == _ending(b)
        body = [f"A: {a.ending.describe()}"] + ([] if same else [f"B: {b.ending.describe()}"])
        result.sections.append(("ending", same, body))
    else:
        result.sections.append(("ending", True, [f"A: {a.ending.describe()}", f"B: {b.ending.describe()}", "not compared"]))
    return result
