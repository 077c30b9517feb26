"""Comparing two recordings after normalization (`rtui diff A B`, and the verdict of a full replay).

Each direction's items are compared in order (the order between directions is left to the network,
causality being what a replay enforces); pings and pongs by payload, per direction; then the
handshake answer and the ending: who closed first, the code and reason, and whether it was clean.

The comparison streams: A is read from its tape, B's records are given one by one (read from its file,
or handed over by the writer as a full replay records them), and nothing is kept per frame. Appended
audio is compared byte for byte, and without decoding where both recordings hold the same base64 at
the same place. The first difference of a direction is reported with both items in full and the
nearest candidates, which are found by reading the recordings again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tui.protocol.summary import counted
from tui.replay.audio_match import AudioMatch
from tui.replay.normalize import decode_audio
from tui.replay.report import Divergence, mismatch_message, nearest
from tui.replay.script import Outline, Script, script_from
from tui.replay.steps import frame_payload
from tui.replay.tape import Channel, EntryMaker, Tape
from tui.wire.format import C2S, S2C
from tui.wire.reader import SessionReader

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


class _DirectionMatch:
    """Matches one direction's items of B, as they come, against A's entries."""

    def __init__(self, direction: str, a: Channel, maker: EntryMaker) -> None:
        self.direction = direction
        self.a = a
        self.maker = maker  # B's entries and positions
        self.index = 0  # B's current item
        self.segment_open = False  # B's current item is an audio segment still being matched
        self.audio = AudioMatch()  # B's current audio segment against A's
        self.a_count = 0  # A's items taken so far
        self.differs_at: int | None = None  # the first item that differs

    def _take_a(self) -> None:
        entry = self.a.next()
        assert entry is not None  # taken only after a peek that found it
        self.a_count = max(self.a_count, entry.index + 1)

    def add(self, record: dict[str, Any]) -> None:
        text = record.get("text")
        payload = text if record["opcode"] == "text" and type(text) is str else frame_payload(record)
        if self.differs_at is None and isinstance(payload, str) and self.audio.idle:
            a = self.a.peek()
            if (
                a is not None
                and a.audio is not None
                and a.payload == payload
                and a.index == self.maker.next_audio_index(self.direction)
            ):
                # The same append text at the same place: the same audio, no decoding.
                self.index = self.maker.add_audio(self.direction, a.length)
                self.segment_open = True
                self._take_a()
                return
        entry = self.maker.entry(record["seq"], record["t_ns"], record["opcode"], payload, self.direction)
        if self.differs_at is not None:
            return  # only counting B's items now
        if entry.audio is not None:
            if not (self.segment_open and self.index == entry.index):
                self._close_segment()
                self.index, self.segment_open = entry.index, True
            self._match_audio(decode_audio(entry.audio))
            return
        self._close_segment()
        self.index, self.segment_open = entry.index, False
        if self.differs_at is not None:
            return
        a = self.a.peek()
        if a is None or a.index != entry.index or a.item is None or entry.item is None or a.item.key() != entry.item.key():
            self.differs_at = entry.index
            return
        self._take_a()

    def _match_audio(self, audio: bytes) -> None:
        match = self.audio
        match.receive(audio)
        while match.received_left and not match.differs:
            a = self.a.peek()
            if a is None or a.audio is None or a.index != self.index:
                self.differs_at = self.index  # A's segment is shorter, or A has something else here
                return
            self._take_a()
            match.expect(decode_audio(a.audio))
        if match.differs:
            self.differs_at = self.index

    def _close_segment(self) -> None:
        """B's audio segment ended: A's must end at the same byte."""
        if not self.segment_open or self.differs_at is not None:
            return
        self.segment_open = False
        a = self.a.peek()
        if self.audio.expected_left or (a is not None and a.audio is not None and a.index == self.index):
            self.differs_at = self.index
        self.audio.reset()

    def finish(self) -> None:
        """B is complete: A must have nothing more."""
        self._close_segment()
        if self.differs_at is None and self.a.peek() is not None:
            self.differs_at = self.maker.positions[self.direction].items

    @property
    def b_count(self) -> int:
        return self.maker.positions[self.direction].items


class StreamComparison:
    """Compares recording A with recording B, given record by record in order (`add`), then `finish`."""

    def __init__(self, a: Script, tape: Tape | None = None, conn: int | None = None) -> None:
        self.a = a
        self.tape = tape or a.open(("entries", C2S), ("entries", S2C))
        self.outline = Outline(conn)  # B's
        maker = EntryMaker()
        self._directions = {d: _DirectionMatch(d, self.tape.channel("entries", d), maker) for d in (C2S, S2C)}
        self.error: Exception | None = None  # a record the comparison could not take (a bug: never a match)

    def add(self, record: dict[str, Any]) -> None:
        try:
            self._add(record)
        except Exception as exc:
            if self.error is None:
                self.error = exc
            raise

    def _add(self, record: dict[str, Any]) -> None:
        outline = self.outline
        if record["kind"] == "frame" and record["conn"] == outline.conn:
            match = self._directions.get(record["dir"])
            if match is not None:
                # What Outline.add does with a frame of the connection it knows, without the rest.
                outline.frames += 1
                outline.last_seq = record["seq"]
                match.add(record)
                return
        outline.add(record)

    def b_script(self, path: str | os.PathLike[str], header: dict[str, Any]) -> Script:
        """B as a script (raises ScriptError when B holds no connection)."""
        return script_from(path, header, self.outline, [], False)

    def finish(self, b: Script) -> Comparison:
        for match in self._directions.values():
            match.finish()
        self._count_rest_of_a()
        return _comparison(self.a, b, self._directions)

    def _count_rest_of_a(self) -> None:
        """A's item counts: what is left of A is read, both directions together (nothing piles up)."""
        matches = list(self._directions.values())
        while True:
            for match in matches:
                queue = match.a.queue
                while queue:
                    match.a_count = max(match.a_count, queue.popleft().index + 1)
            if not self.tape.advance():
                break
        self.tape.close()


