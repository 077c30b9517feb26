"""Deterministic ids shaped like the service's (`event_…`, `item_…`, `resp_…`, `sess_…`, `conv_…`).

Each id is a hash of (seed, kind, counter), so two runs with the same seed and the same events get
the same ids, which keeps recordings of mock sessions reproducible and diffable.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LENGTH = 21  # what the service's ids carry after their prefix
_PAIR_BASE = len(_ALPHABET) ** 2
_PAIRS = [low + high for high in _ALPHABET for low in _ALPHABET]  # _PAIRS[d0 + 62 * d1] == digit d0, then d1


class IdFactory:
    def __init__(self, seed: str | int = 0) -> None:
        self.seed = str(seed)
        self._counters: defaultdict[str, int] = defaultdict(int)

    def next(self, prefix: str) -> str:
        self._counters[prefix] += 1
        digest = hashlib.blake2b(f"{self.seed}/{prefix}/{self._counters[prefix]}".encode(), digest_size=16).digest()
        number = int.from_bytes(digest, "big")
        # Base 62, least significant digit first, two digits per step (half the big-int divisions).
        chars = []
        for _ in range(_LENGTH // 2):
            number, pair = divmod(number, _PAIR_BASE)
            chars.append(_PAIRS[pair])
        if _LENGTH % 2:
            chars.append(_ALPHABET[number % len(_ALPHABET)])
        return f"{prefix}_{''.join(chars)}"

    def event(self) -> str:
        return self.next("event")

    def item(self) -> str:
        return self.next("item")

    def response(self) -> str:
        return self.next("resp")

    def session(self) -> str:
        return self.next("sess")

    def conversation(self) -> str:
        return self.next("conv")
