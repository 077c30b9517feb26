"""Token usage and its cost, accounted from a session's records: one place for the TUI's stats
line, the end of `rtui --headless` and `rtui show`.

Each `response.done` carries the response's `usage` (input and output tokens, split into text,
audio and cached input); `UsageTotals` adds them up per response and for the session, and prices
them with the model's row of the price table. Input transcription bills separately (its own model,
by tokens or by seconds), so it is counted apart and not priced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tui.protocol.prices import PriceTable, load_prices
from tui.protocol.summary import counted, frame_event, object_field

SESSION_EVENTS = frozenset({"session.created", "session.updated"})


@dataclass
class TokenCounts:
    """Tokens by kind; `text_in` and `audio_in` include the cached ones, as the API counts them."""

    text_in: int = 0
    cached_text_in: int = 0
    audio_in: int = 0
    cached_audio_in: int = 0
    other_in: int = 0  # image tokens, and input the details do not split: counted, priced as text
    text_out: int = 0
    audio_out: int = 0

    @property
    def input(self) -> int:
        return self.text_in + self.audio_in + self.other_in

    @property
    def output(self) -> int:
        return self.text_out + self.audio_out

    @property
    def total(self) -> int:
        return self.input + self.output

    def add(self, other: TokenCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cost(self, rates: dict[str, float]) -> float:
        """USD, from prices per 1M tokens; cached input at the cached price, the rest at full price."""
        billed = (
            (self.text_in - self.cached_text_in + self.other_in) * rates["text_in"]
            + self.cached_text_in * rates["cached_text_in"]
            + (self.audio_in - self.cached_audio_in) * rates["audio_in"]
            + self.cached_audio_in * rates["cached_audio_in"]
            + self.text_out * rates["text_out"]
            + self.audio_out * rates["audio_out"]
        )
        return billed / 1e6


@dataclass
class ResponseUsage:
    response_id: str
    model: str | None
    tokens: TokenCounts
    cost: float | None  # None when the model has no price in the table


@dataclass
class TranscriptionUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0  # whisper-1 bills by duration
    count: int = 0


@dataclass
class UsageTotals:
    """Fed every record of a session in order; `on_record` returns the usage of a `response.done`."""

    prices: PriceTable = field(default_factory=load_prices)
    model: str | None = None
    tokens: TokenCounts = field(default_factory=TokenCounts)
    cost: float = 0.0  # of the priced responses
    responses: int = 0
    unpriced: int = 0  # responses whose model the table has no price for
    transcription: TranscriptionUsage = field(default_factory=TranscriptionUsage)
    per_response: list[ResponseUsage] = field(default_factory=list)

    def on_record(self, record: dict[str, Any]) -> ResponseUsage | None:
        if record.get("kind") in ("header", "handshake_request") and self.model is None:
            self.model = model_in_url(record.get("url"))
        if record.get("kind") != "frame" or record.get("dir") != "s2c":
            return None
        event = frame_event(record)
        if event is None:
            return None
        etype = event.get("type")
        if not isinstance(etype, str):
            return None  # from the wire: a type that is not a string (a list is not even hashable)
        if etype in SESSION_EVENTS:
            session = event.get("session")
            if isinstance(session, dict) and isinstance(session.get("model"), str) and session["model"]:
                self.model = session["model"]
        elif etype == "response.done":
            return self.on_response_done(event.get("response"))
        elif etype == "conversation.item.input_audio_transcription.completed":
            self.on_transcription(event.get("usage"))
        return None

    def on_response_done(self, response: Any) -> ResponseUsage | None:
        if not isinstance(response, dict) or not isinstance(response.get("usage"), dict):
            return None
        tokens = token_counts(response["usage"])
        rates = self.prices.rates(self.model)
        cost = tokens.cost(rates) if rates is not None else None
        self.tokens.add(tokens)
        self.responses += 1
        if cost is None:
            self.unpriced += 1
        else:
            self.cost += cost
        found = response.get("id")
        response_id = found if isinstance(found, str) else "?"
        usage = ResponseUsage(response_id, self.model, tokens, cost)
        self.per_response.append(usage)
        return usage

    def on_transcription(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        self.transcription.count += 1
        if usage.get("type") == "duration":
            seconds = usage.get("seconds")
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 1e9:
                self.transcription.seconds += seconds
        else:
            self.transcription.input_tokens += count(usage.get("input_tokens"))
            self.transcription.output_tokens += count(usage.get("output_tokens"))

    def cost_text(self) -> str:
        """`$0.041` (`$12.35` from $10); `$0.041+?` when some responses had no price; `$?` when none had."""
        if self.responses and self.unpriced == self.responses:
            return "$?"
        return f"${self.cost:.{3 if self.cost < 10 else 2}f}" + ("+?" if self.unpriced else "")

    def summary(self) -> str:
        """The session's totals in one line, for `rtui show` and the end of `--headless`."""
        t = self.tokens
        text = (
            f"usage: {self.responses} response{'' if self.responses == 1 else 's'}, "
            f"{t.total} tokens (in {t.input}: text {t.text_in}, audio {t.audio_in}, "
            f"cached {t.cached_text_in + t.cached_audio_in}; out {t.output}: text {t.text_out}, audio {t.audio_out}), "
            f"cost {self.cost_text()}"
        )
        if self.model and self.unpriced:
            text += f" (no price for {self.model})"
        trans = self.transcription
        if trans.count:
            text += f"; input transcription {trans.input_tokens} in / {trans.output_tokens} out tokens"
            if trans.seconds:
                text += f", {trans.seconds:.1f} s"
            text += " (not priced)"
        return text


