"""Loads sounddevice (and with it the PortAudio library) lazily, turning its failure into
`NoAudioError`, so that the rest of rtui runs without audio hardware or libraries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar, cast

from tui.audio.errors import NoAudioError

T = TypeVar("T")

# Opening a stream can take a moment (the sound server connects); closing one should be instant.
OPEN_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 3.0
# A device whose callbacks stop for this long while its stream should run is considered gone.
STALL_TIMEOUT_S = 2.0

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
                    f"the PortAudio library could not be loaded ({error}; install libportaudio2)", reason="no-portaudio"
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


async def in_audio_thread(func: Callable[[], T], timeout: float) -> T:
    """Runs a PortAudio call that may block (opening or closing a stream) in a daemon thread and
    waits at most `timeout` seconds. A call stuck in the library (a sound server that vanished
    mid-call) then costs neither the event loop nor the process's exit, which would wait for an
    executor thread forever. Raises TimeoutError when the call did not finish in time."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(cast(T, result))  # func() returned it

    def target() -> None:
        result, failure = None, None
        try:
            result = func()
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine
            failure = error
        try:
            loop.call_soon_threadsafe(settle, result, failure)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=target, name="rtui-audio-call", daemon=True).start()
    async with asyncio.timeout(timeout):  # not wait_for: see tui.audio.chunkqueue
        return await future


async def close_stream(stream) -> None:
    """Closes a PortAudio stream without ever blocking the caller for long: a call stuck in the
    library (a sound server that vanished) is abandoned in its daemon thread and the session goes on."""
    try:
        await in_audio_thread(lambda: _close_quietly(stream), CLOSE_TIMEOUT_S)
    except TimeoutError:
        pass


def _close_quietly(stream) -> None:
    # abort() rather than stop(): stop() waits for pending buffers, over a second on ALSA's pulse plugin.
    try:
        stream.abort()
        stream.close()
    except Exception:  # noqa: BLE001 - a device that is already gone may fail to close; nothing to do
        pass
