"""How the mock decides to call a tool, and what it passes: its stand-in for a model's tool use.

The mock has no model, so it calls tools by rule, the same way every time (documented in
docs/protocol.md, "How the mock chooses a tool"):

- `tool_choice` "none" never calls; `{"type": "function", "name": N}` always calls N; "required"
  calls the tools the user's last message names, else the first tool; "auto" (the default) calls the
  tools the user's last message names, and otherwise answers as usual.
- A tool is named when its name (with `_` and `-` read as spaces) appears in the message, or one of
  the words of its name or description that has five letters or more (less common words than "the").
- Once a function's output has arrived after the user's last message, "auto" answers, quoting the
  output, instead of calling again; "required" and a named function call again, as they say.
- Only the first named tool is called unless `parallel_tool_calls` is true.
- MCP tools (those the conversation's `mcp_list_tools` items list for the MCP servers in the tools)
  are chosen by the same rule, one a response; an approved `mcp_approval_request` is carried out
  first, and a refused one answered (see tui/mock/mcp.py).

Arguments are built from the tool's `parameters` JSON Schema with a random generator seeded like
the mock's ids, so the same session gives the same arguments; a string is taken from the user's
words where it can be (a capitalised word such as a city), as a model would.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from tui.mock.mcp import McpStep, approval_outcome, needs_approval, servers

MIN_WORD = 5  # shorter words ("the", "what", "city") would call a tool on almost any message
ARGUMENT_CHUNK = 8  # characters of arguments per `response.function_call_arguments.delta`
QUOTE_MAX = 500  # characters of a tool's output the answer quotes
_MAX_DEPTH = 8  # nested schemas deeper than this (or recursive ones) are built as null
# A hostile schema (minItems 10**9, arrays of arrays...) must not exhaust the mock: past these, the
# arguments are smaller than the schema asks.
_MAX_VALUES = 1_000
_MAX_ITEMS = 100
_MAX_CHARACTERS = 20_000  # in all the strings of one call's arguments
MAX_DELTAS = 64  # longer arguments come in longer deltas
_STRING_SOURCES = ("query", "text", "message", "question", "prompt", "input", "content")


@dataclass(frozen=True)
class Plan:
    """What a response does: call the functions `calls` (in order), use an MCP tool (`mcp`), or
    answer with `answer` (None: the mock's usual words). `user_text` is the user's last message."""

    calls: tuple[dict[str, Any], ...] = ()
    mcp: McpStep | None = None
    answer: str | None = None
    user_text: str = ""


def plan_response(items: Iterable[dict[str, Any]], tools: Any, tool_choice: Any, parallel: bool) -> Plan:
    """The calls or the answer of a response, from the conversation so far and the tool settings."""
    items = list(items)
    user_text, outputs = _since_last_user_message(items)
    approved, refused = approval_outcome(items)
    if approved is not None:
        return Plan(mcp=approved, user_text=user_text)
    answer = Plan(answer=refused or (quote(outputs) if outputs else None), user_text=user_text)
    functions = [t for t in tools if isinstance(t, dict) and t.get("type") == "function"] if isinstance(tools, list) else []
    candidates = functions + _mcp_tools(items, tools)
    if refused or tool_choice == "none" or not candidates:
        return answer
    if isinstance(tool_choice, dict):
        chosen = [t for t in candidates if _forced(tool_choice, t)][:1]
    elif tool_choice != "required" and outputs:
        return answer
    else:
        chosen = [t for t in candidates if names_tool(user_text, t)]
        if not chosen and tool_choice == "required":
            chosen = candidates[:1]
    if not chosen:
        return answer
    first = chosen[0]
    if first["type"] == "mcp":
        return Plan(mcp=McpStep(first["server_label"], first["name"], first["approval"]), user_text=user_text)
    calls = [t for t in chosen if t["type"] == "function"]
    return Plan(calls=tuple(calls if parallel else calls[:1]), user_text=user_text)


def _forced(choice: dict[str, Any], tool: dict[str, Any]) -> bool:
    """Whether a forced `tool_choice` (`{type: "function", name}`, `{type: "mcp", server_label, name?}`)
    picks this tool."""
    if choice.get("type") != tool["type"]:
        return False
    if tool["type"] == "mcp" and choice.get("server_label") != tool["server_label"]:
        return False
    return choice.get("name") in (None, tool.get("name")) if tool["type"] == "mcp" else choice.get("name") == tool.get("name")


def _mcp_tools(items: list[dict[str, Any]], tools: Any) -> list[dict[str, Any]]:
    """The tools the conversation's `mcp_list_tools` items list for the MCP servers in `tools`."""
    listed = {i.get("server_label"): i.get("tools", []) for i in items if i.get("type") == "mcp_list_tools"}
    found = []
    for server in servers(tools):
        for tool in listed.get(server.get("server_label"), []):
            found.append(
                {
                    **tool,
                    "type": "mcp",
                    "server_label": server["server_label"],
                    "approval": needs_approval(server, tool.get("name", "")),
                }
            )
    return found


def names_tool(text: str, tool: dict[str, Any]) -> bool:
    """Whether the user's words name this tool (see the module's docstring)."""
    said = set(_words(text))
    name = str(tool.get("name") or "")
    name_words = _words(name)
    if name_words and " ".join(name_words) in " ".join(_words(text)):
        return True
    described = name_words + _words(str(tool.get("description") or ""))
    return any(len(word) >= MIN_WORD and word in said for word in described)


def _words(text: str) -> list[str]:
    split_camel = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]+", split_camel)]


