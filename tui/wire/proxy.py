"""The recording relay behind `rtui proxy`: a transparent WebSocket frame pump between any client and
the Realtime API (or the mock), recording both legs into one session file.

How it stays faithful, and where `websockets` sets the limits:

- Frames, not messages. Each leg is a frame pump (tui.wire.pump) whose relay policy hands every
  parsed frame to the relay once the recording saw it: text, binary and continuation frames are sent
  on to the other leg with the same opcode, the same bytes and the same FIN bit, so fragmentation and
  invalid UTF-8 pass through untouched; nothing is queued as a message.
- Pings and pongs are forwarded, never answered by the relay (the pumps withhold every automatic
  pong): the client's ping reaches upstream and upstream's pong comes back (and the other way
  round). Neither leg runs a keepalive of its own.
- Closes are forwarded with the exact close payload (code and reason, or none), and so is the
  answer: `websockets` echoes a close frame at once, so the pump holds that echo (and frames the
  other side still sends go on before it) until the far end of the other leg answers, then sends
  that answer, whatever its code, in its place. Both ends closing at once each get the other's
  close, as on a direct connection. A far end that never answers within `close_timeout` is dropped,
  and so is the other leg. A far end that drops TCP without a close frame makes the relay abort the
  other leg (that side sees a dropped connection, 1006, too).
- A message may be up to `max_size` bytes (16 MiB by default: one `input_audio_buffer.append` may
  carry 15 MiB of audio). A bigger one is refused as its first frame header arrives, before its
  payload is read: that leg is closed with 1009 (message too big) and the other leg gets the same
  close, so memory per frame stays bounded. No permessage-deflate on either leg: the relay declines
  compression when a client offers it, so the bytes on both legs are the message bytes.
- Masking keys are the relay's own on the upstream leg (RFC 6455 requires a fresh key per frame).

Who may connect is checked before anything else: a `Host` that is not the relay's own address (DNS
rebinding) gets 421, a browser page from another site (an `Origin` other than this machine's or an
allowed one) gets 403, a wrong or missing `--token` 401/403. Only then is the session's recording
created, so connections that are refused leave one line on the log and no file.

The upstream handshake happens inside the client's handshake: the client gets upstream's subprotocol
and headers, or upstream's refusal status and body. When the client sent no key, the relay adds one
from the environment, so a device never holds it; keys and the access token never reach the file.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from websockets.exceptions import InvalidStatus
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from tui.audio.realtime import leave_realtime
from tui.wire.client import ConnectOptions, RecordingClientConnection, is_azure, is_loopback_host, open_connection
from tui.wire.ending import live_connection_end
from tui.wire.format import RELAY_STOPPED
from tui.wire.pump import FramePump
from tui.wire.redact import Redactor
from tui.wire.server import Server, ServerConnection, serve
from tui.wire.tap import FrameTap
from tui.wire.writer import DEFAULT_DIRECTORY, RecordingFailed, SessionWriter

log = logging.getLogger("rtui.proxy")

DATA_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)

# Request headers that belong to one hop's handshake and are rebuilt for the upstream leg.
HOP_HEADERS = frozenset(
    {
        "host",
        "connection",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
    }
)
# Response headers from upstream that the relay's own handshake response already carries.
OWN_RESPONSE_HEADERS = HOP_HEADERS | {"date", "server"}
KEY_HEADERS = frozenset({"authorization", "api-key"})
TOKEN_PARAM = "token"
# Each relayed session has its own file: the client's leg is conn 1, the upstream leg conn 2 (the
# header's `relay` object says so, for readers such as diagnose).
CLIENT_CONN, UPSTREAM_CONN = 1, 2
# One input_audio_buffer.append may carry 15 MiB of audio; the clients rtui makes accept 16 MiB too.
DEFAULT_MAX_SIZE = 16 * 2**20
# How long records may wait in memory before they are written: the recordings of all sessions are
# written in one pass this often, on a worker thread, instead of one write per record on the loop.
FLUSH_INTERVAL_S = 0.05
# Names under which this machine reaches a loopback relay (the Host check's and the Origin check's).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class ProxyConfigError(ValueError):
    """The relay cannot start with these settings; the message says what to change."""


def upstream_key(url: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """The header name and key the relay adds for `url` when the client sent none (an OpenAI key
    never goes to an Azure host, nor an Azure key to OpenAI)."""
    if is_azure(url):
        return ("api-key", env["AZURE_OPENAI_API_KEY"]) if env.get("AZURE_OPENAI_API_KEY") else None
    if env.get("OPENAI_API_KEY"):
        return "Authorization", env["OPENAI_API_KEY"]
    return None


def _query_name(piece: str) -> str:
    return unquote_plus(piece.partition("=")[0])


def upstream_url(upstream: str, client_path: str) -> str:
    """`upstream` with the client's query string merged in, byte for byte: the client's parameters
    win over upstream's of the same name, and the relay's own `token` is dropped."""
    parts = urlsplit(upstream)
    client = [p for p in urlsplit(client_path).query.split("&") if p and _query_name(p) != TOKEN_PARAM]
    names = {_query_name(p) for p in client}
    kept = [p for p in parts.query.split("&") if p and _query_name(p) not in names]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept + client), ""))


def client_token(path: str) -> str | None:
    for name, value in parse_qsl(urlsplit(path).query, keep_blank_values=True):
        if name == TOKEN_PARAM:
            return value
    return None


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a browser page from `origin` may use the relay: a page served from this machine
    (http:// or https:// on localhost, 127.0.0.1 or [::1], any port) or one of `allowed`."""
    key = _origin_key(origin)
    if key in {_origin_key(a) for a in allowed}:
        return True
    parts = urlsplit(key)
    try:
        _ = parts.port  # a malformed port raises
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and "@" not in parts.netloc
        and not parts.path
        and not parts.query
        and parts.hostname in LOOPBACK_NAMES
    )