def _items_section(direction: str, a: Script, b: Script, match: _DirectionMatch) -> tuple[bool, list[str], Divergence | None]:
    a_count, b_count = match.a_count, match.b_count
    index = match.differs_at
    if index is None:
        return True, [counted(a_count, "item")], None
    left = a.item_at(direction, index) if index < a_count else None
    right = b.item_at(direction, index) if index < b_count else None
    if left is None:
        assert right is not None  # the first difference is one of B's items
        message = f"B has {b_count - a_count} more: first extra is {right.label()}"
    elif right is None:
        message = f"B stops after {b_count} of A's {a_count}; first missing is {left.label()}"
    else:
        message = mismatch_message(left, right) + f" (B seq {right.seq})"
    candidates = nearest(right, a.iter_items(direction), skip=index) if right is not None else []
    divergence = Divergence(direction, index, message, left, right, candidates)
    body = divergence.report().replace("recorded (expected)", "A").replace("replayed (actual)", "B").splitlines()
    body.append(f"A has {a_count}, B has {b_count} in all")
    return False, body, divergence


def _control(script: Script, direction: str, kind: str) -> list[str]:
    return [s.control_payload.hex() for s in script.controls if s.direction == direction and s.kind == kind]


def _ending(script: Script) -> tuple[object, ...]:
    e = script.ending
    return (e.refused, e.closed_by, e.code, e.reason, e.clean, e.dropped_by)


def _comparison(a: Script, b: Script, matches: dict[str, _DirectionMatch]) -> Comparison:
    result = Comparison(a, b)
    if a.status != b.status:
        result.sections.append(("handshake", False, [f"A answered {a.status}, B answered {b.status}"]))
    else:
        sub_a = a.response.get("subprotocol") if a.response else None
        sub_b = b.response.get("subprotocol") if b.response else None
        result.sections.append(
            (
                "handshake",
                sub_a == sub_b,
                [f"status {a.status}"] + ([] if sub_a == sub_b else [f"subprotocol {sub_a!r} vs {sub_b!r}"]),
            )
        )
    for direction in (C2S, S2C):
        same, body, divergence = _items_section(direction, a, b, matches[direction])
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


def compare(a: Script, b: Script) -> Comparison:
    """Compares two recordings' connections, streaming both files."""
    comparison = StreamComparison(a, conn=b.conn)
    with SessionReader(b.path) as reader:
        for record in reader:
            comparison.add(record)
    return comparison.finish(b)
