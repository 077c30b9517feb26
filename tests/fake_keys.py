"""Every fake credential the test suite hands to rtui, in one place.

Tests import their keys from here (or add the ones they use), so that the secret scan that runs
after the whole suite (tests/secret_scan_plugin.py) knows what must never appear in a recording or
a log. None of these is a real key.
"""

from __future__ import annotations

# Shaped like the real thing, so the payload rules (sk-…, ek_…) apply as they would in production.
OPENAI_KEY = "sk-proj-FAKEfakeFAKE0123456789abcdefTESTKEY"
EPHEMERAL_KEY = "ek_68af1f2e0b9c8191a1b2c3d4e5f60718"
RELIABILITY_KEY = "sk-reliability-FAKE-0123456789abcdefghij"
BENCH_KEY = "sk-bench-" + "k" * 40
# In a URL's query string (`?api-key=`, as Azure takes it), where only the URL rules can catch it.
URL_QUERY_KEY = "sk-test-url-query-0123456789abcdef"
# Sent spelled with a JSON escape (`sk-test-SECRET\u0056ALUE123`): only its decoded form is key-shaped.
ESCAPED_KEY = "sk-test-SECRETVALUE123"
# Not key-shaped: only the session's own "secrets" list can catch these.
PLAIN_SECRET = "plain-secret-FAKE-9f8e7d6c5b4a"

# Keys other test modules use literally (kept here so the scan covers them too).
USED_ELSEWHERE = (
    "sk-right-key-0123456789abcdef",
    "sk-only-the-backend-has-this-0123",
    "sk-wrong-key-0123456789abcdef",
    "sk-secret-key-123",
    "sk-test-relay-key-0123456789abcdef",
    "sk-client-own-key-abcdefghijklmnop",
    "sk-test-not-a-real-key",
    "azure-key-0123456789",
)

ALL: tuple[str, ...] = (
    OPENAI_KEY,
    EPHEMERAL_KEY,
    RELIABILITY_KEY,
    BENCH_KEY,
    URL_QUERY_KEY,
    ESCAPED_KEY,
    PLAIN_SECRET,
    *USED_ELSEWHERE,
)
