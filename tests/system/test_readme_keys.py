"""The README's key table and the keys rtui offers agree: every key of the live screen, its event log,
an opened recording and the app is in the table, and every key in the table is one of them."""

from __future__ import annotations

import re
from pathlib import Path

from app_support import FrozenEngine
from tui.app.app import RtuiApp
from tui.app.screens.live import LiveScreen
from tui.app.screens.recording import RecordingScreen
from tui.app.widgets.event_log import EventLog

README = Path(__file__).resolve().parents[2] / "README.md"
PALETTE = "Ctrl+P"  # Textual's command palette: no binding of rtui's own


def documented_keys() -> set[str]:
    text = README.read_text()
    table = text[text.index("| key | what it does |") :].split("\n\n", 1)[0]
    keys: set[str] = set()
    for row in table.splitlines()[2:]:
        keys |= set(re.findall(r"`([^`]+)`", row.split("|")[1]))
    return keys


async def test_every_key_is_in_the_readme_and_every_readme_key_exists() -> None:
    app = RtuiApp(FrozenEngine())  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)):
        offered = {
            app.get_key_display(type(binding)(key.strip(), ""))
            for node in (LiveScreen, EventLog, RecordingScreen, RtuiApp)
            for binding in node.BINDINGS
            if not isinstance(binding, tuple)
            for key in binding.key.split(",")
        }
    documented = documented_keys()
    assert offered - documented == set(), "keys missing from the README's table"
    assert documented - offered - {PALETTE} == set(), "keys in the README's table that rtui does not offer"
