"""The Textual UI (the only part of rtui that imports Textual). `run_app(engine)` is what `rtui` opens."""

from tui.app.app import RtuiApp, run_app

__all__ = ["RtuiApp", "run_app"]
