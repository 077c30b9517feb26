"""Plays one side of a recorded connection over a live connection (a frame pump, tui.wire.pump).

The same player serves a recording's server side (tui.replay.serve) and replays its client side
(tui.replay.client). It performs its side's recorded steps (exact bytes and opcodes, pings, the
close it started), each once the other side has reached the recorded position (causal gating) and
when the timing mode says it is due; it checks every incoming frame against the recording; and it
reproduces the recorded ending. On a divergence or a timeout it closes the connection with the
documented code and reason (tui.replay.report) instead of waiting forever.

Pongs: `websockets` answers every ping as it parses it. `PongPolicy` is the pump's pong policy: it
withholds the pongs the recording shows missing (the pings are still recorded). Once a recorded ping
went unanswered, later pings go unanswered too; pings past the recorded ones are answered otherwise.

Messages: the player takes each whole message from the pump as it is parsed (`deliver_to`), not
through `recv()`: a replay checks every frame at once, and the queue, the future and the task switch
per message were a third of the receiving side's cost.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, ProtocolError
from websockets.frames import Close

from tui.replay.causal import Progress
from tui.replay.normalize import AUDIO_APPEND, IdMap, NormalizedItem, parse_event
from tui.replay.report import TIMEOUT_CODE, TIMEOUT_REASON, TRUNCATED_CODE, TRUNCATED_REASON, Divergence
from tui.replay.script import Script
from tui.replay.steps import OTHER, SIDE_DIR, Position, Step
from tui.replay.tape import Tape
from tui.replay.timing import LoopClock, Pacer, PacingClock, Timing
from tui.wire.ending import ConnectionEnd, live_connection_end
from tui.wire.pump import FramePump

_OTHER_SIDE = {"client": "server", "server": "client"}
# As fast as causality allows, data frames whose requirements are already met go out together: one
# write to the socket and one pass through the event loop for up to this many frames.
_BATCH_FRAMES = 64
# A side reads on for its next step only while no other reader of the tape has this many values
# waiting (tui.replay.tape): memory stays bounded when one side is silent for a long stretch.
_READ_AHEAD = 2048


class PongPolicy:
    """Answers or withholds pongs as the recording shows (see the module docstring)."""

    def __init__(self, answered: list[bool]) -> None:
        self.answered = answered
        self.pings = 0
        self.withheld = 0

    def answer(self, index: int) -> bool:
        if index < len(self.answered):
            return all(self.answered[: index + 1])
        return all(self.answered)

    def answer_ping(self, data: bytes) -> bool:
        """The pump's `answer_ping`: called for each ping received, in order."""
        index = self.pings
        self.pings += 1
        if self.answer(index):
            return True
        self.withheld += 1
        return False


@dataclass(repr=False)
class SideOutcome:
    """What one side's replay did."""

    side: str
    divergence: Divergence | None = None
    steps_done: int = 0
    steps_total: int = 0
    not_sent: list[Step] = field(default_factory=list)  # the first of the steps not performed,
    not_sent_count: int = 0  # and how many in all
    not_received: list[tuple[int, NormalizedItem]] = field(default_factory=list)  # the same for recorded frames
    not_received_count: int = 0
    pongs_withheld: int = 0
    notes: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None  # who sent the first close frame ("client"/"server"), None for a drop

    def ending(self) -> str:
        if self.closed_by is None:
            return "the connection ended without a close frame"
        reason = f" {self.close_reason}" if self.close_reason else ""
        return f"the {self.closed_by} closed the connection with {self.close_code}{reason}"

    def __repr__(self) -> str:
        return f"<SideOutcome {self.side}: {'ok' if self.ok else 'diverged'}, {self.steps_done}/{self.steps_total} steps>"

    @property
    def ok(self) -> bool:
        return self.divergence is None


