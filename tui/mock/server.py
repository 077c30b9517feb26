"""The mock Realtime server: the handshake checks, one session per connection, optional recording.

    async with MockServer(MockConfig(realtime=False)) as server:
        ...connect to server.url (ws://127.0.0.1:PORT/v1/realtime) with ?model=gpt-realtime...

It runs on the caller's asyncio loop (a test's, or Textual's) and never blocks it. Each connection
is served by a `MockSession` (tui.mock.session), driven by a `ConnectionRunner` (tui.mock.runner).
"""

from __future__ import annotations

import dataclasses
import errno
import http
import itertools
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tui.mock.config import MockConfig
from tui.mock.faults import RejectHandshake
from tui.mock.ids import IdFactory
from tui.mock.runner import ConnectionRunner
from tui.mock.secrets import CLIENT_SECRETS_PATHS, EPHEMERAL_PREFIX, KeyStore, MintedKey
from tui.mock.session import Handshake, MockSession
from tui.wire.front import HttpRequest
from tui.wire.server import Server, ServerConnection, serve
from tui.wire.tap import FrameTap
from tui.wire.writer import RecordingFailed, SessionWriter

REALTIME_PATHS = ("/v1/realtime", "/openai/v1/realtime")  # OpenAI, and Azure's GA path
RETIRED_MODEL_PREFIXES = ("gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview")
MODEL_PREFIXES = ("gpt-realtime", "gpt-audio")
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
KEY_SUBPROTOCOL_PREFIX = "openai-insecure-api-key."

log = logging.getLogger(__name__)


def model_is_served(model: str) -> bool:
    return model.startswith(MODEL_PREFIXES) and not model.startswith(RETIRED_MODEL_PREFIXES)


def _offered_subprotocols(request: Request) -> list[str]:
    return [p.strip() for v in request.headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",") if p.strip()]


def _presented_key(request: Request | HttpRequest) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if "api-key" in request.headers:
        return request.headers["api-key"].strip()
    if isinstance(request, HttpRequest):
        return None
    for protocol in _offered_subprotocols(request):
        if protocol.startswith(KEY_SUBPROTOCOL_PREFIX):
            return protocol[len(KEY_SUBPROTOCOL_PREFIX) :]
    return None


def _error_response(status: int, message: str, code: str | None, param: str | None = None) -> Response:
    """An HTTP error in the API's JSON shape, which is what a refused upgrade carries."""
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")])
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


