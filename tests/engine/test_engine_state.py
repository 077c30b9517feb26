"""The log buffer views drain: bounded, in order, and honest about what a slow view missed."""

from tui.engine.state import LogBuffer


def test_drains_in_order_and_in_batches():
    log = LogBuffer(capacity=10)
    for n in range(7):
        log.append(n)  # type: ignore[arg-type]
    first, cursor, skipped = log.since(0, limit=4)
    assert (first, cursor, skipped) == ([0, 1, 2, 3], 4, 0)
    rest, cursor, skipped = log.since(cursor)
    assert (rest, cursor, skipped) == ([4, 5, 6], 7, 0)
    assert log.since(cursor) == ([], 7, 0)


def test_a_view_that_falls_behind_is_told_what_it_missed():
    log = LogBuffer(capacity=5)
    for n in range(12):
        log.append(n)  # type: ignore[arg-type]
    entries, cursor, skipped = log.since(3)
    assert entries == [7, 8, 9, 10, 11] and cursor == 12 and skipped == 4
    assert log.total == 12
