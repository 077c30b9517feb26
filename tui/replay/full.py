"""Full replay (`rtui replay FILE --headless`): a recording's server side served on 127.0.0.1 and its
client side replayed against it, in one event loop; the side the original was recorded on is
recorded again (mode "replay") and compared with the original after normalization."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.replay.client import replay_client
from tui.replay.diff import Comparison, StreamComparison
from tui.replay.player import SideOutcome
from tui.replay.report import unused_lines
from tui.replay.script import Script, ScriptError
from tui.replay.serve import ServedRecording, serve_recording
from tui.replay.timing import PacingClock, Timing
from tui.wire.format import C2S, S2C
from tui.wire.writer import SessionWriter


@dataclass(repr=False)
class ReplayResult:
    script: Script
    recording: Path
    client: SideOutcome
    server: SideOutcome
    comparison: Comparison | None = None
    notes: list[str] = field(default_factory=list)
    recording_failed: bool = False  # the new recording is incomplete or was not compared: it cannot match

    def __repr__(self) -> str:
        return f"<ReplayResult {self.script.path} -> {self.recording}: {'ok' if self.ok else 'differs'}>"

    @property
    def ok(self) -> bool:
        return (
            self.client.ok
            and self.server.ok
            and not self.recording_failed
            and self.comparison is not None
            and self.comparison.same
        )

    def headline(self) -> str:
        """The verdict in one line: MATCH, or where the replay first differed from the recording."""
        if self.ok:
            return "MATCH: the replay reproduces the recording"
        for outcome in (self.client, self.server):
            if outcome.divergence is not None:
                return f"MISMATCH: {outcome.side} side: {outcome.divergence.report().splitlines()[0]}"
        if self.comparison is not None:
            differing = [title for title, same, _ in self.comparison.sections if not same]
            if differing:
                return f"MISMATCH: the new recording differs from the original in: {', '.join(differing)}"
        problem = self.notes[-1] if self.recording_failed and self.notes else "the replay did not complete"
        return f"MISMATCH: {problem}"

    def report(self) -> str:
        lines = [f"replayed {self.script.describe()}", f"new recording: {self.recording}"]
        for problem in self.script.problems:
            lines.append(f"recording problem: {problem}")
        if self.script.truncated:
            lines.append(
                f"the recording was cut off mid-write; replayed up to its last complete record (seq {self.script.last_seq})"
            )
        lines.extend(self.notes)
        for outcome in (self.server, self.client):
            lines.extend(f"{outcome.side}: {note}" for note in outcome.notes)
            if outcome.pongs_withheld:
                lines.append(f"{outcome.side}: withheld {outcome.pongs_withheld} pong(s), as recorded")
            if outcome.divergence is not None:
                lines.append(f"{outcome.side} side: {outcome.divergence.report()}")
                lines.append(f"{outcome.side} side: {outcome.ending()}")
            lines.extend(
                unused_lines(
                    f"recorded frames the {outcome.side} never received", outcome.not_received, outcome.not_received_count
                )
            )
            if outcome.not_sent:
                lines.append(f"recorded steps the {outcome.side} never performed: {outcome.not_sent_count}")
                for step in outcome.not_sent[:20]:
                    lines.append(f"  seq {step.seq} {step.direction} {step.kind}")
        if self.comparison is not None:
            lines.append(self.comparison.report())
        lines.append(
            "MATCH: the replay reproduces the recording" if self.ok else "MISMATCH: the replay differs from the recording"
        )
        return "\n".join(lines)


async def full_replay(
    script: Script,
    *,
    directory: str | os.PathLike[str] = "sessions",
    output: str | os.PathLike[str] | None = None,
    timing: Timing = Timing(),
    timeout: float = 10.0,
    clock: PacingClock | None = None,
    listeners: Sequence[Callable[[dict[str, Any]], None]] = (),
    on_recording: Callable[[Path], None] | None = None,
) -> ReplayResult:
    """Replays both sides of `script` against each other and compares the new recording.

    `listeners` see every record of the new recording as it is written (the TUI's view of it);
    `on_recording` is told where that recording is, before its first record.

    The recording is read once, as it is played: one tape feeds both sides and the comparison, which
    checks each record of the new recording as it is written instead of reading the file again.
    """
    tape = script.open(("steps", C2S), ("entries", S2C), ("steps", S2C), ("entries", C2S), ("entries", C2S), ("entries", S2C))
    comparison = StreamComparison(script, tape)
    try:
        async with serve_recording(script, timing=timing, timeout=timeout, clock=clock) as served:
            writer = (
                SessionWriter(output, mode="replay", url=served.url)
                if output is not None
                else SessionWriter.create(directory, mode="replay", url=served.url)
            )
            assert writer.path is not None  # a file: the one named or a new one in the directory
            if on_recording is not None:
                on_recording(writer.path)
            writer.write_each_turn()  # one write per event-loop turn: the replay sends and records in bursts
            writer.add_listener(comparison.add)
            for listener in listeners:
                writer.add_listener(listener)
            served.tape = tape
            with writer:
                if script.side == "server":
                    served.writer = writer
                client = await replay_client(
                    script,
                    served.url,
                    timing=timing,
                    timeout=timeout,
                    clock=clock,
                    writer=writer if script.side == "client" else None,
                    tape=tape,
                )
                server = await _server_outcome(served, script, timeout)
        tape.close_unclaimed()  # a side that never connected (a refused handshake)
        result = ReplayResult(script, writer.path, client, server, notes=[f"recorded on the {script.side} side, as the original"])
        if writer.failure is not None:
            reason = writer.failure.strerror or writer.failure
            result.notes.append(f"the new recording could not be written completely: {reason}")
            result.recording_failed = True
        if comparison.error is not None:
            result.notes.append(f"the comparison failed: {comparison.error!r}")
            result.recording_failed = True
        try:
            result.comparison = comparison.finish(comparison.b_script(writer.path, writer.header))
        except ScriptError:
            result.notes.append("the new recording holds no connection to compare")
    finally:
        tape.close()
    return result


async def _server_outcome(served: ServedRecording, script: Script, timeout: float) -> SideOutcome:
    if script.status not in (None, 101):
        outcome = SideOutcome("server")
        outcome.notes.append(f"refused the handshake with {script.status}, as recorded")
        return outcome
    try:
        return await served.next_outcome(timeout * 2)
    except TimeoutError:
        outcome = SideOutcome("server")
        outcome.notes.append("no connection reached the server")
        return outcome
