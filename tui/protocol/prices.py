"""The price table: USD per 1M tokens for each Realtime model and token kind, kept as data
(prices.json, with the date and the page each figure was read from) and overridable by a file.

`RTUI_PRICES=path.json` names a file of the same shape; its models replace or add to the built-in
ones, so a user can correct one price without copying the whole table.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tui.wire.reader import read_json_file

PRICES_ENV = "RTUI_PRICES"
MAX_PRICE_FILE_BYTES = 2**20
TOKEN_KINDS = ("text_in", "cached_text_in", "text_out", "audio_in", "cached_audio_in", "audio_out")
# A dated snapshot (gpt-realtime-2025-08-28) is priced as its model.
_SNAPSHOT_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_NOTES = frozenset({"source", "unconfirmed", "note"})  # what a model's entry may say besides its prices


class PriceError(ValueError):
    """A price file that cannot be used; the message is one line naming the file and the fault."""


@dataclass(frozen=True)
class PriceTable:
    date: str
    source: str
    models: dict[str, dict[str, float]]  # model -> token kind -> USD per 1M tokens

    def rates(self, model: str | None) -> dict[str, float] | None:
        """The prices of a model (or of the model a dated snapshot belongs to), None when unknown."""
        if not model:
            return None
        return self.models.get(model) or self.models.get(_SNAPSHOT_DATE.sub("", model))


def load_prices(override: str | None = None) -> PriceTable:
    """The built-in table, with the models of `override` (default: $RTUI_PRICES) laid over it."""
    builtin = json.loads(resources.files("tui.protocol").joinpath("prices.json").read_text())
    table = _parse(builtin, "the built-in price table")
    path = override if override is not None else os.environ.get(PRICES_ENV) or None
    if path is None:
        return table
    try:
        data = read_json_file(path, MAX_PRICE_FILE_BYTES)
    except ValueError as exc:
        raise PriceError(str(exc)) from None
    extra = _parse(data, path)
    return PriceTable(date=extra.date or table.date, source=extra.source or table.source, models={**table.models, **extra.models})


def _parse(data: Any, where: str) -> PriceTable:
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise PriceError(f'{where}: expected an object with "models": {{"MODEL": {{"text_in": 4.0, ...}}}}')
    models: dict[str, dict[str, float]] = {}
    for model, prices in data["models"].items():
        if not isinstance(prices, dict):
            raise PriceError(f"{where}: model {model!r}: expected an object of prices")
        unknown = sorted(set(prices) - set(TOKEN_KINDS) - _NOTES)
        if unknown:
            raise PriceError(f"{where}: model {model!r}: unknown price {unknown[0]!r} (known: {', '.join(TOKEN_KINDS)})")
        rates = {}
        for kind in TOKEN_KINDS:
            value = prices.get(kind, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e6:
                raise PriceError(f"{where}: model {model!r}: {kind} must be a price in USD per 1M tokens, not {value!r}")
            rates[kind] = float(value)
        models[model] = rates
    return PriceTable(date=str(data.get("date") or ""), source=str(data.get("source") or ""), models=models)
