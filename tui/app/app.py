"""The Textual application `rtui` opens: a live session screen over an engine that runs elsewhere."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.app.contract import Clock, EngineLike, SystemClock
from tui.app.screens.live import LiveScreen
from tui.app.screens.modals import HelpScreen, Prompt
from tui.app.screens.recording import RecordingScreen, check_recording
from tui.app.settings import UISettings

if TYPE_CHECKING:
    from tui.engine.session import Engine

# Where each binding's id prefix works, for the help screen.
_GROUPS = {"session": "Session", "log": "Event log", "app": "Anywhere", "recording": "Recording view"}


class RtuiApp(App[int]):
    CSS_PATH = "rtui.tcss"
    TITLE = "rtui"
    ENABLE_COMMAND_PALETTE = True
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("o", "open_recording", "Open", tooltip="open a recording read-only", id="app.open_recording"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        engine: EngineLike,
        *,
        clock: Clock | None = None,
        settings: UISettings | None = None,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock or SystemClock()
        self.settings = settings or UISettings()
        self.handle_signals = handle_signals

    def get_default_screen(self) -> Screen:
        return LiveScreen(self.engine, self.clock, self.settings)

    def on_mount(self) -> None:
        if self.handle_signals:
            # The terminal went away (SSH dropped) or we were asked to stop: leave through the front
            # door so the engine closes the socket and the recording gets its end record.
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(signum, self.exit, 0)

    # -- keys everywhere -----------------------------------------------------------------------

    def binding_groups(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """Every binding of the current screen, its log and the app, grouped, for the help screen."""
        seen: dict[str, list[tuple[str, str, str]]] = {}
        for node in self._binding_sources():
            for binding in _bindings_of(node):
                if not binding.id:
                    continue
                group = _GROUPS.get(binding.id.split(".")[0], "Other")
                keys = ", ".join(self.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(","))
                entry = (keys, binding.tooltip or binding.description, binding.id)
                if entry not in seen.setdefault(group, []):
                    seen[group].append(entry)
        seen.setdefault("Anywhere", []).append(("Ctrl+P", "command palette: every action by name", "app.command_palette"))
        return [(group, keys) for group, keys in seen.items()]

    def _binding_sources(self) -> list:
        screen = self.screen
        sources: list = [screen]
        sources.extend(screen.query("EventLog"))
        sources.append(self)
        return sources

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.id and active.enabled and not binding.id.startswith(("log.up", "log.down", "log.page", "log.first")):
                help_text = f"{self.get_key_display(binding)}: {binding.tooltip or binding.description}"
                yield SystemCommand(binding.tooltip.capitalize() if binding.tooltip else binding.description, help_text, partial(self.run_action, binding.action, active.node))
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_groups()))

    def action_open_recording(self) -> None:
        def open_it(path: str | None) -> None:
            if path:
                self.push_screen(RecordingScreen(path, self.settings))

        self.push_screen(Prompt("Open a recording (read-only)", "sessions/....jsonl", check=check_recording), open_it)


def _bindings_of(node: object) -> list[Binding]:
    # The declared bindings (not the per-key map), so "end,f" shows as one entry.
    return [binding for binding in getattr(type(node), "BINDINGS", []) if isinstance(binding, Binding)]


def run_app(engine: Engine, *, settings: UISettings | None = None) -> int:
    """Start `engine` on its own thread, run the TUI over it, and stop the engine when the UI ends
    (q, Ctrl+C, SIGHUP or SIGTERM), so the socket is closed and the recording finished.

    Returns the process exit status (0). Settings default to `UISettings.from_env()`.
    """
    from tui.engine.runner import EngineThread

    settings = settings or UISettings.from_env()
    runner = EngineThread(engine)
    app = RtuiApp(engine, settings=settings, handle_signals=True)
    runner.start()
    try:
        app.run(mouse=settings.mouse)
    finally:
        runner.stop()
    return app.return_code or 0
