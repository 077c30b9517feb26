"""Constants of the recording format `rtui.session/1` (docs/recording-format.md is the prose)."""

from __future__ import annotations

from typing import Final

SCHEMA: Final = "rtui.session/1"
SCHEMA_PREFIX: Final = "rtui.session/"

C2S: Final = "c2s"
S2C: Final = "s2c"
LOCAL: Final = "local"
DIRECTIONS: Final = frozenset({C2S, S2C, LOCAL})

MODES: Final = frozenset({"live", "proxy", "replay", "mock"})

KINDS: Final = frozenset(
    {
        "handshake_request",
        "handshake_response",
        "frame",
        "ping",
        "pong",
        "close",
        "end",
        "error",
        "mark",
    }
)

# Close codes that never travel in a close frame; rtui reports them as websockets does.
NO_STATUS: Final = 1005
ABNORMAL: Final = 1006
