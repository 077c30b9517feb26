"""Tools in a session or a `response.create`: function and MCP tool definitions and `tool_choice`,
validated like the service, with the shapes of the official SDK (`RealtimeFunctionTool`, the `Mcp`
tool of `RealtimeToolsConfigUnion`, `ToolChoiceFunction`, `ToolChoiceMcp`).

Where the SDK is looser than the service has to be, the stricter rule is ours and says why: a
function tool needs a `name` (a call names its function, and `RealtimeConversationItemFunctionCall`
requires `name`), and an MCP tool a `server_label` (the SDK requires it) and one of `server_url`,
`connector_id` or `tunnel_id` (the SDK's documentation of each says one must be provided).
"""

from __future__ import annotations

from tui.protocol.schema import (
    array,
    boolean,
    enum,
    nullable,
    obj,
    one_of,
    string,
    string_map,
    string_or_object,
    tagged,
    with_one_of,
)

MCP_CONNECTORS = (
    "connector_dropbox",
    "connector_gmail",
    "connector_googlecalendar",
    "connector_googledrive",
    "connector_microsoftteams",
    "connector_outlookcalendar",
    "connector_outlookemail",
    "connector_sharepoint",
)


FUNCTION_TOOL = obj(
    {"type": string, "name": string, "description": string, "parameters": obj({}, open_=True)}, required=("name",)
)
_TOOL_FILTER = obj({"read_only": boolean, "tool_names": array(string)})
_MCP_FIELDS = obj(
    {
        "type": string,
        "server_label": string,
        "server_url": string,
        "connector_id": enum(*MCP_CONNECTORS),
        "tunnel_id": string,
        "allowed_tools": nullable(one_of(array(string), _TOOL_FILTER)),
        "require_approval": nullable(one_of(enum("always", "never"), obj({"always": _TOOL_FILTER, "never": _TOOL_FILTER}))),
        "headers": nullable(string_map),
        "authorization": string,
        "server_description": string,
        "allowed_callers": array(enum("direct", "programmatic")),
        "defer_loading": boolean,
    },
    required=("server_label",),
)
MCP_TOOL = with_one_of(_MCP_FIELDS, ("server_url", "connector_id", "tunnel_id"))  # the server: one of them
TOOLS = array(tagged({"function": FUNCTION_TOOL, "mcp": MCP_TOOL}))

_MODES = enum("none", "auto", "required")
_FORCED = tagged(
    {
        "function": obj({"type": string, "name": string}, required=("name",)),
        "mcp": obj({"type": string, "server_label": string, "name": nullable(string)}, required=("server_label",)),
    }
)


# A mode ("none", "auto", "required") or a forced tool (`{type: "function", name}`, `{type: "mcp",
# server_label, name?}`).
TOOL_CHOICE = string_or_object(_MODES, _FORCED)
