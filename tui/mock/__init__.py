"""The mock Realtime server: a stand-in that reproduces the GA API's documented behaviour.

from tui.mock import MockServer, MockConfig, CloseAfter

async with MockServer(MockConfig(realtime=False, faults=(CloseAfter(code=4001, after_frames=3),))) as server:
    url = server.url_for("gpt-realtime")   # ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime
"""

from tui.mock.config import BINARY_POLICIES, MockConfig
from tui.mock.faults import (
    CloseAfter,
    DelayFrames,
    DropConnection,
    FailTranscription,
    Fault,
    FaultSyntaxError,
    OversizedEvent,
    RejectHandshake,
    SendInvalidJson,
    StallFrames,
    WithholdPongs,
    parse_fault,
)
from tui.mock.server import MockServer
from tui.mock.session import Close, ConnectionSession, Drop, Handshake, MockSession, Send

__all__ = [
    "BINARY_POLICIES",
    "Close",
    "CloseAfter",
    "ConnectionSession",
    "DelayFrames",
    "Drop",
    "DropConnection",
    "FailTranscription",
    "Fault",
    "FaultSyntaxError",
    "Handshake",
    "SendInvalidJson",
    "MockConfig",
    "MockServer",
    "MockSession",
    "OversizedEvent",
    "RejectHandshake",
    "Send",
    "StallFrames",
    "WithholdPongs",
    "parse_fault",
]
