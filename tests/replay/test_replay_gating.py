"""Causal gating, tested with a deliberately slow client that also cuts its audio differently: the
served recording releases each server frame only once the client frames (and audio bytes) recorded
before it have arrived, and the re-chunked audio still matches."""

from __future__ import annotations

import asyncio
import base64

import orjson
from websockets.asyncio.client import connect

from tests.replay_support import example, recorded_items, recorded_steps
from tui.replay.normalize import append_text, decode_audio, parse_event
from tui.replay.player import PongPolicy
from tui.replay.script import load_script
from tui.replay.serve import serve_recording

CHUNK = 3_000  # bytes: the recording used 1 920-byte (40 ms) appends


def needed(script, requires: tuple[int, int]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(client events other than audio, audio bytes) the client had sent when a frame was recorded."""
    index, offset = requires
    items = recorded_items(script, "c2s")[:index]
    return sum(1 for i in items if i.kind != "audio"), sum(i.length for i in items if i.kind == "audio") + offset


async def test_a_slow_client_that_rechunks_its_audio_is_served_causally():
    script = load_script(example("voice-turn-barge-in"))
    client_steps = [s for s in recorded_steps(script) if s.direction == "c2s" and s.kind == "frame"]
    server_steps = [s for s in recorded_steps(script) if s.direction == "s2c" and s.kind == "frame"]
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
                    await ws.send(
                        orjson.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}).decode()
                    )

            reader = asyncio.create_task(receive())
            pending = b""
            for step in client_steps:
                need_server = step.requires[0]
                if received < need_server:
                    await send_audio(pending)  # send what we have before waiting, like a real client
                    pending = b""
                    await wait_for(need_server)
                event = parse_event(step.payload)
                audio = append_text(event) if event else None
                if audio is not None:
                    pending += decode_audio(audio)
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
    first_gated = next(s for s in recorded_steps(script) if s.direction == "s2c" and s.requires != (0, 0))
    ungated = [s for s in recorded_steps(script) if s.direction == "s2c" and s.kind == "frame" and s.seq < first_gated.seq]
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


async def test_messages_reach_the_player_directly_and_in_order():
    from websockets.frames import Frame, Opcode
    from websockets.protocol import State
    from websockets.server import ServerProtocol

    from tui.wire.pump import FramePump

    def wire(*frames: Frame) -> bytes:
        return b"".join(frame.serialize(mask=True, extensions=[]) for frame in frames)

    got: list[str | bytes] = []
    connection = FramePump(ServerProtocol(state=State.OPEN))  # fed by hand: no socket
    connection.data_received(wire(Frame(Opcode.TEXT, b"early")))  # before the player listens: kept
    connection.deliver_to(got.append)
    connection.data_received(wire(Frame(Opcode.BINARY, b"\x00\x01"), Frame(Opcode.PING, b"p")))
    assert got == ["early", b"\x00\x01"]  # a ping is not a message
    # A fragmented message arrives whole, in its place.
    connection.data_received(wire(Frame(Opcode.TEXT, b"par", fin=False), Frame(Opcode.CONT, b"t"), Frame(Opcode.TEXT, b"after")))
    assert got == ["early", b"\x00\x01", "part", "after"]
    # A text frame that is not UTF-8 fails the connection with 1007, as websockets' recv() does.
    connection.data_received(wire(Frame(Opcode.TEXT, b"\xff"), Frame(Opcode.TEXT, b"later")))
    assert got == ["early", b"\x00\x01", "part", "after"]
    assert connection.protocol.close_sent is not None and connection.protocol.close_sent.code == 1007


async def test_a_side_silent_for_a_long_stretch_does_not_make_the_replay_hold_the_stretch(tmp_path, monkeypatch):
    # The server says nothing while the client appends 3 000 chunks, then answers once: to find that
    # answer, the served side reads far ahead; what it passes on the way waits for the client's side,
    # which the tape must not queue whole.
    from tui.replay import player
    from tui.replay.full import full_replay
    from tui.replay.tape import Tape

    ms = 1_000_000
    chunk = base64.b64encode(bytes(range(48))).decode()
    records = [
        {
            "kind": "handshake_request",
            "dir": "c2s",
            "url": "ws://x/v1/realtime",
            "path": "/v1/realtime",
            "headers": [],
            "subprotocols": [],
        },
        {
            "kind": "handshake_response",
            "dir": "s2c",
            "status": 101,
            "reason": "Switching Protocols",
            "headers": [],
            "subprotocol": None,
            "extensions": [],
        },
        {"kind": "frame", "dir": "s2c", "opcode": "text", "text": '{"type":"session.created"}', "size": 26},
        *(
            {
                "kind": "frame",
                "dir": "c2s",
                "opcode": "text",
                "text": f'{{"type":"input_audio_buffer.append","audio":"{chunk}"}}',
                "size": 100,
            }
            for _ in range(3_000)
        ),
        {"kind": "frame", "dir": "s2c", "opcode": "text", "text": '{"type":"input_audio_buffer.committed"}', "size": 39},
        {"kind": "close", "dir": "c2s", "code": 1000, "reason": "", "by": "client", "first": True},
        {"kind": "close", "dir": "s2c", "code": 1000, "reason": "", "by": "server", "first": False},
        {
            "kind": "end",
            "dir": "local",
            "code": 1000,
            "reason": "",
            "closed_by": "client",
            "clean": True,
            "close_sent": {"code": 1000, "reason": ""},
            "close_rcvd": {"code": 1000, "reason": ""},
            "side": "client",
        },
    ]
    header = {
        "kind": "header",
        "schema": "rtui.session/1",
        "tool": "rtui",
        "version": "test",
        "started_at": "2026-11-22T00:00:00+00:00",
        "url": "ws://127.0.0.1:1/v1/realtime",
        "mode": "live",
        "redaction": [],
    }
    path = tmp_path / "silent-server.jsonl"
    path.write_bytes(
        b"\n".join(
            [orjson.dumps(header)]
            + [orjson.dumps({"seq": seq, "t_ns": seq * ms, "conn": 1, **record}) for seq, record in enumerate(records, 1)]
        )
        + b"\n"
    )

    peak = 0
    advance = Tape.advance

    def measured_advance(self: Tape) -> bool:
        nonlocal peak
        peak = max(peak, max((len(c.queue) for cs in self._subscribers.values() for c in cs), default=0))
        return advance(self)

    monkeypatch.setattr(Tape, "advance", measured_advance)
    monkeypatch.setattr(player, "_READ_AHEAD", 200)
    result = await full_replay(load_script(path), output=tmp_path / "replayed.jsonl", timeout=5)
    assert result.ok, result.report()
    assert peak <= 200 + 64  # the bound, and at most a batch more; without it, all 3 000 appends
