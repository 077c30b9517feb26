"""Deterministic replay: serve a recording's server side, replay its client side, verify, diff (docs/replay.md)."""
