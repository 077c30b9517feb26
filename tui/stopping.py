"""How rtui's servers (`rtui mock`, `rtui mock --serve`, `rtui proxy`) are asked to stop: Ctrl-C,
SIGTERM (`kill`, `timeout`, systemd, `docker stop`), or their terminal going away (SIGHUP: the SSH
session dropped, the terminal window closed). Each must end the server's recordings properly; by
default SIGTERM and SIGHUP kill the process on the spot, its recordings cut off."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event the running loop sets when one of those signals arrives. SIGHUP counts unless it was
    ignored when the process started: under `nohup` the user asked the server to outlive its terminal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signals.append(signal.SIGHUP)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    return stop
