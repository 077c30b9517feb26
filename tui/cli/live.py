"""`rtui` with no command: the live session, in the TUI or `--headless`."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from tui.audio.latency import DEFAULT_OUTPUT_LATENCY_MS
from tui.engine.config import DEFAULT_MODEL

if TYPE_CHECKING:
    from tui.diagnose.report import EndingReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "live session (rtui with no command)",
        "Talks to the Realtime API when OPENAI_API_KEY is set (Azure: --url plus AZURE_OPENAI_API_KEY), "
        "otherwise to an embedded mock server. Records to ./sessions unless --no-record.",
    )
    group.add_argument("--url", help="WebSocket endpoint (default: the GA endpoint wss://api.openai.com/v1/realtime)")
    group.add_argument("--model", default=DEFAULT_MODEL, help="model, added as ?model= (default: %(default)s)")
    group.add_argument(
        "--key",
        metavar="KEY",
        help="the API key, or an ephemeral ek_ key minted by your backend (default: OPENAI_API_KEY; "
        "other users of this machine can see arguments, so prefer the variable for long-lived keys)",
    )
    group.add_argument("--mock", action="store_true", help="use the embedded mock server even when a key is set")
    group.add_argument("--headless", action="store_true", help="no TUI: print one line per event; exit when the session ends")
    group.add_argument(
        "--input",
        default="mic",
        metavar="SOURCE",
        help="mic (default), a WAV file of any rate (paced in real time), tone[:HZ], silence, or none (text only)",
    )
    group.add_argument("--output", default="speaker", metavar="SINK", help="speaker (default), a WAV file to write, or null")
    group.add_argument("--input-device", metavar="DEV", help="input device by index or part of its name (see rtui devices)")
    group.add_argument("--output-device", metavar="DEV", help="output device by index or part of its name")
    group.add_argument("--push-to-talk", action="store_true", help="start in push-to-talk mode (turn detection off)")
    group.add_argument(
        "--no-echo-gate",
        action="store_true",
        help="do not attenuate the microphone while the assistant is audible (use with headphones)",
    )
    group.add_argument(
        "--no-realtime", action="store_true", help="do not ask for real-time scheduling while the microphone or speaker is open"
    )
    group.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="TEXT",
        help="send TEXT as a user message once the session is configured (repeatable)",
    )
    group.add_argument(
        "--session",
        metavar="FILE.json",
        type=Path,
        help="send this GA session object (an app's session.update: instructions, tools, turn detection, "
        "transcription, voice...) in rtui's session.update; the flags here override it",
    )
    group.add_argument(
        "--tools",
        metavar="FILE.json",
        type=Path,
        help="function tools and their answers (a fixed output, or a command that reads the arguments "
        "on stdin); rtui answers each call and asks for the output of calls it has no answer for",
    )
    group.add_argument("--instructions", help="session instructions")
    group.add_argument("--voice", help="output voice (e.g. marin, alloy)")
    group.add_argument(
        "--transcribe",
        metavar="MODEL",
        help="transcribe what you say with this model (e.g. gpt-4o-mini-transcribe; billed separately) "
        "and show it in the transcript",
    )
    group.add_argument("--chunk-ms", type=int, default=20, help="capture chunk length, 20-40 ms (default: %(default)s)")
    group.add_argument(
        "--jitter-ms",
        type=int,
        default=100,
        help="playback jitter buffer; it grows after an underflow, up to 3x (default: %(default)s)",
    )
    group.add_argument(
        "--output-latency",
        type=int,
        default=DEFAULT_OUTPUT_LATENCY_MS,
        metavar="MS",
        help="the speaker's device buffer, 5-500 ms: lower answers sooner, higher is safer from "
        "clicks on a busy machine (default: %(default)s)",
    )
    group.add_argument("--record-dir", type=Path, default=Path("sessions"), help="where recordings go (default: ./sessions)")
    group.add_argument("--no-record", action="store_true", help="do not write a recording")
    group.add_argument(
        "--log-lines",
        type=int,
        metavar="N",
        help="event log lines kept in memory (default: RTUI_LOG_LINES or 5000; the recording keeps everything)",
    )
    group.add_argument(
        "--response-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="headless: seconds to wait for the answer once the input ends (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from tui.engine.config import AudioSettings, EngineConfig, resolve_endpoint
    from tui.engine.media_factory import MediaError, close_media, open_media

    if not 20 <= args.chunk_ms <= 40:
        print("rtui: --chunk-ms must be between 20 and 40", file=sys.stderr)
        return 2
    if not 5 <= args.output_latency <= 500:
        print("rtui: --output-latency must be between 5 and 500 ms", file=sys.stderr)
        return 2
    if not 0 <= args.jitter_ms <= 2000:
        print("rtui: --jitter-ms must be between 0 and 2000", file=sys.stderr)
        return 2
    if args.log_lines is not None and args.log_lines < 10:
        print("rtui: --log-lines must be at least 10", file=sys.stderr)
        return 2
    if args.response_timeout <= 0:
        print("rtui: --response-timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    from tui.engine.session_config import SessionFileError, initial_turn_mode, load_session_file
    from tui.engine.tools import ToolBook, ToolsFileError, load_tools

    try:
        session = load_session_file(args.session) if args.session is not None else None
        tools = load_tools(args.tools) if args.tools is not None else ToolBook()
    except (SessionFileError, ToolsFileError) as exc:
        print(f"rtui: {exc}", file=sys.stderr)
        return 2
    endpoint = resolve_endpoint(args.url, args.model, force_mock=args.mock, env=os.environ, key=args.key)
    audio = AudioSettings(
        input=args.input,
        output=args.output,
        input_device=args.input_device,
        output_device=args.output_device,
        chunk_ms=args.chunk_ms,
        jitter_ms=args.jitter_ms,
        output_latency_ms=args.output_latency,
        echo_gate=not args.no_echo_gate,
        realtime=not args.no_realtime,
    )
    config = EngineConfig(
        endpoint=endpoint,
        model=args.model,
        audio=audio,
        turn_mode=initial_turn_mode(session, args.push_to_talk),
        record_dir=None if args.no_record else args.record_dir,
        instructions=args.instructions,
        voice=args.voice,
        transcribe_model=args.transcribe,
        session=session,
        tools=tools,
        texts=list(args.text),
        finish_when_input_ends=args.headless,
        response_timeout_s=args.response_timeout,
    )
    if args.headless and args.input == "none" and not config.texts:
        print("rtui: --headless needs something to say: --input FILE.wav (or tone/silence) or --text TEXT", file=sys.stderr)
        return 2
    if not args.headless:
        from tui.app.terminal import no_terminal

        if refusal := no_terminal("rtui", "run it in a terminal, or add --headless"):
            print(refusal, file=sys.stderr)
            return 2
    try:
        media = open_media(audio)
    except MediaError as exc:
        print(f"rtui: {exc}", file=sys.stderr)
        return 2
    from tui.engine.session import Engine

    if args.headless:
        from tui.engine.headless import run_headless

        config.log_capacity = args.log_lines or config.log_capacity
        return asyncio.run(run_headless(Engine(config, source=media.source, sink=media.sink)))

    from tui.app import run_app
    from tui.app.settings import UISettings

    try:
        settings = UISettings.from_env(log_lines=args.log_lines)
    except ValueError as exc:
        print(f"rtui: {exc}", file=sys.stderr)
        return 2
    from tui.engine.process import EngineProcess

    config.log_capacity = settings.log_lines
    config.stay_after_close = True
    # The child process opens its own source and sink; these were built only to check the options.
    asyncio.run(close_media(media))
    engine = EngineProcess(config)
    status = run_app(engine, settings=settings)
    # Textual has given the terminal back: these lines stay on it after the TUI is gone.
    for line in leaving_words(engine.state.recording_path):
        print(line)
    return status


def leaving_words(recording: str | None) -> list[str]:
    """What quitting the TUI prints: where the recording is and, unless this client ended the session
    with a normal close, the diagnosis in one line. After a reconnect (`R`) the last connection is
    the one that ended the session, while the diagnosis explains the first closure: how each ended
    is said for what it is (the findings, over the whole file, are left to `rtui diagnose`)."""
    if not recording:
        return []
    from tui.diagnose import diagnose
    from tui.diagnose.text import one_line
    from tui.wire.reader import RecordingError

    lines = [f"recorded to {recording}"]
    try:
        diagnosis = diagnose(recording)
    except RecordingError:
        return lines
    first = diagnosis.ending
    says_more = f"(rtui diagnose {shlex.quote(recording)} says more)"
    last = max([first, *diagnosis.other_endings], key=lambda ending: ending.conn or 0)
    if last is first:
        if not _closed_by_this_client(first):
            lines.append(f"session ended: {one_line(diagnosis)} {says_more}")
        return lines
    connections = 1 + len(diagnosis.other_endings)
    said = []
    if not _closed_by_this_client(last):
        said.append(f"session ended: {last.sentence} (connection {last.conn} of {connections})")
    if not _closed_by_this_client(first):  # not `R` on an open connection, which this client closes
        said.append(f"connection {first.conn} of {connections} closed before the reconnect: {first.sentence}")
    if said:
        said[-1] += f" {says_more}"
    return lines + said


def _closed_by_this_client(ending: EndingReport) -> bool:
    return ending.how == "close" and ending.closed_first_by == "client" and ending.code == 1000
