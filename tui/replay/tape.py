"""One streaming pass over a script's connection, shared by everyone replaying it.

The tape reads the recording record by record, parses and normalizes each data frame once, computes
each step's causal requirement (the other direction's position when it was recorded), and hands the
results to its subscribers' queues: the steps a player performs, the entries a `Progress` expects,
the entries a streaming comparison checks. A subscriber pulls from its own queue; when that is empty,
the tape reads on. Only what lies between the slowest and the fastest subscriber is in memory (the
frames in flight), never the recording. Subscriptions are made before anyone reads, and a subscriber
that is done closes its channel so that nothing more is queued for it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from tui.replay.normalize import IdMap, NormalizedItem, decoded_length, normalize_frame, plain_append
from tui.replay.steps import OTHER, Position, Step, control_step, frame_payload
from tui.wire.format import C2S, S2C
from tui.wire.reader import Problem, SessionReader, bounded_lines


class Source(Protocol):
    """Which connection of which file a tape reads (a `tui.replay.script.Script`)."""

    path: str
    conn: int
    problems: list[Problem]  # the damaged lines the first reading reported
    validated: tuple[int, int] | None  # (size, mtime_ns) of the file as that reading found it


@dataclass(slots=True)
class Entry:
    """One recorded data frame of a direction, normalized."""

    seq: int
    index: int  # the item it belongs to, in its direction (an audio segment spans several frames)
    payload: str | bytes  # as recorded
    item: NormalizedItem | None  # the normalized item (None for an audio append)
    audio: str | None = None  # an append's base64 audio
    length: int = 0  # its decoded length


class _Position:
    """One direction's position while the tape reads: items so far, audio bytes into the open segment."""

    __slots__ = ("audio", "items", "last_t_ns", "open")

    def __init__(self) -> None:
        self.items = 0
        self.audio = 0
        self.open = False  # an audio segment is open (the last item is audio)
        self.last_t_ns: int | None = None

    @property
    def value(self) -> Position:
        return (self.items - 1, self.audio) if self.open else (self.items, 0)


class EntryMaker:
    """Normalizes one connection's data frames into entries, tracking both directions' positions."""

    def __init__(self) -> None:
        self.ids = IdMap()  # the connection's server ids, named in order of appearance
        self.positions = {C2S: _Position(), S2C: _Position()}

    def entry(self, seq: int, t_ns: int, opcode: str, payload: str | bytes, direction: str) -> Entry:
        position = self.positions[direction]
        position.last_t_ns = t_ns
        if direction == C2S and opcode == "text" and type(payload) is str:
            plain = plain_append(payload)  # nearly every client frame: normalize_frame's first case, at less cost
            if plain is not None:
                return Entry(seq, self.add_audio(direction, plain[1]), payload, None, plain[0], plain[1])
        item, audio = normalize_frame(opcode, payload, self.ids, server=direction == S2C)
        if audio is not None:
            length = decoded_length(audio)  # normalize_frame validated it
            return Entry(seq, self.add_audio(direction, length), payload, None, audio, length)
        assert item is not None
        item.seqs.append(seq)
        position.open = False
        position.items += 1
        return Entry(seq, position.items - 1, payload, item)

    def next_audio_index(self, direction: str) -> int:
        """The index an append in `direction` would have: the open segment's, or a new one's."""
        position = self.positions[direction]
        return position.items - 1 if position.open else position.items

    def add_audio(self, direction: str, length: int) -> int:
        """Counts an append of `length` bytes; returns its segment's index."""
        position = self.positions[direction]
        if not position.open:
            position.open, position.audio = True, 0
            position.items += 1
        position.audio += length
        return position.items - 1

    def value(self) -> dict[str, Position]:
        return {d: p.value for d, p in self.positions.items()}


