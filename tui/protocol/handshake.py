"""Why a WebSocket never opened, in plain words: the hint for each HTTP status that refuses the
handshake, the server's answer cut to a readable size, and connection errors (nothing listening, DNS,
timeout, TLS) as a person would say them. The one table diagnose and the closure card share."""

from __future__ import annotations

import re
from typing import Any

import orjson

from tui.wire.redact import Redactor

REFUSAL_HINTS: dict[int, str] = {
    400: "a malformed request: the URL needs exactly one of model=, call_id= or intent=transcription",
    401: "a wrong, revoked or missing API key: check the API key (OPENAI_API_KEY; AZURE_OPENAI_API_KEY for Azure)",
    403: "a key without access to this model or endpoint (project or organization permissions, or region)",
    404: "a wrong URL or model: the path or the model does not exist (retired preview models answer 404)",
    429: "a rate limit or quota: too many connections or requests, or no credit left; wait and retry, or check billing",
}
_SERVER_SIDE_HINT = "a failing or overloaded server, or a gateway in front of it; retry later"
# A 401 for a handshake that presented an ephemeral key (ek_…, minted by the app's backend).
EPHEMERAL_KEY_HINT = (
    "an expired or unknown ephemeral key (ek_…): an ephemeral key opens sessions only until it expires "
    "(10 minutes after minting by default, 2 hours at most); have the backend mint a fresh one with "
    "POST /v1/realtime/client_secrets just before connecting"
)

BODY_LIMIT = 200  # characters of the server's answer worth showing


def refusal_hint(status: int | None, *, ephemeral: bool = False) -> str | None:
    """What a refusal with `status` usually means, or None when rtui has nothing useful to add;
    `ephemeral` when the handshake presented an ephemeral key."""
    if status is None:
        return None
    if status == 401 and ephemeral:
        return EPHEMERAL_KEY_HINT
    if status in REFUSAL_HINTS:
        return REFUSAL_HINTS[status]
    return _SERVER_SIDE_HINT if 500 <= status <= 599 else None


def body_excerpt(body: Any, limit: int = BODY_LIMIT) -> str:
    """The server's answer in one bounded line without secrets: an OpenAI-style JSON error reads as
    its message (and code), anything else as its text."""
    if not isinstance(body, str) or not body.strip():
        return ""
    text = body
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        error = value.get("error") if isinstance(value, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            code = error.get("code")
            text = error["message"] + (f" ({code})" if isinstance(code, str) and code else "")
    text = " ".join(Redactor().text(text)[0].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_refusal(status: Any, reason: Any, body: Any, who: str = "The server", *, ephemeral: bool = False) -> str:
    """One or two sentences for a handshake `who` answered with `status` instead of 101."""
    said = f"HTTP {status} {reason or ''}".strip()
    hint = refusal_hint(status if isinstance(status, int) else None, ephemeral=ephemeral)
    sentence = f"{who} refused the WebSocket handshake with {said}" + (f"; likely {hint}." if hint else ".")
    excerpt = body_excerpt(body)
    return sentence + (f' It said: "{excerpt}"' if excerpt else "")


def presents_ephemeral_key(headers: Any, subprotocols: Any) -> bool:
    """Whether a recorded handshake request carried an ephemeral key: redaction keeps its `ek_`
    prefix (`Bearer ek_[redacted]`, `openai-insecure-api-key.ek_[redacted]`)."""
    for pair in headers if isinstance(headers, list) else []:
        if (
            isinstance(pair, list)
            and len(pair) == 2
            and str(pair[0]).lower() in ("authorization", "api-key")
            and str(pair[1]).removeprefix("Bearer ").removeprefix("bearer ").startswith("ek_")
        ):
            return True
    offered = subprotocols if isinstance(subprotocols, list) else []
    return any(str(p).startswith("openai-insecure-api-key.ek_") for p in offered)


def describe_connect_failure(url: str, error: str, who: str | None = None) -> str:
    """One sentence for a connection (made by `who`, or by us) that failed before any HTTP answer."""
    lead = f"{who} could not connect" if who else "Could not connect"
    return f"{lead} to {url}: {connect_error_words(error, url)}."


# (pattern in "ExceptionName: message", plain words); the first match wins.
_CONNECT_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (r"ConnectionRefused|Errno 111\b|Errno 61\b|Connect call failed", "connection refused: nothing is listening at {where}"),
        (
            r"gaierror|Name or service not known|nodename nor servname|getaddrinfo|No address associated",
            "the host name {host} could not be resolved (DNS)",
        ),
        (r"Timeout|timed out", "timed out: {where} did not answer in time"),
        (r"SSL|certificate|TLS", "the TLS handshake with {where} failed"),
        (
            r"Network is unreachable|No route to host|Errno 101\b|Errno 113\b",
            "{where} cannot be reached from this machine (no route)",
        ),
        (r"ConnectionReset|Connection reset", "{where} reset the connection during the handshake"),
        (r"InvalidMessage|did not receive a valid HTTP", "{where} did not answer with HTTP (is it a WebSocket endpoint?)"),
        (r"InvalidURI|isn't a valid URI", "the URL is not a valid ws:// or wss:// address"),
        (r"InvalidProxy|proxy", "the HTTP proxy from the environment could not be used (https_proxy, all_proxy)"),
    )
)


def connect_error_words(error: str, url: str | None = None) -> str:
    """A connection error ("ExceptionName: message", as recorded) in plain words; the error itself
    when it is none of the usual ones."""
    host, where = _host_and_port(url)
    for pattern, words in _CONNECT_ERRORS:
        if pattern.search(error):
            return words.format(host=host, where=where)
    return error


def _host_and_port(url: str | None) -> tuple[str, str]:
    match = re.match(r"^[a-z]+://(\[[^\]]*\]|[^/:?#]*)(?::(\d+))?", url or "", re.IGNORECASE)
    if match is None or not match.group(1):
        return "the server", "the server"
    host, port = match.group(1), match.group(2)
    if port is None:
        port = "443" if (url or "").lower().startswith("wss") else "80"
    return host, f"{host}:{port}"
