"""The session commands a view can send an engine, by the engine method's name.

Every engine-like object says which of them it supports (`commands`): the live engine all of them; a
relay only `mark` (the relayed client drives its session); a replay none (it plays what was recorded).
A view offers only the keys of supported commands, rather than answering the others with a notice.
"""

from __future__ import annotations

SESSION_COMMANDS = frozenset(
    {"send_text", "create_response", "cancel_response", "set_talking", "toggle_turn_mode", "set_muted", "mark", "reconnect"}
)
