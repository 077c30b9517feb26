"""The function calls of a session and when each response's follow-up `response.create` is due.

The model's calls arrive inside a response; their outputs go back as `function_call_output` items,
and the model answers only after a `response.create`. That `response.create` must wait until the
response that made the calls is done (while it is active the service refuses another with
`conversation_already_has_active_response`), and, when a response made several calls, until every
one of them has its output: one follow-up per response, as the openai-agents SDK does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Call:
    call_id: str
    name: str
    arguments: str
    response_id: str
    answered: bool = False
    follow_up: bool = True  # False: rtui sends the output and no follow-up (a tool with "respond": false)


@dataclass
class CallLedger:
    calls: dict[str, Call] = field(default_factory=dict)
    done_responses: set[str] = field(default_factory=set)
    followed_up: set[str] = field(default_factory=set)  # responses whose follow-up was sent (or is not wanted)

    def on_call(self, call_id: str, name: str, arguments: str, response_id: str) -> Call | None:
        """A call the model made; None when it was seen already (`arguments.done`, then `output_item.done`)."""
        if call_id in self.calls:
            return None
        call = self.calls[call_id] = Call(call_id, name, arguments, response_id)
        return call

    def on_response_done(self, response_id: str) -> bool:
        """The response ended: True when its follow-up is due now (it made calls, all answered)."""
        self.done_responses.add(response_id)
        return self._due(response_id)

    def on_answered(self, call_id: str) -> bool:
        """An output was sent: True when the follow-up is due now. A call_id the ledger never saw
        (typed by the user) has nothing to wait for."""
        call = self.calls.get(call_id)
        if call is None:
            return True
        call.answered = True
        return self._due(call.response_id)

    def awaiting(self, answerable: set[str]) -> bool:
        """Whether a follow-up is still to come for a call rtui will answer (`answerable`: call ids
        with an answer under way) or has answered: then the conversation is not done yet. A call
        answered without a follow-up (`follow_up` false) keeps it waiting, as the stalled app does."""
        return any(
            call.response_id not in self.followed_up and (call.answered or call.call_id in answerable)
            for call in self.calls.values()
        )

    def _due(self, response_id: str) -> bool:
        if response_id not in self.done_responses or response_id in self.followed_up:
            return False
        mine = [call for call in self.calls.values() if call.response_id == response_id]
        if not mine or not all(call.answered and call.follow_up for call in mine):
            return False
        self.followed_up.add(response_id)
        return True
