"""One mock Realtime session as a sans-I/O state machine: client frames in, server frames out.

The server feeds each client frame to `receive_text`/`receive_binary` with the current monotonic
time, calls `poll` at `next_deadline()`, and carries out the returned outputs in order: `Send` a
text frame, `Close` with a code and reason, or `Drop` the TCP connection. No sockets, no clock of its
own, so the whole GA behaviour (validation, VAD, responses, expiry) is testable by feeding events.

`ConnectionSession` is the interface the server's runner drives; `MockSession` simulates the service.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tui.mock.audio_formats import AudioDelta, bytes_per_sample, decode, format_rate, response_deltas
from tui.mock.config import MockConfig
from tui.mock.ids import IdFactory
from tui.mock.vad import EnergyVad, SpeechStarted, SpeechStopped
from tui.protocol import errors
from tui.protocol.errors import BETA_CLOSE_CODE, BETA_CLOSE_REASON, RealtimeError
from tui.protocol.events import CLIENT_EVENTS
from tui.protocol.session import (
    default_session,
    default_transcription_session,
    merge_session,
    validate_session_update,
)

# A transcription session (intent=transcription) has no responses and no conversation to edit.
TRANSCRIPTION_CLIENT_EVENTS = (
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear"
)
MIN_COMMIT_MS = 100
EXPIRED_CLOSE_CODE = 1001
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}
RESPONSE_FIELDS = frozenset(
    {"conversation", "input", "instructions", "max_output_tokens", "metadata", "output_modalities",
     "prompt", "tool_choice", "tools", "audio"}
)


# -- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    data: str  # one text frame, exactly as it goes on the wire

    def event(self) -> dict[str, Any]:
        return orjson.loads(self.data)


@dataclass(frozen=True)
class Close:
    code: int
    reason: str = ""


@dataclass(frozen=True)
class Drop:
    """End the TCP connection without a close frame."""


Output = Send | Close | Drop


@dataclass(frozen=True)
class Handshake:
    """What the server learned from the upgrade request, for the session it creates."""

    conn_index: int  # 1 for the server's first connection, 2 for the next, ...
    path: str = "/v1/realtime"
    model: str | None = "gpt-realtime"
    intent: str | None = None  # "transcription" for intent=transcription
    beta: bool = False  # OpenAI-Beta: realtime=v1 header or the beta subprotocol
    subprotocol: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # as received (in memory only: they may hold a key)


class ConnectionSession(Protocol):
    """What the server drives, one instance per connection."""

    def start(self, now: float) -> list[Output]: ...
    def receive_text(self, text: str, now: float) -> list[Output]: ...
    def receive_binary(self, data: bytes, now: float) -> list[Output]: ...
    def poll(self, now: float) -> list[Output]: ...
    def next_deadline(self) -> float | None: ...


# -- responses -------------------------------------------------------------------------------


@dataclass
class _Response:
    id: str
    item: dict[str, Any]
    modality: str  # "audio" or "text"
    chunks: tuple[AudioDelta, ...]  # output audio, one delta each (empty for text)
    words: list[str]
    due: list[float]  # when each step (chunk, or word for text) is due
    in_conversation: bool
    previous_item_id: str | None
    metadata: Any = None
    voice: Any = "marin"
    format: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    words_sent: int = 0
    audio_bytes_sent: int = 0

    @property
    def steps(self) -> int:
        return len(self.chunks) if self.modality == "audio" else len(self.words)

    def text_so_far(self) -> str:
        return "".join(self.words[: self.words_sent])


class MockSession:
    """The simulated GA service for one connection."""

    def __init__(self, config: MockConfig, handshake: Handshake, *, wall_clock: float | None = None) -> None:
        self.config = config
        self.handshake = handshake
        self.ids = IdFactory(f"{config.seed}/{handshake.conn_index}")
        self.wall_clock = time.time() if wall_clock is None else wall_clock
        self.closed = False
        self.session: dict[str, Any] = {}
        self.items: dict[str, dict[str, Any]] = {}  # conversation order
        self.user_audio: dict[str, bytes] = {}
        self.assistant_audio_ms: dict[str, int] = {}
        self.response: _Response | None = None
        self._expires_at = 0.0
        self._buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._timeline_ms = 0.0
        self._vad: EnergyVad | None = None
        self._speech_item: str | None = None
        # server VAD's idle_timeout_ms: when it runs out, and the audio written when it was armed
        self._idle_deadline: float | None = None
        self._idle_from_ms = 0
        self._conversation_id = self.ids.conversation()

    # -- the ConnectionSession interface -------------------------------------------------------

    def start(self, now: float) -> list[Output]:
        self._expires_at = now + self.config.session_max
        out: list[Output] = []
        if self.handshake.beta:
            self.closed = True
            out.append(self._error(errors.beta_api_shape_disabled()))
            out.append(Close(BETA_CLOSE_CODE, BETA_CLOSE_REASON))
            return out
        session_id = self.ids.session()
        expires_at = int(self.wall_clock + self.config.session_max)
        if self.handshake.intent == "transcription":
            self.session = default_transcription_session(session_id, expires_at)
        else:
            self.session = default_session(session_id, self.handshake.model or "gpt-realtime", expires_at)
        self._configure_input()
        out.append(self._emit("session.created", session=self.session))
        return out

    def receive_text(self, text: str, now: float) -> list[Output]:
        if self.closed:
            return []
        out: list[Output] = []
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            out.append(self._error(errors.invalid_json(str(exc).split(":")[0])))
            return out + self.poll(now)
        if not isinstance(event, dict):
            out.append(self._error(errors.not_an_object(event)))
            return out + self.poll(now)
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        kind = event.get("type")
        accepted = CLIENT_EVENTS if self.session["type"] == "realtime" else TRANSCRIPTION_CLIENT_EVENTS
        if kind is None:
            out.append(self._error(errors.missing_type(), client_id))
        elif kind not in accepted:
            out.append(self._error(errors.unknown_event_type(kind, list(accepted)), client_id))
        elif (error := _check_id_fields(event)) is not None:
            out.append(self._error(error, client_id))
        else:
            handler = getattr(self, "_on_" + kind.replace(".", "_"))
            out.extend(handler(event, client_id, now))
        return out + self.poll(now)

    def receive_binary(self, data: bytes, now: float) -> list[Output]:
        if self.closed:
            return []
        policy = self.config.binary_policy
        if policy == "close":
            self.closed = True
            return [Close(1000, "")]
        if policy == "error":
            return [self._error(errors.binary_frame())] + self.poll(now)
        return self.poll(now)

    def poll(self, now: float) -> list[Output]:
        if self.closed:
            return []
        out: list[Output] = []
        response = self.response
        while response is not None and response.step < response.steps and response.due[response.step] <= now:
            out.extend(self._response_step(response))
            if response.step == response.steps:
                out.extend(self._finish_response(response, "completed"))
                self._arm_idle_timeout(now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            out.extend(self._idle_timeout(now))
        if now >= self._expires_at:
            self.closed = True
            out.append(self._error(errors.session_expired(self.config.session_max)))
            out.append(Close(EXPIRED_CLOSE_CODE, ""))
        return out

    def next_deadline(self) -> float | None:
        if self.closed:
            return None
        deadline = self._expires_at
        if self.response is not None and self.response.step < self.response.steps:
            deadline = min(deadline, self.response.due[self.response.step])
        if self._idle_deadline is not None:
            deadline = min(deadline, self._idle_deadline)
        return deadline

    # -- emitting ------------------------------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> Send:
        event = {"type": kind, "event_id": self.ids.event(), **fields}
        return Send(orjson.dumps(event).decode())

    def _error(self, error: RealtimeError, client_event_id: str | None = None) -> Send:
        event = error.event(client_event_id)
        return self._emit("error", error=event["error"])

    def _previous_item_id(self) -> str | None:
        return next(reversed(self.items), None) if self.items else None

    # -- session.update ------------------------------------------------------------------------

    def _on_session_update(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        if "session" not in event:
            return [self._error(errors.missing_required_parameter("session"), client_id)]
        error = validate_session_update(event["session"], self.session["type"])
        if error is not None:
            return [self._error(error, client_id)]
        self.session = merge_session(self.session, event["session"])
        self._configure_input()
        return [self._emit("session.updated", session=self.session)]

    @property
    def _input(self) -> dict[str, Any]:
        return self.session["audio"]["input"]

    def _configure_input(self) -> None:
        """(Re)builds the VAD for the current input format and turn detection, keeping the timeline."""
        detection = self._input.get("turn_detection")
        if detection is None:
            self._vad = None
            return
        if detection["type"] == "server_vad":
            threshold, silence = detection.get("threshold", 0.5), detection.get("silence_duration_ms", 200)
        else:  # semantic VAD approximated by energy VAD, its eagerness as the silence to wait for
            threshold, silence = 0.5, SEMANTIC_SILENCE_MS[detection.get("eagerness", "auto")]
        self._vad = EnergyVad(
            format_rate(self._input["format"]),
            threshold=threshold,
            silence_duration_ms=silence,
            origin_ms=round(self._timeline_ms),
        )

    # -- input audio ---------------------------------------------------------------------------

    def _on_input_audio_buffer_append(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        if "audio" not in event:
            return [self._error(errors.missing_required_parameter("audio"), client_id)]
        audio = event["audio"]
        if not isinstance(audio, str):
            return [self._error(errors.invalid_type("audio", "a string", audio), client_id)]
        fmt = self._input["format"]
        try:
            data = binascii.a2b_base64(audio, strict_mode=True)  # b64decode(validate=True), minus its overhead
        except (binascii.Error, ValueError):
            return [self._error(errors.invalid_audio(), client_id)]
        width = bytes_per_sample(fmt)
        if len(data) % width:
            return [self._error(errors.invalid_audio(), client_id)]
        self._buffer += data
        self._timeline_ms += len(data) / width / format_rate(fmt) * 1000
        if self._vad is None:
            return []
        out: list[Output] = []
        for edge in self._vad.feed(decode(data, fmt)):
            if isinstance(edge, SpeechStarted):
                out.extend(self._speech_started(edge, now))
            elif isinstance(edge, SpeechStopped):
                out.extend(self._speech_stopped(edge, now))
        return out

    def _idle_timeout_ms(self) -> int | None:
        detection = self._input.get("turn_detection")
        if self.session.get("type") != "realtime" or not detection or detection["type"] != "server_vad":
            return None
        return detection.get("idle_timeout_ms")

    def _arm_idle_timeout(self, now: float) -> None:
        """After a response, server VAD's `idle_timeout_ms` starts counting. The mock streams the
        answer's audio in real time, so its end is when the client has heard it."""
        timeout_ms = self._idle_timeout_ms()
        if timeout_ms is not None:
            self._idle_deadline = now + timeout_ms / 1000
            self._idle_from_ms = round(self._timeline_ms)

    def _idle_timeout(self, now: float) -> list[Output]:
        """Nobody spoke for `idle_timeout_ms`: the silent audio is committed and the model answers."""
        self._idle_deadline = None
        if self._idle_timeout_ms() is None or self.response is not None or self._speech_item is not None:
            return []  # turned off meanwhile, or a turn is under way (the next response re-arms it)
        item_id = self.ids.item()
        out: list[Output] = [
            self._emit(
                "input_audio_buffer.timeout_triggered",
                audio_start_ms=self._idle_from_ms,
                audio_end_ms=round(self._timeline_ms),
                item_id=item_id,
            )
        ]
        out.extend(self._commit(item_id))
        out.extend(self._start_response({}, now))
        return out

    def _speech_started(self, edge: SpeechStarted, now: float) -> list[Output]:
        self._idle_deadline = None
        detection = self._input["turn_detection"]
        padding = detection.get("prefix_padding_ms", 300) if detection["type"] == "server_vad" else 300
        start_ms = max(round(self._buffer_start_ms), edge.onset_ms - padding)
        self._speech_item = self.ids.item()
        out: list[Output] = [
            self._emit("input_audio_buffer.speech_started", audio_start_ms=start_ms, item_id=self._speech_item)
        ]
        if self.response is not None and detection.get("interrupt_response", True):
            out.extend(self._finish_response(self.response, "cancelled", "turn_detected"))
        return out

    def _speech_stopped(self, edge: SpeechStopped, now: float) -> list[Output]:
        assert self._vad is not None and self._speech_item is not None
        end_ms = edge.end_ms + self._vad.silence_duration_ms
        item_id, self._speech_item = self._speech_item, None
        out: list[Output] = [self._emit("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)]
        out.extend(self._commit(item_id, up_to_ms=end_ms))
        detection = self._input["turn_detection"]
        if self.session["type"] == "realtime" and detection.get("create_response", True) and self.response is None:
            out.extend(self._start_response({}, now))
        return out

    def _buffered_ms(self) -> float:
        fmt = self._input["format"]
        return len(self._buffer) / bytes_per_sample(fmt) / format_rate(fmt) * 1000

    def _commit(self, item_id: str, up_to_ms: float | None = None) -> list[Output]:
        fmt = self._input["format"]
        size = len(self._buffer)
        if up_to_ms is not None:
            samples = round((up_to_ms - self._buffer_start_ms) * format_rate(fmt) / 1000)
            size = max(0, min(size, samples * bytes_per_sample(fmt)))
        audio = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._buffer_start_ms += size / bytes_per_sample(fmt) / format_rate(fmt) * 1000
        previous = self._previous_item_id()
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items[item_id] = item
        self.user_audio[item_id] = audio
        return [
            self._emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
            self._emit("conversation.item.added", previous_item_id=previous, item=item),
            self._emit("conversation.item.done", previous_item_id=previous, item=item),
            *self._transcribe(item_id, audio),
        ]

    def _transcribe(self, item_id: str, audio: bytes) -> list[Output]:
        """Input transcription, when the session asks for it (`audio.input.transcription.model`). The
        mock recognises no speech: its transcript says how much audio it heard, in the events, deltas
        and usage shape the service sends."""
        transcription = self._input.get("transcription")
        if not isinstance(transcription, dict) or not transcription.get("model"):
            return []
        fmt = self._input["format"]
        seconds = len(audio) / bytes_per_sample(fmt) / format_rate(fmt)
        transcript = f"(mock transcript of {seconds:.1f} s of audio)"
        where = {"item_id": item_id, "content_index": 0}
        out: list[Output] = [
            self._emit("conversation.item.input_audio_transcription.delta", **where, delta=word)
            for word in _words(transcript)
        ]
        out.append(
            self._emit(
                "conversation.item.input_audio_transcription.completed",
                **where,
                transcript=transcript,
                usage=_transcription_usage(transcription["model"], seconds, transcript),
            )
        )
        self.items[item_id] = {**self.items[item_id], "content": [{"type": "input_audio", "transcript": transcript}]}
        return out

    def _on_input_audio_buffer_commit(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        buffered = self._buffered_ms()
        if buffered < MIN_COMMIT_MS:
            return [self._error(errors.commit_empty(buffered), client_id)]
        item_id = self._speech_item or self.ids.item()
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset()
        # A manual commit never creates a response; the client sends response.create.
        return self._commit(item_id)

    def _on_input_audio_buffer_clear(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        self._buffer_start_ms += self._buffered_ms()
        self._buffer.clear()
        self._speech_item = None
        if self._vad is not None:
            self._vad.reset()
        return [self._emit("input_audio_buffer.cleared")]

    def _on_output_audio_buffer_clear(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        return [self._error(errors.webrtc_only("output_audio_buffer.clear"), client_id)]

    # -- conversation items --------------------------------------------------------------------

    def _on_conversation_item_create(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        item = event.get("item")
        error = _check_item(item)
        previous = event.get("previous_item_id")
        if error is None and previous is not None and previous not in self.items and previous != "root":
            error = errors.item_not_found("invalid_value", str(previous))
        if error is not None:
            return [self._error(error, client_id)]
        assert isinstance(item, dict)
        item = {"id": item.get("id") or self.ids.item(), "object": "realtime.item", **item, "status": "completed"}
        previous = self._previous_item_id() if previous is None else (None if previous == "root" else previous)
        self.items[item["id"]] = item
        return [
            self._emit("conversation.item.added", previous_item_id=previous, item=item),
            self._emit("conversation.item.done", previous_item_id=previous, item=item),
        ]

    def _on_conversation_item_retrieve(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        item_id = event.get("item_id")
        if item_id not in self.items:
            return [self._error(errors.item_not_found("item_retrieve_invalid_item_id", str(item_id)), client_id)]
        item = self.items[item_id]
        if item_id in self.user_audio:
            audio = base64.b64encode(self.user_audio[item_id]).decode()
            transcript = item["content"][0].get("transcript")
            item = {**item, "content": [{"type": "input_audio", "audio": audio, "transcript": transcript}]}
        return [self._emit("conversation.item.retrieved", item=item)]

    def _on_conversation_item_delete(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        item_id = event.get("item_id")
        if item_id not in self.items:
            return [self._error(errors.item_not_found("item_delete_invalid_item_id", str(item_id)), client_id)]
        del self.items[item_id]
        self.user_audio.pop(item_id, None)
        return [self._emit("conversation.item.deleted", item_id=item_id)]

    def _on_conversation_item_truncate(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        for name in ("item_id", "content_index", "audio_end_ms"):
            if name not in event:
                return [self._error(errors.missing_required_parameter(name), client_id)]
        item_id, audio_end_ms = event["item_id"], event["audio_end_ms"]
        if not isinstance(audio_end_ms, int) or isinstance(audio_end_ms, bool) or audio_end_ms < 0:
            return [self._error(errors.invalid_type("audio_end_ms", "a non-negative integer", audio_end_ms), client_id)]
        if item_id not in self.items:
            return [self._error(errors.item_not_found("item_truncate_invalid_item_id", str(item_id)), client_id)]
        if item_id not in self.assistant_audio_ms:
            return [self._error(errors.truncate_not_audio(), client_id)]
        sent_ms = self.assistant_audio_ms[item_id]
        if audio_end_ms > sent_ms:
            return [self._error(errors.truncate_too_long(sent_ms, audio_end_ms), client_id)]
        return [
            self._emit(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=event["content_index"],
                audio_end_ms=audio_end_ms,
            )
        ]

    # -- responses -----------------------------------------------------------------------------

    def _on_response_create(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        params = event.get("response", {})
        if not isinstance(params, dict):
            return [self._error(errors.invalid_type("response", "an object", params), client_id)]
        for key in params:
            if key not in RESPONSE_FIELDS:
                return [self._error(errors.unknown_parameter(f"response.{key}"), client_id)]
        modalities = params.get("output_modalities")
        if modalities is not None and modalities not in (["audio"], ["text"]):
            return [self._error(errors.invalid_value("response.output_modalities", modalities, ["audio", "text"]), client_id)]
        if self.response is not None:
            return [self._error(errors.active_response(self.response.id), client_id)]
        return self._start_response(params, now)

    def _on_response_cancel(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        wanted = event.get("response_id")
        if self.response is None or (wanted is not None and wanted != self.response.id):
            return [self._error(errors.cancel_not_active(), client_id)]
        return self._finish_response(self.response, "cancelled", "client_cancelled")

    def _start_response(self, params: dict[str, Any], now: float) -> list[Output]:
        modality = (params.get("output_modalities") or self.session.get("output_modalities") or ["audio"])[0]
        output = self.session["audio"]["output"]
        fmt = output["format"]
        voice = output.get("voice", "marin")
        voice = voice.get("id") if isinstance(voice, dict) else voice
        clip = self.config.voice
        words = _words(clip.transcript)
        chunks: tuple[AudioDelta, ...] = ()
        if modality == "audio":
            chunks = response_deltas(clip, fmt.get("type", "audio/pcm"), self.config.delta_ms)
        steps = len(chunks) if modality == "audio" else len(words)
        pace = self.config.delta_ms / 1000 if self.config.realtime else 0.0
        in_conversation = params.get("conversation", "auto") != "none"
        previous = self._previous_item_id() if in_conversation else None
        item_id = self.ids.item()
        response = _Response(
            id=self.ids.response(),
            item={"id": item_id, "object": "realtime.item", "type": "message", "status": "in_progress",
                  "role": "assistant", "content": []},
            modality=modality,
            chunks=chunks,
            words=words,
            due=[now + i * pace for i in range(steps)],
            in_conversation=in_conversation,
            previous_item_id=previous,
            metadata=params.get("metadata"),
            voice=voice,
            format=fmt,
        )
        self.response = response
        if in_conversation:
            self.items[item_id] = response.item
        if modality == "audio":
            self.assistant_audio_ms[item_id] = 0
        out: list[Output] = [
            self._emit("response.created", response=self._response_object(response, "in_progress", None, [])),
            self._emit("response.output_item.added", response_id=response.id, output_index=0, item=response.item),
        ]
        if in_conversation:
            out.append(self._emit("conversation.item.added", previous_item_id=previous, item=response.item))
        part = {"type": "audio", "transcript": ""} if modality == "audio" else {"type": "text", "text": ""}
        out.append(self._emit("response.content_part.added", **self._where(response), part=part))
        return out

    def _where(self, response: _Response) -> dict[str, Any]:
        return {"response_id": response.id, "item_id": response.item["id"], "output_index": 0, "content_index": 0}

    def _response_step(self, response: _Response) -> list[Output]:
        """One audio chunk (with the transcript words due by then), or one text word."""
        out: list[Output] = []
        where = self._where(response)
        if response.modality == "text":
            out.append(self._emit("response.output_text.delta", **where, delta=response.words[response.step]))
            response.words_sent += 1
        else:
            # The transcript runs slightly ahead of the audio, as the service's does.
            words_due = -(-len(response.words) * (response.step + 1) // len(response.chunks))
            while response.words_sent < words_due:
                delta = response.words[response.words_sent]
                out.append(self._emit("response.output_audio_transcript.delta", **where, delta=delta))
                response.words_sent += 1
            chunk = response.chunks[response.step]
            out.append(self._emit("response.output_audio.delta", **where, delta=chunk.b64))
            response.audio_bytes_sent += chunk.size
            fmt = response.format
            sent_ms = response.audio_bytes_sent / bytes_per_sample(fmt) / format_rate(fmt) * 1000
            self.assistant_audio_ms[response.item["id"]] = int(sent_ms)
        response.step += 1
        return out

    def _finish_response(self, response: _Response, status: str, reason: str | None = None) -> list[Output]:
        self.response = None
        where = self._where(response)
        text = response.text_so_far()
        out: list[Output] = []
        if response.modality == "audio":
            out.append(self._emit("response.output_audio.done", **where))
            out.append(self._emit("response.output_audio_transcript.done", **where, transcript=text))
            part = {"type": "audio", "transcript": text}
            content = [{"type": "output_audio", "transcript": text}]
        else:
            out.append(self._emit("response.output_text.done", **where, text=text))
            part = {"type": "text", "text": text}
            content = [{"type": "output_text", "text": text}]
        out.append(self._emit("response.content_part.done", **where, part=part))
        item = {**response.item, "status": "completed" if status == "completed" else "incomplete", "content": content}
        if response.in_conversation and item["id"] in self.items:
            self.items[item["id"]] = item
        out.append(self._emit("response.output_item.done", response_id=response.id, output_index=0, item=item))
        if response.in_conversation:
            out.append(self._emit("conversation.item.done", previous_item_id=response.previous_item_id, item=item))
        details = None if reason is None else {"type": status, "reason": reason}
        out.append(self._emit("response.done", response=self._response_object(response, status, details, [item])))
        out.append(self._emit("rate_limits.updated", rate_limits=self._rate_limits(response)))
        return out

    def _response_object(self, response: _Response, status: str, details: Any, output: list[Any]) -> dict[str, Any]:
        done = status != "in_progress"
        audio_tokens = response.audio_bytes_sent // 960  # about 20 ms of 24 kHz audio a token
        text_tokens = response.words_sent
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": self._conversation_id if response.in_conversation else None,
            "output_modalities": [response.modality],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": response.format, "voice": response.voice}},
            "usage": {
                "total_tokens": 100 + audio_tokens + text_tokens,
                "input_tokens": 100,
                "output_tokens": audio_tokens + text_tokens,
                "input_token_details": {"text_tokens": 100, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
            } if done else None,
            "metadata": response.metadata,
        }

    def _rate_limits(self, response: _Response) -> list[dict[str, Any]]:
        used = 100 + response.audio_bytes_sent // 960 + response.words_sent
        return [
            {"name": "requests", "limit": 10000, "remaining": 9999, "reset_seconds": 0.006},
            {"name": "tokens", "limit": 2000000, "remaining": 2000000 - used, "reset_seconds": 0.003},
        ]


# -- helpers -----------------------------------------------------------------------------------

_CONTENT_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}


def _words(transcript: str) -> list[str]:
    """Transcript deltas as the service sends them: words, each after the first with its space."""
    words = transcript.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def _transcription_usage(model: str, seconds: float, transcript: str) -> dict[str, Any]:
    """whisper-1 is billed by duration, the newer models by tokens (the mock's counts: 10 audio
    tokens a second, a token a word)."""
    if model == "whisper-1":
        return {"type": "duration", "seconds": round(seconds, 3)}
    audio_tokens, output_tokens = round(seconds * 10), len(transcript.split())
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "output_tokens": output_tokens,
        "total_tokens": audio_tokens + output_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
    }


ID_FIELDS = ("item_id", "previous_item_id", "response_id")


def _check_id_fields(event: dict[str, Any]) -> errors.RealtimeError | None:
    """Ids are strings wherever they appear at the top of a client event."""
    for name in ID_FIELDS:
        if name in event and event[name] is not None and not isinstance(event[name], str):
            return errors.invalid_type(name, "a string", event[name])
    if "content_index" in event and (not isinstance(event["content_index"], int) or isinstance(event["content_index"], bool)):
        return errors.invalid_type("content_index", "an integer", event["content_index"])
    return None


def _check_item(item: Any) -> RealtimeError | None:
    """The error for a `conversation.item.create` item the service would refuse, or None."""
    if item is None:
        return errors.missing_required_parameter("item")
    if not isinstance(item, dict):
        return errors.invalid_type("item", "an object", item)
    kind = item.get("type")
    if kind is None:
        return errors.missing_required_parameter("item.type")
    for name in ("type", "role", "id"):
        if name in item and not isinstance(item[name], str):
            return errors.invalid_type(f"item.{name}", "a string", item[name])
    required = {
        "message": ("role", "content"),
        "function_call": ("call_id", "name", "arguments"),
        "function_call_output": ("call_id", "output"),
    }
    if kind not in required:
        return errors.invalid_value("item.type", kind, list(required))
    for name in required[kind]:
        if name not in item:
            return errors.missing_required_parameter(f"item.{name}")
    if kind != "message":
        return None
    role, content = item["role"], item["content"]
    if role not in _CONTENT_TYPES:
        return errors.invalid_value("item.role", role, list(_CONTENT_TYPES))
    if not isinstance(content, list):
        return errors.invalid_type("item.content", "an array", content)
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            return errors.invalid_type(f"item.content[{index}]", "an object", part)
        if not isinstance(part.get("type"), str):
            return errors.invalid_type(f"item.content[{index}].type", "a string", part.get("type"))
        if part.get("type") not in _CONTENT_TYPES[role]:
            return errors.invalid_value(f"item.content[{index}].type", part.get("type"), list(_CONTENT_TYPES[role]))
    return None
