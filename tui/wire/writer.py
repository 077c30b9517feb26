"""The session writer: one record per line, on disk as it happens, secrets redacted first."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from tui import __version__
from tui.audio.realtime import leave_realtime
from tui.wire.format import C2S, LOCAL, MODES, S2C, SCHEMA
from tui.wire.redact import RULES, Redactor

DEFAULT_DIRECTORY = Path("sessions")

# A frame record's line up to its payload fields: what orjson.dumps writes for these five keys.
_FRAME_PREFIX = b'{"seq":%d,"t_ns":%d,"conn":%d,"kind":"frame","dir":"%s",'
_DIRECTION_JSON = {C2S: b"c2s", S2C: b"s2c", LOCAL: b"local"}

# What `write_each_turn()` holds before writing it without waiting for the end of the turn: big
# enough that a burst of audio frames shares a write, small enough that the joined batch reuses heap
# memory (of 16, 64 and 256 KiB batches streaming audio frames, 64 cost least; 256 KiB ones are
# joined in freshly mapped pages, a page fault per 4 KiB).
TURN_WRITE_LIMIT = 64 * 1024


class RecordingFailed(OSError):
    """The recording file could not be created or written (disk full, permissions, ...)."""

    def __str__(self) -> str:
        # The sentence alone: "[Errno 28] " means nothing to the person reading it.
        return str(self.strerror) if self.strerror else super().__str__()


def session_filename(mode: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S')}-{now.microsecond:06d}Z-{mode}.jsonl"


def frame_type(text: str | bytes) -> str | None:
    """The event `type` of a JSON text frame, or None when it has none."""
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    # `type(...) is`: orjson gives exact types, and the checks are the cheapest there are.
    if type(event) is dict:
        value = event.get("type")
        if type(value) is str:
            return value
    return None


class SessionWriter:
    """Writes an `rtui.session/1` file, and hands every record to its listeners.

    With `path=None` nothing is written (`--no-record`) but records are still numbered, redacted and
    handed to listeners, so views see the same stream either way. Listeners run under the writer's
    lock, in `seq` order, and must be quick (append to a buffer, bump a counter).

    Every record is written with one unbuffered `write` as it happens, so a crash loses at most the line
    being written, unless the caller holds records (`hold()`, or `write_each_turn()`: one write per
    event-loop turn); the file is fsynced at marks and at the end. Writes are serialised by a lock so
    that `seq` order is file order even when several threads record. A write failure (disk full, file
    removed) never raises into the caller's connection: the writer stops, keeps the error in `failure`,
    calls `on_failure` once and counts what it could not write.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        mode: str,
        url: str,
        secrets: Iterable[str] = (),
        header_extra: dict[str, Any] | None = None,
        on_failure: Callable[[OSError], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown recording mode {mode!r}; expected one of {sorted(MODES)}")
        self.path = Path(path) if path is not None else None
        self.redactor = Redactor(secrets)
        self.on_failure = on_failure
        self.failure: OSError | None = None
        self.unwritten = 0
        self.listener_errors = 0
        self.last_listener_error: Exception | None = None
        self._lock = threading.Lock()
        # Taken before _lock by whoever writes held records, so that batches reach the file in order
        # even when flushes run on other threads.
        self._flush_lock = threading.Lock()
        self._seq = 0
        self._next_conn = 1
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        # (data, opcode, redactor generation, payload fields, serialised payload) of the last frame.
        self._last_frame: tuple[str | bytes, str | None, int, dict[str, Any], bytes] | None = None
        self._closed = False
        self._file: BinaryIO | None = None
        self._batch: list[bytes] | None = None  # lines kept between hold() and release()
        self._turn_loop: asyncio.AbstractEventLoop | None = None  # write_each_turn()'s loop,
        self._turn_thread = 0  # the thread it runs in,
        self._turn_flush_due = False  # and whether the end of its turn writes what is held;
        self._turn_batch_size = 0  # the bytes held in this turn, and whether they reached
        self._turn_batch_full = False  # TURN_WRITE_LIMIT (written as soon as the lock is released)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "xb", buffering=0)
            except OSError as exc:
                raise RecordingFailed(exc.errno, f"cannot create recording {self.path}: {exc.strerror}") from exc
        self._start_ns = time.monotonic_ns()
        header: dict[str, Any] = {
            "kind": "header",
            "schema": SCHEMA,
            "tool": "rtui",
            "version": __version__,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "url": self.redactor.url(url),
            "mode": mode,
            "redaction": list(RULES),
        }
        if header_extra:
            header.update(header_extra)
        self.header = header
        try:
            self._write(header)
        except RecordingFailed:
            # Nothing usable was written (a full disk): leave neither an open file nor an empty one.
            assert self._file is not None and self.path is not None
            self._file.close()
            self.path.unlink(missing_ok=True)
            raise

    @classmethod
    def create(
        cls, directory: str | os.PathLike[str] = DEFAULT_DIRECTORY, *, mode: str, url: str, **kwargs: Any
    ) -> SessionWriter:
        """A writer for a new, uniquely named file in `directory`."""
        return cls(Path(directory) / session_filename(mode), mode=mode, url=url, **kwargs)

    # -- records -------------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def new_conn(self) -> int:
        with self._lock:
            conn = self._next_conn
            self._next_conn += 1
            return conn

    def record(self, kind: str, direction: str, conn: int, **fields: Any) -> int:
        """Writes one record and returns its `seq` (0 when the writer has failed)."""
        return self._append(kind, direction, conn, fields, scrubbed=False)

    def _append(self, kind: str, direction: str, conn: int, fields: dict[str, Any], *, scrubbed: bool) -> int:
        """`scrubbed`: every string in `fields` has been redacted already (a plain frame's)."""
        with self._lock:
            if self._closed:
                self.unwritten += 1
                return 0
            self._seq += 1
            record = {
                "seq": self._seq,
                "t_ns": time.monotonic_ns() - self._start_ns,
                "conn": conn,
                "kind": kind,
                "dir": direction,
            }
            record.update(fields)
            self._write(record, scrubbed)
            if self._listeners:
                self._notify(record)
            seq = self._seq
        if self._turn_batch_full:
            self.flush()
        return seq

    def _notify(self, record: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(record)
            except Exception as exc:  # a view's bug must never reach the connection
                self.listener_errors += 1
                self.last_listener_error = exc

    def frame(self, conn: int, direction: str, data: str | bytes, *, opcode: str | None = None, **fields: Any) -> int:
        """Records a whole data message: `str` is a text frame, `bytes` a binary one unless `opcode`
        says "text" (bytes of a text frame that may not be valid UTF-8 are kept as bytes)."""
        # A relay records each frame twice (as received on one leg, as sent on the other): the
        # second time, the payload's redacted, serialised form is the one just built.
        cached = self._last_frame
        generation = self.redactor.generation  # read first: a secret added meanwhile voids the reuse
        if cached is not None and cached[1] == opcode and cached[2] == generation and (cached[0] is data or cached[0] == data):
            payload, body = cached[3], cached[4]
        else:
            payload = self._frame_payload(data, opcode)
            # The record's line is `{"seq":…,"dir":…,` then this, minus its opening brace.
            body = orjson.dumps(payload, option=orjson.OPT_APPEND_NEWLINE)[1:] if self._file is not None else b""
            if type(data) is str or type(data) is bytes:  # immutable: safe to compare with later
                self._last_frame = (data, opcode, generation, payload, body)
        if fields or type(conn) is not int or direction not in _DIRECTION_JSON:
            # Every string of a plain frame record is redacted in _frame_payload, so the safety net
            # over the whole line (a second scan of the payload) is only for the extra fields.
            return self._append("frame", direction, conn, {**payload, **fields}, scrubbed=False)
        lock = self._lock
        lock.acquire()  # not `with`: this is the recorder's hottest path, and `with` costs more
        try:
            if self._closed:
                self.unwritten += 1
                return 0
            seq = self._seq = self._seq + 1
            t_ns = time.monotonic_ns() - self._start_ns
            file = self._file
            if file is not None:
                # The bytes orjson writes for the whole record, without serialising the payload again.
                line = _FRAME_PREFIX % (seq, t_ns, conn, _DIRECTION_JSON[direction]) + body
                if self.failure is not None:
                    self.unwritten += 1
                elif self._batch is not None:
                    self._hold(line)
                else:
                    try:
                        written = file.write(line)
                    except OSError as exc:
                        self._fail(exc)
                    else:
                        if written != len(line):
                            self._finish_line(line, written)
            if self._listeners:
                record = {"seq": seq, "t_ns": t_ns, "conn": conn, "kind": "frame", "dir": direction}
                record.update(payload)
                self._notify(record)
        finally:
            lock.release()
        if self._turn_batch_full:
            self.flush()
        return seq

    def _frame_payload(self, data: str | bytes, opcode: str | None) -> dict[str, Any]:
        """The frame record's fields after `dir`, every string in them redacted."""
        size = -1
        if opcode == "text" and not isinstance(data, str):
            raw = data if type(data) is bytes else bytes(data)
            try:
                data = raw.decode()
                size = len(raw)
            except UnicodeDecodeError:
                data = raw
        redacted: list[str]
        payload: dict[str, Any]
        if isinstance(data, str):
            if size < 0:
                size = len(data) if data.isascii() else len(data.encode())
            event_type = frame_type(data)
            escaped = "\\" in data
            # JSON escapes can spell a secret the plain text does not hold: those frames are
            # redacted on their decoded strings too.
            data, redacted = self.redactor.json_text(data) if escaped else self.redactor.text(data)
            payload = {"opcode": "text", "text": data, "size": size}
        else:
            data = bytes(data)
            size = len(data)
            try:
                # A binary frame holding JSON (iOS `.data` messages) still has an event type.
                event_type = frame_type(data.decode("utf-8"))
            except UnicodeDecodeError:
                event_type = None
            escaped = b"\\" in data
            data, redacted = self._redact_bytes(data, escaped)
            payload = {"opcode": opcode or "binary", "data_b64": base64.b64encode(data).decode(), "size": size}
        if event_type is not None:
            # The type is a substring of the payload, and clean when the payload was, unless JSON
            # escapes in the payload hid a secret from the payload's pass.
            if redacted or escaped:
                event_type = self.redactor.text(event_type)[0]
            payload["type"] = event_type
        if redacted:
            payload["redacted"] = sorted(set(redacted))
        return payload

    def _redact_bytes(self, data: bytes, escaped: bool) -> tuple[bytes, list[str]]:
        """A binary frame (or text that is not UTF-8) redacted; one holding JSON with escapes is
        redacted on its decoded strings too, as a text frame is."""
        if escaped:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                pass
            else:
                cleaned, hits = self.redactor.json_text(text)
                return (cleaned.encode() if hits else data), hits
        return self.redactor.data(data)

    def error(self, conn: int, message: str, **fields: Any) -> int:
        return self.record("error", LOCAL, conn, message=self.redactor.text(message)[0], **fields)

    def mark(self, note: str, conn: int = 0) -> int:
        """Records a user's note, writes it and what is held, and has the file fsynced on a thread of
        its own: a mark comes from the engine's event loop or the UI's thread, and an fsync can take
        seconds on a busy or remote disk, which neither may wait for (a stalled loop answers no ping)."""
        seq = self.record("mark", LOCAL, conn, note=self.redactor.text(note)[0])
        self.flush()
        threading.Thread(target=self._sync_in_background, name="rtui-mark-fsync", daemon=True).start()
        return seq

    def _sync_in_background(self) -> None:
        leave_realtime()  # started from the audio engine's real-time loop, and background work
        self.sync()

    # -- file ----------------------------------------------------------------------------------

    def hold(self) -> None:
        """Keeps the records made from now on in memory, written by each `flush()` with one
        `write`, until `release()`. For a relay carrying many sessions on one event loop, a write
        syscall per record is a large share of the cost of a frame, and the loop need not make
        it: `flush()` may run on another thread, and recording goes on while it writes. Its
        caller flushes often (a crash loses what was held). Listeners still get each record at once."""
        with self._lock:
            if self._batch is None and self._file is not None:
                self._batch = []

    def write_each_turn(self) -> None:
        """Holds records (`hold()`) and writes them at the end of each turn of the running event
        loop that made one: a replay records a frame for each one sent and received, and a write
        syscall per record costs it more than the rest of recording (BENCHMARKS.md, issue 19).
        Records held reaching TURN_WRITE_LIMIT are written at once, so a crash loses at most the
        records of the turn it happens in, and at most that many bytes. A writer already held (a relay's,
        flushed off the event loop on its own schedule) stays as it is."""
        with self._lock:
            if self._file is None or (self._batch is not None and self._turn_loop is None):
                return
            self._turn_loop = asyncio.get_running_loop()
            self._turn_thread = threading.get_ident()
            if self._batch is None:
                self._batch = []

    def _flush_at_end_of_turn(self) -> None:
        """Under the lock, with records held: schedules their write at the end of the loop's turn."""
        assert self._turn_loop is not None
        try:
            if threading.get_ident() == self._turn_thread:
                self._turn_loop.call_soon(self._end_of_turn)
            else:
                self._turn_loop.call_soon_threadsafe(self._end_of_turn)
        except RuntimeError:  # the loop is closed: `close()` writes what is held
            return
        self._turn_flush_due = True

    def _hold(self, line: bytes) -> None:
        """Under the lock, with records held: keeps `line` for the next write. A turn's records are
        written at its end, or as soon as they reach TURN_WRITE_LIMIT: a turn may last as long as
        a sender never waits (a stream into a fast socket is one turn), and what it holds must not."""
        assert self._batch is not None
        self._batch.append(line)
        if self._turn_loop is None:
            return
        self._turn_batch_size += len(line)
        if self._turn_batch_size >= TURN_WRITE_LIMIT:
            self._turn_batch_full = True
        elif not self._turn_flush_due:
            self._flush_at_end_of_turn()

    def _end_of_turn(self) -> None:
        self._turn_flush_due = False
        self.flush()

    def flush(self) -> None:
        """Writes what is held, and goes on holding. Records made meanwhile wait for the next flush."""
        with self._flush_lock:
            with self._lock:
                batch = self._batch
                if not batch:
                    return
                self._batch = []
                self._turn_batch_size, self._turn_batch_full = 0, False
            error = self._write_out(batch)
            if error is not None:
                with self._lock:
                    self._count_failed(batch, error)

    def release(self) -> None:
        """Writes what is held, and writes each record at once again."""
        with self._flush_lock, self._lock:
            batch, self._batch = self._batch, None
            self._turn_batch_size, self._turn_batch_full = 0, False
            if batch:
                error = self._write_out(batch)
                if error is not None:
                    self._count_failed(batch, error)

    def _write_out(self, batch: list[bytes]) -> OSError | None:
        """Writes held lines in one `write` (and what a short write left); the error, if any."""
        if self.failure is not None:
            return self.failure
        assert self._file is not None
        view = memoryview(b"".join(batch))
        try:
            while view:
                view = view[self._file.write(view) :]
        except OSError as exc:
            return exc
        return None

    def _count_failed(self, batch: list[bytes], error: OSError) -> None:
        """Under the lock: a batch that could not be written (in part or at all)."""
        if self.failure is None:
            self._fail(error)  # counts one
            self.unwritten += len(batch) - 1
        else:
            self.unwritten += len(batch)

    def sync(self) -> None:
        """Writes what is held and waits for the disk to keep the file (fsync). The fsync runs on a
        duplicate of the file's descriptor, outside the writer's locks, so recording from other
        threads goes on meanwhile, and the file may be closed meanwhile."""
        self.flush()
        with self._lock:
            if self._file is None or self._file.closed or self.failure is not None:
                return
            descriptor = os.dup(self._file.fileno())
        try:
            os.fsync(descriptor)
        except OSError as exc:
            with self._lock:
                self._fail(exc)
        finally:
            os.close(descriptor)

    def close(self) -> None:
        self.release()
        self.sync()
        with self._lock:
            self._closed = True
            self._last_frame = None  # a large last frame would stay in memory as long as the writer
            if self._file is not None:
                self._file.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def records_written(self) -> int:
        return self._seq

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self, record: dict[str, Any], scrubbed: bool = False) -> None:
        if self._file is None:
            return
        if self.failure is not None:
            self.unwritten += 1
            return
        # Fields are redacted where they are built; this pass over the finished line is the safety
        # net for any string that was not (a close reason inside `end`, an exception's text...).
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        if not scrubbed:
            line = self.redactor.data(line)[0]
        if not self._write_line(line) and record.get("kind") == "header":
            assert self.failure is not None
            raise RecordingFailed(
                self.failure.errno, f"cannot write recording {self.path}: {self.failure.strerror}"
            ) from self.failure

    def _write_line(self, line: bytes) -> bool:
        """Writes one finished line to the file; False once the writer has failed."""
        if self.failure is not None:
            self.unwritten += 1
            return False
        if self._batch is not None:
            self._hold(line)
            return True
        assert self._file is not None
        try:
            written = self._file.write(line)
        except OSError as exc:
            self._fail(exc)
            return False
        return written == len(line) or self._finish_line(line, written)

    def _finish_line(self, line: bytes, written: int) -> bool:
        """After a short write: the rest of the line, before anything else."""
        assert self._file is not None
        view = memoryview(line)[written:]
        try:
            while view:
                view = view[self._file.write(view) :]
        except OSError as exc:
            self._fail(exc)
            return False
        return True

    def _fail(self, exc: OSError) -> None:
        if self.failure is None:
            self.failure = exc
            self.unwritten += 1
            if self.on_failure is not None:
                self.on_failure(exc)
