"""Causal gating, tested with a deliberately slow client that also cuts its audio differently: the
served recording releases each server frame only once the client frames (and audio bytes) recorded
before it have arrived, and the re-chunked audio still matches."""

from __future__ import annotations

import asyncio
import base64

import orjson
from websockets.asyncio.client import connect

from tests.replay_support import example
from tui.replay.normalize import append_audio, parse_event
from tui.replay.player import PongPolicy
from tui.replay.script import load_script
from tui.replay.serve import serve_recording

CHUNK = 3_000  # bytes: the recording used 1 920-byte (40 ms) appends


def needed(script, requires: tuple[int, int]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(client events other than audio, audio bytes) the client had sent when a frame was recorded."""
    index, offset = requires
    items = script.items["c2s"][:index]
    return sum(1 for i in items if i.kind != "audio"), sum(i.length for i in items if i.kind == "audio") + offset


async def test_a_slow_client_that_rechunks_its_audio_is_served_causally():
    script = load_script(example("voice-turn-barge-in"))
    client_steps = [s for s in script.steps if s.direction == "c2s" and s.kind == "frame"]
    server_steps = [s for s in script.steps if s.direction == "s2c" and s.kind == "frame"]
    sent = {"events": 0, "audio": 0}
    violations: list[str] = []
    received = 0

    async with serve_recording(script, timeout=5) as served:
        async with connect(served.url, proxy=None, max_size=None) as ws:

            async def receive() -> None:
                nonlocal received
                async for message in ws:
                    step = server_steps[received]
                    assert message == step.payload  # the exact recorded frame
                    need = needed(script, step.requires)
                    have = (sent["events"], sent["audio"])
                    if have[0] < need[0] or have[1] < need[1]:
                        violations.append(f"server seq {step.seq} released with {have}, recorded after {need}")
                    received += 1

            async def wait_for(count: int) -> None:
                while received < count:
                    await asyncio.sleep(0.005)

            async def send_audio(pcm: bytes) -> None:
                for offset in range(0, len(pcm), CHUNK):
                    chunk = pcm[offset : offset + CHUNK]
                    await asyncio.sleep(0.01)  # slow
                    sent["audio"] += len(chunk)
                    await ws.send(orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}).decode())

            reader = asyncio.create_task(receive())
            pending = b""
            for step in client_steps:
                need_server = step.requires[0]
                if received < need_server:
                    await send_audio(pending)  # send what we have before waiting, like a real client
                    pending = b""
                    await wait_for(need_server)
                event = parse_event(step.payload)
                audio = append_audio(event) if event else None
                if audio is not None:
                    pending += audio
                    continue
                await send_audio(pending)
                pending = b""
                await asyncio.sleep(0.05)  # slow to answer, too
                sent["events"] += 1
                await ws.send(step.payload)
            await send_audio(pending)
            await wait_for(len(server_steps))
            await ws.close(1000, "bye")
            await reader
        outcome = await served.next_outcome(5)

    assert violations == []
    assert received == len(server_steps)
    assert outcome.ok, outcome.divergence and outcome.divergence.report()
    assert outcome.not_received == [] and outcome.not_sent == []


async def test_a_client_that_sends_nothing_gets_no_frame_recorded_after_its_first_event():
    script = load_script(example("story6-commit-empty"))
    first_gated = next(s for s in script.steps if s.direction == "s2c" and s.requires != (0, 0))
    ungated = [s for s in script.steps if s.direction == "s2c" and s.kind == "frame" and s.seq < first_gated.seq]
    async with serve_recording(script, timeout=0.5) as served:
        async with connect(served.url, proxy=None) as ws:
            got = []
            try:
                async for message in ws:
                    got.append(message)
            except Exception:
                pass
    assert got == [s.payload for s in ungated]  # session.created only, then the timeout close
    assert ws.close_code == 4901


def test_pong_policy_answers_what_the_recording_answered():
    policy = PongPolicy([True, True, False, True])
    assert [policy.answer(i) for i in range(6)] == [True, True, False, False, False, False]
    assert all(PongPolicy([]).answer(i) for i in range(3))
    assert all(PongPolicy([True]).answer(i) for i in range(3))


def test_messages_reach_the_player_directly_and_in_order():
    from websockets.frames import Frame, Opcode

    from tui.replay.player import DirectDelivery

    class Queueing:  # stands in for the websockets connection: what it would queue for recv()
        def __init__(self) -> None:
            self.queued: list[Frame] = []

        def process_event(self, event: Frame) -> None:
            self.queued.append(event)

    class Connection(DirectDelivery, Queueing):
        pass

    got: list[str | bytes] = []
    connection = Connection()
    connection.process_event(Frame(Opcode.TEXT, b"early"))  # before the player listens: kept
    connection.deliver_to(got.append)
    connection.process_event(Frame(Opcode.BINARY, b"\x00\x01"))
    connection.process_event(Frame(Opcode.PING, b"p"))  # not a message: websockets handles it
    assert got == ["early", b"\x00\x01"] and [f.opcode for f in connection.queued] == [Opcode.PING]
    # A text frame that is not UTF-8 goes the ordinary way (recv() fails the connection with 1007),
    # and so does everything after it, so that the order holds.
    connection.process_event(Frame(Opcode.TEXT, b"\xff"))
    connection.process_event(Frame(Opcode.TEXT, b"later"))
    assert got == ["early", b"\x00\x01"] and [f.data for f in connection.queued[1:]] == [b"\xff", b"later"]
    # A fragmented message too.
    fragmented = Connection()
    fragmented.deliver_to(got.append)
    fragmented.process_event(Frame(Opcode.TEXT, b"par", fin=False))
    fragmented.process_event(Frame(Opcode.CONT, b"t"))
    assert len(fragmented.queued) == 2 and got == ["early", b"\x00\x01"]
