"""Ephemeral keys: the mock's `POST /v1/realtime/client_secrets` and the `ek_…` keys it mints.

An app's backend mints a key with its real key (the mock's `--require-key` policy applies), in the GA
shape the openai SDK sends (`client.realtime.client_secrets.create`, types
`client_secret_create_params.py` and `client_secret_create_response.py`):

    POST /v1/realtime/client_secrets
    {"expires_after": {"anchor": "created_at", "seconds": 600}, "session": {"type": "realtime", ...}}
    -> 200 {"value": "ek_…", "expires_at": 1756310470, "session": {...the effective session...}}

The app then connects with `Authorization: Bearer ek_…` (a browser: the subprotocol
`openai-insecure-api-key.ek_…`), and its session starts with the configuration the key was minted
with. A key can open any number of sessions until it expires; an expired or unknown one refuses the
handshake.

Keys are random (never derived from the seed: they are secrets, and recordings redact them) and known
to the server that minted them, as long as it runs (the processes of `--workers` share them through a
private directory, one small file per key, named by the key's hash).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from websockets.http11 import Response

from tui.mock.ids import IdFactory
from tui.protocol import errors
from tui.protocol.errors import RealtimeError
from tui.protocol.session import default_session, default_transcription_session, merge_session, validate_session_update
from tui.wire.front import HttpRequest, json_response

EPHEMERAL_PREFIX = "ek_"
CLIENT_SECRETS_PATHS = ("/v1/realtime/client_secrets", "/openai/v1/realtime/client_secrets")  # OpenAI, Azure GA
DEFAULT_SECONDS = 600  # the service's defaults and limits for `expires_after.seconds`
MIN_SECONDS, MAX_SECONDS = 10, 7200
REQUEST_FIELDS = ("expires_after", "session")
DEFAULT_MODEL = "gpt-realtime"


@dataclass(frozen=True)
class MintedKey:
    value: str
    expires_at: int  # Unix seconds
    session: dict[str, Any]  # the `session` of the request, as the connection's session.update would carry it


def _error(status: int, message: str, code: str | None = None, param: str | None = None) -> Response:
    """An error in the API's HTTP shape (`{"error": {message, type, param, code}}`)."""
    return json_response(status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})


def _bad_request(error: RealtimeError) -> Response:
    return _error(400, error.message, error.code, error.param)


