"""A recording's connection as a replay script: its wire steps in order, each direction's expected
items, the causal requirement of every step, and how the connection ended.

The requirement of a step is the position the *other* direction had reached when the step was
recorded: `(items completed, audio bytes into the current segment)`. Audio counts by bytes, so a
client that chunks its appends differently reaches the same positions.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from tui.replay.normalize import IdMap, Item, classify, frame_payload
from tui.wire.format import C2S, S2C
from tui.wire.reader import Problem, SessionReader

Position = tuple[int, int]
OTHER = {C2S: S2C, S2C: C2S}
SIDE_DIR = {"client": C2S, "server": S2C}


class ScriptError(Exception):
    """The recording holds nothing this replay can play."""


class RecordLines:
    """Reads single records of a recording again by byte offset (`os.pread`, one descriptor)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def read(self, offset: int, length: int) -> dict[str, Any]:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return orjson.loads(os.pread(self._fd, length, offset))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()


def frame_offsets(path: str | os.PathLike[str]) -> dict[int, tuple[int, int]]:
    """`seq` → (offset, length) of every frame record's line."""
    offsets: dict[int, tuple[int, int]] = {}
    position = 0
    with open(path, "rb") as file:
        for raw in file:
            if b'"frame"' in raw and raw.endswith(b"\n"):
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    record = None
                if isinstance(record, dict) and record.get("kind") == "frame" and isinstance(record.get("seq"), int):
                    offsets[record["seq"]] = (position, len(raw))
            position += len(raw)
    return offsets


@dataclass(slots=True)
class Step:
    """One recorded wire event of the connection: a data frame, ping, pong or close frame."""

    seq: int
    t_ns: int
    direction: str
    kind: str  # "frame", "ping", "pong", "close"
    opcode: str | None = None
    type: str | None = None  # the event type of a frame
    data: str | bytes = field(default=b"", repr=False)  # the payload, when kept in memory
    code: int | None = None
    reason: str = ""
    requires: Position = (0, 0)  # the other direction's position when it was recorded
    requires_t_ns: int | None = None  # when the other direction's last data frame before it was recorded
    ref: tuple[int, int] | None = None  # (offset, length) of the frame's line, read again when sent
    source: RecordLines | None = field(default=None, repr=False, compare=False)

    @property
    def payload(self) -> str | bytes:
        """The exact bytes or text of the frame (frames are read from the file when needed, so a long
        recording is never held in memory whole)."""
        if self.ref is not None and self.source is not None:
            return frame_payload(self.source.read(*self.ref))
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