def host_allowed(host: str | None, listen_host: str, port: int, allowed: Iterable[str] = ()) -> bool:
    """Whether a request's `Host` names this relay: its listening address or a loopback name (or one
    of `allowed`), with its port when one is given. A page whose own name was re-pointed at
    127.0.0.1 (DNS rebinding) sends its own name, and is refused."""
    if not host:
        return False
    parts = urlsplit("//" + host.strip())
    try:
        given_port = parts.port
    except ValueError:
        return False
    if given_port is not None and given_port != port:
        return False
    name = parts.hostname or ""
    return name in LOOPBACK_NAMES or name == listen_host.lower() or name in {a.lower() for a in allowed}


def _as_argument(value: str, placeholder: str) -> str:
    """`value` to suggest on a command line, or `placeholder` when it came from the wire with
    characters a terminal or a shell would act on."""
    ok = value and value.isascii() and value.isprintable() and not any(c in value for c in " '\"\\$`;&|<>()")
    return value if ok else placeholder


def check_origin_option(origin: str) -> None:
    """An `--allow-origin` value is an origin as browsers send it: scheme://host[:port], or null."""
    if origin == "null":
        return
    parts = urlsplit(origin)
    try:
        _ = parts.port  # a malformed port raises
        valid = bool(parts.scheme and parts.hostname) and parts.path in ("", "/") and not parts.query
    except ValueError:
        valid = False
    if not valid or "@" in parts.netloc:
        raise ProxyConfigError(
            f"--allow-origin expects an origin such as https://app.example.com or http://192.168.1.20:3000, not {origin!r}"
        )


