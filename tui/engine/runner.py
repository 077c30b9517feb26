"""Running an engine on its own thread, so a busy UI never delays the wire."""

from __future__ import annotations

import asyncio
import threading

from tui.engine.session import Engine, Outcome


class EngineThread:
    """Runs `engine.run()` on a dedicated thread with its own event loop.

    The UI thread keeps its loop for rendering; the engine's loop does nothing but the wire, audio
    hand-off and recording. `stop()` asks the engine to close the session and waits for it.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="rtui-engine", daemon=True)

    def start(self) -> None:
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
