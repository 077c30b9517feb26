"""A recording's connection as a replay script: what a replay needs to know up front, read in one pass
that keeps nothing per frame, and the frames themselves, streamed from the file as they are played
(tui.replay.tape), so memory stays flat however long the recording is.

The requirement of a step is the position the *other* direction had reached when the step was
recorded: `(items completed, audio bytes into the current segment)`. Audio counts by bytes, so a
client that chunks its appends differently reaches the same positions.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.replay.normalize import AUDIO_APPEND, Item, decode_audio
from tui.wire.format import C2S, S2C
from tui.wire.reader import Problem, SessionReader

if TYPE_CHECKING:
    from tui.replay.tape import Tape

Position = tuple[int, int]
OTHER = {C2S: S2C, S2C: C2S}
SIDE_DIR = {"client": C2S, "server": S2C}


class ScriptError(Exception):
    """The recording holds nothing this replay can play."""


@dataclass(slots=True)
class Step:
    """One recorded wire event of the connection: a data frame, ping, pong or close frame."""

    seq: int
    t_ns: int
    direction: str
    kind: str  # "frame", "ping", "pong", "close"
    opcode: str | None = None
    type: str | None = None  # the event type of a frame
    data: str | bytes = field(default=b"", repr=False)  # the payload: exact text or bytes
    code: int | None = None
    reason: str = ""
    requires: Position = (0, 0)  # the other direction's position when it was recorded
    requires_t_ns: int | None = None  # when the other direction's last data frame before it was recorded

    @property
    def payload(self) -> str | bytes:
        """The exact bytes or text of the frame."""
        return self.data


@dataclass
class Ending:
    """How the recorded connection ended, as far as the recording knows."""

    closed_by: str | None  # "client", "server", or None when no close frame was sent
    code: int | None
    reason: str
    clean: bool | None
    failed: bool = False  # the closer did not wait for the closing handshake (close_rcvd missing)
    dropped_by: str | None = None  # for an end without close frames: who drops the TCP connection
    recorded: bool = True  # False when the recording stops before the connection's end
    refused: int | None = None  # the HTTP status of a refused handshake

    def describe(self) -> str:
        if self.refused is not None:
            return f"handshake refused with HTTP {self.refused}"
        if not self.recorded:
            return "not recorded (the recording stops before the connection ended)"
        if self.closed_by is None:
            return f"TCP connection dropped without a close frame ({self.code})"
        reason = f' "{self.reason}"' if self.reason else " (empty reason)"
        return f"{self.closed_by} closed first with {self.code}{reason}" + ("" if self.clean else ", not clean")


def frame_payload(record: dict[str, Any]) -> str | bytes:
    """The exact payload of a frame record: the text of a text frame, else its bytes."""
    if record["opcode"] == "text" and isinstance(record.get("text"), str):
        return record["text"]
    return base64.b64decode(record["data_b64"])


def control_step(record: dict[str, Any]) -> Step:
    """A ping, pong or close record as a step (its requirement is filled in by the tape)."""
    step = Step(seq=record["seq"], t_ns=record["t_ns"], direction=record["dir"], kind=record["kind"])
    if step.kind == "close":
        step.code, step.reason = record["code"], record["reason"]
    else:
        step.data = base64.b64decode(record.get("data_b64", ""))
    return step


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
    ending: Ending
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
        from tui.replay.tape import Tape

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
                pending.append((bytes(step.data), len(answers)))
                answers.append(False)
            elif step.kind == "pong" and step.direction != direction:
                for i, (data, index) in enumerate(pending):
                    if data == step.data:
                        answers[index] = True
                        del pending[i]
                        break
        return answers

    def __repr__(self) -> str:
        return f"<Script {self.path} conn {self.conn}: {self.frames} frames>"

    def describe(self) -> str:
        which = f"connection {self.conn}" + (f" of {len(self.conns)}" if len(self.conns) > 1 else "")
        more = "; --conn N replays another" if len(self.conns) > 1 else ""
        return f"{self.path} ({which}, {self.frames} frames, recorded on the {self.side} side{more})"

    # -- whole-connection views: one pass over the file each (reports on failure, tests, tools) ---

    def iter_steps(self) -> Iterator[Step]:
        tape = self.open(("steps", C2S), ("steps", S2C))
        return tape.merged_steps()

    @property
    def steps(self) -> list[Step]:
        """Every step in order (reads the whole connection into memory: for small recordings)."""
        return list(self.iter_steps())

    def iter_items(self, direction: str, start: int = 0) -> Iterator[tuple[int, Item]]:
        """(index, item) of `direction` from `start` on, each audio segment merged with its SHA-256."""
        tape = self.open(("entries", direction))
        entries = tape.channel("entries", direction)
        segment: tuple[int, Item] | None = None  # the audio segment being merged
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
                segment = (entry.index, Item("audio", None, AUDIO_APPEND))
            segment[1].add_audio(decode_audio(entry.audio), entry.seq)
        if segment is not None:
            yield segment

    @property
    def items(self) -> dict[str, list[Item]]:
        """Each direction's items (reads the whole connection into memory: for small recordings)."""
        return {d: [item for _, item in self.iter_items(d)] for d in (C2S, S2C)}

    def item_at(self, direction: str, index: int) -> Item | None:
        return next((item for i, item in self.iter_items(direction, index) if i == index), None)

    def audio_prefix(self, direction: str, index: int, length: int) -> Item:
        """The first `length` bytes of audio segment `index`, as an item of its own (no seqs)."""
        item = Item("audio", None, AUDIO_APPEND)
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

    def remaining(self, direction: str, start: int, limit: int = 20) -> tuple[list[tuple[int, Item]], int]:
        """The first `limit` items of `direction` from `start` on, and how many there are in all."""
        first: list[tuple[int, Item]] = []
        count = 0
        for index, item in self.iter_items(direction, start):
            count += 1
            if len(first) < limit:
                first.append((index, item))
        return first, count

    def nearest(self, actual: Item, direction: str, skip: int | None, limit: int = 3) -> list[tuple[int, Item]]:
        """The recorded items most like `actual`, closest first (ties: earliest first), except `skip`."""
        from tui.replay.report import nearest

        return nearest(actual, self.iter_items(direction), limit, skip)


