"""The event log's column layout for a given width: the summary keeps at least 40 columns from 80
columns up, and every other column has one width on every row, so they line up whatever the event
type's length.

The event type gives way first: from 38 columns it narrows, and a type longer than its column is
abbreviated segment by segment from the right (`input_audio_buffer.append` reads `iab.append`,
`response.output_item.added` `response.oi.added`),
keeping the part that tells events apart (`append`, `commit`, `delta`), before anything is cut.
Below about 95 columns the direction shrinks to three letters (`loc` for local) and the size's gap to
one space. Scrolling the log sideways (`row_text`) shows each row whole.
"""

from __future__ import annotations

from dataclasses import dataclass

SUMMARY_MIN = 40
LABEL_MAX = 38
LABEL_MIN = 12
SIZE = 9  # "999.9 kB" and its gap


@dataclass(frozen=True)
class Columns:
    time: int  # the widest time shown (the latest), "2.207" to "12345.678"
    direction: int  # 5 ("local"), or 3 on a narrow screen
    label: int
    size_gap: int  # spaces between the size and the summary

    @property
    def summary_start(self) -> int:
        """Where the summary starts: marker (2), time, direction, label, size, each with its gap."""
        return 2 + self.time + 1 + self.direction + 1 + self.label + 1 + SIZE - 1 + self.size_gap


def columns_for(width: int, time_width: int) -> Columns:
    """The columns for a log `width` columns wide whose latest time is `time_width` characters."""
    wide = Columns(time_width, 5, LABEL_MAX, 2)
    room = width - (wide.summary_start - LABEL_MAX) - SUMMARY_MIN
    if room >= 30:
        return Columns(time_width, 5, min(room, LABEL_MAX), 2)
    narrow = Columns(time_width, 3, LABEL_MAX, 1)
    room = width - (narrow.summary_start - LABEL_MAX) - SUMMARY_MIN
    return Columns(time_width, 3, max(min(room, LABEL_MAX), LABEL_MIN), 1)


def direction_text(direction: str, width: int) -> str:
    return f"{direction[:width]:<{width}}"


def short_label(label: str, width: int) -> str:
    """`label` (an event type, maybe with a ` ×N` count) in exactly `width` columns."""
    if len(label) <= width:
        return f"{label:<{width}}"
    name, count = label, ""
    if " ×" in label:
        name, count = label.split(" ×", 1)
        count = f" ×{count}"
    segments = name.split(".")
    for index in reversed(range(len(segments) - 1)):  # the last segment (the verb) stays whole
        segments[index] = "".join(word[:1] for word in segments[index].split("_"))
        shortened = ".".join(segments) + count
        if len(shortened) <= width:
            return f"{shortened:<{width}}"
    shortened = ".".join(segments) + count
    return shortened[: width - 1] + "…"


def row_text(label: str, size: str, summary: str, label_width: int) -> str:
    """Type, size and summary in full, for a row scrolled sideways (`label_width` fits every type)."""
    return f"{label:<{label_width}} {size:>8}  {summary}"
