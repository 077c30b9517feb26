"""How rtui's servers (`rtui mock`, `rtui mock --serve`, `rtui proxy`, and their `--workers`) are
asked to stop: Ctrl-C, SIGTERM (`kill`, `timeout`, systemd, `docker stop`), or their terminal going
away (SIGHUP: the SSH session dropped, the terminal window closed). Each must end the server's
recordings properly; by default SIGTERM and SIGHUP kill the process on the spot, recordings cut off."""

from __future__ import annotations

import asyncio
import signal


def stop_signals() -> list[signal.Signals]:
    """Ctrl-C, SIGTERM, and SIGHUP unless it is ignored: under `nohup` the user asked the server to
    outlive its terminal."""
    signals = [signal.SIGINT, signal.SIGTERM]
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signals.append(signal.SIGHUP)
    return signals


def stop_on_signals(signals: list[signal.Signals] | None = None) -> asyncio.Event:
    """An event the running loop sets when one of `signals` (by default `stop_signals()`) arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in stop_signals() if signals is None else signals:
        loop.add_signal_handler(sig, stop.set)
    return stop
