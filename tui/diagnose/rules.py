"""The findings: one small rule per cause, each watching the stream and concluding at the end.

Every rule sees each record once (`observe`) and keeps only counters, a few seq numbers and the
latest state it needs; `conclude` turns that into findings, given how the session ended. Finding ids
are stable (docs/diagnose-json.md lists them).
"""

from __future__ import annotations

import base64
import binascii
import statistics
from dataclasses import dataclass
from typing import Any

from tui.diagnose.items import Legs, ParsedRecord, connect_failure, error_fields
from tui.diagnose.pacing import PacingMeter, is_real_time, likely_rate
from tui.diagnose.report import EndingReport, Finding
from tui.protocol.events import BETA_SESSION_FIELDS, is_beta_only
from tui.protocol.handshake import (
    body_excerpt,
    connect_error_words,
    describe_connect_failure,
    describe_refusal,
    presents_ephemeral_key,
    refusal_hint,
)
from tui.protocol.summary import object_field
from tui.wire.format import C2S, RELAY_STOPPED, S2C

MAX_EVIDENCE = 10  # seq numbers kept per finding
RELATED_S = 5.0  # an error this close before a close explains it
APPEND = "input_audio_buffer.append"
CONTENT_EVENTS = frozenset({APPEND, "input_audio_buffer.commit", "response.create", "conversation.item.create"})
# Requests the server answers at once (its acknowledgement, or an error), whatever the model does next.
ACKNOWLEDGED_REQUESTS = frozenset(
    {
        "session.update",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "response.create",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
    }
)
SILENT_S = 0.5  # no server frame this long after such a request (or after the 101): the server stalled
SLOW_MEDIAN_S = 0.15  # a median answer this slow, over at least SLOW_MIN_ANSWERS answers: a slow server
SLOW_MIN_ANSWERS = 2


@dataclass
class Context:
    ending: EndingReport


class Rule:
    def observe(self, item: ParsedRecord) -> None:
        raise NotImplementedError

    def conclude(self, context: Context) -> list[Finding]:
        raise NotImplementedError


def _keep(seqs: list[int], seq: int) -> None:
    if len(seqs) < MAX_EVIDENCE:
        seqs.append(seq)


