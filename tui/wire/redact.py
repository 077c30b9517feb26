"""Redaction of secrets before anything reaches disk.

Structured places (HTTP headers, offered subprotocols, URL query strings) are redacted by name; free
text (frame payloads, error messages, marks) is scrubbed of OpenAI-style keys (`sk-…`, ephemeral
`ek_…`) and of any literal secret the session knows it is using, such as its own API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

REDACTED = "[redacted]"

# Key-shaped tokens: a prefix at a word boundary, then a long run of key characters. Standard
# base64 has no '-' or '_', so audio payloads never match.
_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])(sk-|ek_)[A-Za-z0-9_\-]{16,}")
_KEY_PATTERN_BYTES = re.compile(rb"(?<![A-Za-z0-9])(sk-|ek_)[A-Za-z0-9_\-]{16,}")

# A JSON string literal. Scanned from the start of a valid JSON text, these matches are exactly its
# strings (keys and values): outside a string there is no quote.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"})
SECRET_QUERY_KEYS = frozenset({"api-key", "api_key", "apikey", "key", "token", "access_token", "client_secret", "sig"})
INSECURE_KEY_SUBPROTOCOL = "openai-insecure-api-key."
EPHEMERAL_PREFIX = "ek_"

RULES: tuple[str, ...] = (
    "headers: " + ", ".join(sorted(SECRET_HEADERS)),
    "subprotocols: openai-insecure-api-key.*",
    "url query: " + ", ".join(sorted(SECRET_QUERY_KEYS)),
    "payloads: sk-… and ek_… keys",
    "payloads: the session's own keys, verbatim",
)


def _kind(key: str) -> str:
    """What stays of a redacted key: `ek_` for an ephemeral key. That a key was ephemeral (minted for
    minutes) is evidence diagnose needs to explain a refusal, and says nothing of the key."""
    return EPHEMERAL_PREFIX if key.startswith(EPHEMERAL_PREFIX) else ""


class Redactor:
    """Scrubs secrets from what the recorder is about to write.

    Methods return the cleaned value and, where useful, labels naming what was removed, so a record
    can say that it was redacted (the stored bytes then differ from the wire's by exactly that).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a key is never half-replaced by a shorter secret it contains.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._secret_bytes = [s.encode() for s in self._secrets]
        # Bumped with every new secret: whatever was redacted before may be stale (the writer's
        # reuse of a repeated frame's redacted form checks it).
        self.generation = 0

    def add_secret(self, secret: str) -> None:
        if secret and len(secret) >= 8 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)
            self._secret_bytes = [s.encode() for s in self._secrets]
            self.generation += 1

    def text(self, value: str) -> tuple[str, list[str]]:
        hits: list[str] = []
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
                hits.append("secret")
        # Cheap tests before the regex, inline (this runs for every frame): a single character is a
        # memchr, and most frames (audio, most events) hold no '-', so "sk-" is rarely searched. Both
        # prefixes end in that character, so only the text up to its last one (found from the end,
        # also a memchr) can hold them: for an audio event, the few dozen characters before the audio.
        if ((last := value.rfind("-")) >= 2 and value.find("sk-", 0, last + 1) >= 0) or (
            (last := value.rfind("_")) >= 2 and value.find("ek_", 0, last + 1) >= 0
        ):
            value, count = _KEY_PATTERN.subn(lambda m: m.group(1) + REDACTED, value)
            if count:
                hits.append("key")
        return value, hits

    def json_text(self, value: str) -> tuple[str, list[str]]:
        """`text()`, and then the same rules over the decoded strings of a JSON text: a key written
        with escapes (`sk-\\u0041…`) is a key all the same once a reader decodes it. Only a string
        literal that hides a secret is rewritten (re-encoded as orjson writes it, with the secret
        redacted); every other byte stays as it was. Text that is not JSON is left to `text()`."""
        value, hits = self.text(value)
        if "\\" not in value:
            return value, hits  # no escape: the decoded strings are the text's own, already clean
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            return value, hits
        escaped_hits: list[str] = []

        def clean(match: re.Match[str]) -> str:
            literal = match.group()
            if "\\" not in literal:
                return literal
            cleaned, found = self.text(orjson.loads(literal))
            if not found:
                return literal
            escaped_hits.extend(found)
            return orjson.dumps(cleaned).decode()

        value = _JSON_STRING.sub(clean, value)
        return value, hits + escaped_hits

    def data(self, value: bytes) -> tuple[bytes, list[str]]:
        hits: list[str] = []
        for secret in self._secret_bytes:
            if secret in value:
                value = value.replace(secret, REDACTED.encode())
                hits.append("secret")
        if ((last := value.rfind(b"-")) >= 2 and value.find(b"sk-", 0, last + 1) >= 0) or (
            (last := value.rfind(b"_")) >= 2 and value.find(b"ek_", 0, last + 1) >= 0
        ):
            value, count = _KEY_PATTERN_BYTES.subn(lambda m: m.group(1) + REDACTED.encode(), value)
            if count:
                hits.append("key")
        return value, hits

    def subprotocol(self, value: str) -> str:
        if value.startswith(INSECURE_KEY_SUBPROTOCOL):
            return INSECURE_KEY_SUBPROTOCOL + _kind(value[len(INSECURE_KEY_SUBPROTOCOL) :]) + REDACTED
        return self.text(value)[0]

    def subprotocols(self, values: Sequence[str]) -> list[str]:
        return [self.subprotocol(v) for v in values]

    def header(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in SECRET_HEADERS:
            scheme, sep, credential = value.partition(" ")
            # Keep the auth scheme ("Bearer"), which is useful evidence and not secret.
            if sep and scheme.isalpha():
                return f"{scheme} {_kind(credential.strip())}{REDACTED}"
            return _kind(value.strip()) + REDACTED
        if lower == "sec-websocket-protocol":
            return ", ".join(self.subprotocol(p.strip()) for p in value.split(","))
        return self.text(value)[0]

    def headers(self, items: Iterable[tuple[str, str]]) -> list[list[str]]:
        return [[name, self.header(name, value)] for name, value in items]

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in SECRET_QUERY_KEYS for k, _ in pairs):
                query = urlencode([(k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="[]")
        cleaned = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.text(cleaned)[0]
