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

KINDS: Final = frozenset({"handshake_request", "handshake_response", "frame", "ping", "pong", "close", "end", "error", "mark"})

# The `error` record `rtui proxy` writes when it is stopped (Ctrl-C, SIGTERM, SIGHUP) with a session open,
# just before it drops both legs: diagnose tells that ending from a network's by it.
RELAY_STOPPED: Final = "rtui proxy was stopped with this session open: it dropped both legs"

# Close codes that never travel in a close frame; rtui reports them as websockets does.
NO_STATUS: Final = 1005
ABNORMAL: Final = 1006

# The longest stretch between two records a reader takes at face value (export's timeline, a replay
# at the recorded pace). rtui's client pings every 20 s, so a longer one is a pause between
# connections or a damaged or forged `t_ns`, and one such value must not make a reader wait or
# write for centuries.
MAX_GAP_S: Final = 300
MAX_GAP_NS: Final = MAX_GAP_S * 10**9
