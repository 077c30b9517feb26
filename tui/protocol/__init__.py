"""Sans-I/O knowledge of the Realtime protocol: event names (GA and beta), session defaults and
validation, and the `error` events the real service sends. Nothing here does I/O or imports Textual."""
