"""`--workers N` for `rtui mock` and `rtui proxy`: N processes serving one port.

One asyncio process runs on one core: a hundred concurrent real-time audio sessions nearly fill one
in the mock (scripts/bench/mock_scale.py) and queue frames behind each other in the relay
(scripts/bench/proxy_scale.py). Each worker is an ordinary server with its own event loop and its
own listening socket on the same address (SO_REUSEPORT, Linux), so the kernel spreads new
connections over the workers. A connection lives in one worker from its handshake to its end, so
every session behaves exactly as with one process; worker i numbers what it creates i+1, i+1+N, ...
so ids and file names stay unique across the server. The parent holds the port (port 0 included),
announces it once every worker listens, and stops them all on Ctrl-C, SIGTERM or a lost terminal
(tui.stopping).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from multiprocessing.connection import Connection, wait
from typing import Any

from tui.stopping import stop_on_signals, stop_signals

# A worker's server for (port, worker index, worker count): listening once entered, stopped
# (its connections and recordings closed) on exit. MockServer and Relay are both.
ServerFactory = Callable[[int, int, int], AbstractAsyncContextManager[Any]]

START_TIMEOUT = 30.0  # seconds for a worker to import and listen
STOP_TIMEOUT = 15.0  # seconds for a worker to close its connections (their close handshakes included)


def workers_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT but not listening: it holds the port (a free
    one for port 0) for the workers, and takes no connections itself."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def serve_with_workers(
    program: str, host: str, port: int, count: int, make_server: ServerFactory, announce: Callable[[int], None]
) -> int:
    """Runs `count` worker processes until one of `stop_signals()`; the exit status of `program` (such as
    "rtui mock"). `announce(port)` prints where to connect once every worker listens."""
    try:
        holder = reserve_port(host, port)
    except OSError as exc:
        print(
            f"{program}: cannot listen on {host}:{port}: {exc.strerror}; pick another port (0 picks a free one).", file=sys.stderr
        )
        return 1
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Handlers before the workers start, so an early Ctrl-C stops them instead of killing the parent.
    previous = {sig: signal.signal(sig, request_stop) for sig in stop_signals()}
    context = multiprocessing.get_context("fork")  # Linux only, like SO_REUSEPORT; no re-import per worker
    port = holder.getsockname()[1]
    workers: list[multiprocessing.context.ForkProcess] = []
    try:
        ready: list[Connection] = []
        for index in range(count):
            receiver, sender = context.Pipe(duplex=False)
            worker = context.Process(
                target=_worker_main, args=(make_server, port, index, count, sender, holder), name=f"{program} worker {index + 1}"
            )
            worker.start()
            sender.close()
            workers.append(worker)
            ready.append(receiver)
        for index, receiver in enumerate(ready):
            problem = _wait_until_listening(receiver, lambda: stopping)
            if problem is not None:
                if not stopping:
                    print(f"{program}: worker {index + 1} did not start: {problem}", file=sys.stderr)
                return 0 if stopping else 1
        announce(port)
        while not stopping:
            wait([w.sentinel for w in workers], timeout=0.5)
            for index, worker in enumerate(workers):
                if worker.exitcode is not None and not stopping:
                    print(
                        f"{program}: worker {index + 1} stopped unexpectedly (exit code {worker.exitcode}); stopping the others.",
                        file=sys.stderr,
                    )
                    return 1
        return 0
    finally:
        _stop(workers)
        holder.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_until_listening(receiver: Connection, stopping: Callable[[], bool]) -> str | None:
    """None once the worker listens, else what went wrong."""
    waited = 0.0
    while not receiver.poll(0.2):
        waited += 0.2
        if stopping():
            return "stopped"
        if waited >= START_TIMEOUT:
            return f"not listening after {START_TIMEOUT:g} s"
    try:
        message = receiver.recv()
    except EOFError:
        return "it exited while starting"
    return None if message == "listening" else str(message)


def _stop(workers: list[multiprocessing.context.ForkProcess]) -> None:
    for worker in workers:
        if worker.exitcode is None:
            worker.terminate()  # SIGTERM: the worker closes its connections and recordings
    for worker in workers:
        worker.join(STOP_TIMEOUT)
        if worker.exitcode is None:
            worker.kill()
            worker.join()


def _worker_main(make_server: ServerFactory, port: int, index: int, count: int, ready: Connection, holder: socket.socket) -> None:
    holder.close()
    signals = stop_signals()  # a terminal's hangup reaches the workers too, unless the parent ignores it
    for sig in signals:
        signal.signal(sig, signal.SIG_IGN)  # until the event loop's handlers take over
    asyncio.run(_worker(make_server(port, index, count), ready, signals))


async def _worker(server: AbstractAsyncContextManager[Any], ready: Connection, signals: list[signal.Signals]) -> None:
    async with AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(server)
        except OSError as exc:
            ready.send(f"cannot listen: {exc.strerror or exc}")
            return
        stop = stop_on_signals(signals)
        ready.send("listening")
        ready.close()
        orphan_watch = asyncio.create_task(_stop_when_orphaned(stop))
        try:
            await stop.wait()
        finally:
            # Ctrl-C reaches every worker, and the parent's SIGTERM follows: once stopping, further
            # signals are ignored, or one landing while the loop closes prints a traceback.
            loop = asyncio.get_running_loop()
            for sig in signals:
                loop.remove_signal_handler(sig)
                signal.signal(sig, signal.SIG_IGN)
            orphan_watch.cancel()


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """A parent killed outright (SIGKILL) cannot stop its workers: they notice and stop themselves."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()
