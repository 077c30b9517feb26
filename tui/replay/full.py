"""Full replay (`rtui replay FILE --headless`): a recording's server side served on 127.0.0.1 and its
client side replayed against it, in one event loop; the side the original was recorded on is
recorded again (mode "replay") and compared with the original after normalization."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.replay.client import replay_client
from tui.replay.diff import Comparison, compare
from tui.replay.player import Outcome
from tui.replay.report import unused_lines
from tui.replay.script import Script, ScriptError, load_script
from tui.replay.serve import ServedRecording, serve_recording
from tui.replay.timing import Clock, Timing
from tui.wire.writer import SessionWriter


@dataclass(repr=False)
class ReplayResult:
    script: Script
    recording: Path
    client: Outcome
    server: Outcome
    comparison: Comparison | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<ReplayResult {self.script.path} -> {self.recording}: {'ok' if self.ok else 'differs'}>"

    @property
    def ok(self) -> bool:
        return self.client.ok and self.server.ok and self.comparison is not None and self.comparison.same

    def report(self) -> str:
        lines = [f"replayed {self.script.describe()}", f"new recording: {self.recording}"]
        for problem in self.script.problems:
            lines.append(f"recording problem: {problem}")
        if self.script.truncated:
            lines.append(f"the recording was cut off mid-write; replayed up to its last complete record (seq {self.script.last_seq})")
        lines.extend(self.notes)
        for outcome in (self.server, self.client):
            lines.extend(f"{outcome.side}: {note}" for note in outcome.notes)
            if outcome.pongs_withheld:
                lines.append(f"{outcome.side}: withheld {outcome.pongs_withheld} pong(s), as recorded")
            if outcome.divergence is not None:
                lines.append(f"{outcome.side} side: {outcome.divergence.report()}")
                lines.append(f"{outcome.side} side: {outcome.ending()}")
            lines.extend(unused_lines(f"recorded frames the {outcome.side} never received", outcome.not_received))
            if outcome.not_sent:
                lines.append(f"recorded steps the {outcome.side} never performed: {len(outcome.not_sent)}")
                for step in outcome.not_sent[:20]:
                    lines.append(f"  seq {step.seq} {step.direction} {step.kind}")
        if self.comparison is not None:
            lines.append(self.comparison.report())
        lines.append("MATCH: the replay reproduces the recording" if self.ok else "MISMATCH: the replay differs from the recording")
        return "\n".join(lines)


async def full_replay(
    script: Script,
    *,
    directory: str | os.PathLike[str] = "sessions",
    output: str | os.PathLike[str] | None = None,
    timing: Timing = Timing(),
    timeout: float = 10.0,
    clock: Clock | None = None,
    listeners: Sequence[Callable[[dict[str, Any]], None]] = (),
) -> ReplayResult:
    """Replays both sides of `script` against each other and compares the new recording.

    `listeners` see every record of the new recording as it is written (the TUI's view of it).
    """
    async with serve_recording(script, timing=timing, timeout=timeout, clock=clock) as served:
        writer = (
            SessionWriter(output, mode="replay", url=served.url)
            if output is not None
            else SessionWriter.create(directory, mode="replay", url=served.url)
        )
        for listener in listeners:
            writer.add_listener(listener)
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
            )
            server = await _server_outcome(served, script, timeout)
    result = ReplayResult(script, writer.path, client, server, notes=[f"recorded on the {script.side} side, as the original"])
    try:
        result.comparison = compare(script, load_script(writer.path))
    except ScriptError:
        result.notes.append("the new recording holds no connection to compare")
    return result


async def _server_outcome(served: ServedRecording, script: Script, timeout: float) -> Outcome:
    if script.status not in (None, 101):
        outcome = Outcome("server")
        outcome.notes.append(f"refused the handshake with {script.status}, as recorded")
        return outcome
    try:
        return await served.next_outcome(timeout * 2)
    except asyncio.TimeoutError:
        outcome = Outcome("server")
        outcome.notes.append("no connection reached the server")
        return outcome

