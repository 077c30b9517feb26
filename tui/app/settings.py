"""The UI's tunables, with environment overrides (`RTUI_REFRESH_HZ`, `RTUI_LOG_LINES`, `RTUI_MOUSE`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIN_REFRESH_HZ = 1.0
MAX_REFRESH_HZ = 30.0


@dataclass(frozen=True)
class UISettings:
    # How often the UI reads engine state and drains the log; bounded so a flood never costs more.
    refresh_hz: float = 25.0
    # Lines the event log keeps on screen (the recording keeps everything).
    log_lines: int = 5_000
    # Log entries drained per refresh at most; the rest wait for the next tick.
    drain_batch: int = 2_000
    mouse: bool = True

    def __post_init__(self) -> None:
        if not MIN_REFRESH_HZ <= self.refresh_hz <= MAX_REFRESH_HZ:
            raise ValueError(
                f"refresh rate {self.refresh_hz} Hz is outside {MIN_REFRESH_HZ:g}-{MAX_REFRESH_HZ:g} Hz; "
                "pick a value in that range."
            )
        if self.log_lines < 10:
            raise ValueError(f"a log of {self.log_lines} lines is too small; keep at least 10.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> UISettings:
        """Defaults, then `RTUI_*` variables, then explicit keyword overrides (None means unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        try:
            if "RTUI_REFRESH_HZ" in env:
                values["refresh_hz"] = float(env["RTUI_REFRESH_HZ"])
            if "RTUI_LOG_LINES" in env:
                values["log_lines"] = int(env["RTUI_LOG_LINES"])
        except ValueError as exc:
            raise ValueError(f"bad RTUI_REFRESH_HZ or RTUI_LOG_LINES ({exc}); set a number or unset it.") from None
        if "RTUI_MOUSE" in env:
            values["mouse"] = env["RTUI_MOUSE"].strip().lower() not in ("0", "no", "off", "false")
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