class Channel:
    """A subscriber's queue of steps or entries of one direction."""

    def __init__(self, tape: Tape, kind: str, direction: str) -> None:
        self.tape = tape
        self.kind = kind
        self.direction = direction
        self.queue: deque[Any] = deque()
        self.closed = False

    def peek(self) -> Any | None:
        while not self.queue:
            if not self.tape.advance():
                return None
        return self.queue[0]

    def next(self) -> Any | None:
        while not self.queue:
            if not self.tape.advance():
                return None
        value = self.queue.popleft()
        if len(self.queue) == self.tape.room_mark:
            self.tape.made_room()
        return value

    def peek_nearby(self, limit: int) -> Any | None:
        """The next value when it is queued or the others hold fewer than `limit` (reading on would
        not pile up much for them), else None."""
        while not self.queue:
            if self.tape.backlog_reaches(limit) or not self.tape.advance():
                return None
        return self.queue[0]

    async def next_when_room(self, limit: int, patience: float) -> Any | None:
        """`next()`, but when this channel is empty and another holds `limit` values or more, first
        wait for the others to take them (up to `patience` seconds, then read on anyway): a side whose
        next step lies far ahead (it was silent a long while) would otherwise have the tape queue
        everything in between for the others, and memory would grow with the silence."""
        while not self.queue:
            if self.tape.backlog_reaches(limit):
                await self.tape.room(self, limit // 2, patience)
                if self.queue:
                    break
            if not self.tape.advance():
                return None
        return self.next()

    def __iter__(self) -> Iterator[Any]:
        while (value := self.next()) is not None:
            yield value

    def close(self) -> None:
        """Nothing more is queued here (the subscriber is done)."""
        self.closed = True
        self.queue.clear()
        self.tape.unsubscribe(self)


def _records(script: Source) -> Generator[dict[str, Any], None, None]:
    """The recording's records again. When the file is still the one `load_script` validated, its
    lines are parsed without checking them a second time (the damaged ones it reported are skipped);
    otherwise the reader validates them again."""
    with SessionReader(script.path) as reader:
        stat = reader.stat
        if script.validated != (stat.st_size, stat.st_mtime_ns):
            yield from reader
            return
        damaged = {problem.line for problem in script.problems}
        loads = orjson.loads
        for number, raw in enumerate(bounded_lines(reader.file), 2):
            if number in damaged or raw is None or raw.isspace():
                continue
            yield loads(raw)


class Tape:
    def __init__(self, source: Source, subscriptions: Iterable[tuple[str, str]] = ()) -> None:
        self.source = source
        self._maker = EntryMaker()
        self.ids = self._maker.ids  # the recording's server ids, named in order of appearance
        self._records = _records(source)
        self._positions = self._maker.positions
        self._end_requires: dict[str, Position] | None = None
        self._subscribers: dict[tuple[str, str], list[Channel]] = {}
        self._queues: list[deque[Any]] = []  # every subscriber's queue
        # The same queues by (kind, direction), for the hot path.
        self._queues_of: dict[tuple[str, str], list[deque[Any]]] = {(k, d): [] for k in ("steps", "entries") for d in OTHER}
        self._unclaimed: list[Channel] = []
        self._started = False
        self.room_mark = -1  # a channel falling to this length wakes `room()`
        self._backlog_bound = 0  # at least the longest queue's length (backlog_reaches)
        self._room = asyncio.Event()
        self.done = False
        for kind, direction in subscriptions:
            self._unclaimed.append(self._subscribe(kind, direction))

    # -- subscribing -------------------------------------------------------------------------------

    def _subscribe(self, kind: str, direction: str) -> Channel:
        if kind not in ("steps", "entries") or direction not in OTHER:
            raise ValueError(f"no such channel: {kind} {direction}")
        channel = Channel(self, kind, direction)
        self._subscribers.setdefault((kind, direction), []).append(channel)
        self._queues.append(channel.queue)
        self._queues_of[(kind, direction)].append(channel.queue)
        return channel

    def channel(self, kind: str, direction: str) -> Channel:
        """A subscription made when the tape was opened, or a new one if nothing was read yet."""
        for channel in self._unclaimed:
            if (channel.kind, channel.direction) == (kind, direction):
                self._unclaimed.remove(channel)
                return channel
        if self._started:
            raise RuntimeError(
                f"the tape of {self.source.path} is already being read: subscribe to {kind} {direction} when opening it"
            )
        return self._subscribe(kind, direction)

    def unsubscribe(self, channel: Channel) -> None:
        channels = self._subscribers.get((channel.kind, channel.direction), [])
        if channel in channels:
            channels.remove(channel)
            # By identity: deques compare by content, and empty ones are all equal.
            self._queues = [queue for queue in self._queues if queue is not channel.queue]
            key = (channel.kind, channel.direction)
            self._queues_of[key] = [queue for queue in self._queues_of[key] if queue is not channel.queue]
        self.made_room()

    # -- backpressure ------------------------------------------------------------------------------

    def backlog(self, reader: Channel) -> int:
        """The most values queued for a subscriber other than `reader` (whose own queue is empty)."""
        return max(map(len, self._queues), default=0)

    def backlog_reaches(self, limit: int) -> bool:
        """Whether some subscriber has `limit` values queued. A record read queues at most one value
        per subscriber, so the queues are measured only when the reads since the last measure could
        have taken one to `limit` (a side checks before each record it reads on for its next step)."""
        if self._backlog_bound < limit:
            return False
        self._backlog_bound = max(map(len, self._queues), default=0)
        return self._backlog_bound >= limit

    def made_room(self) -> None:
        self._room.set()

    async def room(self, reader: Channel, low: int, patience: float) -> None:
        """Waits until every other subscriber holds at most `low` values, or `patience` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        try:
            while not reader.queue and self.backlog(reader) > low and (remaining := deadline - loop.time()) > 0:
                if self._room.is_set():  # one event for every waiter
                    self._room = asyncio.Event()
                self.room_mark = low
                try:
                    async with asyncio.timeout(remaining):
                        await self._room.wait()
                except TimeoutError:
                    return
        finally:
            self.room_mark = -1

    # -- reading -----------------------------------------------------------------------------------

    def advance(self) -> bool:
        """Reads the connection's next record; False at the end of the recording."""
        self._started = True
        self._backlog_bound += 1
        conn = self.source.conn
        for record in self._records:
            if record["conn"] == conn:
                self._take(record)
                return True
        self._finish()
        return False

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            self._records.close()
            if self._end_requires is None:
                self._end_requires = self._maker.value()

    def end_requires(self) -> dict[str, Position]:
        """Each direction's position when the connection ended (reads on to its `end` record)."""
        while self._end_requires is None and self.advance():
            pass
        assert self._end_requires is not None
        return self._end_requires

    def close(self) -> None:
        self.done = True
        self._records.close()

    def close_unclaimed(self) -> None:
        """Drops the subscriptions nobody took (a side that never connected)."""
        for channel in list(self._unclaimed):
            channel.close()
        self._unclaimed.clear()

    def _take(self, record: dict[str, Any]) -> None:
        kind, direction = record["kind"], record["dir"]
        if kind == "frame":
            if direction in OTHER:
                self._take_frame(record, direction)
        elif kind == "end":
            if self._end_requires is None:
                self._end_requires = self._maker.value()
        elif kind in ("ping", "pong", "close") and direction in OTHER:
            step = control_step(record)
            other = self._positions[OTHER[direction]]
            step.requires, step.requires_t_ns = other.value, other.last_t_ns
            for queue in self._queues_of[("steps", direction)]:
                queue.append(step)

    def _take_frame(self, record: dict[str, Any], direction: str) -> None:
        """The hot path: nearly every record is a data frame."""
        other = self._positions[OTHER[direction]]
        requires = (other.items - 1, other.audio) if other.open else (other.items, 0)
        opcode, text = record["opcode"], record.get("text")
        payload = text if opcode == "text" and type(text) is str else frame_payload(record)
        seq, t_ns = record["seq"], record["t_ns"]
        entry = self._maker.entry(seq, t_ns, opcode, payload, direction)
        for queue in self._queues_of[("entries", direction)]:
            queue.append(entry)
        step_queues = self._queues_of[("steps", direction)]
        if step_queues:
            step = Step(seq, t_ns, direction, "frame", opcode, record.get("type"), payload, None, "", requires, other.last_t_ns)
            for queue in step_queues:
                queue.append(step)