@dataclass
class RelayConfig:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 0
    # A directory for one new file per session, or (record_to_directory=False) the file for the
    # first session, later ones getting -2, -3, ... suffixes.
    record: Path = DEFAULT_DIRECTORY
    record_to_directory: bool = True
    token: str | None = None
    allow_remote: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    open_timeout: float = 10.0
    close_timeout: float = 10.0
    # Browser pages from these origins may connect, besides this machine's (see origin_allowed).
    allowed_origins: Sequence[str] = ()
    # Host header names accepted besides the listening address and loopback names (see host_allowed).
    allowed_hosts: Sequence[str] = ()
    # The largest message either leg accepts; a bigger one closes both legs with 1009.
    max_size: int = DEFAULT_MAX_SIZE

    def check(self) -> None:
        scheme = urlsplit(self.upstream).scheme
        if scheme not in ("ws", "wss"):
            raise ProxyConfigError(
                f"--upstream must be a ws:// or wss:// URL, not {self.upstream!r} "
                "(for example wss://api.openai.com/v1/realtime?model=gpt-realtime)"
            )
        if not self.allow_remote and not is_loopback_host(self.host):
            raise ProxyConfigError(
                f"refusing to listen on {self.host}: only loopback addresses are allowed without --allow-remote"
            )
        if self.allow_remote and not self.token:
            raise ProxyConfigError("--allow-remote needs --token TOKEN; clients then connect with ?token=TOKEN")
        if self.token is not None and len(self.token) < 8:
            raise ProxyConfigError("--token must be at least 8 characters long")
        for origin in self.allowed_origins:
            check_origin_option(origin)
        if self.max_size < 1:
            raise ProxyConfigError("--max-size must be at least 1 (MiB)")
        # Sessions are recorded as clients arrive; find out now, not then, that the place is unusable.
        directory = Path(self.record) if self.record_to_directory else Path(self.record).parent
        blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise ProxyConfigError(
                f"cannot record to {self.record}: {blocker} is a file, not a directory; choose another --record"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProxyConfigError(f"cannot record to {self.record}: {exc.strerror}; choose another --record") from None
        if not os.access(directory, os.W_OK):
            raise ProxyConfigError(f"cannot record to {self.record}: {directory} is not writable; choose another --record")


def _no_pong(data: bytes) -> bool:
    return False


class _Leg(FramePump):
    """What both legs of a relayed session share: every frame received goes to `peer` (the pump's
    relay policies: `relay_to`, no automatic pong, a close's echo held for the other side's answer).
    It comes first in each leg's bases, so its overrides wrap the leg's own connection class."""

    def _init_leg(self: Any, name: str) -> None:
        self.leg_name = name
        self.peer: _Leg | None = None
        self.session: RelaySession | None = None
        self._held: list[Frame] = []  # frames for this leg that came before its handshake ended
        # The close this leg sent when it failed (a message over max_size: 1009): the other leg gets it too.
        self.failed_close: Close | None = None
        self.answer_ping = _no_pong  # no automatic pong: the far end of the other leg answers
        self.relay_to = self._forward
        self.hold_close_echo = self._peer_can_answer
        self.on_failed = self._forward_failure

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)  # the tap records the end here
        self._leg_lost()

    def pause_writing(self) -> None:
        super().pause_writing()
        self._pause_peer()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._resume_peer()

    def _peer_can_answer(self: Any) -> bool:
        peer = self.peer
        return peer is not None and peer.state in (State.OPEN, State.CONNECTING)

    def _forward_failure(self: Any, close: Close) -> None:
        self.failed_close = close
        self._forward(Frame(Opcode.CLOSE, close.serialize()))

    def _forward(self: Any, frame: Frame) -> None:
        if self.peer is not None:
            self.peer.deliver(frame)

    def deliver(self: Any, frame: Frame) -> None:
        """Sends a frame received on the other leg to this leg's far end, in order."""
        if self.state is State.CONNECTING or self._held:
            self._held.append(frame)
            if self.state is not State.CONNECTING:
                self.flush_held()
            return
        self._send(frame)

    def flush_held(self: Any) -> None:
        if self._held and self.state is not State.CONNECTING:
            held, self._held = self._held, []
            for item in held:
                self._send(item)

    def _send(self: Any, frame: Frame) -> None:
        state = self.state
        if frame.opcode is Opcode.CLOSE:
            if self.holds_close:
                self.answer_close(frame.data)  # the other side's answer is this leg's reply
            elif state is State.OPEN:
                close = Close.parse(frame.data)
                # An empty close payload stays empty (send_close(None)); any other is re-serialized
                # to the same bytes.
                self.send_close(None if not frame.data else close.code, close.reason)
        elif state is State.CLOSED or (frame.opcode in DATA_OPCODES and state is not State.OPEN and not self.holds_close):
            self._dropped(frame)
        else:
            self.relay(frame)

    def _dropped(self: Any, frame: Frame) -> None:
        if self.session is not None:
            self.session.writer.error(
                self.session.conn_of(self),
                f"relay: dropped a {frame.opcode.name.lower()} frame of {len(frame.data)} bytes for the "
                f"{self.leg_name}: that connection is already {self.state.name.lower()}",
            )

    def _leg_lost(self: Any) -> None:
        """After the pump's connection_lost: a far end that vanished without a close frame makes
        the other side see the same."""
        session = self.session
        # An upstream leg whose handshake failed never joined the session: the relay answers the client.
        failed_upstream = session is not None and self is not session.down and self is not session.up
        peer, transport = self.peer, self._peer_transport()
        if (
            not failed_upstream
            and peer is not None
            and transport is not None
            and self.failed_close is None
            and self.protocol.close_rcvd is None
            and peer.state is not State.CLOSED
        ):
            transport.abort()
        if session is not None and session.up is None and self is session.down:
            session.finish()  # refused handshake: no relayed session will run

    def _peer_transport(self: Any) -> Any:
        """The other leg's transport, or None before it is connected."""
        return getattr(self.peer, "transport", None)

    # Back-pressure: a leg that cannot write fast enough stops the other leg from reading.
    def _pause_peer(self: Any) -> None:
        if (transport := self._peer_transport()) is not None:
            transport.pause_reading()

    def _resume_peer(self: Any) -> None:
        if (transport := self._peer_transport()) is not None:
            transport.resume_reading()


