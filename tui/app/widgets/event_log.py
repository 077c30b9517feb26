"""The event log: a virtualized, bounded list of rows with a cursor, a filter and follow mode.

Only visible lines are rendered (the Line API), the number of rows kept is capped, and rows arrive
in batches from the screen's refresh timer, never one message per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.log_model import LogRow, RowFilter, row_columns
from tui.app.widgets.columns import columns_for, direction_text, row_text, short_label

SHIFT_STEP = 10  # columns per Left / Right


class EventLog(ScrollView, can_focus=True):
    """Rows of the session's timeline; Enter inspects the row under the cursor."""

    COMPONENT_CLASSES = {
        "event-log--error",
        "event-log--warning",
        "event-log--note",
        "event-log--cursor",
        "event-log--c2s",
        "event-log--s2c",
        "event-log--local",
        "event-log--dim",
    }

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False, tooltip="the row above (stops following)", id="log.up"),
        Binding("down", "cursor_down", "Down", show=False, tooltip="the row below", id="log.down"),
        Binding("pageup", "page_up", "Page up", show=False, tooltip="a page up", id="log.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, tooltip="a page down", id="log.page_down"),
        Binding("home", "first", "First event", show=False, tooltip="the first event", id="log.first"),
        # Not in the footer (the session's keys need the room); the log bar and help screen say them.
        Binding("end,f", "follow", "Follow new events", show=False, id="log.follow"),
        Binding("enter", "inspect", "Inspect the frame", show=False, id="log.inspect"),
        Binding("right", "shift(1)", "Whole rows", show=False, tooltip="rows whole, then scroll sideways", id="log.right"),
        Binding("left", "shift(-1)", "Back", show=False, tooltip="scroll back, then fit the columns again", id="log.left"),
    ]

    follow: reactive[bool] = reactive(True)

    class Inspect(Message):
        """The user asked to see a row's whole frame."""

        def __init__(self, row: LogRow) -> None:
            super().__init__()
            self.row = row

    class FollowChanged(Message):
        def __init__(self, follow: bool) -> None:
            super().__init__()
            self.follow = follow

    def __init__(self, max_rows: int = 5_000, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.max_rows = max_rows
        self._rows: list[LogRow] = []
        self._visible: list[LogRow] = []
        self._filter = RowFilter()
        self._cursor = -1  # index in _visible; -1 when there are no rows
        self._scrolling_ourselves = False
        # Right presses: 0 fits the columns to the width; 1 shows each row whole (the type in full);
        # each one more scrolls those whole rows SHIFT_STEP columns further.
        self._shift = 0
        self._full_label: int | None = None  # the longest event type shown, while scrolled sideways

    # -- content -------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows kept (before filtering); never more than `max_rows`."""
        return len(self._rows)

    @property
    def visible_rows(self) -> list[LogRow]:
        return self._visible

    @property
    def row_filter(self) -> RowFilter:
        return self._filter

    @property
    def shift(self) -> int | None:
        """None when the columns fit the width; else how many columns the whole rows are scrolled."""
        return (self._shift - 1) * SHIFT_STEP if self._shift else None

    @property
    def cursor_row(self) -> LogRow | None:
        return self._visible[self._cursor] if 0 <= self._cursor < len(self._visible) else None

    def add_rows(self, rows: Iterable[LogRow], changed: bool = False) -> None:
        """Append a batch of rows (and redraw, if `changed` says an existing row grew)."""
        added = False
        for row in rows:
            self._rows.append(row)
            if self._filter.matches(row):
                self._visible.append(row)
            added = True
        if added or changed:
            self._full_label = None
        if added:
            self._prune()
            self._content_changed()
        elif changed:
            self.refresh()

    def set_filter(self, row_filter: RowFilter) -> None:
        keep = self.cursor_row
        self._filter = row_filter
        self._full_label = None
        self._visible = [row for row in self._rows if row_filter.matches(row)]
        if self.follow or keep is None or keep not in self._visible:
            self._cursor = len(self._visible) - 1
        else:
            self._cursor = self._visible.index(keep)
        self._content_changed()
        if not self.follow:
            self._show_cursor()

    def _prune(self) -> None:
        excess = len(self._rows) - self.max_rows
        if excess <= 0:
            return
        first_kept = self._rows[excess].index
        del self._rows[:excess]
        gone = 0
        while gone < len(self._visible) and self._visible[gone].index < first_kept:
            gone += 1
        if gone:
            del self._visible[:gone]
            self._cursor = max(self._cursor - gone, 0 if self._visible else -1)
            if not self.follow:
                # Keep the rows the user is reading where they are on screen.
                self._scroll_ourselves(max(self.scroll_y - gone, 0))

    def _content_changed(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible))
        if self.follow:
            self._cursor = len(self._visible) - 1
            self._scroll_ourselves(self.max_scroll_y_for(len(self._visible)))
        self.refresh()

    def max_scroll_y_for(self, rows: int) -> int:
        return max(0, rows - self.scrollable_content_region.height)

    def _scroll_ourselves(self, y: float) -> None:
        self._scrolling_ourselves = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True)
        finally:
            self._scrolling_ourselves = False

    # -- follow mode ---------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._scrolling_ourselves:
            return
        at_bottom = new_value >= self.max_scroll_y
        if new_value < old_value and not at_bottom:
            self.follow = False  # the user scrolled up to read
        elif new_value > old_value and at_bottom:
            self.follow = True  # and came back down

    def watch_follow(self, follow: bool) -> None:
        if follow and self._visible:
            self._cursor = len(self._visible) - 1
            self._scroll_ourselves(self.max_scroll_y_for(len(self._visible)))
            self.refresh()
        self.post_message(self.FollowChanged(follow))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible))
        if self.follow:
            self._scroll_ourselves(self.max_scroll_y_for(len(self._visible)))

    # -- cursor --------------------------------------------------------------------------------

    def _move_cursor(self, delta: int) -> None:
        if not self._visible:
            return
        self._cursor = min(max(self._cursor + delta, 0), len(self._visible) - 1)
        if self._cursor == len(self._visible) - 1 and delta > 0:
            self.follow = True
        else:
            self.follow = False
            self._show_cursor()
        self.refresh()

    def _show_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if self._cursor < self.scroll_y:
            self._scroll_ourselves(self._cursor)
        elif self._cursor >= self.scroll_y + height:
            self._scroll_ourselves(self._cursor - height + 1)

    def select_seq(self, seq: int) -> bool:
        """Puts the cursor on the row holding record `seq` (a run holds a range), clearing a filter
        that hides it; False when the row is no longer kept (the recording has it)."""
        row = next((row for row in self._rows if _first_seq(row) <= seq <= _last_seq(row)), None)
        if row is None:
            return False
        if row not in self._visible:
            self.set_filter(RowFilter())
        self.follow = False
        self._cursor = self._visible.index(row)
        self._show_cursor()
        self.refresh()
        return True

    def jump(self, step: int, wanted: Callable[[LogRow], bool]) -> bool:
        """Moves the cursor to the next (step 1) or previous (step -1) shown row that is `wanted`,
        and stops following; False when there is none that way."""
        start = self._cursor if self._cursor >= 0 else (len(self._visible) if step < 0 else -1)
        index = start + step
        while 0 <= index < len(self._visible):
            if wanted(self._visible[index]):
                self.follow = False
                self._cursor = index
                self._show_cursor()
                self.refresh()
                return True
            index += step
        return False

    def action_cursor_up(self) -> None:
        self._move_cursor(-1)

    def action_cursor_down(self) -> None:
        self._move_cursor(1)

    def action_page_up(self) -> None:
        self._move_cursor(-max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self._move_cursor(max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self._move_cursor(-len(self._visible))

    def action_shift(self, step: int) -> None:
        """Scrolls the rows sideways; scrolled, each row shows its type, size and summary whole."""
        region = self.scrollable_content_region.width
        longest = max((len(self._row_tail(row)) for row in self._visible), default=0)
        fixed = 2 + self._time_width() + 1 + 6
        most = 1 + -(-max(longest - (region - fixed), 0) // SHIFT_STEP)
        self._shift = min(max(self._shift + step, 0), most)
        self.refresh()

    def _label_of(self, row: LogRow) -> str:
        return row_columns(row.line)[3]

    def _row_tail(self, row: LogRow) -> str:
        if self._full_label is None:
            self._full_label = max((len(self._label_of(r)) for r in self._visible), default=0)
        _, _, _, label, size, summary = row_columns(row.line)
        return row_text(label, size, summary, self._full_label)

    def _time_width(self) -> int:
        """The time column fits the latest time kept (5 for "2.207"), the same on every row."""
        return max(len(row_columns(self._rows[-1].line)[1].strip()), 5) if self._rows else 5

    def action_follow(self) -> None:
        self.follow = True

    def action_inspect(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Inspect(row))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_y) + offset.y
        if 0 <= index < len(self._visible):
            self._cursor = index
            self.follow = False
            self.refresh()
            if event.chain >= 2:
                self.post_message(self.Inspect(self._visible[index]))

    # -- rendering -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_y) + y
        if not 0 <= index < len(self._visible):
            return Strip.blank(width, base)
        row = self._visible[index]
        style = base
        severity = row.line.severity
        if severity in ("error", "warning", "note"):
            style += self.get_component_rich_style(f"event-log--{severity}")
        if index == self._cursor and (self.has_focus or not self.follow):
            style += self.get_component_rich_style("event-log--cursor")
        marker, time, direction, label, size, summary = row_columns(row.line)
        direction_style = style
        if severity == "normal":
            direction_style = style + self.get_component_rich_style(f"event-log--{direction}", partial=True)
        dim = style + self.get_component_rich_style("event-log--dim", partial=True) if severity == "normal" else style
        time_width = self._time_width()
        if self._shift:  # whole rows: the rest of the row in full, scrolled sideways
            segments = [
                Segment(marker, style),
                Segment(f"{time.strip():>{time_width}} ", dim),
                Segment(f"{direction:<5} ", direction_style),
                Segment(self._row_tail(row)[(self._shift - 1) * SHIFT_STEP :], style),
            ]
            return Strip(segments).crop_extend(0, width, style)
        columns = columns_for(width, time_width)
        segments = [
            Segment(marker, style),
            Segment(f"{time.strip():>{time_width}} ", dim),
            Segment(f"{direction_text(direction, columns.direction)} ", direction_style),
            Segment(f"{short_label(label, columns.label)} ", style),
            Segment(f"{size:>8}{' ' * columns.size_gap}", dim),
            Segment(summary, style),
        ]
        return Strip(segments).crop_extend(0, width, style)


def _first_seq(row: LogRow) -> int:
    return row.record["seq"]


def _last_seq(row: LogRow) -> int:
    return (row.last_record or row.record)["seq"]
