"""Everything the mock server can be told, in one typed settings object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tui.mock.audio_formats import VoiceClip, default_voice
from tui.mock.faults import Fault

BinaryPolicy = Literal["close", "error", "ignore"]
BINARY_POLICIES: tuple[str, ...] = ("close", "error", "ignore")


@dataclass(frozen=True)
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port (`MockServer.port` says which)
    require_key: str | None = None  # None accepts any key (or none)
    session_max: float = 3600.0  # seconds until `session_expired` and close 1001
    binary_policy: BinaryPolicy = "close"  # close 1000 "" | error event | ignore
    realtime: bool = True  # pace response audio in real time; False sends it as fast as possible
    delta_ms: int = 100  # response audio per `response.output_audio.delta`
    seed: str | int = 0  # ids are derived from it, per connection, so sessions are reproducible
    faults: tuple[Fault, ...] = ()
    record_dir: Path | None = None  # one rtui.session/1 file per connection, when set
    voice: VoiceClip = field(default_factory=default_voice)
    ping_interval: float | None = None  # the mock does not ping clients unless told to
    max_message_size: int = 32 * 1024 * 1024  # an append may carry 15 MiB of audio (20 MiB of base64)
    key_lifetime: float | None = None  # seconds each minted ek_ key lives, whatever the request asks (0: expired at once)
    key_dir: Path | None = None  # minted keys shared by the processes of `--workers` (set by them)
    mcp_tools: tuple[str, ...] = ("search", "fetch")  # what an MCP server without `allowed_tools` lists
