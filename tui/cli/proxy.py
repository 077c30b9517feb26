"""`rtui proxy`: the transparent recording relay between any client and the Realtime API (or the mock)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `rtui --help` stays fast
    from tui.wire.proxy import RelayConfig

DEFAULT_UPSTREAM = "wss://api.openai.com/v1/realtime?model=gpt-realtime"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="relay any client to the Realtime API, recording both legs",
        description=(
            "A transparent WebSocket relay: point a client (an app in a simulator, a browser, a script) at "
            "ws://HOST:PORT instead of the API. Every frame is forwarded unchanged both ways (opcode, bytes, "
            "pings, pongs, close codes and reasons) and both legs are recorded into one session file. When the "
            "client sends no key, the relay adds OPENAI_API_KEY (AZURE_OPENAI_API_KEY as api-key for Azure URLs) "
            "from its environment; keys never reach the recording."
        ),
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:8766",
        metavar="HOST:PORT",
        help="where clients connect; port 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--upstream", default=DEFAULT_UPSTREAM, metavar="URL", help="the server to relay to (default %(default)s)"
    )
    parser.add_argument(
        "--record",
        default="sessions/",
        metavar="FILE",
        help="a directory (ending in /) for one new file per session, or the file for the first session (later ones "
        "get -2, -3, ...) (default %(default)s)",
    )
    parser.add_argument("--allow-remote", action="store_true", help="listen on a non-loopback address (needs --token)")
    parser.add_argument("--token", help="clients must add ?token=TOKEN to their URL (required with --allow-remote)")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let browser pages from ORIGIN (such as https://app.example.com) connect; pages from other sites are "
        "refused (403) unless they are served from this machine (http://localhost:*, http://127.0.0.1:*, http://[::1]:*); "
        "repeatable",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept clients that reach the relay under NAME (such as 10.0.2.2 from the Android emulator); other Host "
        "headers than the listening address and localhost are refused (421); repeatable",
    )
    parser.add_argument(
        "--max-size",
        type=int,
        default=16,
        metavar="MIB",
        help="the largest message relayed, in MiB; a bigger one closes both legs with 1009 (message too big) "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--ui", action="store_true", help="show the relayed session in the TUI (event log, counters, closure card)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="relay from N processes on the same port (Linux, SO_REUSEPORT), for many concurrent sessions (default %(default)s)",
    )
    parser.add_argument(
        "--no-realtime",
        action="store_true",
        help="do not ask Linux for real-time scheduling (by default the relay runs under SCHED_RR where it "
        "is permitted, so that frames do not wait for a CPU behind other work; not with --ui)",
    )
    parser.set_defaults(func=run)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise ValueError(f"--listen expects HOST:PORT such as 127.0.0.1:8766 (a port from 0 to 65535), not {value!r}")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    from pathlib import Path

    from tui.stopping import stop_on_signals
    from tui.wire.proxy import ProxyConfigError, Relay, RelayConfig

    try:
        host, port = parse_listen(args.listen)
        config = RelayConfig(
            upstream=args.upstream,
            host=host,
            port=port,
            record=Path(args.record),
            record_to_directory=args.record.endswith(("/", os.sep)) or Path(args.record).is_dir(),
            token=args.token,
            allow_remote=args.allow_remote,
            allowed_origins=args.allow_origin,
            allowed_hosts=args.allow_host,
            max_size=args.max_size * 2**20,
        )
        config.check()
    except (ValueError, ProxyConfigError) as exc:
        print(f"rtui proxy: {exc}", file=sys.stderr)
        return 2

    if args.workers < 1:
        print("rtui proxy: --workers must be at least 1.", file=sys.stderr)
        return 2
    if args.ui:
        if args.workers > 1:
            print("rtui proxy: --ui shows one process's sessions; run it without --workers.", file=sys.stderr)
            return 2
        from tui.app import run_app
        from tui.app.terminal import no_terminal
        from tui.engine.relay import RelayEngine

        if refusal := no_terminal("rtui proxy", "run it in a terminal, or leave out --ui"):
            print(refusal, file=sys.stderr)
            return 2
        engine = RelayEngine(config)
        status = run_app(engine)  # an engine in shape, not in class
        # Textual has given the terminal back: these lines stay on it after the TUI is gone.
        for line in _leaving_words(engine.recordings):
            print(line)
        return status
    scheduling = _claim_realtime(asked=not args.no_realtime)
    if args.workers > 1:
        return _run_workers(args, config, scheduling)  # forked workers inherit the scheduling

    async def main() -> None:
        async with Relay(config, on_event=_say) as relay:
            _announce(config, relay.url, scheduling)
            await stop_on_signals().wait()  # each recording then ends with its sessions' ends

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"rtui proxy: cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def _leaving_words(recordings: list[str]) -> list[str]:
    """What quitting `rtui proxy --ui` prints: how many sessions it relayed, and the last one's recording
    and ending as quitting `rtui` says them."""
    from tui.cli.live import leaving_words

    if not recordings:
        return ["no client connected: nothing was relayed or recorded"]
    said = [] if len(recordings) == 1 else [f"relayed {len(recordings)} sessions, each recorded to its own file; the last:"]
    return said + leaving_words(recordings[-1])


def _say(message: str) -> None:
    try:
        print(f"rtui proxy: {message}", file=sys.stderr, flush=True)
    except OSError:
        pass  # the terminal is gone (SIGHUP): the relay goes on stopping, and its recordings say it all


# Below rtui's own audio engine (4) and the sound server (5): a client on the same machine keeps its
# audio ahead of the relay.
RELAY_PRIORITY = 3


def _claim_realtime(*, asked: bool) -> str:
    """Real-time scheduling for the relay's process (its threads and workers inherit it), for its
    whole life: at a hundred sessions a relay sharing the cores waits for a CPU behind whatever else
    is busy, and that wait, not its own work, is what it adds to a round trip (BENCHMARKS.md, issue
    18). Where it is not permitted the relay runs as before; a relay that runs 200 ms without pausing
    (saturated) goes back to normal scheduling and says so. Returns the scheduling, in one phrase."""
    from tui.audio.realtime import NOT_ASKED, RealtimeScheduling

    if not asked:  # --no-realtime
        return NOT_ASKED
    realtime = RealtimeScheduling(priority=RELAY_PRIORITY)
    realtime.on_revoked = lambda status: _say(f"back to {status}")
    realtime.acquire()
    return realtime.status


def _announce(config: RelayConfig, url: str, scheduling: str, workers: int = 1) -> None:
    """Like `rtui mock`, the first line on stdout says where to connect (scripts read it)."""
    from tui.wire.client import is_azure
    from tui.wire.proxy import upstream_key
    from tui.wire.redact import Redactor

    print(f"listening on {url}", flush=True)
    token = " (clients add ?token=TOKEN)" if config.token else ""
    processes = f" from {workers} worker processes" if workers > 1 else ""
    _say(f"relaying to {Redactor().url(config.upstream)}{token}{processes}; recording to {config.record}; {scheduling}")
    if upstream_key(config.upstream, config.env) is None:
        variable = "AZURE_OPENAI_API_KEY" if is_azure(config.upstream) else "OPENAI_API_KEY"
        _say(f"{variable} is not set: clients must send their own key")


def _run_workers(args: argparse.Namespace, config: RelayConfig, scheduling: str) -> int:
    import dataclasses

    from tui.wire.proxy import Relay, relay_url
    from tui.wire.workers import serve_with_workers, workers_supported

    if not workers_supported():
        print("rtui proxy: --workers needs Linux (SO_REUSEPORT); run one process without it.", file=sys.stderr)
        return 2

    def worker_relay(port: int, index: int, count: int) -> Relay:
        return Relay(dataclasses.replace(config, port=port), on_event=_say, reuse_port=True, worker=(index, count))

    def announce(port: int) -> None:
        _announce(config, relay_url(config.host, port), scheduling, args.workers)

    return serve_with_workers("rtui proxy", config.host, config.port, args.workers, worker_relay, announce)