def response_usage_text(usage: ResponseUsage) -> str:
    t = usage.tokens
    cost = f"${usage.cost:.4f}" if usage.cost is not None else "$?"
    return (
        f"usage {usage.response_id}: in {t.input} (text {t.text_in}, audio {t.audio_in}, "
        f"cached {t.cached_text_in + t.cached_audio_in}) out {t.output} (text {t.text_out}, audio {t.audio_out}) {cost}"
    )


USAGE_COLUMNS = ("in", "text", "audio", "cached", "out", "text", "audio")


def usage_table(totals: UsageTotals) -> list[str]:
    """Each response's usage in fixed columns (input split into text, audio and cached; output into
    text and audio; cost), the session's total, then input transcription on a line of its own."""
    if not totals.per_response:
        return ["no response.done with usage yet"]
    # The response id last: on a narrow screen only its tail is cut, never a number.
    lines = [f"{'#':>3}" + "".join(f"{title:>7}" for title in USAGE_COLUMNS) + f"{'cost':>10}  response"]

    def row(number: str, t: TokenCounts, cost: str, name: str) -> str:
        cells = (t.input, t.text_in, t.audio_in, t.cached_text_in + t.cached_audio_in, t.output, t.text_out, t.audio_out)
        return f"{number:>3}" + "".join(f"{cell:>7}" for cell in cells) + f"{cost:>10}  {name}"

    for number, usage in enumerate(totals.per_response, 1):
        lines.append(row(str(number), usage.tokens, "$?" if usage.cost is None else f"${usage.cost:.4f}", usage.response_id))
    lines.append(row("all", totals.tokens, totals.cost_text(), f"the session, {counted(totals.responses, 'response')}"))
    trans = totals.transcription
    if trans.count:
        # Two short lines: the table's width is the screen's at 80 columns, and these are sentences.
        seconds = f", {trans.seconds:.1f} s" if trans.seconds else ""
        lines += [
            "",
            "Input transcription (billed apart, not priced):",
            f"  {counted(trans.count, 'item')}, {trans.input_tokens} tokens in, {trans.output_tokens} out{seconds}",
        ]
    if totals.model and totals.unpriced:
        lines += ["", f"No price for {totals.model}:", "  RTUI_PRICES=FILE.json adds one."]
    return lines


def compact_tokens(tokens: int) -> str:
    """`950`, `12.3k`, `1.2M`: short enough for the stats line."""
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if tokens >= scale:
            return f"{tokens / scale:.1f}{unit}"
    return str(tokens)


def token_counts(usage: dict[str, Any]) -> TokenCounts:
    """A `response.usage` object, read defensively (a server can send anything)."""
    inputs = object_field(usage, "input_token_details")
    outputs = object_field(usage, "output_token_details")
    cached = object_field(inputs, "cached_tokens_details")
    text_in, audio_in = count(inputs.get("text_tokens")), count(inputs.get("audio_tokens"))
    cached_text, cached_audio = count(cached.get("text_tokens")), count(cached.get("audio_tokens"))
    unsplit_cached = count(inputs.get("cached_tokens")) - cached_text - cached_audio - count(cached.get("image_tokens"))
    if unsplit_cached > 0:  # cached tokens without their split: text first (the cheaper guess), then audio
        from_text = min(unsplit_cached, max(text_in - cached_text, 0))
        cached_text += from_text
        cached_audio += unsplit_cached - from_text
    text_out, audio_out = count(outputs.get("text_tokens")), count(outputs.get("audio_tokens"))
    # Whatever the totals hold beyond the split (image tokens, or no details at all).
    other_in = max(count(usage.get("input_tokens")) - text_in - audio_in, 0)
    text_out += max(count(usage.get("output_tokens")) - text_out - audio_out, 0)
    return TokenCounts(
        text_in=text_in,
        cached_text_in=min(cached_text, text_in),
        audio_in=audio_in,
        cached_audio_in=min(cached_audio, audio_in),
        other_in=other_in,
        text_out=text_out,
        audio_out=audio_out,
    )


def count(value: Any) -> int:
    """A token count from the wire: a non-negative int, anything else counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53 else 0


def model_in_url(url: Any) -> str | None:
    """The `model` query parameter of a handshake URL, if any."""
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get("model")
    return values[0] if values else None
