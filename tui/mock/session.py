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
from tui.mock.mcp import INPUT_SCHEMA as MCP_INPUT_SCHEMA
from tui.mock.mcp import McpStep, listed_tools
from tui.mock.mcp import call_output as mcp_call_output
from tui.mock.mcp import servers as mcp_servers
from tui.mock.tools import argument_chunks, build_arguments, plan_response, quote
from tui.mock.vad import EnergyVad, SpeechStarted, SpeechStopped
from tui.protocol import errors
from tui.protocol.errors import BETA_CLOSE_CODE, BETA_CLOSE_REASON, RealtimeError
from tui.protocol.events import CLIENT_EVENTS
from tui.protocol.items import ITEM_FIELDS
from tui.protocol.session import (
    default_session,
    default_transcription_session,
    merge_session,
    validate_response_create,
    validate_session_update,
)

# A transcription session (intent=transcription) has no responses and no conversation to edit.
TRANSCRIPTION_CLIENT_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)
MIN_COMMIT_MS = 100
EXPIRED_CLOSE_CODE = 1001
SEMANTIC_SILENCE_MS = {"low": 800, "medium": 500, "auto": 500, "high": 250}


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
    minted_session: dict[str, Any] | None = None  # the session an ephemeral key (ek_) was minted with


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
    max_tokens: int | None = None  # max_output_tokens; None for "inf"
    step: int = 0
    words_sent: int = 0
    audio_bytes_sent: int = 0
    argument_tokens: int = 0  # a token per argument delta of its tool calls
    prefix: list[dict[str, Any]] = field(default_factory=list)  # output items before its message (tool calls)

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
        # Input transcriptions run beside the conversation: a commit queues one, and it arrives with the
        # next events the session sends (so after `response.created` when VAD starts a response at once).
        self._transcriptions: list[tuple[str, bytes]] = []
        self.fail_transcriptions = False  # the `transcription-failed` fault: each one fails from now on

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
        minted = self.handshake.minted_session or {}
        if self.handshake.intent == "transcription" or minted.get("type") == "transcription":
            self.session = default_transcription_session(session_id, expires_at)
        else:
            self.session = default_session(session_id, minted.get("model") or self.handshake.model or "gpt-realtime", expires_at)
        # An ephemeral key's session starts with the configuration it was minted with.
        self.session = merge_session(self.session, minted)
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
        out: list[Output] = self._transcriptions_due()
        response = self.response
        while response is not None and response.step < response.steps and response.due[response.step] <= now:
            if response.max_tokens is not None and _tokens_after_step(response) > response.max_tokens:
                out.extend(self._finish_response(response, "incomplete", "max_output_tokens"))
                break
            out.extend(self._response_step(response))
            if response.step == response.steps:
                out.extend(self._finish_response(response, "completed"))
                self._arm_idle_timeout(now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            out.extend(self._idle_timeout(now))
            out.extend(self._transcriptions_due())
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
        if error is None and self._changes_voice_after_audio(event["session"]):
            error = errors.cannot_update_voice()
        if error is not None:
            return [self._error(error, client_id)]
        self.session = merge_session(self.session, event["session"])
        self._configure_input()
        return [self._emit("session.updated", session=self.session), *self._list_mcp_tools(self.session.get("tools"))]

    def _changes_voice_after_audio(self, update: dict[str, Any]) -> bool:
        """The voice is fixed once the assistant has produced audio in the conversation; the same voice
        again is no change (clients that resend their whole configuration do)."""
        voice = update.get("audio", {}).get("output", {}).get("voice")
        if voice is None or not any(ms > 0 for ms in self.assistant_audio_ms.values()):
            return False
        current = self.session["audio"]["output"].get("voice")
        return _voice_id(voice) != _voice_id(current)

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
        out: list[Output] = [self._emit("input_audio_buffer.speech_started", audio_start_ms=start_ms, item_id=self._speech_item)]
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
        self._queue_transcription(item_id, audio)
        return [
            self._emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id),
            self._emit("conversation.item.added", previous_item_id=previous, item=item),
            self._emit("conversation.item.done", previous_item_id=previous, item=item),
        ]

    def _transcriptions_due(self) -> list[Output]:
        out: list[Output] = []
        while self._transcriptions:
            out.extend(self._transcribe(*self._transcriptions.pop(0)))
        return out

    def _queue_transcription(self, item_id: str, audio: bytes) -> None:
        transcription = self._input.get("transcription")
        if isinstance(transcription, dict) and transcription.get("model"):
            self._transcriptions.append((item_id, audio))

    def _transcribe(self, item_id: str, audio: bytes) -> list[Output]:
        """Input transcription, when the session asks for it (`audio.input.transcription.model`). The
        mock recognises no speech: its transcript says how much audio it heard, in the events, deltas
        and usage shape the service sends."""
        transcription = self._input.get("transcription")
        if not isinstance(transcription, dict) or not transcription.get("model"):
            return []
        where = {"item_id": item_id, "content_index": 0}
        if self.fail_transcriptions:
            # The shape is the SDK's (ConversationItemInputAudioTranscriptionFailedEvent); the service's
            # codes and words for a failed transcription are not public, these are the mock's.
            error = {
                "type": "server_error",
                "code": "transcription_failed",
                "param": None,
                "message": "Input audio transcription failed (the mock's transcription-failed fault).",
            }
            return [self._emit("conversation.item.input_audio_transcription.failed", **where, error=error)]
        fmt = self._input["format"]
        seconds = len(audio) / bytes_per_sample(fmt) / format_rate(fmt)
        transcript = f"(mock transcript of {seconds:.1f} s of audio)"
        out: list[Output] = [
            self._emit("conversation.item.input_audio_transcription.delta", **where, delta=word) for word in _words(transcript)
        ]
        out.append(
            self._emit(
                "conversation.item.input_audio_transcription.completed",
                **where,
                transcript=transcript,
                usage=_transcription_usage(transcription["model"], seconds, transcript),
            )
        )
        if item_id in self.items:  # unless deleted meanwhile
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
            error = errors.item_not_found("invalid_value", str(previous), "previous_item_id")
        if error is None and isinstance(item, dict) and item["type"] == "function_call_output":
            calls = {i.get("call_id") for i in self.items.values() if i.get("type") == "function_call"}
            if item["call_id"] not in calls:
                error = errors.invalid_tool_call_id(str(item["call_id"]))
        if error is None and isinstance(item, dict) and item["type"] == "mcp_approval_response":
            requests = {i.get("id") for i in self.items.values() if i.get("type") == "mcp_approval_request"}
            if item["approval_request_id"] not in requests:
                error = errors.approval_request_not_found(str(item["approval_request_id"]))
        if error is not None:
            return [self._error(error, client_id)]
        assert isinstance(item, dict)
        item = {"id": item.get("id") or self.ids.item(), "object": "realtime.item", **item}
        if item["type"] in ("message", "function_call", "function_call_output"):
            item["status"] = "completed"  # the MCP items have no status
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
                "conversation.item.truncated", item_id=item_id, content_index=event["content_index"], audio_end_ms=audio_end_ms
            )
        ]

    # -- responses -----------------------------------------------------------------------------

    def _on_response_create(self, event: dict[str, Any], client_id: str | None, now: float) -> list[Output]:
        params = event.get("response")
        params = {} if params is None else params  # the SDK sends `response: null` for "no overrides"
        error = validate_response_create(params)
        if error is None:
            error = _check_input(params.get("input") or [])
        if error is not None:
            return [self._error(error, client_id)]
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
        limit = params.get("max_output_tokens", self.session.get("max_output_tokens", "inf"))
        tools = params.get("tools", self.session.get("tools"))
        out = self._list_mcp_tools(tools)  # a response's own MCP servers are listed first
        context = params["input"] if isinstance(params.get("input"), list) else self.items.values()
        plan = plan_response(
            context,
            tools,
            params.get("tool_choice", self.session.get("tool_choice", "auto")),
            params.get("parallel_tool_calls", self.session.get("parallel_tool_calls")) is True,
        )
        in_conversation = params.get("conversation", "auto") != "none"
        response = _Response(
            id=self.ids.response(),
            item={},
            modality=modality,
            chunks=(),
            words=[],
            due=[],
            in_conversation=in_conversation,
            previous_item_id=None,
            metadata=params.get("metadata"),
            voice=voice,
            format=fmt,
            max_tokens=None if limit == "inf" else limit,
        )
        out.append(self._emit("response.created", response=self._response_object(response, "in_progress", None, [])))
        # The service reports the limits as a response starts (they count its input).
        out.append(self._emit("rate_limits.updated", rate_limits=self._rate_limits(response)))
        if plan.calls:
            return out + self._call_functions(response, plan.calls, plan.user_text)
        if plan.mcp is not None and plan.mcp.approval:
            return out + self._ask_approval(response, plan.mcp, plan.user_text)
        answer = plan.answer
        if plan.mcp is not None:
            out += self._call_mcp(response, plan.mcp, plan.user_text)
            call = response.prefix[-1]
            answer = quote([(call["name"], call["output"])])
        clip = self.config.voice
        # After a tool's output the mock's answer quotes it (its audio stays the packaged clip).
        response.words = _words(answer or clip.transcript)
        if modality == "audio":
            response.chunks = response_deltas(clip, fmt.get("type", "audio/pcm"), self.config.delta_ms)
        pace = self.config.delta_ms / 1000 if self.config.realtime else 0.0
        response.due = [now + i * pace for i in range(response.steps)]
        previous = response.previous_item_id = self._previous_item_id() if in_conversation else None
        item_id = self.ids.item()
        response.item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self.response = response
        if in_conversation:
            self.items[item_id] = response.item
        if modality == "audio":
            self.assistant_audio_ms[item_id] = 0
        index = len(response.prefix)
        out.append(self._emit("response.output_item.added", response_id=response.id, output_index=index, item=response.item))
        if in_conversation:
            out.append(self._emit("conversation.item.added", previous_item_id=previous, item=response.item))
        part = {"type": "audio", "transcript": ""} if modality == "audio" else {"type": "text", "text": ""}
        out.append(self._emit("response.content_part.added", **self._where(response), part=part))
        return out

    def _call_functions(self, response: _Response, tools: tuple[dict[str, Any], ...], user_text: str) -> list[Output]:
        """A response that calls functions, whole at once: each call's item, its arguments in
        several deltas, then `response.done` listing the calls. `max_output_tokens` (a token per
        delta) cuts the arguments and ends the response `incomplete`."""
        out: list[Output] = []
        cut = False
        for tool in tools:
            call_id = self.ids.next("call")
            seed = f"{self.config.seed}/{self.handshake.conn_index}/{call_id}"
            chunks = argument_chunks(build_arguments(tool.get("parameters"), seed, user_text))
            if response.max_tokens is not None and response.argument_tokens + len(chunks) > response.max_tokens:
                chunks, cut = chunks[: response.max_tokens - response.argument_tokens], True
            item = {
                "id": self.ids.item(),
                "object": "realtime.item",
                "type": "function_call",
                "status": "in_progress",
                "name": tool.get("name", ""),
                "call_id": call_id,
                "arguments": "",
            }
            out += self._add_output_item(response, item)
            where = {"response_id": response.id, "item_id": item["id"], "output_index": len(response.prefix), "call_id": call_id}
            for chunk in chunks:
                out.append(self._emit("response.function_call_arguments.delta", **where, delta=chunk))
                response.argument_tokens += 1
            arguments = "".join(chunks)
            out.append(self._emit("response.function_call_arguments.done", **where, name=item["name"], arguments=arguments))
            status = "incomplete" if cut else "completed"
            out += self._output_item_done(response, {**item, "arguments": arguments, "status": status})
            if cut:
                break
        status, details = ("incomplete", {"type": "incomplete", "reason": "max_output_tokens"}) if cut else ("completed", None)
        return out + self._end_response(response, status, details, response.prefix)

    def _add_output_item(self, response: _Response, item: dict[str, Any]) -> list[Output]:
        """`response.output_item.added` and, in the conversation, `conversation.item.added`."""
        index = len(response.prefix)
        out: list[Output] = [self._emit("response.output_item.added", response_id=response.id, output_index=index, item=item)]
        if response.in_conversation:
            out.append(self._emit("conversation.item.added", previous_item_id=self._previous_item_id(), item=item))
            self.items[item["id"]] = item
        return out

    def _output_item_done(self, response: _Response, item: dict[str, Any]) -> list[Output]:
        """`response.output_item.done` and `conversation.item.done`; the item joins the response's output."""
        out: list[Output] = [
            self._emit("response.output_item.done", response_id=response.id, output_index=len(response.prefix), item=item)
        ]
        if response.in_conversation:
            previous = list(self.items)
            before = previous[previous.index(item["id"]) - 1] if previous.index(item["id"]) else None
            self.items[item["id"]] = item
            out.append(self._emit("conversation.item.done", previous_item_id=before, item=item))
        response.prefix.append(item)
        return out

    def _ask_approval(self, response: _Response, step: McpStep, user_text: str) -> list[Output]:
        """A response that asks the client to approve an MCP call: an `mcp_approval_request` item,
        then `response.done`. The client answers with an `mcp_approval_response` item and
        `response.create`."""
        seed = f"{self.config.seed}/{self.handshake.conn_index}/{response.id}"
        request = {
            "id": self.ids.item(),
            "type": "mcp_approval_request",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": build_arguments(MCP_INPUT_SCHEMA, seed, user_text),
        }
        out = self._add_output_item(response, request) + self._output_item_done(response, request)
        return out + self._end_response(response, "completed", None, response.prefix)

    def _call_mcp(self, response: _Response, step: McpStep, user_text: str) -> list[Output]:
        """An MCP call the mock carries out itself: the `mcp_call` item, its arguments in deltas,
        `response.mcp_call.in_progress` and `.completed`, the item done with its output."""
        seed = f"{self.config.seed}/{self.handshake.conn_index}/{response.id}"
        arguments = step.arguments if step.arguments is not None else build_arguments(MCP_INPUT_SCHEMA, seed, user_text)
        item = {
            "id": self.ids.item(),
            "type": "mcp_call",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": "",
            "approval_request_id": step.approval_request_id,
            "output": None,
            "error": None,
        }
        out = self._add_output_item(response, item)
        where = {"item_id": item["id"], "output_index": len(response.prefix)}
        for chunk in argument_chunks(arguments):
            out.append(self._emit("response.mcp_call_arguments.delta", response_id=response.id, **where, delta=chunk))
            response.argument_tokens += 1
        out.append(self._emit("response.mcp_call_arguments.done", response_id=response.id, **where, arguments=arguments))
        out.append(self._emit("response.mcp_call.in_progress", **where))
        out.append(self._emit("response.mcp_call.completed", **where))
        item = {**item, "arguments": arguments, "output": mcp_call_output(step.server_label, step.name, arguments)}
        return out + self._output_item_done(response, item)

    def _list_mcp_tools(self, tools: Any) -> list[Output]:
        """Each MCP server not listed yet lists its tools: an `mcp_list_tools` item in the
        conversation, `mcp_list_tools.in_progress` and `.completed`."""
        listed = {i.get("server_label") for i in self.items.values() if i.get("type") == "mcp_list_tools"}
        out: list[Output] = []
        for server in mcp_servers(tools):
            if server["server_label"] in listed:
                continue
            listed.add(server["server_label"])
            previous = self._previous_item_id()
            item = {"id": self.ids.item(), "type": "mcp_list_tools", "server_label": server["server_label"], "tools": []}
            self.items[item["id"]] = item
            out.append(self._emit("conversation.item.added", previous_item_id=previous, item=item))
            out.append(self._emit("mcp_list_tools.in_progress", item_id=item["id"]))
            item = {**item, "tools": listed_tools(server, self.config.mcp_tools)}
            self.items[item["id"]] = item
            out.append(self._emit("mcp_list_tools.completed", item_id=item["id"]))
            out.append(self._emit("conversation.item.done", previous_item_id=previous, item=item))
        return out

    def _end_response(self, response: _Response, status: str, details: Any, output: list[Any]) -> list[Output]:
        return [self._emit("response.done", response=self._response_object(response, status, details, output))]

    def _where(self, response: _Response) -> dict[str, Any]:
        index = len(response.prefix)
        return {"response_id": response.id, "item_id": response.item["id"], "output_index": index, "content_index": 0}

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
        out.append(self._emit("response.output_item.done", response_id=response.id, output_index=len(response.prefix), item=item))
        if response.in_conversation:
            out.append(self._emit("conversation.item.done", previous_item_id=response.previous_item_id, item=item))
        details = None if reason is None else {"type": status, "reason": reason}
        return out + self._end_response(response, status, details, [*response.prefix, item])

    def _response_object(self, response: _Response, status: str, details: Any, output: list[Any]) -> dict[str, Any]:
        done = status != "in_progress"
        audio_tokens = response.audio_bytes_sent // 960  # about 20 ms of 24 kHz audio a token
        text_tokens = response.words_sent + response.argument_tokens
        return {
            "object": "realtime.response",
            "id": response.id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": self._conversation_id if response.in_conversation else None,
            "output_modalities": [response.modality],
            "max_output_tokens": "inf" if response.max_tokens is None else response.max_tokens,
            "audio": {"output": {"format": response.format, "voice": response.voice}},
            "usage": {
                "total_tokens": 100 + audio_tokens + text_tokens,
                "input_tokens": 100,
                "output_tokens": audio_tokens + text_tokens,
                "input_token_details": {"text_tokens": 100, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
            }
            if done
            else None,
            "metadata": response.metadata,
        }

    def _rate_limits(self, response: _Response) -> list[dict[str, Any]]:
        used = 100 + response.audio_bytes_sent // 960 + response.words_sent + response.argument_tokens
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


def _voice_id(voice: Any) -> Any:
    return voice.get("id") if isinstance(voice, dict) else voice


def _tokens_after_step(response: _Response) -> int:
    """The response's output tokens (as its usage counts them) once its next step is sent."""
    tokens = response.argument_tokens
    if response.modality == "text":
        return tokens + response.words_sent + 1
    words_due = -(-len(response.words) * (response.step + 1) // len(response.chunks))
    audio_bytes = response.audio_bytes_sent + response.chunks[response.step].size
    return tokens + max(words_due, response.words_sent) + audio_bytes // 960


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


def _check_input(items: list[dict[str, Any]]) -> RealtimeError | None:
    """The first item of a `response.input` the service would refuse: each is a conversation item, or
    a reference to one (`{type: "item_reference", id}`)."""
    for index, item in enumerate(items):
        where = f"response.input[{index}]"
        if item.get("type") == "item_reference":
            if not isinstance(item.get("id"), str):
                return errors.invalid_type(f"{where}.id", "a string", item.get("id"))
            continue
        error = _check_item(item, where)
        if error is not None:
            return error
    return None


def _check_item(item: Any, where: str = "item") -> RealtimeError | None:
    """The error for a `conversation.item.create` item (or an item of `response.input`, `where`) the
    service would refuse, or None."""
    if item is None:
        return errors.missing_required_parameter(where)
    if not isinstance(item, dict):
        return errors.invalid_type(where, "an object", item)
    kind = item.get("type")
    if kind is None:
        return errors.missing_required_parameter(f"{where}.type")
    for name in ("type", "role", "id"):
        if name in item and not isinstance(item[name], str):
            return errors.invalid_type(f"{where}.{name}", "a string", item[name])
    if kind in ITEM_FIELDS:
        return ITEM_FIELDS[kind](item, where)
    if kind != "message":
        return errors.invalid_value(f"{where}.type", kind, ["message", *ITEM_FIELDS])
    for name in ("role", "content"):
        if name not in item:
            return errors.missing_required_parameter(f"{where}.{name}")
    role, content = item["role"], item["content"]
    if role not in _CONTENT_TYPES:
        return errors.invalid_value(f"{where}.role", role, list(_CONTENT_TYPES))
    if not isinstance(content, list):
        return errors.invalid_type(f"{where}.content", "an array", content)
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            return errors.invalid_type(f"{where}.content[{index}]", "an object", part)
        if not isinstance(part.get("type"), str):
            return errors.invalid_type(f"{where}.content[{index}].type", "a string", part.get("type"))
        if part.get("type") not in _CONTENT_TYPES[role]:
            return errors.invalid_value(f"{where}.content[{index}].type", part.get("type"), list(_CONTENT_TYPES[role]))
        for name in ("text", "audio", "transcript", "image_url"):
            if part.get(name) is not None and not isinstance(part[name], str):
                return errors.invalid_type(f"{where}.content[{index}].{name}", "a string", part[name])
    return None
