"""The session engine: source → recorded client → sink, with state any view can read.

One `Engine` runs one conversation (reconnects included) on its own event loop. It never waits for a
view: views read `state` and drain `log` at their own pace, and call the thread-safe commands at the
bottom of the class. Everything that crosses the wire is recorded by the connection's frame tap;
the engine sees the same records through a writer listener, so the log shows exactly what the file
holds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

import orjson
from websockets.exceptions import ConnectionClosed

from tui.audio.base import AudioSink, AudioSource
from tui.audio.capture import MicrophoneSource
from tui.audio.errors import AudioError
from tui.audio.levels import AudioLevelMeter, LevelReading
from tui.audio.pcm import pcm16_to_float
from tui.audio.playback import SpeakerSink
from tui.audio.realtime import NOT_ASKED, RealtimeScheduling
from tui.engine.calls import CallLedger
from tui.engine.closure import summarize_connect_failure
from tui.engine.commands import (
    SESSION_COMMANDS,
    AnswerCall,
    CancelResponse,
    Command,
    CreateResponse,
    Mark,
    Reconnect,
    SendEvent,
    SendText,
    SetMuted,
    SetTalking,
    ToggleTurnMode,
    UpdateSession,
)
from tui.engine.config import EngineConfig, with_model
from tui.engine.echo_gate import EchoGate
from tui.engine.media_factory import Media, close_media
from tui.engine.session_config import build_session
from tui.engine.state import SESSION_EDIT_PREFIX, EngineState, Levels, LogBuffer, LogEntry, PendingCall
from tui.engine.tools import ToolAnswer
from tui.engine.view import SessionView, text_or_empty
from tui.protocol.summary import PCM_BYTES_PER_SECOND, event_summary
from tui.wire.client import ConnectOptions, RecordingClientConnection, open_connection
from tui.wire.redact import Redactor
from tui.wire.writer import RecordingFailed, SessionWriter

SessionOutcome = Literal["finished", "closed", "refused", "stopped", "no_input"]

# Exit statuses of headless runs, by outcome: see `rtui --help`.
EXIT_STATUS: dict[SessionOutcome, int] = {"finished": 0, "stopped": 0, "closed": 1, "no_input": 2, "refused": 3}

SESSION_UPDATE_ID = "rtui_session_update"
MIN_COMMIT_BYTES = PCM_BYTES_PER_SECOND // 10  # the server's 100 ms commit rule
NO_MICROPHONE = "No microphone: push-to-talk has nothing to capture. Send text with t, or start rtui with --input FILE.wav."
MAX_UNANSWERED_CALLS = 20  # calls waiting for the user's answer, each with its notice
RECEIVED_QUIET_AFTER_S = 0.15  # with no sink, the model's meter falls silent this long after audio stops


class Engine:
    commands = SESSION_COMMANDS  # it accepts every session command (tui.engine.commands)

    def __init__(self, config: EngineConfig, *, source: AudioSource | None = None, sink: AudioSink | None = None) -> None:
        self.config = config
        self.source = source
        self.sink = sink
        self.state = EngineState(endpoint_kind=config.endpoint.kind, model=config.model, turn_mode=config.turn_mode)
        self.log = LogBuffer(config.log_capacity)
        self.view = SessionView(self.state, self.log)
        self.writer: SessionWriter | None = None
        self.outcome: SessionOutcome | None = None
        # Extra record listeners (headless printing); they run on the engine's loop, must be quick.
        self.listeners: list[Callable[[LogEntry], None]] = []
        # Capture-to-wire latencies (ns) of the last audio chunks, for benchmarks.
        self.capture_latencies_ns: deque[int] = deque(maxlen=10_000)
        self.echo_gate = EchoGate(enabled=config.audio.echo_gate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._ws: RecordingClientConnection | None = None
        self._stop_requested = False
        self._reconnect_requested = False
        self._configured = asyncio.Event()
        self._finished = asyncio.Event()
        self._response_done = asyncio.Event()
        self._appended_since_commit = 0
        self._audio_item: str | None = None  # the assistant item whose audio is being played
        self._clips_seen: dict[str, int] = {}
        # Received audio when there is no sink to meter it: silent once nothing arrived for a moment.
        self._received = AudioLevelMeter()
        self._received_at = 0.0
        self._ptt_open = False  # push-to-talk: the buffer was cleared and audio flows until release
        self._session_edits = 0  # session.update events the user wrote (UpdateSession), for their event_id
        self.calls = CallLedger()  # this connection's function calls (tui.engine.calls)
        self._answering: dict[str, asyncio.Task[None]] = {}  # call_id: its --tools answer, under way

    # -- running ---------------------------------------------------------------------------------

    async def run(self) -> SessionOutcome:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._command_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        async with AsyncExitStack() as stack:
            # The media first: a headless run left with nothing to send (no microphone, no --text)
            # ends before it starts a server, connects or leaves a recording behind.
            self._claim_realtime(stack)
            await self._start_media()
            stack.push_async_callback(self._close_media)
            if self.config.finish_when_input_ends and self.source is None and not self.config.texts:
                self.state.notices.append("Nothing to send: give --input FILE.wav, tone or silence, or --text TEXT.")
                self.outcome = "no_input"
                return self.outcome
            url = await self._endpoint_url(stack)
            self.writer = self._open_writer(url)
            stack.callback(self.writer.close)
            self.writer.add_listener(self._on_record)
            while True:
                self._reconnect_requested = False
                self.outcome = await self._run_connection(url)
                if self._stop_requested:
                    break
                if self._reconnect_requested:
                    continue
                if not self.config.stay_after_close:
                    break
                # The session closed under a view: keep the card up until the user reconnects or quits.
                self._wake.clear()
                await self._wake.wait()
                if self._stop_requested:
                    self.outcome = "stopped"
                    break
        return self.outcome

    def _claim_realtime(self, stack: AsyncExitStack) -> None:
        """Real-time scheduling for this thread and the device threads the media start from it
        (tui.audio.realtime), released after the media close."""
        devices = isinstance(self.source, MicrophoneSource) or isinstance(self.sink, SpeakerSink)
        if not devices:
            return
        if not self.config.audio.realtime:
            self.state.scheduling = NOT_ASKED
            return
        realtime = RealtimeScheduling()

        def revoked(status: str) -> None:
            self.state.scheduling = status
            self.state.notices.append(f"The audio engine is back to {status}.")

        realtime.on_revoked = revoked
        granted = realtime.acquire()
        self.state.scheduling = realtime.status
        if granted:
            stack.callback(realtime.release)

    async def _close_media(self) -> None:
        await close_media(Media(self.source, self.sink))

    async def _start_media(self) -> None:
        """Opens the devices; without them (no PortAudio, no device: typical over SSH) the session
        goes on with what is left, and says so."""
        if self.source is not None:
            try:
                await self.source.start()
                self.state.input_description = self.source.description
            except AudioError as exc:
                self.state.notices.append(f"{exc} Carrying on without audio input (text still works).")
                self.source = None
        if self.sink is not None:
            try:
                await self.sink.start()
                self.state.output_description = self.sink.description
            except AudioError as exc:
                self.state.notices.append(f"{exc} Carrying on without audio output.")
                self.sink = None

    async def _endpoint_url(self, stack: AsyncExitStack) -> str:
        endpoint = self.config.endpoint
        if endpoint.kind != "mock":
            # The state is what views show: the URL as the recording's header has it, key redacted.
            self.state.url = Redactor([endpoint.api_key] if endpoint.api_key else []).url(endpoint.url)
            return endpoint.url
        from tui.mock import MockConfig, MockServer

        server = await stack.enter_async_context(MockServer(MockConfig(port=0, **self.config.mock_options)))
        url = with_model(server.url, self.config.model)
        self.state.url = url
        self.state.notices.append(
            "No OPENAI_API_KEY: talking to the embedded mock server, a local stand-in that follows the "
            "documented API (set OPENAI_API_KEY to talk to the real model)."
        )
        return url

    def _open_writer(self, url: str) -> SessionWriter:
        mode = "mock" if self.config.endpoint.kind == "mock" else "live"
        secrets = [self.config.endpoint.api_key] if self.config.endpoint.api_key else []
        if self.config.record_dir is not None:
            try:
                writer = SessionWriter.create(
                    self.config.record_dir,
                    mode=mode,
                    url=url,
                    secrets=secrets,
                    on_failure=self._recording_failed,
                    header_extra={"side": "client"},
                )
                self.state.recording_path = str(writer.path)
                return writer
            except RecordingFailed as exc:
                self.state.notices.append(f"Not recording: {exc.strerror}. Use --record-dir DIR or --no-record.")
        return SessionWriter(None, mode=mode, url=url, secrets=secrets, header_extra={"side": "client"})

    def _recording_failed(self, exc: OSError) -> None:
        self.state.notices.append(
            f"Recording stopped: {exc.strerror or exc}; everything before this point is in {self.state.recording_path}."
        )

    async def _run_connection(self, url: str) -> SessionOutcome:
        assert self.writer is not None
        endpoint = self.config.endpoint
        self._configured.clear()
        # `state.close` stays the last closed connection's summary (the card's `c` shows it); the
        # header reads it only while the phase is "closed".
        self.state.phase = "connecting"
        options = ConnectOptions(
            api_key=endpoint.api_key,
            api_key_header=endpoint.api_key_header,
            max_size=self.config.max_size,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
        )
        try:
            self._ws = await open_connection(url, options, writer=self.writer)
        except Exception as exc:  # refused, unreachable, timed out: the card says which
            self.state.phase = "closed"
            close = self.state.close
            refused_here = close is not None and close.conn == self.view.conn and close.refused_status is not None
            if not refused_here:  # a refusal is the view's, from its record
                self.state.close = summarize_connect_failure(
                    self.state.url, exc, list(self.view.recent), self.view.conn, self.writer.redactor
                )
            return "refused"
        self.state.phase = "open"
        self.state.opened_at = time.monotonic()
        self._forget_calls()  # a new connection is a new conversation
        tasks = [asyncio.create_task(self._receive(), name="receive"), asyncio.create_task(self._tick(), name="tick")]
        if self.source is not None:
            tasks.append(asyncio.create_task(self._stream_audio(), name="audio"))
        if self.config.texts:
            tasks.append(asyncio.create_task(self._send_texts(), name="texts"))
        try:
            await tasks[0]
        finally:
            tasks.extend(self._answering.values())
            for task in tasks[1:]:
                task.cancel()
            await asyncio.gather(*tasks[1:], return_exceptions=True)
        await self._ws.wait_closed()  # the view has the close summary from the `end` record
        if self._stop_requested:
            return "stopped"
        return "finished" if self._finished.is_set() else "closed"

    # -- the wire --------------------------------------------------------------------------------

    async def _send(self, event: dict[str, Any] | str) -> None:
        if self._ws is None:
            return
        try:
            await self._ws.send(event if isinstance(event, str) else orjson.dumps(event).decode())
        except ConnectionClosed:
            pass  # the receive loop reports how it ended

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    continue  # the log shows it; the API never sends binary frames
                try:
                    event = orjson.loads(message)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(event, dict):
                    await self._handle(event)
        except ConnectionClosed:
            pass

    async def _handle(self, event: dict[str, Any]) -> None:
        """Acts on a server event; what views show of it was already taken in by `self.view`."""
        etype = event.get("type")
        if etype == "session.created":
            await self._send(self._session_update())
        elif etype == "session.updated":
            self._configured.set()
        elif etype == "error":
            error = event.get("error")  # from the wire: any JSON value
            if isinstance(error, dict) and error.get("event_id") == SESSION_UPDATE_ID:
                self.state.notices.append(f"The server rejected rtui's session.update: {event_summary(event)}")
                self._configured.set()
        elif etype == "input_audio_buffer.speech_started":
            await self._barge_in()
        elif etype == "input_audio_buffer.committed":
            self._appended_since_commit = 0
        elif etype == "response.created":
            self._response_done.clear()
        elif etype == "response.output_audio.delta":
            self._play(text_or_empty(event.get("item_id")), event.get("delta"))
        elif etype == "response.output_audio.done":
            if self.sink is not None:
                self.sink.end_item(text_or_empty(event.get("item_id")))
        elif etype == "response.function_call_arguments.done":
            self._on_call(event.get("call_id"), event.get("name"), event.get("arguments"), event.get("response_id"))
        elif etype == "response.output_item.done":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                self._on_call(item.get("call_id"), item.get("name"), item.get("arguments"), event.get("response_id"))
        elif etype == "response.done":
            response = event.get("response")
            response_id = response.get("id") if isinstance(response, dict) else None
            if isinstance(response_id, str) and self.calls.on_response_done(response_id):
                await self._send({"type": "response.create"})  # the calls' outputs are in: the model answers
            elif not self.calls.awaiting(set(self._answering)):
                self._response_done.set()

    def _session_update(self) -> dict[str, Any]:
        config = self.config
        session = build_session(
            config.session,
            turn_mode=self.state.turn_mode,
            instructions=config.instructions,
            voice=config.voice,
            transcribe_model=config.transcribe_model,
            tools=config.tools.definitions,
        )
        return {"type": "session.update", "event_id": SESSION_UPDATE_ID, "session": session}

    # -- function calls ----------------------------------------------------------------------------

    def _on_call(self, call_id: Any, name: Any, arguments: Any, response_id: Any) -> None:
        """A call the model made (seen at `arguments.done` or `output_item.done`, whichever is first):
        answered from --tools, or left for the user to answer (a view asks)."""
        if not all(isinstance(value, str) for value in (call_id, name, arguments, response_id)):
            return  # from the wire: a call without these cannot be answered
        call = self.calls.on_call(call_id, name, arguments, response_id)
        if call is None:
            return
        answer = self.config.tools.answer_for(name)
        if answer is None:
            if len(self.state.unanswered_calls) >= MAX_UNANSWERED_CALLS:
                return  # a server calling without end: the recording has them all, the prompt the first ones
            self.state.unanswered_calls.append(PendingCall(call_id, name, arguments))
            how = "it stays unanswered" if self.config.finish_when_input_ends else "press a to answer it"
            self.state.notices.append(f"The model called {name} ({call_id}) and --tools has no answer for it: {how}.")
            return
        call.follow_up = answer.respond
        self._answering[call_id] = asyncio.create_task(self._answer(call_id, answer, arguments), name=f"answer {call_id}")

    async def _answer(self, call_id: str, answer: ToolAnswer, arguments: str) -> None:
        output = await answer.run(arguments)
        self._answering.pop(call_id, None)
        await self._send_output(call_id, output)

    async def _send_output(self, call_id: str, output: str) -> None:
        """The call's output, then the follow-up `response.create` once it is due (tui.engine.calls)."""
        await self._send(
            {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": call_id, "output": output}}
        )
        self.state.unanswered_calls = [call for call in self.state.unanswered_calls if call.call_id != call_id]
        if self.calls.on_answered(call_id):
            await self._send({"type": "response.create"})

    def _forget_calls(self) -> None:
        self.calls = CallLedger()
        self._answering.clear()  # the tasks of the last connection were cancelled with it
        self.state.unanswered_calls = []

    # -- audio -----------------------------------------------------------------------------------

    async def _stream_audio(self) -> None:
        source = self.source
        assert source is not None
        await self._configured.wait()
        try:
            async for chunk in source:
                if self.state.turn_mode == "push_to_talk" and not self._ptt_open:
                    continue
                pcm = chunk.pcm
                if self.state.muted:
                    pcm = bytes(len(pcm))
                elif self.sink is not None:
                    mic, speaker = source.levels.read(), self.sink.levels.read()
                    pcm = self.echo_gate.apply(pcm, mic.rms_dbfs, speaker.rms_dbfs)
                await self._append(pcm)
                self.capture_latencies_ns.append(time.monotonic_ns() - chunk.t_ns)
        except Exception as exc:  # a device that vanished: the session goes on, text still works
            self.state.notices.append(f"Audio input stopped: {exc}. The session stays open; text input still works.")
            if self.writer is not None:
                self.writer.error(0, f"audio input stopped: {exc}")
            return
        await self._input_finished()

    async def _append(self, pcm: bytes) -> None:
        await self._send('{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(pcm).decode() + '"}')
        self._appended_since_commit += len(pcm)

    async def _input_finished(self) -> None:
        """The source ran dry (a WAV file ended): finish the turn, and the session if asked to."""
        if not self.config.finish_when_input_ends:
            return
        if self.state.turn_mode == "server_vad":
            # Trailing silence lets the server's VAD hear the end of speech, as a real pause would.
            chunk = bytes(PCM_BYTES_PER_SECOND // 50)
            for _ in range(self.config.trailing_silence_ms // 20):
                await self._append(chunk)
                await asyncio.sleep(0.02)
        else:
            await self._commit_and_respond()
        await self._finish_after_response()

    async def _finish_after_response(self) -> None:
        await self._wait_for_answer()
        await self._close_finished()

    async def _wait_for_answer(self) -> bool:
        """Waits for a response to start (VAD needs a moment), finish (a tool loop included) and play;
        False, with a notice, when none came within --response-timeout."""
        try:
            deadline = time.monotonic() + self.config.response_timeout_s
            while not self.state.response_active and not self._response_done.is_set():
                if time.monotonic() > deadline:
                    raise TimeoutError
                await asyncio.sleep(0.05)
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self._response_done.wait()
            while self.sink is not None and self._buffered_ms() > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)  # let the answer finish playing
        except TimeoutError:
            self.state.notices.append(f"No response within {self.config.response_timeout_s:.0f} s; closing.")
            return False
        return True

    async def _close_finished(self) -> None:
        self._finished.set()
        if self._ws is not None:
            await self._ws.close(1000, "")

    async def _commit_and_respond(self) -> None:
        if self._appended_since_commit >= MIN_COMMIT_BYTES:
            await self._send({"type": "input_audio_buffer.commit"})
            self._appended_since_commit = 0
            await self._send({"type": "response.create"})
        else:
            self.state.notices.append("Too short to send: hold push-to-talk for at least 100 ms.")
            await self._send({"type": "input_audio_buffer.clear"})

    def _play(self, item_id: str, delta_b64: Any) -> None:
        try:
            pcm = base64.b64decode(delta_b64, validate=True) if isinstance(delta_b64, str) else None
        except (binascii.Error, ValueError):
            pcm = None
        if pcm is None:
            return  # not audio: nothing to play (the recording has it, and diagnose names it)
        self._audio_item = item_id
        if self.sink is not None:
            self.sink.write(item_id, pcm)
        else:  # no speaker (over SSH): the model's meter still shows what arrives
            self._received.update(pcm16_to_float(pcm))
            self._received_at = time.monotonic()

    async def _barge_in(self) -> None:
        """The user started talking over the assistant: stop playback and tell the server how much
        of the answer was actually heard, so the conversation history matches reality."""
        item = self._audio_item
        if self.sink is None or item is None:
            return
        if self.sink.state not in ("playing", "buffering"):
            return  # the whole answer was heard: nothing to truncate
        self.sink.flush()
        # The sink counts what it handed to the device, never more than it received.
        played = min(self.sink.played_ms(item), self.sink.received_ms(item))
        self._audio_item = None
        self.view.transcript_entry("assistant", item).interrupted = True
        await self._send({"type": "conversation.item.truncate", "item_id": item, "content_index": 0, "audio_end_ms": int(played)})

    async def _send_texts(self) -> None:
        await self._configured.wait()
        headless = self.config.finish_when_input_ends
        for text in self.config.texts:
            self._response_done.clear()
            await self._send_user_text(text)
            if not headless:
                await self._response_done.wait()
            elif not await self._wait_for_answer():
                break
        if headless and self.source is None:
            await self._close_finished()

    async def _send_user_text(self, text: str) -> None:
        await self._send(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
            }
        )
        await self._send({"type": "response.create"})  # the view put the message in the transcript

    # -- state for views -------------------------------------------------------------------------

    def _on_record(self, record: dict[str, Any]) -> None:
        """Writer listener: every recorded record, in order, on the engine's loop."""
        entry, _ = self.view.on_record(record)
        for listener in self.listeners:
            listener(entry)

    async def _tick(self) -> None:
        """Copies levels and counters into `state` at UI rate."""
        while True:
            state, counters = self.state, self.state.counters
            if self.source is not None:
                state.input_level = self._levels(self.source.levels.read(), "in")
                counters.capture_overflows = self.source.stats.device_overflows
                counters.dropped_chunks = self.source.stats.dropped_chunks
            if self.sink is not None:
                state.output_level = self._levels(self.sink.levels.read(), "out")
                state.assistant_speaking = self.sink.state == "playing"
                counters.jitter_buffer_ms = self._buffered_ms()
                counters.playback_underflows = self.sink.stats.underflows
                counters.device_underruns = self.sink.stats.device_underflows
                counters.audio_played_seconds = self.sink.stats.played_samples / 24_000
            elif time.monotonic() - self._received_at < RECEIVED_QUIET_AFTER_S:
                state.output_level = self._levels(self._received.read(), "out")
            else:
                state.output_level = Levels()
            counters.send_rate = self.view.send_rate.rate(time.monotonic())
            counters.send_queue_depth = self._ws.pending_writes if self._ws is not None else 0
            await asyncio.sleep(1 / 30)

    def _buffered_ms(self) -> float:
        assert self.sink is not None
        stats = self.sink.stats
        return max(0, stats.received_samples - stats.played_samples - stats.discarded_samples) / 24

    def _levels(self, reading: LevelReading, direction: str) -> Levels:
        """A meter reading for views; `clipped` when samples clipped since the last reading."""
        clipped = reading.clipped_samples > self._clips_seen.get(direction, 0)
        self._clips_seen[direction] = reading.clipped_samples
        return Levels(reading.rms_dbfs, reading.peak_dbfs, clipped)

    # -- commands (thread-safe: views call these from their own thread) ----------------------------

    def _submit(self, action: Callable[[], Awaitable[None]]) -> None:
        """Runs `action` on the engine's loop; commands run one at a time, in the order given."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def in_order() -> None:
            async with self._command_lock:
                await action()

        if threading.get_ident() == self._loop_thread:
            loop.create_task(in_order())
        else:
            asyncio.run_coroutine_threadsafe(in_order(), loop)

    def submit(self, command: Command) -> None:
        """Runs a session command (tui.engine.commands) on the engine's loop, after those before it."""
        match command:
            case SendText(text):
                self._submit(lambda: self._send_user_text(text))
            case CreateResponse():
                self._submit(lambda: self._send({"type": "response.create"}))
            case CancelResponse():
                self._submit(self._cancel_response)
            case SetTalking(talking):
                if self.source is None:  # nothing would be captured: say so instead of sending empty turns
                    if NO_MICROPHONE not in self.state.notices:
                        self.state.notices.append(NO_MICROPHONE)
                elif self.state.turn_mode == "push_to_talk" and talking != self.state.talking:
                    self.state.talking = talking  # shown at once; the wire follows in order
                    self._submit(self._press_to_talk if talking else self._release_to_talk)
            case ToggleTurnMode():
                self._submit(self._toggle_turn_mode)
            case SetMuted(muted):
                self.state.muted = muted
            case Mark(note):
                self._submit(lambda: self._mark(note))
            case SendEvent(text):
                self._submit(lambda: self._send(text))
            case UpdateSession(session):
                self._submit(lambda: self._send_session_edit(session))
            case AnswerCall(call_id, output):
                self._submit(lambda: self._send_output(call_id, output))
            case Reconnect():
                self._submit(self._reconnect)

    async def _cancel_response(self) -> None:
        await self._barge_in()
        await self._send({"type": "response.cancel"})

    async def _press_to_talk(self) -> None:
        """Push-to-talk pressed: interrupt the assistant and start a fresh buffer."""
        if self.state.response_active or (self.sink is not None and self.sink.state == "playing"):
            await self._barge_in()
            if self.state.response_active:
                await self._send({"type": "response.cancel"})
        await self._send({"type": "input_audio_buffer.clear"})
        self._appended_since_commit = 0
        self._ptt_open = True

    async def _release_to_talk(self) -> None:
        """Push-to-talk released: commit the buffer and ask for a response."""
        self._ptt_open = False
        await self._commit_and_respond()

    async def _toggle_turn_mode(self) -> None:
        self.state.turn_mode = "push_to_talk" if self.state.turn_mode == "server_vad" else "server_vad"
        self.state.talking = self._ptt_open = False
        await self._send(self._session_update())

    async def _send_session_edit(self, session: dict[str, Any]) -> None:
        """The user's session edit; a new turn detection also switches rtui's own turn mode (no
        detection is push-to-talk), as `v` does."""
        self._session_edits += 1
        audio_input = session.get("audio", {}).get("input", {})
        if "turn_detection" in audio_input:
            self.state.turn_mode = "server_vad" if audio_input["turn_detection"] else "push_to_talk"
            self.state.talking = self._ptt_open = False
        event_id = f"{SESSION_EDIT_PREFIX}{self._session_edits}"
        await self._send({"type": "session.update", "event_id": event_id, "session": session})

    async def _mark(self, note: str) -> None:
        if self.writer is not None:
            self.writer.mark(note)

    async def _reconnect(self) -> None:
        self._reconnect_requested = True
        self._wake.set()
        if self._ws is not None:
            await self._ws.close(1000, "rtui reconnect")

    def stop(self) -> None:
        async def stop() -> None:
            self._stop_requested = True
            self._wake.set()
            if self._ws is not None:
                await self._ws.close(1000, "")

        self._submit(stop)
