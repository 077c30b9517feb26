"""The session engine in a child process, so the UI's rendering never holds the wire's GIL.

In one interpreter a screen refresh holds the GIL for tens of milliseconds at a time, and every
captured chunk waits for it on its way to the socket (scripts/bench/audio_latency.py). Here the
child runs the engine (devices, socket, recording) alone; the parent holds a mirror of its state and
log that the UI reads exactly as it reads an in-process engine (`tui.app.contract.EngineLike`).

Child -> parent: a snapshot every `PUBLISH_INTERVAL_S` (the state, the new log entries, the new
capture latencies), then the outcome. Parent -> child: session commands as they are (they pickle),
and stop. When the parent dies (SIGKILL, a crash), the child sees its command pipe close, stops the
engine and finishes the recording; when the child dies, the parent's state says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar, cast

from tui.engine.commands import SESSION_COMMANDS, Command
from tui.engine.config import EngineConfig
from tui.engine.session import Engine, SessionOutcome
from tui.engine.state import EngineState, LogBuffer, LogEntry

T = TypeVar("T")

PUBLISH_INTERVAL_S = 0.02
STOP_TIMEOUT_S = 10.0  # for the child to close its socket and recording once told to stop
TRANSCRIPT_SHOWN = 32  # entries mirrored; the transcript pane shows fewer
COMMANDS = frozenset({"submit", "stop"})  # what the child obeys: a session command, or stop


@dataclasses.dataclass
class EngineFailure:
    """The child's engine raised: what the parent shows instead of a traceback under the UI."""

    message: str


@dataclasses.dataclass
class Snapshot:
    state: EngineState
    entries: list[LogEntry]
    skipped: int  # entries the child's log evicted before they could be sent
    latencies_ns: list[int]


class EngineProcess:
    """An `EngineLike` whose engine runs in a child process started by `run()`."""

    isolated = True  # the wire has its own interpreter: the UI need not hand it the GIL
    commands = SESSION_COMMANDS

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.state = EngineState(endpoint_kind=config.endpoint.kind, model=config.model, turn_mode=config.turn_mode)
        self.log = LogBuffer(config.log_capacity)
        self.capture_latencies_ns: deque[int] = deque(maxlen=10_000)
        self.outcome: SessionOutcome | None = None
        self.exitcode: int | None = None
        self.pid: int | None = None
        self._commands_in, self._commands_out = multiprocessing.Pipe(duplex=False)
        self._snapshots_in, self._snapshots_out = multiprocessing.Pipe(duplex=False)
        self._send_lock = threading.Lock()
        self._failure_reported = False

    async def run(self) -> SessionOutcome:
        child = self._start_child()
        self.pid = child.pid
        self._command("configure", self.config)  # before any command the UI sends
        try:
            outcome = await _in_daemon_thread(self._pump)
            self.outcome = outcome
        finally:
            # Closing the command pipe stops the child's engine (as the parent dying would), so a
            # cancelled run never leaves a session open behind it.
            with self._send_lock:
                self._commands_out.close()
            self.exitcode = await _in_daemon_thread(lambda: _wait_or_kill(child, STOP_TIMEOUT_S))
            self._snapshots_in.close()
        if self.exitcode != 0 and not self._failure_reported:
            self._engine_died()
        return outcome

    def _start_child(self) -> subprocess.Popen[bytes]:
        # A plain interpreter rather than multiprocessing's spawn: no re-import of the program's
        # main module, no resource tracker, nothing that depends on how the UI replaced sys.stderr.
        # Its own session: the terminal's signals go to the UI, which stops the engine properly.
        # Its stdout is our stderr (a log file under the UI): nothing it prints lands on the screen.
        fds = (self._commands_in.fileno(), self._snapshots_out.fileno())
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        try:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from tui.engine.process import serve; serve(*map(int, sys.argv[1:]))",
                    *map(str, fds),
                ],
                stdin=subprocess.DEVNULL,
                stdout=2,
                pass_fds=fds,
                env=env,
                start_new_session=True,
            )
        finally:
            self._commands_in.close()
            self._snapshots_out.close()

    def _pump(self) -> SessionOutcome:
        while True:
            try:
                message = self._snapshots_in.recv()
            except (EOFError, OSError):
                return "closed"
            if isinstance(message, Snapshot):
                self._apply(message)
            elif isinstance(message, EngineFailure):
                self.state.phase = "closed"
                self.state.notices.append(f"The session engine failed: {message.message}")
                self._failure_reported = True
            else:
                outcome: SessionOutcome = message  # the outcome, sent last
                return outcome

    def _apply(self, snapshot: Snapshot) -> None:
        self.state.__dict__.update(snapshot.state.__dict__)
        if snapshot.skipped:
            self.log.skip(snapshot.skipped)
        for entry in snapshot.entries:
            self.log.append(entry)
        self.capture_latencies_ns.extend(snapshot.latencies_ns)

    def _engine_died(self) -> None:
        self.state.phase = "closed"
        code = self.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
        self.state.notices.append(f"The session engine process {how}; the recording holds everything up to then.")

    # -- commands: the engine's own, sent to the child ---------------------------------------------

    def _command(self, name: str, *args: Any) -> None:
        with self._send_lock:
            try:
                self._commands_out.send((name, args))
            except (OSError, ValueError):  # the child is gone (its state already says so)
                pass

    def submit(self, command: Command) -> None:
        self._command("submit", command)

    def stop(self) -> None:
        self._command("stop")