def recorded_path(script: Script) -> str:
    """The recorded request's path and query (from the header's URL when the handshake is missing)."""
    if script.request and _is_request_target(script.request.get("path")):
        return script.request["path"]
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


def _ending(end: dict[str, Any] | None, side: str, status: int | None) -> Ending:
    if status is not None and status != 101:
        return Ending(None, None, "", None, refused=status)
    if end is None:
        return Ending(None, None, "", None, recorded=False)
    closed_by = end.get("closed_by")
    if closed_by is None:
        # Nobody sent a close frame. Unless the recording server saw the client vanish, the server
        # is taken to have dropped it (a reset, a load balancer, the mock's drop fault).
        peer_gone = side == "server" and end.get("exception")
        return Ending(None, end.get("code"), "", False, dropped_by="client" if peer_gone else "server")
    closer_dir = SIDE_DIR[closed_by]
    recorded_dir = SIDE_DIR[side]
    # The closer's own view: close_sent when it recorded itself, close_rcvd otherwise.
    first = end.get("close_sent") if closer_dir == recorded_dir else end.get("close_rcvd")
    code = first.get("code") if isinstance(first, dict) else end.get("code")
    reason = first.get("reason", "") if isinstance(first, dict) else end.get("reason", "")
    failed = closer_dir == recorded_dir and end.get("close_rcvd") is None
    return Ending(closed_by, code, reason or "", bool(end.get("clean")), failed=failed)


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
        ending=_ending(outline.end, side, response.get("status") if response else None),
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
    with SessionReader(path) as reader:
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