class MockServer:
    def __init__(self, config: MockConfig | None = None, *, reuse_port: bool = False, worker: tuple[int, int] = (0, 1)) -> None:
        """`reuse_port` and `worker` (index, count) are for `rtui mock --workers`: several processes
        listening on one port, worker i numbering its connections i+1, i+1+count, ... so that every
        connection of the whole server has its own index (and its own ids)."""
        self.config = config or MockConfig()
        self.recordings: list[Path] = []
        self.reuse_port = reuse_port
        self._server: Server | None = None
        self._counter = itertools.count(worker[0] + 1, worker[1])
        self._writers: dict[int, SessionWriter] = {}
        self._handshakes: dict[int, Handshake] = {}  # what each accepted upgrade request said, for `_handle`
        # The ephemeral keys minted here (POST /v1/realtime/client_secrets).
        self.keys = KeyStore(lifetime=self.config.key_lifetime, seed=self.config.seed, directory=self.config.key_dir)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> MockServer:
        kwargs: dict[str, Any] = {"reuse_port": True} if self.reuse_port else {}
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            attach=self._attach_recorder,
            answer=self._process_request,
            http_handler=self._http,
            select_subprotocol=self._select_subprotocol,
            ping_interval=self.config.ping_interval,
            max_size=self.config.max_message_size,
            **kwargs,
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers.values()):
            writer.close()

    async def serve_forever(self) -> None:
        assert self._server is not None, "call start() first"
        await self._server.serve_forever()

    async def __aenter__(self) -> MockServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return self._server.sockets[0].getsockname()[1]

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def base_url(self) -> str:
        """`ws://HOST:PORT/v1`: what the openai SDK takes as `websocket_base_url`."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def url(self) -> str:
        return f"{self.base_url}/realtime"

    def url_for(self, model: str = "gpt-realtime") -> str:
        return f"{self.url}?model={model}"

    # -- plain HTTP: minting ephemeral keys -----------------------------------------------------

    def _http(self, request: HttpRequest) -> Response:
        path = urlsplit(request.path).path.rstrip("/")
        if path in CLIENT_SECRETS_PATHS and request.method == "POST":
            return self.keys.answer(request, _presented_key(request), self.config.require_key, model_is_served)
        # The API's answer to a path or method it does not serve.
        return _error_response(404, f"Invalid URL ({request.method} {path or '/'})", None)

    # -- handshake -----------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        for fault in self.config.faults:
            if isinstance(fault, RejectHandshake):
                return _error_response(fault.status, f"Handshake refused by the mock's reject fault ({fault.status}).", None)
        url = urlsplit(request.path)
        if url.path.rstrip("/") not in REALTIME_PATHS:
            return _error_response(404, f"Invalid URL (GET {url.path}). The Realtime endpoint is /v1/realtime.", None)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        present = [name for name in ("model", "call_id", "intent") if name in query]
        key = _presented_key(request)
        minted: MintedKey | None = None
        if key is not None and key.startswith(EPHEMERAL_PREFIX):
            # Minted with the real key, so --require-key does not apply; the key's session does.
            checked = self.keys.check(key)
            if isinstance(checked, Response):
                return checked
            minted = checked
        if not present and minted is None:  # an ephemeral key names its model itself
            return _error_response(400, "Missing required parameter: 'model'.", "missing_required_parameter", "model")
        if len(present) > 1:
            return _error_response(400, "Provide exactly one of 'model', 'call_id' or 'intent'.", "invalid_request", None)
        if minted is None and self.config.require_key is not None and key != self.config.require_key:
            if key is None:
                return _error_response(401, "You didn't provide an API key. Pass it in the Authorization header (Bearer).", None)
            return _error_response(401, "Incorrect API key provided.", "invalid_api_key")
        model, intent = query.get("model"), query.get("intent")
        if "call_id" in query:
            return _error_response(404, f"Call '{query['call_id']}' not found (the mock does not serve SIP/WebRTC calls).", None)
        if intent is not None and intent != "transcription":
            return _error_response(
                400, f"Invalid value: '{intent}'. Supported values are: 'transcription'.", "invalid_value", "intent"
            )
        if model is not None and not model_is_served(model):
            return _error_response(404, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found")
        beta = "realtime" in request.headers.get("OpenAI-Beta", "") or BETA_SUBPROTOCOL in _offered_subprotocols(request)
        # What the upgrade request said travels with its connection to `_handle`.
        self._handshakes[id(connection)] = Handshake(
            conn_index=next(self._counter),
            path=url.path,
            model=model,
            intent=intent,
            beta=beta,
            query=tuple((k, v) for k, values in parse_qs(url.query).items() for v in values),
            headers=tuple(request.headers.raw_items()),
            minted_session=minted.session if minted is not None else None,
        )
        return None

    def _select_subprotocol(self, connection: ServerConnection, offered: Any) -> Any:
        # Browsers need `realtime` echoed; the key subprotocol is never echoed.
        return "realtime" if "realtime" in offered else None

    # -- connections ---------------------------------------------------------------------------

    def _attach_recorder(self, connection: ServerConnection) -> FrameTap | None:
        if self.config.record_dir is None:
            return None
        for attempt in itertools.count(1):
            try:
                writer = SessionWriter.create(
                    self.config.record_dir,
                    mode="mock",
                    url=f"ws://{self.host}:{self.port}/v1/realtime",
                    secrets=[self.config.require_key] if self.config.require_key else [],
                    header_extra={"side": "server"},
                )
                break
            except RecordingFailed as exc:
                # Names are per microsecond: another worker (--workers) may have taken this one.
                if exc.errno != errno.EEXIST or attempt == 100:
                    raise
        assert writer.path is not None  # made in record_dir
        self.recordings.append(writer.path)
        self._writers[id(connection)] = writer
        # Close the file once the connection is gone; the tap records the end first.
        connection.add_lost_callback(lambda: self._close_writer(id(connection)))
        return FrameTap(writer, writer.new_conn(), "server")

    def _close_writer(self, key: int) -> None:
        writer = self._writers.pop(key, None)
        if writer is not None:
            writer.close()

    async def _handle(self, connection: ServerConnection) -> None:
        handshake = dataclasses.replace(self._handshakes.pop(id(connection)), subprotocol=connection.subprotocol)
        session = MockSession(self.config, handshake)
        runner = ConnectionRunner(
            connection, session, self.config.faults, fault_ids=IdFactory(f"{self.config.seed}/{handshake.conn_index}/faults")
        )
        try:
            await runner.run()
        except Exception:  # one broken connection must not take the server down
            log.exception("mock connection %d failed", handshake.conn_index)