class RelayServerConnection(_Leg, ServerConnection):
    """The client's leg: the relay is the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_leg("client")


class RelayClientConnection(_Leg, RecordingClientConnection):
    """The upstream leg: the relay is the client."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_leg("upstream")


@dataclass
class RelaySession:
    """One client relayed to upstream, recorded into one file (client leg and upstream leg)."""

    writer: SessionWriter
    client_conn: int
    upstream_conn: int
    down: RelayServerConnection
    up: RelayClientConnection | None = None
    peer_address: str = ""
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    recording_io: Executor | None = None  # where its file is closed (the relay's; None: the loop's default)
    _finishing: bool = field(default=False, init=False)

    @property
    def path(self) -> Path | None:
        return self.writer.path

    def conn_of(self, leg: _Leg) -> int:
        return self.client_conn if leg is self.down else self.upstream_conn

    def finish(self) -> None:
        """Closes the recording off the event loop (its fsync can take milliseconds, which every
        other relayed session would wait), then sets `done`."""
        if self._finishing:
            return
        self._finishing = True
        closed = asyncio.get_running_loop().run_in_executor(self.recording_io, self.writer.close)

        def finished(_: object) -> None:
            if not self.done.done():
                self.done.set_result(None)

        closed.add_done_callback(finished)


class Relay:
    """`async with Relay(config) as relay:` listens on `relay.port` until the block ends."""

    def __init__(
        self,
        config: RelayConfig,
        on_event: Callable[[str], None] | None = None,
        on_session: Callable[[RelaySession], None] | None = None,
        *,
        reuse_port: bool = False,
        worker: tuple[int, int] = (0, 1),
    ) -> None:
        """`on_event` gets one-line news (a client relayed, refused, ended); `on_session` each new
        session before its first record, so a view can listen to its writer. `reuse_port` and
        `worker` (index, count) are for `rtui proxy --workers`: several processes on one port,
        worker i numbering its recordings i+1, i+1+count, ... so that file names stay unique."""
        config.check()
        self.config = config
        self.reuse_port = reuse_port
        self.on_event = on_event or (lambda message: log.info("%s", message))
        self.on_session = on_session
        self.sessions: list[RelaySession] = []  # those not finished yet (a relay runs for days)
        # For news lines before a session (and its recording's redactor) exists.
        env = config.env
        self._redactor = Redactor([s for s in (config.token, env.get("OPENAI_API_KEY"), env.get("AZURE_OPENAI_API_KEY")) if s])
        self._server: Server | None = None
        self._recording_numbers = itertools.count(worker[0] + 1, worker[1])
        self._recording: set[SessionWriter] = set()  # the writers the flush pass writes
        # The threads that write and close recordings: background work, never real-time (under
        # SCHED_RR, a flush pass preempted the clients and servers whose frames the relay carries and
        # added 0.1–0.2 ms to a single session's p99, BENCHMARKS.md).
        self._recording_io = ThreadPoolExecutor(thread_name_prefix="rtui-recording", initializer=leave_realtime)
        self._flusher: asyncio.TimerHandle | None = None
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._flush_recordings()
        self._server = await serve(
            self._handler,
            self.config.host,
            self.config.port,
            connection_class=RelayServerConnection,
            answer=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=self.config.max_size,
            ping_interval=None,
            ping_timeout=None,
            close_timeout=self.config.close_timeout,
            reuse_port=self.reuse_port or None,
        )

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return relay_url(self.config.host, self.port)

    def _flush_recordings(self) -> None:
        """One flush pass on a worker thread (the writes release the GIL: the loop relays on),
        then the next one FLUSH_INTERVAL_S later."""
        self._recording = {w for w in self._recording if not w.closed}
        writers = list(self._recording)
        loop = asyncio.get_running_loop()
        flushed = loop.run_in_executor(self._recording_io, _flush_all, writers)
        flushed.add_done_callback(lambda _: self._arm_flusher(loop))

    def _arm_flusher(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._closing:
            self._flusher = loop.call_later(FLUSH_INTERVAL_S, self._flush_recordings)

    async def close(self) -> None:
        self._closing = True
        if self._flusher is not None:
            self._flusher.cancel()
        if self._server is not None:
            # Live sessions end as they would if the relay's process went away: dropped, not closed.
            live = list(self.sessions)
            for session in live:
                # Said first, so that whoever reads the recording knows who ended it and why.
                session.writer.error(0, RELAY_STOPPED)
                for leg in (session.down, session.up):
                    if leg is not None and leg.state is not State.CLOSED and leg.transport is not None:
                        leg.transport.abort()
            self._server.close(close_connections=False)
            await self._server.wait_closed()
            for session in live:
                session.writer.close()
        self._recording_io.shutdown(wait=False)  # what it was given still runs

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- recording -----------------------------------------------------------------------------

    def _recording_path(self) -> Path | None:
        """The file for the next session, or None to let the writer name it in a directory."""
        target = Path(self.config.record)
        if self.config.record_to_directory:
            return None
        number = next(self._recording_numbers)
        if number == 1:
            return target
        return target.with_name(f"{target.stem}-{number}{target.suffix}")

    def _new_writer(self) -> SessionWriter:
        secrets = [self.config.token] if self.config.token else []
        # Which conn is which leg, for readers such as diagnose (documented in docs/diagnose-json.md).
        extra = {"relay": {"client_conn": CLIENT_CONN, "upstream_conn": UPSTREAM_CONN}}
        path = self._recording_path()
        if path is None:
            writer = SessionWriter.create(
                self.config.record, mode="proxy", url=self.config.upstream, secrets=secrets, header_extra=extra
            )
        else:
            writer = SessionWriter(path, mode="proxy", url=self.config.upstream, secrets=secrets, header_extra=extra)
        return writer

    def _open_session(self, connection: RelayServerConnection, request: Request, peer_address: str) -> RelaySession:
        """The recording of a handshake the relay accepted, starting with that handshake's request."""
        writer = self._new_writer()
        client_conn, upstream_conn = writer.new_conn(), writer.new_conn()
        assert (client_conn, upstream_conn) == (CLIENT_CONN, UPSTREAM_CONN), "a fresh writer numbers conns from 1"
        session = RelaySession(
            writer, client_conn, upstream_conn, connection, peer_address=peer_address, recording_io=self._recording_io
        )
        connection.session = session
        if self.on_session is not None:
            self.on_session(session)
        writer.hold()
        self._recording.add(writer)
        tap = FrameTap(writer, client_conn, "server")
        connection.attach(tap)
        tap.on_request(request, f"ws://{request.headers.get('Host', '')}{request.path}")
        writer.on_failure = lambda exc: self._say(
            f"recording stopped: cannot write {writer.path}: {exc.strerror or exc}; "
            f"{peer_address} is still relayed, unrecorded from here on",
            session,
        )
        self.sessions.append(session)
        session.done.add_done_callback(lambda _: self.sessions.remove(session))
        return session

    # -- handshake -----------------------------------------------------------------------------

    def _say(self, message: str, session: RelaySession | None = None) -> None:
        """One line of news, redacted as the recording is: it may quote a close reason or a header."""
        if session is not None:
            message = session.writer.redactor.text(message)[0]
        self.on_event(self._redactor.text(message)[0])

    def _refuse(self, peer_address: str, response: Response, why: str) -> Response:
        self._say(f"refused {peer_address}: {response.status_code} {response.reason_phrase}: {why}")
        return response

    def _check_access(self, connection: RelayServerConnection, request: Request, peer_address: str) -> Response | None:
        """The refusal for a request that is not a WebSocket upgrade for this relay from an allowed
        page with the right token, or None."""
        protocol = connection.protocol
        assert isinstance(protocol, ServerProtocol)
        if protocol.accept(request).status_code != http.HTTPStatus.SWITCHING_PROTOCOLS:  # only its checks count here
            exc = protocol.handshake_exc
            return self._refuse(
                peer_address,
                _respond(connection, http.HTTPStatus.BAD_REQUEST, f"rtui proxy: not a WebSocket upgrade: {exc}\n"),
                f"not a WebSocket upgrade ({str(exc)!r})",
            )
        config = self.config
        host = request.headers.get("Host")
        if not config.allow_remote and not host_allowed(host, config.host, self.port, config.allowed_hosts):
            name = _as_argument(urlsplit("//" + (host or "")).hostname or "", "NAME")
            return self._refuse(
                peer_address,
                _respond(
                    connection,
                    http.HTTPStatus.MISDIRECTED_REQUEST,
                    f"rtui proxy: Host {host!r} is not this relay's address; connect to {self.url}.\n",
                ),
                f"Host {host!r} is not this relay's address (a web page re-pointing its own name at this machine "
                f"looks like this); if this client reaches the relay under that name, start rtui proxy with --allow-host {name}",
            )
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, config.allowed_origins):
            return self._refuse(
                peer_address,
                _respond(
                    connection,
                    http.HTTPStatus.FORBIDDEN,
                    f"rtui proxy: web pages from {origin!r} may not use this relay (and its API key).\n",
                ),
                f"a web page from Origin {origin!r} tried to connect; pages from other sites may not use the "
                f"relay and its API key (only http://localhost:*, http://127.0.0.1:* and http://[::1]:* may); "
                f"to allow this one, start rtui proxy with --allow-origin {_as_argument(origin, 'ORIGIN')}",
            )
        return self._check_token(connection, request, peer_address)

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """The answer to a client's upgrade: a refusal, or upstream's acceptance as the client's."""
        assert isinstance(connection, RelayServerConnection)
        address = connection.remote_address
        peer_address = f"{address[0]}:{address[1]}" if address else "?"
        refusal = self._check_access(connection, request, peer_address)
        if refusal is not None:
            return refusal
        try:
            session = self._open_session(connection, request, peer_address)
        except RecordingFailed as exc:
            why = os.strerror(exc.errno) if exc.errno else "the recording cannot be written"
            return self._refuse(
                peer_address,
                _respond(connection, http.HTTPStatus.INSUFFICIENT_STORAGE, f"rtui proxy: cannot record this session: {why}.\n"),
                f"cannot record a new session in {self.config.record}: {why}; free some space or choose another --record",
            )

        url = upstream_url(self.config.upstream, request.path)
        headers = [(n, v) for n, v in request.headers.raw_items() if n.lower() not in HOP_HEADERS]
        offered = [p.strip() for v in request.headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",") if p.strip()]
        for name, value in headers:
            if name.lower() in KEY_HEADERS:
                session.writer.redactor.add_secret(value.partition(" ")[2] or value)
        for subprotocol in offered:
            if subprotocol.startswith("openai-insecure-api-key."):
                session.writer.redactor.add_secret(subprotocol.partition(".")[2])
        client_has_key = any(n.lower() in KEY_HEADERS for n, _ in headers) or any(
            p.startswith("openai-insecure-api-key.") for p in offered
        )
        options = ConnectOptions(
            extra_headers=headers,
            subprotocols=offered,
            max_size=self.config.max_size,
            ping_interval=None,
            ping_timeout=None,
            open_timeout=self.config.open_timeout,
            close_timeout=self.config.close_timeout,
        )
        if not client_has_key:
            key = upstream_key(url, self.config.env)
            if key is not None:
                options.api_key_header, options.api_key = key

        def create_upstream(protocol: Any, **kwargs: Any) -> RelayClientConnection:
            up = RelayClientConnection(protocol, **kwargs)
            up.session = session
            up.peer, connection.peer = connection, up
            return up

        try:
            up = await open_connection(
                url, options, writer=session.writer, conn=session.upstream_conn, connection_factory=create_upstream
            )
        except InvalidStatus as exc:
            # Upstream refused (401 bad key, 404 unknown model...): the client gets the same answer.
            refused = exc.response
            body = refused.body.decode("utf-8", "replace") if refused.body else f"{refused.reason_phrase}\n"
            response = _respond(connection, refused.status_code, body)
            content_type = refused.headers.get("Content-Type")
            if content_type:
                response.headers["Content-Type"] = content_type
            self._say(f"upstream refused {session.peer_address}: HTTP {refused.status_code}", session)
            return response
        except Exception as exc:  # unreachable, TLS failure, timeout: the relay's own 502
            if connection.lost:
                self._say(f"{session.peer_address} left during the upstream handshake; upstream dropped too", session)
                return None
            self._say(f"cannot reach upstream for {session.peer_address}: {type(exc).__name__}: {exc}", session)
            return _respond(
                connection,
                http.HTTPStatus.BAD_GATEWAY,
                f"rtui proxy: cannot reach upstream {session.writer.redactor.url(url)}: {type(exc).__name__}: {exc}\n",
            )
        assert isinstance(up, RelayClientConnection)  # create_upstream built it
        if connection.lost:
            # The client went away while upstream was connecting: end upstream the same way.
            if up.transport is not None:
                up.transport.abort()
            return None
        session.up = up
        return self._accepted(connection, request, up)

    def _check_token(self, connection: ServerConnection, request: Request, peer_address: str) -> Response | None:
        expected = self.config.token
        if expected is None:
            return None
        given = client_token(request.path)
        if given is None:
            return self._refuse(
                peer_address,
                _respond(
                    connection, http.HTTPStatus.UNAUTHORIZED, "rtui proxy: add ?token=TOKEN (the relay's --token) to the URL.\n"
                ),
                "no ?token= in the URL",
            )
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return self._refuse(
                peer_address, _respond(connection, http.HTTPStatus.FORBIDDEN, "rtui proxy: wrong token.\n"), "wrong token"
            )
        return None

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, subprotocols: Any) -> Any:
        session = getattr(connection, "session", None)
        if session is None or session.up is None:
            return None
        return session.up.subprotocol

    @staticmethod
    def _accepted(connection: RelayServerConnection, request: Request, up: RelayClientConnection) -> Response:
        """The relay's 101, carrying upstream's subprotocol and its own headers."""
        assert isinstance(connection.protocol, ServerProtocol)
        response = connection.protocol.accept(request)
        if response.status_code == http.HTTPStatus.SWITCHING_PROTOCOLS:
            assert up.response is not None
            for name, value in up.response.headers.raw_items():
                if name.lower() not in OWN_RESPONSE_HEADERS:
                    response.headers[name] = value
        return response

    # -- the session ---------------------------------------------------------------------------

    async def _handler(self, connection: ServerConnection) -> None:
        assert isinstance(connection, RelayServerConnection) and connection.session is not None
        session = connection.session
        up = session.up
        try:
            if up is None:
                return
            upstream = session.writer.redactor.url(self.config.upstream)
            self._say(f"relaying {session.peer_address} <-> {upstream}, recording {session.path}", session)
            connection.flush_held()
            legs = {asyncio.ensure_future(connection.wait_closed()), asyncio.ensure_future(up.wait_closed())}
            done, pending = await asyncio.wait(legs, return_when=asyncio.FIRST_COMPLETED)
            # The other leg got the close (or the abort) already; give its far end time to answer.
            if pending:
                _, still = await asyncio.wait(pending, timeout=self.config.close_timeout)
                if still:
                    for leg in (connection, up):
                        if leg.state is not State.CLOSED and leg.transport is not None:
                            leg.transport.abort()
                    await asyncio.wait(still)
            self._say(f"ended {session.peer_address}: {describe_end(connection, up)}", session)
        finally:
            session.finish()