async def _in_daemon_thread(blocking: Callable[[], T]) -> T:
    """Like `asyncio.to_thread`, on a daemon thread: a pipe read that never returns must not keep
    the interpreter from exiting (to_thread's executor is joined at loop shutdown)."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[T] = loop.create_future()

    def settle(outcome: T | None, error: BaseException | None) -> None:
        if result.done():
            return
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(cast(T, outcome))  # blocking() returned it

    def work() -> None:
        try:
            outcome, error = blocking(), None
        except BaseException as exc:
            outcome, error = None, exc
        try:
            loop.call_soon_threadsafe(settle, outcome, error)
        except RuntimeError:
            pass  # the loop is gone: nobody waits for this any more

    threading.Thread(target=work, name="rtui-engine-pipe", daemon=True).start()
    return await result


def _wait_or_kill(child: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


# -- the child ------------------------------------------------------------------------------------


def serve(commands_fd: int, snapshots_fd: int) -> None:
    """The child's main: run one engine, publish its state, obey commands until it ends."""
    commands, snapshots = Connection(commands_fd, writable=False), Connection(snapshots_fd, readable=False)
    try:
        name, (config,) = commands.recv()
        assert name == "configure", name
        from tui.engine.media_factory import open_media

        media = open_media(config.audio)  # checked by the parent before it started this process
        engine = Engine(config, source=media.source, sink=media.sink)
        outcome = asyncio.run(_run(engine, commands, _Publisher(engine, snapshots)))
    except EOFError:
        return  # the parent died before it configured us
    except Exception as exc:
        _send_quietly(snapshots, EngineFailure(f"{type(exc).__name__}: {exc}"))
        raise  # the traceback goes to the stderr log the UI points to
    _send_quietly(snapshots, outcome)


def _send_quietly(out: Connection, message: object) -> None:
    try:
        out.send(message)
    except OSError:
        pass  # the parent is gone; the recording is finished either way


async def _run(engine: Engine, commands: Connection, publisher: _Publisher) -> SessionOutcome:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, engine.stop)
    running = asyncio.ensure_future(engine.run())
    await asyncio.sleep(0)  # engine.run() has begun: its loop is known, so commands reach it

    def obey() -> None:
        try:
            while commands.poll():
                name, args = commands.recv()
                if name in COMMANDS:
                    getattr(engine, name)(*args)
        except (EOFError, OSError):  # the parent died: end the session cleanly
            loop.remove_reader(commands.fileno())
            engine.stop()

    loop.add_reader(commands.fileno(), obey)
    publishing = asyncio.create_task(publisher.run())
    try:
        return await running
    finally:
        publishing.cancel()
        publisher.publish()
        publisher.close()


class _Publisher:
    """Sends snapshots from a thread of its own, so a parent that reads slowly never blocks the
    engine's loop; while one is in flight the next waits, and log entries wait in the engine's ring."""

    def __init__(self, engine: Engine, out: Connection) -> None:
        self.engine = engine
        self.out = out
        self._cursor = 0
        self._outbox: deque[bytes | None] = deque()
        self._ready = threading.Condition()
        self._idle = True
        self._sender = threading.Thread(target=self._send_loop, name="rtui-engine-publisher", daemon=True)
        self._sender.start()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_INTERVAL_S)
            if self._idle:
                self.publish()

    def publish(self) -> None:
        """Snapshots the engine on its own loop (no torn reads) and queues it for sending."""
        engine, state = self.engine, self.engine.state
        entries, self._cursor, skipped = engine.log.since(self._cursor)
        latencies = list(engine.capture_latencies_ns)  # the engine appends on this same loop
        engine.capture_latencies_ns.clear()
        shown = dataclasses.replace(state, transcript=state.transcript[-TRANSCRIPT_SHOWN:])
        data = pickle.dumps(Snapshot(shown, entries, skipped, latencies))
        with self._ready:
            self._idle = False
            self._outbox.append(data)
            self._ready.notify()

    def close(self) -> None:
        with self._ready:
            self._outbox.append(None)
            self._ready.notify()
        self._sender.join()

    def _send_loop(self) -> None:
        while True:
            with self._ready:
                while not self._outbox:
                    self._idle = True
                    self._ready.wait()
                data = self._outbox.popleft()
            if data is None:
                return
            try:
                self.out.send_bytes(data)
            except OSError:
                return  # the parent is gone; the command pipe tells the engine to stop
