"""Findings about function calls and responses: the tool stall, unanswered calls, unknown call ids,
incomplete responses and a voice change the server refused.

The service does not answer a `function_call_output` on its own: the client must follow it with
`response.create`, or the session sits idle (the classic tool stall, docs/protocol.md section 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.diagnose.items import ParsedRecord, error_fields
from tui.diagnose.report import Finding
from tui.diagnose.rules import MAX_EVIDENCE, Context, Rule, _ago, _keep, _with_ending
from tui.protocol.summary import object_field
from tui.wire.format import C2S, S2C


@dataclass
class _Call:
    name: str
    seq: int
    answered: bool = False


@dataclass
class _Output:
    call_id: str
    name: str
    item: ParsedRecord


class ToolCalls(Rule):
    """tool-output-without-response, tool-call-unanswered, tool-call-id-unknown."""

    def __init__(self) -> None:
        self.calls: dict[str, _Call] = {}
        self.waiting: _Output | None = None  # the last output no response.create (or response) followed yet
        self.last_output: _Output | None = None  # the output an invalid_tool_call_id refers to
        self.unknown_ids: list[int] = []  # outputs and the server's invalid_tool_call_id errors
        self.unknown_call_id: str | None = None
        self.ended = False

    def observe(self, item: ParsedRecord) -> None:
        if item.kind in ("close", "end"):
            self.ended = True
        if self.ended or item.event is None or not item.is_data():
            return
        event, etype = item.event, item.type
        if item.dir == S2C and etype in ("response.function_call_arguments.done", "response.output_item.done"):
            fields = object_field(event, "item") if etype == "response.output_item.done" else event
            call_id, name = fields.get("call_id"), fields.get("name")
            is_call = etype != "response.output_item.done" or fields.get("type") == "function_call"
            if is_call and isinstance(call_id, str) and call_id not in self.calls:
                self.calls[call_id] = _Call(name if isinstance(name, str) else "?", item.seq)
        elif item.dir == C2S and etype == "conversation.item.create":
            output = object_field(event, "item")
            call_id = output.get("call_id")
            if output.get("type") == "function_call_output" and isinstance(call_id, str):
                call = self.calls.get(call_id)
                if call is not None:
                    call.answered = True
                self.waiting = self.last_output = _Output(call_id, call.name if call else "?", item)
        elif (item.dir == C2S and etype == "response.create") or (item.dir == S2C and etype == "response.created"):
            self.waiting = None  # a response was asked for (or started: server VAD's create_response)
        elif error_fields(item).get("code") == "invalid_tool_call_id":
            # The error follows the refused output (a response.create may come between them).
            refused = self.last_output
            if refused is not None and refused.item.seq not in self.unknown_ids:
                _keep(self.unknown_ids, refused.item.seq)
                self.unknown_call_id = self.unknown_call_id or refused.call_id
            if self.waiting is refused:
                self.waiting = None  # refused: no item, so nothing for a response to answer
            _keep(self.unknown_ids, item.seq)

    def conclude(self, context: Context) -> list[Finding]:
        findings = []
        ending = context.ending
        if self.waiting is not None:
            waiting, gap = self.waiting, ""
            if ending.t_s is not None and ending.how in ("close", "dropped"):
                who = f"the {ending.closed_first_by} closed" if ending.closed_first_by else "the connection dropped"
                gap = f"; the session then sat idle for {_ago(ending.t_s - waiting.item.t_s)} until {who}"
            findings.append(
                Finding(
                    "tool-output-without-response",
                    "error",
                    f"The client sent the output of {waiting.name} ({waiting.call_id}, seq {waiting.item.seq}) but no "
                    f"response.create after it{gap}. The server does not answer a function_call_output on its own: send "
                    "response.create once the outputs are in.",
                    _with_ending([waiting.item.seq], ending),
                    {"call_id": waiting.call_id, "name": waiting.name},
                )
            )
        unanswered = [(call_id, call) for call_id, call in self.calls.items() if not call.answered]
        if unanswered and ending.how != "open":
            names = ", ".join(f"{call.name} ({call_id})" for call_id, call in unanswered[:3])
            more = f" and {len(unanswered) - 3} more" if len(unanswered) > 3 else ""
            findings.append(
                Finding(
                    "tool-call-unanswered",
                    "warning",
                    f"The model called {names}{more} and the client never sent the output (a function_call_output item) "
                    "before the session ended; the model waits for it before it can answer.",
                    [call.seq for _, call in unanswered[:MAX_EVIDENCE]],
                    {"calls": [call_id for call_id, _ in unanswered]},
                )
            )
        if self.unknown_ids:
            findings.append(
                Finding(
                    "tool-call-id-unknown",
                    "error",
                    f"The server refused a function_call_output for call_id {self.unknown_call_id!r} with "
                    "invalid_tool_call_id: no call with that id is in the conversation. Send the call_id of the "
                    "function_call item (response.function_call_arguments.done has it), on the same connection.",
                    self.unknown_ids,
                    {"call_id": self.unknown_call_id},
                )
            )
        return findings


class ResponseProblems(Rule):
    """response-incomplete and cannot-update-voice."""

    def __init__(self) -> None:
        self.incomplete: list[int] = []
        self.reasons: list[str] = []
        self.voice_refused: list[int] = []

    def observe(self, item: ParsedRecord) -> None:
        if item.is_data(S2C) and item.type == "response.done" and item.event is not None:
            response = object_field(item.event, "response")
            if response.get("status") == "incomplete":
                _keep(self.incomplete, item.seq)
                reason = object_field(response, "status_details").get("reason")
                if isinstance(reason, str) and reason not in self.reasons:
                    self.reasons.append(reason)
        elif error_fields(item).get("code") == "cannot_update_voice":
            _keep(self.voice_refused, item.seq)

    def conclude(self, context: Context) -> list[Finding]:
        findings = []
        if self.incomplete:
            count = len(self.incomplete)
            why = f" ({', '.join(self.reasons)})" if self.reasons else ""
            advice = (
                " max_output_tokens cut the answer: raise it (session or response.create) or ask for less."
                if "max_output_tokens" in self.reasons
                else ""
            )
            findings.append(
                Finding(
                    "response-incomplete",
                    "warning",
                    f"{'A response' if count == 1 else f'{count} responses'} ended incomplete{why}: the answer was cut "
                    f"short.{advice}",
                    self.incomplete,
                    {"reasons": self.reasons, "count": count},
                )
            )
        if self.voice_refused:
            findings.append(
                Finding(
                    "cannot-update-voice",
                    "warning",
                    "The server refused a session.update that changed the voice (cannot_update_voice): the voice is "
                    "fixed once the model has spoken in the session. Set it in the first session.update, or open a new "
                    "session.",
                    self.voice_refused,
                )
            )
        return findings
