"""Drives one connection: feeds a session its client frames and deadlines, sends what it returns,
and injects the configured faults. The only place where the mock touches a socket."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from tui.mock.faults import (
    CloseAfter,
    DelayFrames,
    DropConnection,
    FailTranscription,
    Fault,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    StallFrames,
    Trigger,
    WithholdPongs,
)
from tui.mock.ids import IdFactory
from tui.mock.session import Close, ConnectionSession, Drop, MockSession, Output, Send
from tui.wire.server import ServerConnection

log = logging.getLogger(__name__)


def oversized_event(size: int, ids: IdFactory) -> str:
    """A valid `conversation.item.retrieved` of at least `size` bytes (a user item with silent audio)."""
    item: dict[str, Any] = {
        "id": ids.item(),
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "audio": "", "transcript": None}],
    }
    event = {"type": "conversation.item.retrieved", "event_id": ids.event(), "item": item}
    overhead = len(orjson.dumps(event))
    raw = bytes(max(0, (size - overhead) * 3 // 4 + 3))
    item["content"][0]["audio"] = base64.b64encode(raw).decode()
    return orjson.dumps(event).decode()


class ConnectionRunner:
    def __init__(
        self,
        connection: ServerConnection,
        session: ConnectionSession,
        faults: Sequence[Fault] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        fault_ids: IdFactory | None = None,
    ) -> None:
        self.connection = connection
        self.session = session
        self.clock = clock
        self.faults = [f for f in faults if not isinstance(f, RejectHandshake)]
        self.fault_ids = fault_ids or IdFactory("faults")
        self.frames_received = 0
        self._started = 0.0
        self._outbox: asyncio.Queue[tuple[float, Output | str]] = asyncio.Queue()
        self._delay = 0.0
        self._stall_until: float | None = None  # math.inf: stalled for good
        self._finished = asyncio.Event()
        self._closing = False  # the sender is in a closing handshake
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at: float | None = None  # the deadline `_wakeup` is armed for

    async def run(self) -> None:
        self._started = self.clock()
        sender = asyncio.create_task(self._send_loop())
        try:
            self._deliver(self.session.start(self._started))
            self._fire_due(self._started)
            self._schedule_wakeup()
            # Reads the socket directly; deadlines (response deltas, timed faults) run from a timer
            # that is only moved when the next deadline changes. A timeout around every `recv`, or a
            # task and a queue per message, was most of the mock's CPU with a hundred sessions.
            while not self._finished.is_set():
                try:
                    message = await self.connection.recv()
                except ConnectionClosed:
                    self._finished.set()
                    break
                now = self.clock()
                self.frames_received += 1
                if isinstance(message, str):
                    self._deliver(self.session.receive_text(message, now))
                else:
                    self._deliver(self.session.receive_binary(message, now))
                if self.faults:
                    self._fire_due(now)
                self._schedule_wakeup()
            if self._closing and not sender.done():
                # We are closing: let the sender finish the closing handshake it started.
                await asyncio.wait({sender}, timeout=self.connection.close_timeout or 10)
        finally:
            if self._wakeup is not None:
                self._wakeup.cancel()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    # -- deadlines -----------------------------------------------------------------------------

    def _schedule_wakeup(self) -> None:
        """Arms the timer for the next deadline, leaving it alone when that has not changed."""
        deadline = self.session.next_deadline()
        if self.faults:
            fault_time = self._next_fault_time()
            if fault_time is not None and (deadline is None or fault_time < deadline):
                deadline = fault_time
        if deadline == self._wakeup_at:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup_at = deadline
        self._wakeup = None
        if deadline is not None and not self._finished.is_set():
            loop = asyncio.get_running_loop()
            self._wakeup = loop.call_later(max(0.0, deadline - self.clock()), self._on_wakeup)

    def _on_wakeup(self) -> None:
        self._wakeup = self._wakeup_at = None
        if self._finished.is_set():
            return
        now = self.clock()
        try:
            self._deliver(self.session.poll(now))
        except Exception:  # a bug in a session: this connection ends, the server goes on
            log.exception("mock session failed")
            self._outbox.put_nowait((now, Close(1011, "mock internal error")))
            return
        self._fire_due(now)
        self._schedule_wakeup()

    # -- output --------------------------------------------------------------------------------

    def _deliver(self, outputs: list[Output]) -> None:
        for output in outputs:
            self._outbox.put_nowait((self.clock(), output))

    async def _send_loop(self) -> None:
        try:
            while True:
                produced, output = await self._outbox.get()
                if self._delay or self._stall_until is not None:
                    await self._hold(produced)
                if isinstance(output, Send):
                    await self.connection.send(output.data)
                elif isinstance(output, str):
                    await self.connection.send(output)
                elif isinstance(output, Close):
                    self._closing = True
                    self._finished.set()
                    await self.connection.close(output.code, output.reason)
                    return
                elif isinstance(output, Drop):
                    self._drop()
                    return
        except ConnectionClosed:
            self._finished.set()

    async def _hold(self, produced: float) -> None:
        """Waits out a delay (from when the frame was produced) and any stall."""
        while True:
            wait = produced + self._delay - self.clock()
            if self._stall_until is not None:
                wait = max(wait, self._stall_until - self.clock())
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, 0.5))  # re-check: a stall may start or end meanwhile

    def _drop(self) -> None:
        self._finished.set()
        transport = self.connection.transport
        if transport is not None:
            transport.abort()

    # -- faults --------------------------------------------------------------------------------

    def _due(self, fault: Trigger, now: float) -> bool:
        frames, seconds = fault.after_frames, fault.after_seconds
        if frames is None and seconds is None:
            return True
        if frames is not None and self.frames_received < frames:
            return False
        return seconds is None or now - self._started >= seconds

    def _next_fault_time(self) -> float | None:
        # Only times still ahead: a fault that also waits for frames must not wake the loop in a spin.
        now = self.clock()
        times = [self._started + f.after_seconds for f in self.faults if f.after_seconds is not None]
        ahead = [t for t in times if t > now]
        return min(ahead) if ahead else None

    def _fire_due(self, now: float) -> None:
        for fault in [f for f in self.faults if self._due(f, now)]:
            self.faults.remove(fault)
            self._fire(fault, now)

    def _fire(self, fault: Fault, now: float) -> None:
        if isinstance(fault, CloseAfter):
            self._outbox.put_nowait((now, Close(fault.code, fault.reason)))
        elif isinstance(fault, DropConnection):
            self._drop()
        elif isinstance(fault, WithholdPongs):
            self._withhold_pongs()
        elif isinstance(fault, DelayFrames):
            self._delay = fault.seconds
        elif isinstance(fault, StallFrames):
            self._stall_until = float("inf") if fault.seconds is None else now + fault.seconds
        elif isinstance(fault, OversizedEvent):
            self._outbox.put_nowait((now, oversized_event(fault.size, self.fault_ids)))
        elif isinstance(fault, FailTranscription):
            if isinstance(self.session, MockSession):  # a served recording plays what it recorded
                self.session.fail_transcriptions = True
        elif isinstance(fault, SendInvalidJson):
            self._outbox.put_nowait((now, '{"type": "response.output_audio.delta", "delta": "AAAA'))

    def _withhold_pongs(self) -> None:
        self.connection.answer_ping = lambda data: False  # the pump's pong policy: none leaves
