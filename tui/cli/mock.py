"""`rtui mock`: the mock Realtime server on 127.0.0.1, for any client."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `rtui --help` stays fast
    from tui.mock import MockServer
    from tui.mock.config import MockConfig

FAULT_HELP = textwrap.dedent(
    """\
    faults (--fault, repeatable and combinable; each fires once per connection):
      KIND[,key=value]...   trigger keys for every kind but reject:
                              after-frames=N   once the N-th client data frame has been handled
                              after-seconds=T  T seconds after the handshake
                            (neither: as soon as the session has started)
      close,code=C,reason=R close with code C (default 1000) and reason R (default empty)
      drop                  abort TCP without a close frame (the client sees 1006)
      no-pong               stop answering pings (a keepalive client closes 1011)
      delay,seconds=S       send every server frame S seconds late (default 0.5)
      stall,seconds=S       send nothing for S seconds (default: for good)
      oversized,bytes=N     send one valid event of N bytes (default 1048577: a websockets
                            client with the default max_size closes 1009)
      invalid-json          send one text frame that is not JSON
      transcription-failed  from then on, each input transcription fails
                            (conversation.item.input_audio_transcription.failed)
      reject,status=N       refuse every handshake with HTTP status N (default 503)

    examples:
      rtui mock --port 0
      rtui mock --fault close,code=1000,after-frames=2         # close after the first append
      rtui mock --fault drop,after-seconds=5 --fault no-pong
      rtui mock --fault delay,seconds=0.3 --fault oversized,after-frames=1
      rtui mock --record sessions/ --require-key sk-test --session-max 30
      rtui mock --workers 2                                     # two processes on one port (two cores)

    point a client at ws://HOST:PORT/v1/realtime?model=gpt-realtime (any key unless --require-key).
    ephemeral keys: POST http://HOST:PORT/v1/realtime/client_secrets mints ek_ keys (GA shape), which
    clients then use as their key; an expired or unknown ek_ key gets HTTP 401.
    """
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mock",
        help="run the mock Realtime server (GA API, faults on demand)",
        description=textwrap.fill(
            "Serve a mock of the OpenAI Realtime API (GA) on ws://HOST:PORT/v1/realtime until Ctrl-C. Each "
            "connection is an independent session: session.created with GA defaults, session.update validated "
            "like the real service, server VAD on the audio you append, and a spoken response (a fixed clip "
            "and transcript) in real time, or calls of the session's tools by a documented rule "
            "(docs/protocol.md). It is a stand-in that reproduces documented behaviour, not the "
            "real service. The first line printed is 'listening on ws://HOST:PORT/v1/realtime'.",
            width=88,
        ),
        epilog=FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default 8765)")
    parser.add_argument("--record", metavar="DIR", help="record each connection to its own rtui.session/1 file in DIR")
    parser.add_argument(
        "--require-key", metavar="KEY", help="accept only this API key (Bearer, api-key or subprotocol); else 401"
    )
    parser.add_argument(
        "--key-lifetime",
        type=float,
        default=None,
        metavar="SECONDS",
        help="ephemeral keys minted with POST /v1/realtime/client_secrets live this long, whatever the request "
        "asks (0: minted already expired, to see the refusal; default: the request's expires_after, 600 s)",
    )
    parser.add_argument(
        "--session-max",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="session length before the session_expired error and close 1001 (default 3600)",
    )
    parser.add_argument(
        "--binary-policy",
        choices=("close", "error", "ignore"),
        default="close",
        help="what a binary client frame gets: close 1000 with an empty reason and no error event (default, as "
        "an OpenAI-compatible server does), an error event, or nothing",
    )
    parser.add_argument("--fast", action="store_true", help="send response audio as fast as possible instead of in real time")
    parser.add_argument("--seed", default="0", help="seed for the deterministic event/item/response ids (default 0)")
    parser.add_argument(
        "--ping-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="ping clients this often, closing 1011 when a pong is late (default: never ping)",
    )
    parser.add_argument(
        "--mcp-tools",
        default="search,fetch",
        metavar="NAMES",
        help="the tools an MCP server lists when its tool has no allowed_tools, comma-separated (default search,fetch)",
    )
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help="inject a fault (see below)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes on the same port (Linux, SO_REUSEPORT), for many concurrent sessions or a "
        "busy machine: one process carries 100 real-time audio sessions in 0.5-0.7 of a core; every session "
        "behaves the same (default 1)",
    )
    serve = parser.add_argument_group(
        "serving a recording",
        "--serve FILE plays FILE's recorded server side to each client instead of the simulation: the exact "
        "recorded frames, each once the client frames recorded before it have arrived, then the recorded "
        "ending (docs/replay.md). --fast: as fast as causality allows; default: the recorded pace.",
    )
    serve.add_argument("--serve", metavar="FILE", help="serve the server side of this recording")
    serve.add_argument("--speed", type=float, metavar="X", help="with --serve: the recorded pace scaled by X")
    serve.add_argument(
        "--replay-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="with --serve: seconds to wait for the client's next recorded frame (default 30)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from tui.mock import FaultSyntaxError, MockConfig, parse_fault

    if args.workers < 1:
        print("rtui mock: --workers must be at least 1.", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("rtui mock: --port must be from 0 to 65535 (0 picks a free one).", file=sys.stderr)
        return 2
    if args.serve:
        if args.workers != 1:
            print("rtui mock: --workers serves the simulation; --serve plays a recording from one process.", file=sys.stderr)
            return 2
        return _serve_recording(args)

    try:
        faults = tuple(parse_fault(spec) for spec in args.fault)
    except FaultSyntaxError as exc:
        print(f"rtui mock: {exc}; see 'rtui mock --help' for the fault syntax.", file=sys.stderr)
        return 2
    if args.key_lifetime is not None and not 0 <= args.key_lifetime <= 7200:
        print("rtui mock: --key-lifetime must be from 0 to 7200 seconds.", file=sys.stderr)
        return 2
    if args.session_max <= 0:
        print("rtui mock: --session-max must be a positive number of seconds.", file=sys.stderr)
        return 2
    mcp_tools = tuple(name.strip() for name in args.mcp_tools.split(","))
    if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name) for name in mcp_tools):
        print("rtui mock: --mcp-tools takes tool names (letters, digits, _ and -) separated by commas.", file=sys.stderr)
        return 2
    config = MockConfig(
        host=args.host,
        port=args.port,
        require_key=args.require_key,
        session_max=args.session_max,
        binary_policy=args.binary_policy,
        realtime=not args.fast,
        seed=args.seed,
        faults=faults,
        record_dir=Path(args.record) if args.record else None,
        ping_interval=args.ping_interval,
        key_lifetime=args.key_lifetime,
        mcp_tools=mcp_tools,
    )
    if args.workers > 1:
        import dataclasses
        import shutil
        import tempfile
        from functools import partial

        from tui.wire.workers import serve_with_workers, workers_supported

        if not workers_supported():
            print("rtui mock: --workers needs Linux (SO_REUSEPORT); run one process without it.", file=sys.stderr)
            return 2

        def announce(port: int) -> None:
            _announce(f"ws://{config.host}:{port}/v1/realtime", config)
            print(f"{args.workers} worker processes", flush=True)

        # Ephemeral keys minted by one worker open sessions on any other: the workers share a
        # private directory of minted keys (tui.mock.secrets), mode 0700 so only this user reads it.
        key_dir = tempfile.mkdtemp(prefix="rtui-mock-keys-")
        shared = dataclasses.replace(config, key_dir=Path(key_dir))
        try:
            return serve_with_workers(
                "rtui mock", config.host, config.port, args.workers, partial(_worker_server, shared), announce
            )
        finally:
            shutil.rmtree(key_dir, ignore_errors=True)
    return asyncio.run(_serve(config))


def _announce(url: str, config: MockConfig) -> None:
    """The first line on stdout says where to connect (scripts read it), then where recordings go."""
    print(f"listening on {url}", flush=True)
    if config.record_dir is not None:
        print(f"recording each connection to {config.record_dir}/", flush=True)


def _worker_server(config: MockConfig, port: int, index: int, count: int) -> MockServer:
    """Worker `index` of `count` (`--workers`): its own mock server on the shared port."""
    import dataclasses

    from tui.mock import MockServer

    return MockServer(dataclasses.replace(config, port=port), reuse_port=True, worker=(index, count))


def _serve_recording(args: argparse.Namespace) -> int:
    import asyncio

    from tui.replay.script import ScriptError, load_script
    from tui.replay.serve import serve_until_stopped
    from tui.replay.timing import Timing
    from tui.wire.reader import RecordingError

    if args.speed is not None and not args.speed > 0:
        print("rtui mock: --speed must be a positive number (1 = the recorded pace).", file=sys.stderr)
        return 2
    try:
        script = load_script(args.serve)
    except (RecordingError, ScriptError) as exc:
        print(f"rtui mock: {exc}", file=sys.stderr)
        return 2
    for problem in script.problems:
        print(f"rtui mock: {problem}", file=sys.stderr)
    timing = Timing(args.speed) if args.speed is not None else Timing(None if args.fast else 1.0)
    return asyncio.run(
        serve_until_stopped(
            script, host=args.host, port=args.port, timing=timing, timeout=args.replay_timeout, record_dir=args.record
        )
    )


async def _serve(config: MockConfig) -> int:
    from tui.mock import MockServer
    from tui.stopping import stop_on_signals

    server = MockServer(config)
    try:
        await server.start()
    except OSError as exc:
        print(
            f"rtui mock: cannot listen on {config.host}:{config.port}: {exc.strerror}; pick another --port (0 picks a free one).",
            file=sys.stderr,
        )
        return 1
    _announce(server.url, config)
    stop = stop_on_signals()
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
