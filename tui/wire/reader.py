"""The session reader: streams an `rtui.session/1` file, validating as it goes.

It never loads a whole file. Problems are reported as `FILE:LINE: what is wrong`; a damaged line is
skipped and reading goes on, so a recording cut off mid-write (a crash, `kill -9`) stays usable up to
its last complete record. Only a file that is not a recording at all, or has a schema this rtui does
not know, is refused outright.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from tui.protocol.summary import counted
from tui.wire.fields import field_problem, header_problem
from tui.wire.format import DIRECTIONS, KINDS, SCHEMA, SCHEMA_PREFIX

Record = dict[str, Any]

# Recordings are read in 1 MiB chunks: with the default 8 KiB, the read syscalls make reading a
# long recording take about a quarter longer (measured on a 389 MB one: 1.0-1.6 s against 1.4-1.9).
READ_BUFFER = 1 << 20
# The longest line a reader accepts. rtui's own client refuses messages over 16 MiB, which makes a
# line of at most about 100 MiB (a text frame of nothing but control characters, each escaped as
# \u00XX); a longer one is reported and skipped without being held in memory.
MAX_LINE_BYTES = 256 * 2**20

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RecordingError(Exception):
    """The file cannot be read as a recording at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def check_record(record: Any) -> str | None:
    """What is wrong with one decoded record line, or None when it is valid."""
    if not isinstance(record, dict):
        return f"expected a JSON object, found {type(record).__name__}"
    get = record.get
    # `type(...) is` rather than isinstance: JSON gives exact types, and a bool is not an int here.
    if (
        type(get("seq")) is not int
        or type(get("t_ns")) is not int
        or type(get("conn")) is not int
        or type(get("kind")) is not str
        or type(get("dir")) is not str
    ):
        for field, kind in (("seq", int), ("t_ns", int), ("conn", int), ("kind", str), ("dir", str)):
            if type(get(field)) is not kind:
                return f"missing or invalid {field!r}"
    if record["dir"] not in DIRECTIONS:
        return f"unknown dir {record['dir']!r}"
    if record["t_ns"] < 0:
        return "negative t_ns"
    kind = record["kind"]
    if kind not in KINDS:
        return None  # a later minor addition: readers skip kinds they do not know
    if kind == "frame":
        # A text frame holds its string; a binary frame, or text that was not valid UTF-8, its bytes.
        # Compared with `==`, not looked up in a set: the opcode may be any JSON value, a list too.
        opcode = get("opcode")
        if opcode == "text":
            if not isinstance(get("text"), str) and not isinstance(get("data_b64"), str):
                return "text frame without 'text' or 'data_b64'"
        elif opcode == "binary":
            if not isinstance(get("data_b64"), str):
                return "binary frame without 'data_b64'"
        else:
            return f"frame with invalid opcode {opcode!r}"
        if "size" not in record:
            return "frame without 'size'"
        # The common frame (a JSON text frame: the five common fields, opcode, text, size, type) is
        # checked here in full; the field table is for the rest (it costs a few µs a record).
        size = get("size")
        if len(record) == 9 and type(size) is int and size >= 0 and type(get("text")) is str and type(get("type")) is str:
            return None
    return field_problem(kind, record)


class NotARegularFile(Exception):
    """A path that names something other than a regular file; the message says what (`a named pipe`)."""


