"""How a connection ended, from its records: one reading of the `end` record for replay, diff, the
close card and diagnose."""

from __future__ import annotations

from typing import Any

from websockets.frames import Close

from tui.wire.ending import connection_end, end_fields, live_connection_end


def end(**fields: Any) -> dict[str, Any]:
    record = {"seq": 9, "t_ns": 1, "conn": 1, "kind": "end", "dir": "local", "code": 1000, "reason": "", "clean": True}
    return {**record, **fields}


def test_the_closer_s_own_code_and_reason_come_from_the_frame_it_sent() -> None:
    # Recorded by the client, the server closed: its frame is the one the client received.
    server_closed = connection_end(
        end(
            side="client", closed_by="server", close_sent={"code": 1000, "reason": ""}, close_rcvd={"code": 4001, "reason": "bye"}
        )
    )
    assert (server_closed.how, server_closed.closed_by, server_closed.code, server_closed.reason) == (
        "close",
        "server",
        4001,
        "bye",
    )
    assert server_closed.clean and not server_closed.failed
    assert server_closed.describe() == 'server closed first with 4001 "bye"'
    # The client closed with 1009 and the server never answered: the transport ended 1006.
    unanswered = connection_end(
        end(
            side="client",
            closed_by="client",
            code=1006,
            clean=False,
            close_sent={"code": 1009, "reason": "too big"},
            close_rcvd=None,
            protocol_error="PayloadTooBig: over 1 MiB",
        )
    )
    assert (unanswered.code, unanswered.transport_code, unanswered.failed) == (1009, 1006, True)
    assert unanswered.protocol_error == "PayloadTooBig: over 1 MiB"
    assert unanswered.describe() == 'client closed first with 1009 "too big", not clean'


def test_the_recording_side_comes_from_the_record_or_else_from_the_caller() -> None:
    record = end(closed_by="client", close_sent={"code": 1000, "reason": "mine"}, close_rcvd={"code": 1000, "reason": "echo"})
    assert connection_end(record, side="client").reason == "mine"
    assert connection_end(record, side="server").reason == "echo"
    assert connection_end({**record, "side": "client"}, side="server").reason == "mine"


def test_without_a_close_frame_the_connection_was_dropped_and_who_dropped_it_is_told() -> None:
    by_server = connection_end(end(side="client", closed_by=None, code=1006, clean=False, close_sent=None, close_rcvd=None))
    assert (by_server.how, by_server.code, by_server.dropped_by, by_server.clean) == ("dropped", 1006, "server", False)
    assert by_server.describe() == "TCP connection dropped without a close frame (1006)"
    vanished = connection_end(end(side="server", closed_by=None, code=1006, clean=False, exception="ConnectionResetError: reset"))
    assert (vanished.dropped_by, vanished.exception) == ("client", "ConnectionResetError: reset")
    # A closed_by that names no side is no close frame either.
    assert connection_end(end(side="client", closed_by="nobody", code=1006)).how == "dropped"


def test_a_refused_handshake_and_a_recording_that_stops_first() -> None:
    refused = connection_end(end(code=1006, closed_by=None), status=401)
    assert (refused.how, refused.refused, refused.describe()) == ("refused", 401, "handshake refused with HTTP 401")
    still_open = connection_end(None, status=101)
    assert (still_open.how, still_open.recorded) == ("open", False)
    assert still_open.describe() == "not recorded (the recording stops before the connection ended)"


def test_the_first_close_record_tells_who_closed_even_when_the_recording_stops_before_the_end() -> None:
    close = {"seq": 5, "t_ns": 1, "conn": 1, "kind": "close", "dir": "s2c", "code": 4001, "reason": "idle", "by": "server"}
    cut_short = connection_end(None, first_close=close)
    assert (cut_short.how, cut_short.closed_by, cut_short.code, cut_short.reason, cut_short.recorded) == (
        "close",
        "server",
        4001,
        "idle",
        False,
    )
    # With its end, the close record's words stand and the end adds what only it knows.
    ended = connection_end(end(side="client", closed_by="server", exception="TimeoutError: late"), first_close=close)
    assert (ended.closed_by, ended.code, ended.reason, ended.clean) == ("server", 4001, "idle", True)
    assert ended.exception == "TimeoutError: late"


def test_a_live_connection_ends_with_the_meaning_its_end_record_will_have() -> None:
    mine, theirs = Close(1000, "done"), Close(1000, "")
    assert end_fields("client", "sent", mine, theirs) == {
        "code": 1000,
        "reason": "done",
        "closed_by": "client",
        "clean": True,
        "close_sent": {"code": 1000, "reason": "done"},
        "close_rcvd": {"code": 1000, "reason": ""},
        "side": "client",
    }
    # The relay's client leg (the relay is its server) heard the client close first.
    relayed = live_connection_end("server", "received", theirs, Close(4001, "bye"))
    assert (relayed.how, relayed.closed_by, relayed.code, relayed.reason) == ("close", "client", 4001, "bye")
    # Closed without an answer: the closer's code, though the transport ended 1006.
    unanswered = live_connection_end("client", "sent", Close(1011, "keepalive ping timeout"), None)
    assert (unanswered.closed_by, unanswered.code, unanswered.transport_code, unanswered.failed) == ("client", 1011, 1006, True)
    assert live_connection_end("server", None, None, None).how == "dropped"
