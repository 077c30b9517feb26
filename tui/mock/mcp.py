"""The mock's stand-in for remote MCP servers: the tools each server lists, whether a call needs the
client's approval, and what a call returns. The mock connects to no server; it plays one.

- A server (`{type: "mcp", server_label, ...}` in the session's or a response's tools) lists the
  tools named in its `allowed_tools` (a list, or a filter's `tool_names`), else the mock's own list
  (`MockConfig.mcp_tools`, `rtui mock --mcp-tools a,b`). Each takes `{"query": string}`.
- `require_approval` "never" calls at once; "always", absent, or a filter that does not put the tool
  under `never` asks first (absent means "always", the default of OpenAI's MCP tool elsewhere: the
  Realtime docs do not say).
- A call returns `{"server": ..., "tool": ..., "arguments": ..., "result": "mock result"}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

INPUT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


@dataclass(frozen=True)
class McpStep:
    """An MCP tool a response uses: asks to call it (`approval`), or calls it (with `arguments` and
    `approval_request_id` when an approved request is carried out)."""

    server_label: str
    name: str
    approval: bool
    arguments: str | None = None
    approval_request_id: str | None = None


def servers(tools: Any) -> list[dict[str, Any]]:
    """The MCP servers among a tools list."""
    return [t for t in tools if isinstance(t, dict) and t.get("type") == "mcp"] if isinstance(tools, list) else []


def listed_tools(server: dict[str, Any], default: tuple[str, ...]) -> list[dict[str, Any]]:
    """The tools a server lists (`mcp_list_tools` item's `tools`)."""
    allowed = server.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    names = allowed if isinstance(allowed, list) else list(default)
    label = server.get("server_label", "")
    return [
        {"name": name, "description": f"{name} on {label} (a mock MCP tool)", "input_schema": INPUT_SCHEMA, "annotations": None}
        for name in names
    ]


def needs_approval(server: dict[str, Any], name: str) -> bool:
    rule = server.get("require_approval")
    if rule == "never":
        return False
    if isinstance(rule, dict):
        never = rule.get("never")
        return not isinstance(never, dict) or name not in (never.get("tool_names") or [])
    return True


def call_output(server_label: str, name: str, arguments: str) -> str:
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        parsed = arguments
    return orjson.dumps({"server": server_label, "tool": name, "arguments": parsed, "result": "mock result"}).decode()


def approval_outcome(items: list[dict[str, Any]]) -> tuple[McpStep | None, str | None]:
    """After the user's last message: an approved request not yet carried out (the call to make), or
    the answer to a refused one ("... was not approved.")."""
    requests = {i.get("id"): i for i in items if i.get("type") == "mcp_approval_request"}
    done = {i.get("approval_request_id") for i in items if i.get("type") == "mcp_call"}
    for item in reversed(items):
        if item.get("type") == "message" and item.get("role") == "user":
            break
        if item.get("type") != "mcp_approval_response" or item.get("approval_request_id") in done:
            continue
        request = requests.get(item.get("approval_request_id"))
        if request is None:
            continue
        if item.get("approve") is True:
            step = McpStep(request["server_label"], request["name"], False, request["arguments"], request["id"])
            return step, None
        return None, f"The call to {request['name']} was not approved."
    return None, None
