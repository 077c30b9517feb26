"""Reading the screen: the meters keep their width whatever note they show, and a user's mark reads
as a note, not as a warning (in the log and in `rtui show`)."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult

from tui.app.widgets.meters import LevelMeter
from tui.engine.state import Levels
from tui.protocol.summary import record_line
from tui.show.render import line_text


class Meters(App[None]):
    def compose(self) -> ComposeResult:
        for note in ("", "MUTED", "TALKING", "space to talk"):
            yield LevelMeter("mic  ", id=f"meter-{len(note)}")


async def test_the_meter_bar_keeps_its_width_whatever_the_note() -> None:
    app = Meters()
    async with app.run_test(size=(80, 10)) as pilot:
        notes = {"meter-0": "", "meter-5": "MUTED", "meter-7": "TALKING", "meter-13": "space to talk"}
        for meter in app.query(LevelMeter):
            meter.show(Levels(-20.0, -12.0), 1.0, notes[meter.id or ""], "tx 12fr 4.1k")
        await pilot.pause()
        bars = {meter.id: re.search(r"\[[^\]]*\]", meter.render().plain).group(0) for meter in app.query(LevelMeter)}
        assert len({len(bar) for bar in bars.values()}) == 1, bars
        traffic_columns = {meter.render().plain.index("tx 12fr") for meter in app.query(LevelMeter)}
        assert len(traffic_columns) == 1


def test_a_mark_is_a_note_not_a_warning() -> None:
    mark = {"seq": 7, "t_ns": 1_000_000, "conn": 0, "kind": "mark", "dir": "local", "note": "odd silence"}
    line = record_line(mark)
    assert line.severity == "note"
    shown = line_text(line)
    assert shown.startswith("* ") and "odd silence" in shown