class Player:
    def __init__(
        self,
        script: Script,
        side: str,
        connection: FramePump,
        *,
        timing: Timing = Timing(),
        timeout: float = 10.0,
        clock: PacingClock | None = None,
        pong_policy: PongPolicy | None = None,
        map_ids: bool = False,
        tape: Tape | None = None,
    ) -> None:
        self.script = script
        self.side = side
        self.ws = connection
        self.timing = timing
        self.timeout = timeout
        self.clock = clock or LoopClock()
        self.pong_policy = pong_policy
        self.map_ids = map_ids
        self.direction = SIDE_DIR[side]
        self.ids = IdMap()  # server ids, learned from the server frames as they cross
        incoming_dir = OTHER[self.direction]
        # The recording is streamed: this side's steps and the other side's frames, from a tape of
        # its own or from one shared with the other side and the comparison (tui.replay.full).
        self._own_tape = tape is None
        self.tape = tape or script.open(("steps", self.direction), ("entries", incoming_dir))
        self.steps = self.tape.channel("steps", self.direction)
        self.incoming = Progress(
            incoming_dir,
            self.tape.channel("entries", incoming_dir),
            self.ids,
            self.clock,
            script=script,
            track_times=timing.speed is not None,
        )
        self.outcome = SideOutcome(side)
        self._closing: asyncio.Task[None] | None = None

    # -- the run ---------------------------------------------------------------------------------

    async def run(self) -> SideOutcome:
        self.incoming.start()
        start_t_ns = self.script.response["t_ns"] if self.script.response else 0
        pacer = Pacer(self.timing, self.clock, self.incoming, start_t_ns, self.clock.now())
        receiver = asyncio.create_task(self._receive())
        done = 0
        last_seq = 0  # the last step performed
        exhausted = False  # every step was performed
        try:
            while (step := await self.steps.next_when_room(_READ_AHEAD, self.timeout)) is not None:
                if not self.script.performs(self.side, step):
                    continue
                await self.incoming.reach(self._requirement(step), self.timeout)
                await pacer.wait(step)
                if step.kind == "frame" and self.timing.speed is None:
                    batch = self._batch(step)
                    await self._send_frames(batch)
                    step = batch[-1]
                    done += len(batch) - 1
                else:
                    await self._perform(step)
                pacer.done(step)
                done += 1
                last_seq = step.seq
            exhausted = True
            await self._finish()
        except Divergence as divergence:
            self._diverged(divergence)
        except ConnectionClosed:
            pass  # the peer ended it; what was left undone is reported below
        finally:
            self.steps.close()
            self.outcome.steps_done = done
            if not exhausted:  # read the recording again for what was left: a report, not the run
                self.outcome.not_sent, self.outcome.not_sent_count = self.script.remaining_steps(self.side, last_seq)
            self.outcome.steps_total = done + self.outcome.not_sent_count
            if self._closing is not None:
                with contextlib.suppress(Exception):
                    await self._closing
            with contextlib.suppress(TimeoutError, ConnectionClosed):
                async with asyncio.timeout(self.timeout):
                    await self.ws.wait_closed()
            if not receiver.done():
                receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
            self.outcome.not_received, self.outcome.not_received_count = self.incoming.unused()
            self.incoming.expected.close()
            if self._own_tape:
                self.tape.close()
            self.outcome.pongs_withheld = self.pong_policy.withheld if self.pong_policy else 0
            self.outcome.close_code = self.ws.close_code
            self.outcome.close_reason = self.ws.close_reason
            self.outcome.closed_by = self._ending().closed_by
        return self.outcome

    def _requirement(self, step: Step) -> Position:
        """Where the other side must be before `step`. For the close this side started, that is
        everything the other side sent before the connection ended: frames recorded after the close
        were already in flight, and closing first would cut them off (the directions are compared
        separately, so waiting for them changes nothing else)."""
        if step.kind == "close":
            return self.tape.end_requires()[OTHER[self.direction]]
        return step.requires

    def _ending(self) -> ConnectionEnd:
        ws = self.ws
        return live_connection_end(self.side, ws.first_close, ws.close_sent, ws.protocol.close_rcvd)

    async def _receive(self) -> None:
        self.ws.deliver_to(self._take)
        try:
            await self.ws.wait_closed()
        finally:
            self.ws.deliver_to(None)
            self.incoming.end()

    def _take(self, message: str | bytes) -> None:
        if self.outcome.divergence is not None:
            return  # keep reading, so that the closing handshake is not stuck behind a full queue
        try:
            self.incoming.feed("text" if isinstance(message, str) else "binary", message)
        except Divergence as divergence:
            self._diverged(divergence)

    def _diverged(self, divergence: Divergence) -> None:
        if self.outcome.divergence is None:
            self.outcome.divergence = divergence
        self.incoming.fail(divergence)
        self._close_soon(divergence.code, divergence.reason)

    def _close_soon(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = asyncio.create_task(self.ws.close(code, reason))

    # -- steps -----------------------------------------------------------------------------------

    def _batch(self, step: Step) -> list[Step]:
        """`step` and the data frames right after it that may go at once: performed by this side,
        their requirements already met (nothing can arrive while a batch is written)."""
        batch = [step]
        incoming = self.incoming
        while len(batch) < _BATCH_FRAMES and incoming.failure is None:
            following = self.steps.peek_nearby(_READ_AHEAD)
            if (
                following is None
                or following.kind != "frame"
                or following.direction != self.direction
                or incoming.position < following.requires
            ):
                break
            self.steps.next()  # takes `following`
            batch.append(following)
        return batch

    async def _send_frames(self, steps: list[Step]) -> None:
        """Sends data frames, one frame each, written together."""
        ws = self.ws
        payloads = [self._payload(step) for step in steps]
        if self.direction == "s2c":
            for step, payload in zip(steps, payloads, strict=True):
                self._learn_ids(step, payload)
        await ws.writable()
        # A text frame that was not valid UTF-8 goes as the recorded bytes.
        ws.send_batch([(payload, step.opcode == "text") for step, payload in zip(steps, payloads, strict=True)])

    def _payload(self, step: Step) -> str | bytes:
        payload = step.payload
        if self.map_ids and isinstance(payload, str) and step.type != AUDIO_APPEND:
            payload = self._live_ids(payload)
        return payload

    def _learn_ids(self, step: Step, payload: str | bytes) -> None:
        """Learns the ids a server frame releases, before it is sent: the client's answers to it
        name them, and normalizing those needs them."""
        if isinstance(payload, str) and step.opcode == "text":
            event = parse_event(payload)
            if event is not None:
                self.ids.learn(event)

    async def _perform(self, step: Step) -> None:
        if step.kind == "frame":
            payload = self._payload(step)
            if self.direction == "s2c":
                self._learn_ids(step, payload)
            if step.opcode == "text" and isinstance(payload, bytes):
                await self.ws.send(payload, text=True)  # a text frame that was not valid UTF-8
            else:
                await self.ws.send(payload)
        elif step.kind == "ping":
            await self.ws.ping(step.control_payload)
        elif step.kind == "close":
            await self._close_first(step)

    def _live_ids(self, text: str) -> str:
        """The recorded frame with the recording's server ids replaced, in place, by the ids this
        server gave the same objects (by order of appearance); every other byte stays as recorded."""
        for recorded, live in self.tape.ids.renames(self.ids):
            if recorded in text:
                text = text.replace(f'"{recorded}"', f'"{live}"')
        return text

    async def _close_first(self, step: Step) -> None:
        ending = self.script.ending
        code = step.code if step.code is not None else 1000
        if code != 1005 and not _sendable(code):
            # A code no close frame may carry (1006 for a malformed close payload, 1015, a reserved
            # one): the recorded side saw a broken close, so the replay breaks the connection.
            transport: Any = self.ws.transport
            transport.abort()
        elif code == 1005:
            await self.ws.writable()
            self.ws.send_close(None)  # an empty close frame
        elif ending.failed:
            # The recorded closer did not wait for the closing handshake (e.g. a keepalive timeout).
            await self.ws.writable()
            self.ws.fail(code, step.reason)
        else:
            await self.ws.close(code, step.reason)

    # -- the ending ------------------------------------------------------------------------------

    async def _finish(self) -> None:
        ending = self.script.ending
        other = OTHER[self.direction]
        if not ending.recorded:
            await self.incoming.reach(self.tape.end_requires()[other], self.timeout)
            self.outcome.notes.append(
                f"the recording stops at seq {self.script.last_seq} without an ending; "
                f"closing with {TRUNCATED_CODE} {TRUNCATED_REASON}"
            )
            if self.side == "client":
                # Leave the close to a replaying server; close ourselves only if none does.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.timeout):
                        await self.ws.wait_closed()
            await self.ws.close(TRUNCATED_CODE, TRUNCATED_REASON)
            return
        if ending.closed_by == self.side:
            return  # the close was the last step; websockets completes the handshake
        if ending.closed_by is None and ending.dropped_by == self.side:
            await self.incoming.reach(self.tape.end_requires()[other], self.timeout)
            transport: Any = self.ws.transport
            transport.abort()  # TCP drop: no close frame
            return
        # The other side ends it: wait for its close (or its drop).
        await self.incoming.reach(self.tape.end_requires()[other], self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                await self.ws.wait_closed()
        except TimeoutError:
            expected = ending.describe()
            raise Divergence(
                other,
                self.incoming.position[0],
                f"waited {self.timeout:g} s for the recorded ending ({expected}); the {_OTHER_SIDE[self.side]} did not end it",
                code=TIMEOUT_CODE,
                reason=TIMEOUT_REASON,
            ) from None


def _sendable(code: int) -> bool:
    """Whether a close frame may carry `code` (websockets refuses to send any other)."""
    try:
        Close(code, "").check()
    except ProtocolError:
        return False
    return True