def _since_last_user_message(items: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """The text of the user's last message (or its transcript), and the (tool name, output) of every
    function or MCP output after it."""
    calls = {i.get("call_id"): i.get("name", "") for i in items if i.get("type") == "function_call"}
    outputs: list[tuple[str, str]] = []
    for item in reversed(items):
        if item.get("type") == "function_call_output":
            outputs.insert(0, (calls.get(item.get("call_id"), ""), str(item.get("output", ""))))
        elif item.get("type") == "mcp_call" and isinstance(item.get("output"), str):
            outputs.insert(0, (str(item.get("name", "")), item["output"]))
        elif item.get("type") == "message" and item.get("role") == "user":
            return message_text(item), outputs
    return "", outputs


def message_text(item: dict[str, Any]) -> str:
    """A message's text: its text parts and the transcripts of its audio."""
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    texts = [p.get("text") or p.get("transcript") or "" for p in parts if isinstance(p, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def quote(outputs: list[tuple[str, str]]) -> str:
    """The mock's answer to tool outputs: each quoted (up to QUOTE_MAX characters)."""
    said = []
    for name, output in outputs:
        shown = output if len(output) <= QUOTE_MAX else output[:QUOTE_MAX] + "…"
        said.append(f"The tool {name} returned: {shown}" if name else f"The tool returned: {shown}")
    return " ".join(said)


def argument_chunks(arguments: str) -> list[str]:
    """The arguments as the deltas that stream them: ARGUMENT_CHUNK characters each, at most MAX_DELTAS
    of them (at least one, even for empty arguments)."""
    size = max(ARGUMENT_CHUNK, -(-len(arguments) // MAX_DELTAS))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


# -- arguments from a JSON Schema ---------------------------------------------------------------


def build_arguments(schema: Any, seed: str, user_text: str = "") -> str:
    """Arguments (a JSON object, as text) that validate against `schema`: every property (required or
    not) of the object it describes, with its `default`, its `const`, one of its `enum`, or a value of
    its type within its bounds. A schema that is not an object schema gets `{}`."""
    builder = _Builder(schema if isinstance(schema, dict) else {}, random.Random(seed), user_text)
    value = builder.value(schema if isinstance(schema, dict) else {}, "", 0)
    return orjson.dumps(value if isinstance(value, dict) else {}).decode()


class _Builder:
    def __init__(self, root: dict[str, Any], rng: random.Random, user_text: str) -> None:
        self.root = root
        self.rng = rng
        self.budget = _MAX_VALUES
        self.characters = _MAX_CHARACTERS
        self.user_text = user_text.strip()
        # Capitalised words after the first: the names a user says ("Paris", "Tuesday").
        self.proper_nouns = re.findall(r"(?<=\s)[A-Z][a-zA-Z-]+", user_text)

    def value(self, schema: Any, name: str, depth: int) -> Any:
        self.budget -= 1
        if not isinstance(schema, dict) or depth > _MAX_DEPTH or self.budget < 0:
            return None
        schema = self._resolve(schema)
        if "default" in schema:
            return schema["default"]
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        for combinator in ("anyOf", "oneOf"):
            if isinstance(schema.get(combinator), list) and schema[combinator]:
                return self.value(schema[combinator][0], name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self.value(_merge_all_of(schema), name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
            return {key: self.value(sub, key, depth + 1) for key, sub in properties.items()}
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "string":
            return self._string(schema, name)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A local `$ref` (`#/$defs/X`, `#/definitions/X`) replaced by what it points to."""
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return target if isinstance(target, dict) else {}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = _int(schema.get("minItems"), 1)
        high = _int(schema.get("maxItems"), max(low, 1))
        count = max(0, min(max(low, 1), high, _MAX_ITEMS, self.budget))
        values: list[Any] = []
        while len(values) < count and self.budget > 0:
            values.append(self.value(schema.get("items", {}), name, depth + 1))
        return values

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            text = "2026-01-01"
        elif fmt == "date-time":
            text = "2026-01-01T12:00:00Z"
        elif fmt == "email":
            text = "user@example.com"
        elif fmt in ("uri", "url"):
            text = "https://example.com/"
        elif name.lower() in _STRING_SOURCES and self.user_text:
            text = self.user_text
        elif self.proper_nouns:
            text = self.proper_nouns[0]
        else:
            text = f"{name or 'value'}-{self.rng.randrange(1000, 10000)}"
        low, high = _int(schema.get("minLength"), 0), _int(schema.get("maxLength"), None)
        text = text.ljust(min(low, self.characters), "x")[: self.characters]
        text = text if high is None else text[:high]
        self.characters -= len(text)
        return text

    def _number(self, schema: dict[str, Any], *, integer: bool) -> int | float:
        low, high = _bound(schema, "minimum", "exclusiveMinimum", 1), _bound(schema, "maximum", "exclusiveMaximum", -1)
        if low is None:
            low = 0 if high is None or high >= 0 else high - 100
        if high is None:
            high = low + 100
        if integer:
            bottom, top = math.ceil(low), math.floor(high)
            return self.rng.randint(bottom, top) if bottom <= top else bottom
        return min(max(round(self.rng.uniform(low, high), 2), low), high)


def _type_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    if kind is None and "items" in schema:
        return "array"
    return kind if isinstance(kind, str) else None


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if isinstance(part, dict):
            properties = {**merged.get("properties", {}), **part.get("properties", {})}
            merged.update(part)
            if properties:
                merged["properties"] = properties
    return merged


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: int) -> float | None:
    """A numeric bound, an exclusive one moved a whole step inside (valid for integers and numbers)."""
    for key, shift in ((inclusive, 0), (exclusive, step)):
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value + shift
    return None


def _int(value: Any, fallback: int | None) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else fallback
