"""A recording's connection as a replay script: what a replay needs to know up front, read in one pass
that keeps nothing per frame, and the frames themselves, streamed from the file as they are played
(tui.replay.tape), so memory stays flat however long the recording is. The whole-connection views
(for reports on a failure) each stream the connection again rather than keep it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tui.protocol.summary import counted
from tui.replay.normalize import AUDIO_APPEND, NormalizedItem, decode_audio
from tui.replay.steps import OTHER, SIDE_DIR, Step, control_step
from tui.replay.tape import Tape
from tui.wire.ending import ConnectionEnd, connection_end
from tui.wire.reader import Problem, SessionReader


class ScriptError(Exception):
    """The recording holds nothing this replay can play."""


class Outline:
    """Collects, from a connection's records in order, everything a replay needs before it starts:
    nothing per data frame but a count (the frames are streamed by tui.replay.tape).

    `conn` None picks the first connection with a handshake or frames."""

    def __init__(self, conn: int | None = None) -> None:
        self.conn = conn
        self.conns: list[int] = []  # every connection with a handshake or frames
        self.request: dict[str, Any] | None = None
        self.response: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.controls: list[Step] = []  # pings, pongs and close frames
        self.frames = 0
        self.last_seq = 0

    def add(self, record: dict[str, Any]) -> None:
        conn, kind = record["conn"], record["kind"]
        if conn and kind in ("handshake_request", "frame") and conn not in self.conns:
            self.conns.append(conn)
        if self.conn is None and self.conns:
            self.conn = self.conns[0]
        if conn != self.conn or conn is None:
            return
        self.last_seq = record["seq"]
        if kind == "frame":
            if record["dir"] in OTHER:
                self.frames += 1
        elif kind == "handshake_request":
            self.request = record
        elif kind == "handshake_response":
            self.response = record
        elif kind == "end":
            self.end = record
        elif kind in ("ping", "pong", "close") and record["dir"] in OTHER:
            self.controls.append(control_step(record))


@dataclass(repr=False)  # reprs of whole recordings are huge (asyncio reprs a finished task's result)
class Script:
    path: str
    header: dict[str, Any]
    conn: int
    side: str  # which end recorded it: "client" or "server"
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    ending: ConnectionEnd
    end_t_ns: int | None
    controls: list[Step] = field(default_factory=list)  # pings, pongs and close frames, in order
    frames: int = 0
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False
    last_seq: int = 0
    conns: list[int] = field(default_factory=list)  # the recording's connections (a replay plays one)
    validated: tuple[int, int] | None = None  # (size, mtime_ns) of the file as load_script read it

    @property
    def status(self) -> int | None:
        return self.response.get("status") if self.response else None

    def open(self, *subscriptions: tuple[str, str]) -> Tape:
        """A new streaming pass over the connection's frames (tui.replay.tape)."""
        return Tape(self, subscriptions)

    def performs(self, side: str, step: Step) -> bool:
        """Whether `side` performs `step` in a replay: its data frames, pings and the close it starts.

        Pongs are automatic (answered or withheld by `PongPolicy`), and so is the echo of the
        other side's close.
        """
        if step.direction != SIDE_DIR[side]:
            return False
        if step.kind in ("frame", "ping"):
            return True
        return step.kind == "close" and self.ending.closed_by == side and not self._is_echo(step)

    def _is_echo(self, step: Step) -> bool:
        return step.kind == "close" and any(
            s.kind == "close" and s.seq < step.seq and s.direction != step.direction for s in self.controls
        )

    def answered_pings(self, direction: str) -> list[bool]:
        """For each ping sent in `direction`, whether the recording shows its pong."""
        answers: list[bool] = []
        pending: list[tuple[bytes, int]] = []
        for step in self.controls:
            if step.kind == "ping" and step.direction == direction:
                pending.append((step.control_payload, len(answers)))
                answers.append(False)
            elif step.kind == "pong" and step.direction != direction:
                for i, (data, index) in enumerate(pending):
                    if data == step.payload:
                        answers[index] = True
                        del pending[i]
                        break
        return answers

    def __repr__(self) -> str:
        return f"<Script {self.path} conn {self.conn}: {counted(self.frames, 'frame')}>"

    def describe(self) -> str:
        which = f"connection {self.conn}" + (f" of {len(self.conns)}" if len(self.conns) > 1 else "")
        more = "; --conn N replays another" if len(self.conns) > 1 else ""
        return f"{self.path} ({which}, {counted(self.frames, 'frame')}, recorded on the {self.side} side{more})"

    # -- views for reports on a failure: each streams the connection again, keeping nothing ---------

    def iter_items(self, direction: str, start: int = 0) -> Iterator[tuple[int, NormalizedItem]]:
        """(index, item) of `direction` from `start` on, each audio segment merged with its SHA-256."""
        tape = self.open(("entries", direction))
        entries = tape.channel("entries", direction)
        segment: tuple[int, NormalizedItem] | None = None  # the audio segment being merged
        while (entry := entries.next()) is not None:
            if entry.index < start:
                continue
            if segment is not None and not (entry.audio is not None and entry.index == segment[0]):
                yield segment
                segment = None
            if entry.audio is None:
                assert entry.item is not None
                yield entry.index, entry.item
                continue
            if segment is None:
                segment = (entry.index, NormalizedItem("audio", None, AUDIO_APPEND))
            segment[1].add_audio(decode_audio(entry.audio), entry.seq)
        if segment is not None:
            yield segment

    def item_at(self, direction: str, index: int) -> NormalizedItem | None:
        return next((item for i, item in self.iter_items(direction, index) if i == index), None)

    def audio_prefix(self, direction: str, index: int, length: int) -> NormalizedItem:
        """The first `length` bytes of audio segment `index`, as an item of its own (no seqs)."""
        item = NormalizedItem("audio", None, AUDIO_APPEND)
        entries = self.open(("entries", direction)).channel("entries", direction)
        while item.length < length and (entry := entries.next()) is not None:
            if entry.index == index and entry.audio is not None:
                item.add_audio(decode_audio(entry.audio)[: length - item.length])
            elif entry.index > index:
                break
        entries.tape.close()
        return item

    def remaining_steps(self, side: str, after_seq: int, limit: int = 20) -> tuple[list[Step], int]:
        """The first `limit` steps `side` performs after `after_seq`, and how many there are in all."""
        direction = SIDE_DIR[side]
        first: list[Step] = []
        count = 0
        for step in self.open(("steps", direction)).channel("steps", direction):
            if step.seq > after_seq and self.performs(side, step):
                count += 1
                if len(first) < limit:
                    first.append(step)
        return first, count

    def remaining(self, direction: str, start: int, limit: int = 20) -> tuple[list[tuple[int, NormalizedItem]], int]:
        """The first `limit` items of `direction` from `start` on, and how many there are in all."""
        first: list[tuple[int, NormalizedItem]] = []
        count = 0
        for index, item in self.iter_items(direction, start):
            count += 1
            if len(first) < limit:
                first.append((index, item))
        return first, count