def _ago(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _with_ending(evidence: list[int], ending: EndingReport) -> list[int]:
    return sorted(set(evidence + ([ending.seq] if ending.seq is not None and ending.how in ("close", "dropped") else [])))


# -- opening -----------------------------------------------------------------------------------


RELAY = "The relay (rtui proxy)"


class NeverOpened(Rule):
    """handshake-refused and connect-failed: the first attempt of each kind (a reconnect can be the one).
    In a relay recording upstream's refusal comes first (the relay passes it on), so a refusal on the
    client leg alone is the relay's own, and a failed connect is the relay's, towards upstream."""

    def __init__(self, legs: Legs) -> None:
        self.legs = legs
        self.answered: set[int] = set()
        self.ephemeral: set[int] = set()  # conns whose handshake presented an ephemeral key (ek_)
        self.refusal: ParsedRecord | None = None
        self.failure: tuple[ParsedRecord, str, str] | None = None

    def observe(self, item: ParsedRecord) -> None:
        if item.kind == "handshake_request":
            if presents_ephemeral_key(item.record.get("headers"), item.record.get("subprotocols")):
                self.ephemeral.add(item.record["conn"])
        elif item.kind == "handshake_response":
            self.answered.add(item.record["conn"])
            if item.record.get("status") != 101 and self.refusal is None:
                self.refusal = item
        elif item.kind == "error" and self.failure is None and item.record["conn"] not in self.answered:
            failure = connect_failure(item)
            if failure is not None:
                self.failure = (item, *failure)

    def conclude(self, context: Context) -> list[Finding]:
        findings = []
        if self.refusal is not None:
            record = self.refusal.record
            status, body = record.get("status"), record.get("body")
            ephemeral = record["conn"] in self.ephemeral
            details = {
                "status": status,
                "reason": record.get("reason"),
                "body": body_excerpt(body),
                "hint": refusal_hint(status if isinstance(status, int) else None, ephemeral=ephemeral),
                "ephemeral_key": ephemeral,
            }
            who = RELAY if self.legs.leg_name(record["conn"]) == "client" else "The server"
            message = describe_refusal(status, record.get("reason"), body, who, ephemeral=ephemeral)
            findings.append(Finding("handshake-refused", "error", message, [self.refusal.seq], details))
        if self.failure is not None:
            item, url, error = self.failure
            details = {"url": url, "error": error, "words": connect_error_words(error, url)}
            through = RELAY if self.legs.relayed else None
            findings.append(
                Finding("connect-failed", "error", describe_connect_failure(url, error, through), [item.seq], details)
            )
        return findings


# -- frames ------------------------------------------------------------------------------------


class BinaryFrames(Rule):
    def __init__(self) -> None:
        self.count = 0
        self.seqs: list[int] = []
        self.first: ParsedRecord | None = None

    def observe(self, item: ParsedRecord) -> None:
        if item.is_data(C2S) and item.record["opcode"] == "binary":
            self.count += 1
            _keep(self.seqs, item.seq)
            self.first = self.first or item

    def conclude(self, context: Context) -> list[Finding]:
        if self.first is None:
            return []
        ending = context.ending
        first = self.first
        what = f" holding {first.type}" if first.type else ""
        message = (
            f"The client sent {self.count} binary frame{'s' if self.count > 1 else ''} (the first, seq {first.seq}, "
            f"{what.strip() or 'not JSON'}); Realtime events must be JSON in text frames"
        )
        if ending.how == "close" and ending.previous and ending.previous["seq"] == first.seq:
            message += f", and the {ending.closed_first_by} closed with {ending.code} right after the first one"
        message += " (on iOS send .string, not .data)."
        return [
            Finding(
                "binary-frame", "error", message, _with_ending(self.seqs, ending), {"count": self.count, "first_type": first.type}
            )
        ]


class InvalidJson(Rule):
    def __init__(self) -> None:
        self.by_dir: dict[str, list[int]] = {C2S: [], S2C: []}
        self.counts = {C2S: 0, S2C: 0}
        self.first_problem: dict[str, str] = {}
        self.server_errors: list[int] = []

    def observe(self, item: ParsedRecord) -> None:
        if item.is_data() and item.json_error is not None:
            # A binary frame of raw bytes is the binary-frame finding's business, not a JSON mistake.
            if item.record["opcode"] == "binary":
                return
            self.counts[item.dir] += 1
            _keep(self.by_dir[item.dir], item.seq)
            self.first_problem.setdefault(item.dir, item.json_error)
        elif error_fields(item).get("code") in ("invalid_json", "invalid_event"):
            _keep(self.server_errors, item.seq)

    def conclude(self, context: Context) -> list[Finding]:
        findings = []
        for direction, who in ((C2S, "client"), (S2C, "server")):
            count = self.counts[direction]
            if not count:
                continue
            seqs = self.by_dir[direction]
            message = (
                f"The {who} sent {count} text frame{'s' if count > 1 else ''} that {'are' if count > 1 else 'is'} not a JSON "
                f"object (first at seq {seqs[0]}: {self.first_problem[direction]})"
            )
            if direction == C2S:
                message += "; the server answers each with an error event."
                evidence = seqs + self.server_errors
            else:
                message += "; a strict client fails on it and may close the connection."
                evidence = list(seqs)
            findings.append(
                Finding("invalid-json", "error", message, sorted(set(evidence)), {"direction": direction, "count": count})
            )
        return findings


# -- audio -------------------------------------------------------------------------------------


class AudioFormat(Rule):
    """The input audio format the server last confirmed (session.created / session.updated)."""

    def __init__(self) -> None:
        self.bytes_per_second = 48000  # audio/pcm, 24 kHz, 16-bit mono
        self.labelled_rate = 24000
        self.pcm16 = True
        self.server_vad = True

    def observe(self, item: ParsedRecord) -> None:
        if not (item.is_data(S2C) and item.type in ("session.created", "session.updated") and item.event):
            return
        session = item.event.get("session")
        if not isinstance(session, dict):
            return
        audio = object_field(session, "audio")
        audio_in = object_field(audio, "input")
        fmt = audio_in.get("format")
        kind = fmt.get("type") if isinstance(fmt, dict) else session.get("input_audio_format")
        if kind in ("audio/pcmu", "audio/pcma", "g711_ulaw", "g711_alaw"):
            self.bytes_per_second, self.labelled_rate, self.pcm16 = 8000, 8000, False
        elif kind in ("audio/pcm", "pcm16"):
            rate = fmt.get("rate") if isinstance(fmt, dict) else None
            # From the wire: only a plausible sample rate is taken; anything else means the default.
            rate = rate if type(rate) is int and 1000 <= rate <= 384_000 else 24000
            self.bytes_per_second, self.labelled_rate, self.pcm16 = 2 * rate, rate, True
        if "turn_detection" in audio_in:
            self.server_vad = audio_in["turn_detection"] is not None
        elif "turn_detection" in session:
            self.server_vad = session["turn_detection"] is not None

    def conclude(self, context: Context) -> list[Finding]:
        return []  # context for the audio rules, no finding of its own


class SampleRatePacing(Rule):
    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        self.meter = PacingMeter()

    def observe(self, item: ParsedRecord) -> None:
        # Binary frames holding JSON appends count too: the audio reached the wire all the same.
        if item.is_data(C2S) and item.type == APPEND and item.event is not None:
            audio = item.event.get("audio")
            size = _b64_length(audio) if isinstance(audio, str) else 0
            self.meter.add(item.seq, item.t_s, size / self.format.bytes_per_second)

    def conclude(self, context: Context) -> list[Finding]:
        period = self.meter.result()
        if period is None:
            return []
        pace = period.rate()
        assert pace is not None
        if is_real_time(pace):
            return []
        labelled = self.format.labelled_rate
        rate = likely_rate(pace, labelled)
        span = period.t_last - period.t0
        message = (
            f"Audio reached the wire at {pace:.3f} s of audio per second of wall clock over {span:.1f} s of streaming "
            f"({period.appends} appends)"
        )
        if rate is not None and rate != labelled:
            message += (
                f": the audio is labelled {labelled / 1000:g} kHz but paces like {rate / 1000:g} kHz audio, so it is "
                f"probably captured at {rate / 1000:g} kHz and not resampled (the model hears it "
                f"{'slowed down' if pace > 1 else 'sped up'} and voice detection suffers)."
            )
        elif pace > 1:
            message += ": faster than real time, as when a file or a backlog is sent at once."
        else:
            message += ": slower than real time (audio is being lost or sent late)."
        details = {
            "pace": round(pace, 4),
            "likely_rate": rate,
            "labelled_rate": labelled,
            "span_s": round(span, 3),
            "appends": period.appends,
        }
        return [Finding("sample-rate-pacing", "warning", message, [period.first_seq, self.meter.last_seq], details)]


def _b64_length(value: str) -> int:
    """Decoded length of plausible base64 without decoding (0 when it is not)."""
    if len(value) % 4:
        return 0
    return len(value) // 4 * 3 - (2 if value.endswith("==") else 1 if value.endswith("=") else 0)


class BadAudioPayload(Rule):
    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        self.problems: list[tuple[int, str]] = []
        self.count = 0

    def observe(self, item: ParsedRecord) -> None:
        if not (item.is_data(C2S) and item.type == APPEND and item.event is not None):
            return
        problem = self._problem(item.event.get("audio"))
        if problem is not None:
            self.count += 1
            if len(self.problems) < MAX_EVIDENCE:
                self.problems.append((item.seq, problem))

    def _problem(self, audio: Any) -> str | None:
        if not isinstance(audio, str):
            return "no 'audio' string"
        try:
            data = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            return "'audio' is not valid base64"
        if not data:
            return "'audio' is empty"
        if self.format.pcm16 and len(data) % 2:
            return f"{len(data)} bytes of 16-bit audio (an odd byte count)"
        return None

    def conclude(self, context: Context) -> list[Finding]:
        if not self.count:
            return []
        seq, problem = self.problems[0]
        message = (
            f"{self.count} input_audio_buffer.append event{'s' if self.count > 1 else ''} carried unusable audio "
            f"(first at seq {seq}: {problem}); send base64 of 16-bit little-endian samples."
        )
        return [Finding("bad-audio-payload", "error", message, [s for s, _ in self.problems], {"count": self.count})]


# -- session -----------------------------------------------------------------------------------


class SentBeforeSessionUpdated(Rule):
    """Content sent before the session was configured, said only where it can matter: a client that
    never sends session.update chose the server's defaults, so nothing was sent too early."""

    def __init__(self) -> None:
        self.created: ParsedRecord | None = None
        self.updated = False
        self.update_sent: ParsedRecord | None = None
        self.early: ParsedRecord | None = None

    def observe(self, item: ParsedRecord) -> None:
        if not item.is_data():
            return
        if item.dir == S2C and item.type == "session.created":
            self.created = self.created or item
        elif item.dir == S2C and item.type == "session.updated":
            self.updated = True
        elif item.dir == C2S and item.type == "session.update":
            self.update_sent = self.update_sent or item
        elif item.dir == C2S and item.type in CONTENT_EVENTS and not self.updated and self.early is None:
            self.early = item

    def conclude(self, context: Context) -> list[Finding]:
        early, update = self.early, self.update_sent
        if early is None or update is None:
            return []
        evidence = sorted([early.seq, update.seq] + ([self.created.seq] if self.created is not None else []))
        when = f" {_ago(early.t_s - self.created.t_s)} after session.created," if self.created is not None else ""
        if update.seq < early.seq:
            state = f"its session.update (seq {update.seq}) had not been confirmed yet"
        else:
            state = f"its session.update came only later, at seq {update.seq}"
        ending = context.ending
        soon = ending.t_s is not None and ending.how in ("close", "dropped") and ending.t_s - early.t_s < RELATED_S
        message = (
            f"The client sent {early.type} (seq {early.seq}){when} before any session.updated confirmed its "
            f"configuration ({state}), so the session still had the server's defaults, such as 24 kHz audio/pcm input"
        )
        message += f"; the connection closed {_ago(ending.t_s - early.t_s)} later." if soon and ending.t_s is not None else "."
        return [Finding("sent-before-session-updated", "warning" if soon else "info", message, evidence, {"event": early.type})]


class BetaHeader(Rule):
    def __init__(self) -> None:
        self.request: ParsedRecord | None = None
        self.value = ""
        self.errors: list[int] = []

    def observe(self, item: ParsedRecord) -> None:
        if item.kind == "handshake_request" and self.request is None:
            for name, value in item.record.get("headers") or []:
                if name.lower() == "openai-beta":
                    self.request, self.value = item, f"{name}: {value}"
            for protocol in item.record.get("subprotocols") or []:
                if protocol.startswith("openai-beta."):
                    self.request, self.value = item, f"subprotocol {protocol}"
        elif error_fields(item).get("code") == "beta_api_shape_disabled":
            _keep(self.errors, item.seq)

    def conclude(self, context: Context) -> list[Finding]:
        if self.request is None:
            return []
        ending = context.ending
        message = f"The client asked for the retired beta API ({self.value}, seq {self.request.seq})"
        if self.errors:
            message += f"; the server answered with error beta_api_shape_disabled (seq {self.errors[0]})"
        if ending.code == 4000:
            message += f" and the {ending.closed_first_by or 'server'} closed with 4000"
        message += "; remove the OpenAI-Beta header and use the GA event names."
        severity = "error" if self.errors or ending.code == 4000 else "warning"
        return [
            Finding(
                "beta-header",
                severity,
                message,
                _with_ending([self.request.seq, *self.errors], ending)
                if ending.code == 4000
                else [self.request.seq, *self.errors],
            )
        ]


class BetaEventNames(Rule):
    def __init__(self) -> None:
        self.client_names: list[str] = []
        self.server_names: list[str] = []
        self.seqs: list[int] = []

    def observe(self, item: ParsedRecord) -> None:
        if not item.is_data() or item.event is None:
            return
        names: list[str] = []
        if item.dir == C2S:
            if item.type == "session.update" and isinstance(item.event.get("session"), dict):
                names = [f"session.{k}" for k in item.event["session"] if k in BETA_SESSION_FIELDS]
            elif item.type and is_beta_only(item.type):
                names = [item.type]
            target = self.client_names
        else:
            if item.type and is_beta_only(item.type):
                names = [item.type]
            target = self.server_names
        new = [n for n in names if n not in target]
        if names:
            _keep(self.seqs, item.seq)
        target.extend(new)

    def conclude(self, context: Context) -> list[Finding]:
        parts = []
        if self.client_names:
            parts.append(f"the client used beta names ({', '.join(self.client_names)}), which the GA API rejects")
        if self.server_names:
            parts.append(f"the server sent beta event names ({', '.join(self.server_names)}), so this is a beta-era session")
        if not parts:
            return []
        message = " and ".join(parts)
        message = (
            message[0].upper() + message[1:] + f" (first at seq {self.seqs[0]}); GA names are in docs/protocol.md section 2."
        )
        return [
            Finding("beta-event-names", "warning", message, self.seqs, {"client": self.client_names, "server": self.server_names})
        ]


class UnknownParameter(Rule):
    def __init__(self) -> None:
        self.params: list[str] = []
        self.seqs: list[int] = []

    def observe(self, item: ParsedRecord) -> None:
        error = error_fields(item)
        if error.get("code") == "unknown_parameter":
            _keep(self.seqs, item.seq)
            param = str(error.get("param") or error.get("message") or "?")
            if param not in self.params:
                self.params.append(param)

    def conclude(self, context: Context) -> list[Finding]:
        if not self.seqs:
            return []
        message = (
            f"The server rejected {len(self.seqs)} update{'s' if len(self.seqs) > 1 else ''} with unknown_parameter "
            f"for {', '.join(self.params)} (seq {self.seqs[0]}); the whole update was ignored and the socket stayed open."
        )
        return [Finding("unknown-parameter", "warning", message, self.seqs, {"fields": self.params})]


class ServerErrors(Rule):
    """error-before-close, client-closed-after-error, commit-empty and session-expired."""

    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        self.last_error: ParsedRecord | None = None
        self.error_at_ending: ParsedRecord | None = None
        self.commit_empty: list[int] = []
        self.last_commit: int | None = None
        self.expired: ParsedRecord | None = None
        self.ended = False

    def observe(self, item: ParsedRecord) -> None:
        if item.is_data(C2S) and item.type == "input_audio_buffer.commit":
            self.last_commit = item.seq
        error = error_fields(item)
        if error:
            code = error.get("code")
            if not self.ended:
                self.last_error = item
            if code == "input_audio_buffer_commit_empty":
                if self.last_commit is not None and self.last_commit not in self.commit_empty:
                    _keep(self.commit_empty, self.last_commit)
                _keep(self.commit_empty, item.seq)
            elif code == "session_expired" and self.expired is None:
                self.expired = item
        if item.kind in ("close", "end") and not self.ended:
            self.ended = True
            self.error_at_ending = self.last_error

    def conclude(self, context: Context) -> list[Finding]:
        findings = []
        ending = context.ending
        error = self.error_at_ending
        related = (
            error is not None
            and ending.t_s is not None
            and ending.how in ("close", "dropped")
            and ending.t_s - error.t_s <= RELATED_S
        )
        # An expiry explains its own close: session-expired says both, once.
        if related and error is not None and error is not self.expired and ending.t_s is not None:
            fields = error_fields(error)
            code = fields.get("code") or fields.get("type")
            text = str(fields.get("message", ""))
            who = ending.closed_first_by or "connection"
            how = f"closed with {ending.code}" if ending.how == "close" else "dropped"
            gap = _ago(ending.t_s - error.t_s)
            evidence = _with_ending([error.seq], ending)
            findings.append(
                Finding(
                    "error-before-close",
                    "error",
                    f"The server sent error {code} ({text!r}, seq {error.seq}) {gap} before the {who} {how}.",
                    evidence,
                    {"code": code, "message": text},
                )
            )
            if ending.closed_first_by == "client":
                findings.append(
                    Finding(
                        "client-closed-after-error",
                        "warning",
                        f"The client itself closed with {ending.code}, {gap} after the server's error {code}; the server "
                        "kept the session open (most errors are recoverable), so this was the client's choice, not a "
                        "server disconnect.",
                        evidence,
                        {"code": code},
                    )
                )
        if self.commit_empty:
            vad = (
                " Server VAD was on, so the server commits the audio itself; do not commit manually on top of it."
                if self.format.server_vad
                else ""
            )
            findings.append(
                Finding(
                    "commit-empty",
                    "warning",
                    "The server rejected input_audio_buffer.commit with input_audio_buffer_commit_empty: a commit needs at "
                    f"least 100 ms of audio appended since the last one.{vad}",
                    self.commit_empty,
                )
            )
        if self.expired is not None:
            expired = self.expired
            text = str(error_fields(expired).get("message", ""))
            closed = ""
            if related and error is expired and ending.t_s is not None:
                how = f"closed with {ending.code}" if ending.how == "close" else "dropped"
                closed = f"; the {ending.closed_first_by or 'connection'} {how} {_ago(ending.t_s - expired.t_s)} later"
            findings.append(
                Finding(
                    "session-expired",
                    "error",
                    f"The session hit its maximum duration: the server sent error session_expired ({text!r}, seq "
                    f"{expired.seq}){closed}. Sessions last at most 60 minutes (30 on Azure): open a new one before then.",
                    _with_ending([expired.seq], ending) if closed else [expired.seq],
                    {"message": text},
                )
            )
        return findings


# -- server timing -----------------------------------------------------------------------------


@dataclass
class _Wait:
    """How long the server left one request (or the opened socket) without a frame."""

    request: ParsedRecord  # the client's request, or the 101 handshake_response awaiting session.created
    seconds: float
    until: ParsedRecord | None  # the server frame that ended the silence, or the close/end that cut it short


class ServerTiming(Rule):
    """server-silent and slow-server: the time from each request the server acknowledges at once (and
    from the 101 to session.created) to the server's next frame. One wait is open at a time: the
    oldest unanswered request; any server frame ends it."""

    def __init__(self, legs: Legs) -> None:
        self.legs = legs
        self.waiting: ParsedRecord | None = None
        self.answered: list[float] = []
        self.slowest: _Wait | None = None  # the slowest answered wait
        self.silences = 0  # waits of SILENT_S or more
        self.longest_silence: _Wait | None = None
        self.ended = False

    def observe(self, item: ParsedRecord) -> None:
        if self.ended:
            return
        if item.kind == "handshake_response" and item.record.get("status") == 101:
            # A relay answers its client only once upstream has opened (session.created may be in by then).
            if not self.legs.relayed or item.record["conn"] == self.legs.upstream_conn:
                self.waiting = item
        elif item.is_data(C2S) and item.type in ACKNOWLEDGED_REQUESTS and self.waiting is None:
            self.waiting = item
        elif item.is_data(S2C) and self.waiting is not None:
            wait = _Wait(self.waiting, item.t_s - self.waiting.t_s, item)
            self.answered.append(wait.seconds)
            if self.slowest is None or wait.seconds > self.slowest.seconds:
                self.slowest = wait
            self._silence(wait)
            self.waiting = None
        elif item.kind in ("close", "end"):
            self.ended = True  # the first close: what follows is the closing handshake, not an answer
            if self.waiting is not None:
                self._silence(_Wait(self.waiting, item.t_s - self.waiting.t_s, item))
                self.waiting = None

    def _silence(self, wait: _Wait) -> None:
        if wait.seconds >= SILENT_S:
            self.silences += 1
            if self.longest_silence is None or wait.seconds > self.longest_silence.seconds:
                self.longest_silence = wait

    def conclude(self, context: Context) -> list[Finding]:
        ending = context.ending
        if self.waiting is not None and ending.how == "open" and ending.t_s is not None:
            self._silence(_Wait(self.waiting, ending.t_s - self.waiting.t_s, None))  # the recording stops mid-wait
        findings = []
        if self.longest_silence is not None:
            findings.append(self._silent_finding(self.longest_silence, ending))
        if len(self.answered) >= SLOW_MIN_ANSWERS and statistics.median(self.answered) >= SLOW_MEDIAN_S:
            median, slowest = statistics.median(self.answered), max(self.answered)
            assert self.slowest is not None and self.slowest.until is not None
            message = (
                f"The server answered slowly: a median of {_ago(median)} and at most {_ago(slowest)} (after "
                f"{_what(self.slowest.request)}) over {len(self.answered)} answers, from each request it acknowledges at "
                "once (and from the handshake to session.created) to its next frame; an acknowledgement normally takes "
                "one network round trip, so the server or the path to it is slow."
            )
            details = {"median_s": round(median, 6), "max_s": round(slowest, 6), "answers": len(self.answered)}
            findings.append(
                Finding("slow-server", "warning", message, [self.slowest.request.seq, self.slowest.until.seq], details)
            )
        return findings

    def _silent_finding(self, wait: _Wait, ending: EndingReport) -> Finding:
        until = wait.until
        answered = until is not None and until.kind == "frame"
        if answered:
            assert until is not None
            after = f"; its next frame ({until.type or 'seq ' + str(until.seq)}, seq {until.seq}) came only then"
        elif until is None:
            after = ", until the recording stops"
        elif until.kind == "close":
            after = f", until the {until.record.get('by')} closed with {until.record.get('code')}"
            if until.record.get("reason"):
                after += f" ({until.record['reason']!r})"
        else:
            after = ", until the connection ended without a close frame"
        more = f" ({self.silences} waits of {_ago(SILENT_S)} or more)" if self.silences > 1 else ""
        message = (
            f"The server sent nothing for {_ago(wait.seconds)} after {_what(wait.request)}, which it answers at once"
            f"{after}{more}: the server, or the network, stalled."
        )
        # A silence the connection ended in is what ended it: the client gave up, or a timeout fired.
        ended_it = not answered and until is not None and until.seq == ending.seq
        details = {
            "request": wait.request.type or "handshake",
            "silent_s": round(wait.seconds, 6),
            "answered": answered,
            "waits": self.silences,
        }
        evidence = [wait.request.seq] + ([until.seq] if until is not None else [])
        return Finding("server-silent", "error" if ended_it else "warning", message, evidence, details)


def _what(request: ParsedRecord) -> str:
    if request.kind == "handshake_response":
        return f"the handshake (101, seq {request.seq})"
    return f"the client's {request.type} (seq {request.seq})"


# -- closes ------------------------------------------------------------------------------------


class CloseCodes(Rule):
    """keepalive-timeout, message-too-big, and abnormal-close or relay-stopped: read from the close
    and end records (and the relay's word that it was stopped)."""

    def __init__(self) -> None:
        self.unanswered_pings: dict[str, list[int]] = {C2S: [], S2C: []}
        self.keepalive: list[ParsedRecord] = []
        self.largest: dict[str, tuple[int, int]] = {}
        self.ends: list[int] = []
        self.relay_stopped: int | None = None  # the seq of RELAY_STOPPED

    def observe(self, item: ParsedRecord) -> None:
        record = item.record
        if item.kind == "ping" and item.counts:
            _keep(self.unanswered_pings[item.dir], item.seq)
        elif item.kind == "pong" and item.counts:
            self.unanswered_pings[C2S if item.dir == S2C else S2C].clear()
        elif item.is_data():
            size = record.get("size", 0)
            if size > self.largest.get(item.dir, (0, 0))[0]:
                self.largest[item.dir] = (size, item.seq)
        elif item.kind == "close" and "keepalive" in record.get("reason", ""):
            if len(self.keepalive) < MAX_EVIDENCE:
                self.keepalive.append(item)
        elif item.kind == "error" and record.get("message") == RELAY_STOPPED:
            self.relay_stopped = item.seq
        elif item.kind == "end":
            _keep(self.ends, item.seq)
            if "keepalive" in str(record.get("exception", "")) and len(self.keepalive) < MAX_EVIDENCE:
                self.keepalive.append(item)

    def conclude(self, context: Context) -> list[Finding]:
        ending = context.ending
        findings = []
        if self.keepalive or (ending.code == 1011 and ending.how == "close" and "keepalive" in ending.reason):
            first = self.keepalive[0] if self.keepalive else None
            by = first.record.get("by") if first is not None and first.kind == "close" else ending.closed_first_by
            pinger_dir = C2S if by == "client" else S2C
            pings = self.unanswered_pings[pinger_dir]
            if by == "client":
                message = (
                    "The client closed with 1011 'keepalive ping timeout': its ping got no pong in time, typically because "
                    "the client's own event loop was blocked (or the network stalled); keep the loop free or raise ping_timeout."
                )
            else:
                message = (
                    f"The {by or 'server'} closed with 1011 'keepalive ping timeout': its pings got no pong in time from the "
                    "other side."
                )
            evidence = sorted(set(pings + [i.seq for i in self.keepalive]))
            findings.append(
                Finding("keepalive-timeout", "error", message, evidence, {"closed_by": by, "unanswered_pings": len(pings)})
            )
        if ending.how == "close" and ending.code == 1009:
            receiver_dir = S2C if ending.closed_first_by == "client" else C2S
            size, seq = self.largest.get(receiver_dir, (0, 0))
            larger = f"; the largest message it did accept was {size} bytes (seq {seq})" if size else ""
            message = (
                f"The {ending.closed_first_by} closed with 1009 (message too big): a message from the other side was "
                f"larger than its max_size{larger}; Python websockets defaults to 1 MiB while one Realtime event can carry "
                "15 MiB of audio, so raise max_size."
            )
            findings.append(
                Finding(
                    "message-too-big",
                    "error",
                    message,
                    [s for s in (seq, ending.seq) if s],
                    {"closed_by": ending.closed_first_by},
                )
            )
        if ending.how == "dropped" and self.relay_stopped is not None:
            message = (
                "No close frame was exchanged because rtui proxy was stopped (Ctrl-C, SIGTERM or a lost terminal) "
                f"with the session open (seq {self.relay_stopped}): the relay dropped both legs itself; nothing in the "
                "session ended it."
            )
            findings.append(Finding("relay-stopped", "info", message, [self.relay_stopped, *self.ends]))
        elif ending.how == "dropped":
            because = f" ({ending.exception})" if ending.exception else ""
            where = f" on the {ending.leg} leg" if ending.leg else ""
            message = (
                f"No close frame was exchanged: the connection{where} ended abruptly (1006){because}, as after a network "
                "drop, an idle timeout in a proxy or load balancer, or a peer that crashed or was killed."
            )
            findings.append(Finding("abnormal-close", "error", message, self.ends))
        return findings


class ProxyEnvironment(Rule):
    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def observe(self, item: ParsedRecord) -> None:
        if item.kind == "handshake_request" and item.record.get("proxy"):
            self.seen.append((item.seq, str(item.record["proxy"])))

    def conclude(self, context: Context) -> list[Finding]:
        if not self.seen:
            return []
        seq, proxy = self.seen[0]
        ending = context.ending
        suspicious = ending.how == "dropped" or ending.code in (1002, 1005)
        message = (
            f"The connection went through the proxy {proxy} (seq {seq}), taken from the environment (https_proxy, "
            "http_proxy, all_proxy); proxies can turn closes into 1005 or 1006, cut idle connections and route a local "
            "server away (pass proxy=None or set no_proxy)."
        )
        return [
            Finding(
                "proxy-environment", "warning" if suspicious else "info", message, [s for s, _ in self.seen], {"proxy": proxy}
            )
        ]


def all_rules(legs: Legs) -> list[Rule]:
    audio_format = AudioFormat()
    return [
        audio_format,
        NeverOpened(legs),
        BinaryFrames(),
        InvalidJson(),
        SampleRatePacing(audio_format),
        BadAudioPayload(audio_format),
        SentBeforeSessionUpdated(),
        BetaHeader(),
        BetaEventNames(),
        UnknownParameter(),
        ServerErrors(audio_format),
        ServerTiming(legs),
        CloseCodes(),
        ProxyEnvironment(),
    ]
