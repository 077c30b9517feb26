"""Running an engine on its own thread, so a busy UI never delays the wire."""

from __future__ import annotations

import asyncio
import sys
import threading

from tui.engine.session import Engine, SessionOutcome


class EngineThread:
    """Runs `engine.run()` on a dedicated thread with its own event loop.

    The UI thread keeps its loop for rendering; the engine's loop does nothing but the wire, audio
    hand-off and recording. `stop()` asks the engine to close the session and waits for it.
    """

    # The engine thread shares the GIL with the screen refresh, which Python lets hold it for 5 ms at
    # a stretch by default, again and again under a flood of events: captured audio then waits, and
    # so do pongs, until the keepalive closes the session. Handing the GIL over every 0.5 ms keeps
    # the wire prompt (scripts/bench/audio_latency.py measures both).
    SWITCH_INTERVAL_S = 0.0005

    def __init__(self, engine: Engine, *, switch_interval: float | None = SWITCH_INTERVAL_S) -> None:
        self.engine = engine
        self.switch_interval = switch_interval
        self.outcome: SessionOutcome | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="rtui-engine", daemon=True)

    def start(self) -> None:
        if self.switch_interval is not None:
            sys.setswitchinterval(self.switch_interval)  # process-wide: the UI runs beside the engine
        self._thread.start()

    def _main(self) -> None:
        try:
            self.outcome = asyncio.run(self.engine.run())
        except BaseException as exc:  # shown by the view; never lost in a dead thread
            self.error = exc
            self.engine.state.phase = "closed"
            self.engine.state.notices.append(f"The session engine failed: {type(exc).__name__}: {exc}")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.engine.stop()
            self._thread.join(timeout)