@dataclass(repr=False)  # reprs of whole recordings are huge (asyncio reprs a finished task's result)
class Script:
    path: str
    header: dict[str, Any]
    conn: int
    side: str  # which end recorded it: "client" or "server"
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    steps: list[Step]
    items: dict[str, list[Item]]
    ids: IdMap  # the server-assigned ids of the recording, named in order of appearance
    ending: Ending
    end_t_ns: int | None
    end_requires: dict[str, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False
    last_seq: int = 0
    conns: list[int] = field(default_factory=list)  # the recording's connections (a replay plays one)

    @property
    def status(self) -> int | None:
        return self.response.get("status") if self.response else None

    def outgoing(self, side: str) -> list[Step]:
        """The steps `side` performs in a replay: its data frames, pings and the close it starts.

        Pongs are automatic (answered or withheld by `PongPolicy`), and so is the echo of the
        other side's close.
        """
        direction = SIDE_DIR[side]
        return [
            s
            for s in self.steps
            if s.direction == direction
            and (s.kind in ("frame", "ping") or (s.kind == "close" and self.ending.closed_by == side))
            and not (s.kind == "close" and self._is_echo(s))
        ]

    def _is_echo(self, step: Step) -> bool:
        return step.kind == "close" and any(
            s.kind == "close" and s.seq < step.seq and s.direction != step.direction for s in self.steps
        )

    def answered_pings(self, direction: str) -> list[bool]:
        """For each ping sent in `direction`, whether the recording shows its pong."""
        answers: list[bool] = []
        pending: list[tuple[bytes, int]] = []
        for step in self.steps:
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
        return f"<Script {self.path} conn {self.conn}: {len(self.steps)} steps>"

    def describe(self) -> str:
        frames = sum(1 for s in self.steps if s.kind == "frame")
        which = f"connection {self.conn}" + (f" of {len(self.conns)}" if len(self.conns) > 1 else "")
        more = "; --conn N replays another" if len(self.conns) > 1 else ""
        return f"{self.path} ({which}, {frames} frames, recorded on the {self.side} side{more})"


def recorded_path(script: Script) -> str:
    """The recorded request's path and query (from the header's URL when the handshake is missing)."""
    if script.request and isinstance(script.request.get("path"), str):
        return script.request["path"]
    url = script.header.get("url") or ""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


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


class _Stream:
    """Builds one direction's items and tracks its position while a script is read."""

    def __init__(self, direction: str, ids: IdMap) -> None:
        self.direction = direction
        self.ids = ids
        self.items: list[Item] = []
        self.open_audio: Item | None = None
        self.last_t_ns: int | None = None

    def add(self, record: dict[str, Any]) -> None:
        item, audio = classify(record["opcode"], frame_payload(record), self.ids, server=self.direction == S2C)
        self.last_t_ns = record["t_ns"]
        if audio is not None:
            if self.open_audio is None:
                self.open_audio = item
                self.items.append(item)
            self.open_audio.add_audio(audio, record["seq"])
            return
        self.open_audio = None
        item.seqs.append(record["seq"])
        self.items.append(item)

    @property
    def position(self) -> Position:
        if self.open_audio is not None:
            return (len(self.items) - 1, self.open_audio.length)
        return (len(self.items), 0)


def load_script(path: str | os.PathLike[str], conn: int | None = None) -> Script:
    """Reads one connection of a recording (the first one with a handshake or frames by default)."""
    reader = SessionReader(path)
    offsets = frame_offsets(path)
    lines = RecordLines(path)
    ids = IdMap()
    streams = {C2S: _Stream(C2S, ids), S2C: _Stream(S2C, ids)}
    steps: list[Step] = []
    request = response = end = None
    end_requires: dict[str, Position] = {}
    conns: list[int] = []  # every connection with a handshake or frames
    last_seq = 0
    with reader:
        for record in reader:
            if record["conn"] and record["kind"] in ("handshake_request", "frame") and record["conn"] not in conns:
                conns.append(record["conn"])
            if conn is None and conns:
                conn = conns[0]
            if record["conn"] != conn or conn is None:
                continue
            last_seq = record["seq"]
            kind, direction = record["kind"], record["dir"]
            if kind == "handshake_request":
                request = record
            elif kind == "handshake_response":
                response = record
            elif kind == "end":
                end = record
                end_requires = {d: s.position for d, s in streams.items()}
            elif kind in ("frame", "ping", "pong", "close") and direction in streams:
                other = streams[OTHER[direction]]
                step = Step(
                    seq=record["seq"],
                    t_ns=record["t_ns"],
                    direction=direction,
                    kind=kind,
                    requires=other.position,
                    requires_t_ns=other.last_t_ns,
                )
                if kind == "frame":
                    step.opcode, step.type = record["opcode"], record.get("type")
                    step.ref = offsets.get(record["seq"])
                    if step.ref is None:
                        step.data = frame_payload(record)
                    else:
                        step.source = lines
                    streams[direction].add(record)
                elif kind in ("ping", "pong"):
                    step.data = base64.b64decode(record.get("data_b64", ""))
                else:
                    step.code, step.reason = record["code"], record["reason"]
                steps.append(step)
    if conn is None:
        raise ScriptError(f"{path}: no connection with a handshake or frames to replay")
    if conn not in conns:
        raise ScriptError(f"{path}: no connection {conn}; it holds {', '.join(map(str, conns))}")
    side = _side(reader.header, end)
    script = Script(
        path=str(path),
        header=reader.header,
        conn=conn,
        side=side,
        request=request,
        response=response,
        steps=steps,
        items={d: s.items for d, s in streams.items()},
        ids=ids,
        ending=_ending(end, side, response.get("status") if response else None),
        end_t_ns=end["t_ns"] if end else None,
        end_requires=end_requires or {d: s.position for d, s in streams.items()},
        problems=list(reader.problems),
        truncated=reader.truncated,
        last_seq=last_seq,
        conns=conns,
    )
    return script