def relay_url(host: str, port: int) -> str:
    """Where clients connect to a relay listening on host:port (an IPv6 address in brackets)."""
    return f"ws://{'[' + host + ']' if ':' in host else host}:{port}"


def _respond(connection: ServerConnection, status: http.HTTPStatus | int, text: str) -> Response:
    """A refusal of the relay's own, as websockets' `respond` builds it."""
    assert isinstance(connection.protocol, ServerProtocol)
    return connection.protocol.reject(status, text)


def _flush_all(writers: list[SessionWriter]) -> None:
    for writer in writers:
        writer.flush()


def describe_end(down: RelayServerConnection, up: RelayClientConnection) -> str:
    """How the session ended, in the recording's terms."""
    for name, leg in (("upstream", up), ("client", down)):
        failed = leg.failed_close
        if failed is not None:
            # The relay closed this leg itself, and the other one with the same close.
            if failed.code == CloseCode.MESSAGE_TOO_BIG:
                return f"the {name} sent a message over the relay's max_size: the relay closed both legs with {failed}"
            return f"the relay closed both legs with {failed}, after what the {name} sent"
    # Each leg as its own recording will tell it: the relay is the server of the client leg and the
    # client of the upstream leg, so a far end that closed first is the leg's other side.
    for name, leg, relay_side, far_end in (("upstream", up, "client", "server"), ("client", down, "server", "client")):
        ending = live_connection_end(relay_side, leg.first_close, leg.close_sent, leg.protocol.close_rcvd)
        if ending.closed_by == far_end:
            return f"the {name} closed first with {ending.code}" + (f" {ending.reason!r}" if ending.reason else "")
    return "the connection dropped without a close frame (1006)"