class KeyStore:
    """The keys minted by this server. `lifetime` (seconds), when set, replaces what each request
    asks for, so a test can mint keys that are already expired (0) without waiting."""

    def __init__(
        self,
        *,
        lifetime: float | None = None,
        seed: str | int = 0,
        clock: Callable[[], float] = time.time,
        directory: Path | None = None,
    ) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self.directory = directory
        self._ids = IdFactory(f"{seed}/client_secrets")
        self._keys: dict[str, MintedKey] = {}

    def mint(self, session: dict[str, Any], seconds: int) -> tuple[MintedKey, dict[str, Any]]:
        """A new key for `session`, and the effective session the answer shows."""
        now = self.clock()
        self._forget_expired(now)
        lifetime = seconds if self.lifetime is None else self.lifetime
        key = MintedKey(EPHEMERAL_PREFIX + secrets.token_hex(16), int(now + lifetime), session)
        self._keys[key.value] = key
        if self.directory is not None:
            self._file(key.value).write_bytes(orjson.dumps({"expires_at": key.expires_at, "session": session}))
        if session.get("type") == "transcription":
            base = default_transcription_session(self._ids.session(), 0)
        else:
            base = default_session(self._ids.session(), session.get("model") or DEFAULT_MODEL, 0)
        # `expires_at` 0: the session does not exist yet (the service's own example shows 0 too).
        return key, merge_session(base, session)

    def check(self, value: str) -> MintedKey | Response:
        """The key, or the refusal of a handshake that presented it.

        The service refuses a bad key with 401 and `invalid_api_key`; its wording for an expired
        ephemeral key is not public, so the status and code are the ones a client meets for any
        refused key, and the messages are the mock's (they say which case it is)."""
        key = self._keys.get(value) or self._shared(value)
        if key is None:
            return _error(
                401,
                "Incorrect API key provided: this ephemeral key (ek_…) is unknown; "
                "mint one with POST /v1/realtime/client_secrets.",
                "invalid_api_key",
            )
        if self.clock() >= key.expires_at:
            return _error(
                401,
                f"The ephemeral key (ek_…) has expired (at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(key.expires_at))}); "
                "mint a new one with POST /v1/realtime/client_secrets just before connecting.",
                "invalid_api_key",
            )
        return key

    def _file(self, value: str) -> Path:
        assert self.directory is not None
        return self.directory / (hashlib.sha256(value.encode()).hexdigest() + ".json")

    def _shared(self, value: str) -> MintedKey | None:
        """A key another worker minted."""
        if self.directory is None:
            return None
        try:
            stored = orjson.loads(self._file(value).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return MintedKey(value, stored["expires_at"], stored["session"])

    def _forget_expired(self, now: float) -> None:
        # Expired keys are kept an hour, so they are refused as expired rather than unknown.
        for value in [v for v, k in self._keys.items() if now >= k.expires_at + 3600]:
            del self._keys[value]

    def answer(
        self, request: HttpRequest, presented_key: str | None, require_key: str | None, served: Callable[[str], bool]
    ) -> Response:
        """The answer to `POST …/client_secrets`; `served(model)` says whether the server serves a model."""
        if presented_key is not None and presented_key.startswith(EPHEMERAL_PREFIX):
            return _error(401, "An ephemeral key cannot create client secrets; use an API key.", "invalid_api_key")
        if require_key is not None and presented_key != require_key:
            if presented_key is None:
                return _error(401, "You didn't provide an API key. Pass it in the Authorization header (Bearer).")
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            body = orjson.loads(request.body) if request.body.strip() else {}
        except orjson.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request. The API expects a JSON payload.")
        if not isinstance(body, dict):
            return _bad_request(errors.invalid_type("body", "an object", body))
        for name in body:
            if name not in REQUEST_FIELDS:
                return _bad_request(errors.unknown_parameter(str(name)))
        seconds = _expiry_seconds(body.get("expires_after"))
        if isinstance(seconds, RealtimeError):
            return _bad_request(seconds)
        session = body.get("session", {"type": "realtime"})
        kind = session.get("type") if isinstance(session, dict) else None
        error = validate_session_update(session, kind if isinstance(kind, str) else "realtime")
        if error is not None:
            return _bad_request(error)
        model = session.get("model")
        if isinstance(model, str) and not served(model):
            # As the handshake refuses it (a retired preview model, say), so the key is refused now.
            return _error(
                400, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found", "session.model"
            )
        key, effective = self.mint(session, seconds)
        return json_response(200, {"value": key.value, "expires_at": key.expires_at, "session": effective})


def _expiry_seconds(expires_after: Any) -> int | RealtimeError:
    if expires_after is None:
        return DEFAULT_SECONDS
    if not isinstance(expires_after, dict):
        return errors.invalid_type("expires_after", "an object", expires_after)
    for name in expires_after:
        if name not in ("anchor", "seconds"):
            return errors.unknown_parameter(f"expires_after.{name}")
    anchor = expires_after.get("anchor", "created_at")
    if anchor != "created_at":
        return errors.invalid_value("expires_after.anchor", anchor, ["created_at"])
    seconds = expires_after.get("seconds", DEFAULT_SECONDS)
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return errors.invalid_type("expires_after.seconds", "an integer", seconds)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        return errors.out_of_range("expires_after.seconds", seconds, minimum=MIN_SECONDS, maximum=MAX_SECONDS)
    return seconds
