"""Frame-level recording of one connection, client or server side: `FrameTap`.

A `FrameTap` is the recording policy of a frame pump (tui.wire.pump): the pump tells it of every
frame that crossed the wire, in wire order, including the pongs and the close echo websockets sends
on its own, and of the handshake and the ending. Fragmented messages are reassembled into one record.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Literal

from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request, Response

from tui.wire.ending import end_fields
from tui.wire.format import ABNORMAL, C2S, LOCAL, S2C
from tui.wire.writer import SessionWriter

if TYPE_CHECKING:
    from tui.wire.pump import FramePump

Side = Literal["client", "server"]

_SIDE_OF = {C2S: "client", S2C: "server"}
_OPCODE_NAMES = {Opcode.TEXT: "text", Opcode.BINARY: "binary"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FrameTap:
    """Records one connection's frames into a session file under one `conn` id."""

    def __init__(self, writer: SessionWriter, conn: int, side: Side) -> None:
        self.writer = writer
        self.conn = conn
        self.side = side
        self.sent_dir = C2S if side == "client" else S2C
        self.received_dir = S2C if side == "client" else C2S
        self.first_close_dir: str | None = None
        self._fragments: dict[str, tuple[Opcode, list[bytes]]] = {}
        self._ended = False
        self.url = ""  # what the handshake request is recorded under (a server builds it from Host)
        self.request_fields: dict[str, Any] = {}  # context recorded with the request, such as `proxy`

    # -- the pump's listener (tui.wire.pump.FrameListener) -----------------------------------------

    def frame_received(self, frame: Frame) -> None:
        self.on_frame(self.received_dir, frame)

    def frame_sent(self, frame: Frame) -> None:
        self.on_frame(self.sent_dir, frame)

    def handshake_request(self, request: Request) -> None:
        url = self.url or f"ws://{request.headers.get('Host', '')}{request.path}"
        self.on_request(request, url, **self.request_fields)

    def handshake_response(self, response: Response) -> None:
        self.on_response(response)

    def ended(self, pump: FramePump, exc: BaseException | None) -> None:
        protocol = pump.protocol  # CLOSED by now: its close_exc says what the parser failed on, if anything
        self.on_end(pump.close_sent, protocol.close_rcvd, protocol.close_exc.__cause__, exc)

    # -- frames --------------------------------------------------------------------------------

    def on_frame(self, direction: str, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._data(direction, opcode, bytes(frame.data))
            else:
                self._fragments[direction] = (opcode, [bytes(frame.data)])
        elif opcode is Opcode.CONT:
            pending = self._fragments.get(direction)
            if pending is None:
                self.writer.error(self.conn, f"continuation frame without a message ({direction})")
                return
            pending[1].append(bytes(frame.data))
            if frame.fin:
                del self._fragments[direction]
                self._data(direction, pending[0], b"".join(pending[1]), fragments=len(pending[1]))
        elif opcode is Opcode.PING or opcode is Opcode.PONG:
            self.writer.record(opcode.name.lower(), direction, self.conn, data_b64=_b64(bytes(frame.data)))
        elif opcode is Opcode.CLOSE:
            self._close(direction, bytes(frame.data))

    def _data(self, direction: str, opcode: Opcode, data: bytes, **fields: Any) -> None:
        self.writer.frame(self.conn, direction, data, opcode=_OPCODE_NAMES[opcode], **fields)

    def _close(self, direction: str, data: bytes) -> None:
        first = self.first_close_dir is None
        if first:
            self.first_close_dir = direction
        fields: dict[str, Any] = {"by": _SIDE_OF[direction], "first": first}
        try:
            close = Close.parse(data)
            code, reason = close.code, close.reason
        except Exception as exc:  # a malformed close payload is evidence, not a crash
            code, reason = ABNORMAL, ""
            fields["invalid"] = str(exc)
            fields["data_b64"] = _b64(data)
        reason = self.writer.redactor.text(reason)[0]
        self.writer.record("close", direction, self.conn, code=code, reason=reason, **fields)

    # -- handshake -----------------------------------------------------------------------------

    def on_request(self, request: Request, url: str, **fields: Any) -> None:
        """Records the upgrade request; `fields` adds context such as the `proxy` it went through."""
        redactor = self.writer.redactor
        offered = [
            p.strip() for value in request.headers.get_all("Sec-WebSocket-Protocol") for p in value.split(",") if p.strip()
        ]
        self.writer.record(
            "handshake_request",
            C2S,
            self.conn,
            url=redactor.url(url),
            path=redactor.url(request.path),
            headers=redactor.headers(request.headers.raw_items()),
            subprotocols=redactor.subprotocols(offered),
            **fields,
        )

    def on_response(self, response: Response) -> None:
        redactor = self.writer.redactor
        fields: dict[str, Any] = {
            "status": response.status_code,
            "reason": response.reason_phrase,
            "headers": redactor.headers(response.headers.raw_items()),
            "subprotocol": redactor.subprotocol(response.headers.get("Sec-WebSocket-Protocol", "")) or None,
            "extensions": [e.strip() for v in response.headers.get_all("Sec-WebSocket-Extensions") for e in v.split(",")],
        }
        if response.body:
            fields["body"] = redactor.text(response.body.decode("utf-8", "replace"))[0]
        self.writer.record("handshake_response", S2C, self.conn, **fields)

    # -- end -----------------------------------------------------------------------------------

    def on_end(self, sent: Close | None, rcvd: Close | None, parser_exc: BaseException | None, exc: BaseException | None) -> None:
        """Records how the transport ended: the closing handshake (the closes really sent and
        received), or its absence (1006)."""
        if self._ended:
            return
        self._ended = True
        first_close = None if self.first_close_dir is None else "sent" if self.first_close_dir == self.sent_dir else "received"
        fields = end_fields(self.side, first_close, sent, rcvd)
        redact = self.writer.redactor.text
        fields["reason"] = redact(fields["reason"])[0]
        for close in (fields["close_sent"], fields["close_rcvd"]):
            if close is not None:
                close["reason"] = redact(close["reason"])[0]
        if exc is not None:
            fields["exception"] = self.writer.redactor.text(f"{type(exc).__name__}: {exc}")[0]
        if parser_exc is not None:
            fields["protocol_error"] = self.writer.redactor.text(f"{type(parser_exc).__name__}: {parser_exc}")[0]
        self.writer.record("end", LOCAL, self.conn, **fields)
