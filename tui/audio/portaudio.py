"""Loads sounddevice (and with it the PortAudio library) lazily, turning its failure into
`NoAudioError`, so that the rest of rtui runs without audio hardware or libraries."""

from __future__ import annotations

import threading
from types import ModuleType

from tui.audio.errors import NoAudioError

_lock = threading.Lock()
_module: ModuleType | None = None


def load_sounddevice() -> ModuleType:
    """Returns the `sounddevice` module, or raises `NoAudioError` when PortAudio cannot be loaded
    (sounddevice raises OSError on import when libportaudio2 is missing or broken)."""
    global _module
    with _lock:
        if _module is None:
            try:
                import sounddevice
            except OSError as error:
                raise NoAudioError(
                    f"the PortAudio library could not be loaded ({error}; install libportaudio2)",
                    reason="no-portaudio",
                ) from None
            _module = sounddevice
        return _module


def rescan_devices() -> None:
    """Makes PortAudio enumerate the devices again (it lists them once, when it starts), for example
    after the virtual devices were started. Only call it while no stream is open."""
    sd = load_sounddevice()
    with _lock:
        sd._terminate()
        sd._initialize()
