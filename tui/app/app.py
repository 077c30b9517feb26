"""The Textual application `rtui` opens: a live session screen over an engine that runs elsewhere."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.app.contract import Clock, EngineLike, RunnableEngine, SystemClock
from tui.app.paths import PathSuggester, recent_recordings
from tui.app.screens.live import LiveScreen
from tui.app.screens.modals import HelpScreen, Prompt
from tui.app.screens.recording import RecordingScreen, check_recording
from tui.app.settings import UISettings
from tui.app.terminal import native_stderr_to_file

# Key names in words, not glyphs such as ⏎ or ↑, so they read in any terminal's font.
_PLAIN_KEYS = {
    "enter": "Enter",
    "escape": "Esc",
    "space": "Space",
    "up": "Up",
    "down": "Down",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "slash": "/",
    "question_mark": "?",
    "f1": "F1",
    "ctrl+c": "Ctrl+C",
    "left": "Left",
    "right": "Right",
    "exclamation_mark": "!",
}

# Where each binding's id prefix works, for the help screen.
_GROUPS = {"session": "Session", "log": "Event log", "app": "Anywhere", "recording": "Recording view"}


class RtuiApp(App[int]):
    CSS_PATH = "rtui.tcss"
    TITLE = "rtui"
    ENABLE_COMMAND_PALETTE = True
    # The transcript moves beside the log only when the log keeps room for 40 characters of summary
    # beside its fixed columns (time, direction, a 38-column type, size): from 160 columns.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("o", "open_recording", "Open", show=False, tooltip="open a recording read-only", id="app.open_recording"),
        Binding("q", "quit", "Quit", id="app.quit"),
        # Over SSH Ctrl+C is what people press to leave: it quits as q does (the session closes with
        # 1000 and the recording is finished), before Textual's copy or "press ctrl+q" reply sees it.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="quit, as q does", id="app.interrupt"),
    ]

    def __init__(
        self,
        engine: EngineLike,
        *,
        clock: Clock | None = None,
        settings: UISettings | None = None,
        on_hangup: Callable[[], None] | None = None,
    ) -> None:
        """`on_hangup`, when given, handles SIGHUP (and SIGTERM leaves through `exit`)."""
        super().__init__()
        self.engine = engine
        self.clock = clock or SystemClock()
        self.settings = settings or UISettings()
        self.on_hangup = on_hangup
        self.live_screen = LiveScreen(engine, self.clock, self.settings)

    def get_default_screen(self) -> Screen:
        return self.live_screen

    def on_mount(self) -> None:
        if self.on_hangup is not None:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.on_hangup)
            loop.add_signal_handler(signal.SIGTERM, self.exit, 0)

    # -- keys everywhere -----------------------------------------------------------------------

    def get_key_display(self, binding: Binding) -> str:
        if binding.key_display is None and binding.key in _PLAIN_KEYS:
            return _PLAIN_KEYS[binding.key]
        return super().get_key_display(binding)

    def binding_groups(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """Every binding of the current screen, its log and the app, grouped, for the help screen."""
        seen: dict[str, list[tuple[str, str, str]]] = {}
        for node in self._binding_sources():
            for binding in _bindings_of(node):
                if not binding.id or node.check_action(binding.action, ()) is False:
                    continue  # no id, or hidden here (a relay's reconnect, a replay's talk)
                group = _GROUPS.get(binding.id.split(".")[0], "Other")
                keys = ", ".join(self.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(","))
                entry = (keys, binding.tooltip or binding.description, binding.id)
                if entry not in seen.setdefault(group, []):
                    seen[group].append(entry)
        seen.setdefault("Anywhere", []).append(("Ctrl+P", "command palette: every action by name", ""))
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
            if (
                binding.id
                and active.enabled
                and not binding.id.startswith(("log.up", "log.down", "log.page", "log.first", "app.interrupt"))
            ):
                help_text = f"{self.get_key_display(binding)}: {binding.tooltip or binding.description}"
                yield SystemCommand(
                    binding.tooltip.capitalize() if binding.tooltip else binding.description,
                    help_text,
                    partial(self.run_action, binding.action, active.node),
                )
        yield from super().get_system_commands(screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_groups()))

    def action_open_recording(self) -> None:
        def open_it(path: str | None) -> None:
            if path:
                self.push_screen(RecordingScreen(path, self.settings))

        recent = recent_recordings(Path("sessions"))
        notes = ("Latest in ./sessions:\n" + "\n".join(f"  {path}" for path in recent)) if recent else ""
        prompt = Prompt(
            "Open a recording (read-only); Right completes the path",
            "sessions/....jsonl",
            check=check_recording,
            suggester=PathSuggester(),
            notes=notes,
        )
        self.push_screen(prompt, open_it)


def _bindings_of(node: object) -> list[Binding]:
    # The declared bindings (not the per-key map), so "end,f" shows as one entry.
    return [binding for binding in getattr(type(node), "BINDINGS", []) if isinstance(binding, Binding)]


def run_app(engine: RunnableEngine, *, settings: UISettings | None = None) -> int:
    """Start `engine` on its own thread, run the TUI over it, and stop the engine when the UI ends
    (q, Ctrl+C, SIGHUP or SIGTERM), so the socket is closed and the recording finished.

    Returns the process exit status (0); on SIGHUP the process exits with 129 once the session is
    closed. Settings default to `UISettings.from_env()`.
    """
    from tui.engine.runner import EngineThread

    settings = settings or UISettings.from_env()
    # COLUMNS and LINES describe the terminal when they were exported, not now; Textual would
    # believe them over the terminal itself and never follow a resize.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    # An engine in its own process (`isolated`) needs no GIL hand-over from the UI.
    switch_interval = None if getattr(engine, "isolated", False) else EngineThread.SWITCH_INTERVAL_S
    runner = EngineThread(engine, switch_interval=switch_interval)  # type: ignore[arg-type]  # any RunnableEngine runs the same way
    with native_stderr_to_file() as stderr_log:

        def hang_up() -> None:
            # The terminal is gone (SSH dropped): there is nothing to restore, and Textual's own
            # shutdown can block on the dead terminal, so close the session (socket and recording)
            # and leave at once.
            runner.stop()
            if stderr_log is not None and stderr_log.exists() and stderr_log.stat().st_size == 0:
                stderr_log.unlink()
            os._exit(128 + signal.SIGHUP)

        app = RtuiApp(engine, settings=settings, on_hangup=hang_up)
        runner.start()
        try:
            app.run(mouse=settings.mouse)
        finally:
            runner.stop()
    return app.return_code or 0
