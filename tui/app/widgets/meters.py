"""VU meters for the microphone and the model's audio: dBFS bar, held peak, clip light."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.app.present import PeakHold, dbfs_text, meter_cells
from tui.engine.state import Levels

MIN_BAR = 10
TRAFFIC_WIDTH = 17  # "tx 180000fr 99.9M": an hour of 20 ms chunks
FLAGS_WIDTH = len(" space to talk")  # the longest note: the bar keeps its length whatever note it shows


class LevelMeter(Widget):
    """One line: `mic   [####....:..|.]  -23.4 dBFS pk -12.0 CLIP`."""

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self._levels = Levels()
        self._hold = PeakHold()
        self._now = 0.0
        self._note = ""
        self._traffic = ""
        self._drawn: tuple[object, ...] = ()

    @property
    def clipping(self) -> bool:
        return self._hold.clipping(self._now)

    def show(self, levels: Levels, now: float, note: str = "", traffic: str = "") -> None:
        self._levels = Levels(levels.rms_dbfs, levels.peak_dbfs, levels.clipped)
        self._now = now
        self._note = note
        self._traffic = traffic
        self._hold.update(levels.peak_dbfs, levels.clipped, now)
        drawn = (round(levels.rms_dbfs, 1), round(self._hold.value, 1), self.clipping, note, traffic, self.size.width)
        if drawn != self._drawn:
            self._drawn = drawn
            self.refresh()

    def describe(self, *lines: str) -> None:
        """The meter's tooltip: the device behind it, and how the audio engine is scheduled."""
        tooltip = "\n".join(line for line in lines if line) or None
        if tooltip != self.tooltip:
            self.tooltip = tooltip

    def render(self) -> Text:
        readout = f" {dbfs_text(self._levels.rms_dbfs)} dBFS pk {dbfs_text(self._hold.value)}"
        flags = (" CLIP" if self.clipping else "") + (f" {self._note}" if self._note else "")
        # Fixed-width flag and traffic columns keep both meters' bars the same length, whatever
        # note or count they show.
        padding = " " * max(FLAGS_WIDTH - len(flags), 0)
        traffic = f"  {self._traffic:<{TRAFFIC_WIDTH}}" if self._traffic else ""
        fixed = len(self.label) + 4 + len(readout) + len(flags) + len(padding) + len(traffic)
        bar = meter_cells(self._levels.rms_dbfs, self._hold.value, max(self.size.width - fixed, MIN_BAR))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.label} ", style="bold")
        text.append(f"[{bar}]")
        text.append(readout)
        if self.clipping:
            text.append(" CLIP", style="bold reverse")
        if self._note:
            text.append(f" {self._note}", style="bold")
        text.append(padding + traffic)
        return text
