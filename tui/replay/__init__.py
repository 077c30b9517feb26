"""Deterministic replay: serve a recording's server side, replay its client side, verify, diff (docs/replay.md).

The package is layered; a module imports only from its own layer or the ones above it, and nothing
imports in a cycle (tests/replay/test_replay_layers.py checks both):

1. steps: a recorded wire event of one connection, directions, positions
2. normalize: a data frame as a comparable item, NormalizedItem (server ids named in order, audio kept apart)
3. report: divergences and how they are told
4. recording: tape (one streaming pass over a connection's frames), script (what a replay knows
   before it starts, and whole-connection views for reports)
5. timing: clocks to pace by (PacingClock), timing modes and pacing
6. match: audio_match (pure, audio bytes against recorded ones), causal (incoming frames against the
   recording, and waiting for positions), diff (recording B against A)
7. player: one side over a live connection
8. runners: serve (the server side), client (the client side), full (both, then the diff), on_screen
   (a replay as the TUI shows it)
"""