def recorded_path(script: Script) -> str:
    """The recorded request's path and query (from the header's URL when the handshake is missing)."""
    if script.request and _is_request_target(script.request.get("path")):
        path: str = script.request["path"]
        return path
    parts = urlsplit(script.header.get("url") or "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return path if _is_request_target(path) else "/"


def _is_request_target(path: object) -> bool:
    """What an HTTP request line can carry after GET: an absolute path, printable ASCII, no spaces."""
    return isinstance(path, str) and path.startswith("/") and path.isascii() and path.isprintable() and " " not in path


def _side(header: dict[str, Any], end: dict[str, Any] | None) -> str:
    if end is not None and end.get("side") in ("client", "server"):
        return str(end["side"])
    return "server" if header.get("mode") == "mock" else "client"


def script_from(
    path: str | os.PathLike[str], header: dict[str, Any], outline: Outline, problems: list[Problem], truncated: bool
) -> Script:
    """The script of the connection `outline` collected."""
    conn = outline.conn
    if conn is None:
        raise ScriptError(f"{path}: no connection with a handshake or frames to replay")
    if conn not in outline.conns:
        raise ScriptError(f"{path}: no connection {conn}; it holds {', '.join(map(str, outline.conns))}")
    side = _side(header, outline.end)
    response = outline.response
    return Script(
        path=str(path),
        header=header,
        conn=conn,
        side=side,
        request=outline.request,
        response=response,
        ending=connection_end(outline.end, status=response.get("status") if response else None, side=side),
        end_t_ns=outline.end["t_ns"] if outline.end else None,
        controls=outline.controls,
        frames=outline.frames,
        problems=problems,
        truncated=truncated,
        last_seq=outline.last_seq,
        conns=outline.conns,
    )


def load_script(path: str | os.PathLike[str], conn: int | None = None) -> Script:
    """Reads one connection of a recording (the first one with a handshake or frames by default).

    One pass that keeps no frame: the frames are streamed from the file again as they are played."""
    outline = Outline(conn)
    with SessionReader(path) as reader:  # opened first: it turns a missing file into a RecordingError
        before = reader.stat
        for record in reader:
            outline.add(record)
    script = script_from(path, reader.header, outline, list(reader.problems), reader.truncated)
    try:
        after = os.stat(path)
    except OSError:
        return script  # gone meanwhile: the tape will say so when it opens it again
    if (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns):
        script.validated = (after.st_size, after.st_mtime_ns)
    return script