def open_regular_file(path: str | os.PathLike[str]) -> IO[bytes]:
    """Opens a regular file for reading (OSError if it cannot be opened), or raises
    NotARegularFile: a named pipe would block every reader forever and a device (`/dev/zero` behind
    a symlink) never ends. Opened without blocking, then checked."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotARegularFile(next((label for test, label in _FILE_KINDS if test(mode)), "not a regular file"))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=READ_BUFFER)


def read_json_file(path: str | os.PathLike[str], limit: int) -> Any:
    """The JSON document in a small file the user names (a session, tools or price file), or
    ValueError with `PATH: problem` in one line: unreadable, not a regular file, over `limit` bytes,
    not JSON."""
    try:
        with open_regular_file(path) as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except NotARegularFile as exc:
        raise ValueError(f"{path}: {exc}, not a JSON file: rtui reads regular files only") from None
    if len(data) > limit:
        raise ValueError(f"{path}: larger than {_mib(limit)}; expected a small JSON file")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


def _open_regular(path: Path, name: str) -> IO[bytes]:
    try:
        return open_regular_file(path)
    except OSError as exc:
        raise RecordingError(Problem(name, 0, f"cannot open: {exc.strerror}")) from None
    except NotARegularFile as exc:
        raise RecordingError(Problem(name, 0, f"{exc}, not a recording: rtui reads regular files only")) from None


def bounded_lines(file: IO[bytes], limit: int | None = None) -> Iterator[bytes | None]:
    """The file's lines after the current position, each with its newline (the last may lack it);
    None for a line longer than `limit` (MAX_LINE_BYTES), which is skipped, never held whole."""
    limit = MAX_LINE_BYTES if limit is None else limit
    readline = file.readline
    while raw := readline(limit + 1):
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := readline(READ_BUFFER)) and not rest.endswith(b"\n"):
            pass
        yield None


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size % 2**20 == 0 else f"{size} bytes"


class SessionReader:
    """Iterates the records of one recording; `header` is read on construction.

    After iteration, `problems` lists every damaged line and `truncated` says whether the last line
    was cut off mid-write.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.problems: list[Problem] = []
        self.truncated = False
        self.records_read = 0
        self._file = _open_regular(self.path, self.name)
        self.stat = os.fstat(self._file.fileno())  # the file as opened (replay checks it is unchanged later)
        try:
            self.header = self._read_header()
        except RecordingError:
            self._file.close()
            raise

    def _read_header(self) -> Record:
        first = self._file.readline(MAX_LINE_BYTES + 1)
        if len(first) > MAX_LINE_BYTES:
            raise RecordingError(
                Problem(self.name, 1, f"not an rtui recording: the first line is longer than {_mib(MAX_LINE_BYTES)}")
            )
        if not first.strip():
            raise RecordingError(Problem(self.name, 1, "empty file: not an rtui recording"))
        try:
            header = orjson.loads(first)
        except orjson.JSONDecodeError as exc:
            raise RecordingError(Problem(self.name, 1, f"not an rtui recording: first line is not JSON ({exc})")) from None
        if not isinstance(header, dict) or header.get("kind") != "header":
            raise RecordingError(Problem(self.name, 1, "not an rtui recording: first line is not a header"))
        schema = header.get("schema")
        if schema != SCHEMA:
            if isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX):
                message = f"schema {schema!r} is not supported; this rtui reads {SCHEMA!r} (upgrade rtui)"
            else:
                message = f"unknown schema {schema!r}; expected {SCHEMA!r}"
            raise RecordingError(Problem(self.name, 1, message))
        problem = header_problem(header)
        if problem is not None:
            raise RecordingError(Problem(self.name, 1, problem))
        return header

    def __iter__(self) -> Iterator[Record]:
        last_seq = 0
        line_number = 1
        for raw in bounded_lines(self._file):
            line_number += 1
            if raw is None:
                self.problems.append(Problem(self.name, line_number, f"line longer than {_mib(MAX_LINE_BYTES)}; line skipped"))
                continue
            complete = raw.endswith(b"\n")
            if raw.isspace() or not raw:  # not raw.strip(): that copies every line
                if complete:
                    self.problems.append(Problem(self.name, line_number, "blank line"))
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                if not complete:
                    self.truncated = True
                    self.problems.append(
                        Problem(
                            self.name,
                            line_number,
                            f"truncated last line ({len(raw)} bytes): the recording stopped mid-write; "
                            f"the {counted(self.records_read, 'record')} before it "
                            f"{'is' if self.records_read == 1 else 'are'} intact",
                        )
                    )
                else:
                    self.problems.append(Problem(self.name, line_number, f"not valid JSON ({exc}); line skipped"))
                continue
            error = check_record(record)
            if error is None and record["seq"] <= last_seq:
                error = f"seq {record['seq']} does not increase (previous {last_seq})"
            if error is not None:
                self.problems.append(Problem(self.name, line_number, f"{error}; line skipped"))
                continue
            last_seq = record["seq"]
            self.records_read += 1
            yield record
        self._file.close()

    @property
    def file(self) -> IO[bytes]:
        """The open file, just after the header (for a second pass that trusts an earlier one)."""
        return self._file

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
