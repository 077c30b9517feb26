"""The fields of conversation items other than messages, as `conversation.item.create` accepts them:
the SDK's `ConversationItem` union (function calls and their outputs, and the MCP items). Fields the
mock does not know are kept; the ones it knows must have the SDK's types, because the item is sent
back in `conversation.item.added` and a client's SDK must be able to read it."""

from __future__ import annotations

from tui.protocol.schema import Checker, any_value, array, boolean, nullable, number, obj, string, tagged

_CODE_AND_MESSAGE = obj({"type": string, "code": number(integer=True), "message": string}, required=("code", "message"))
_MCP_ERROR = nullable(
    tagged(
        {
            "protocol_error": _CODE_AND_MESSAGE,
            "http_error": _CODE_AND_MESSAGE,
            "tool_execution_error": obj({"type": string, "message": string}, required=("message",)),
        }
    )
)
_MCP_TOOL = obj(
    {"name": string, "input_schema": any_value, "description": nullable(string), "annotations": any_value},
    required=("name", "input_schema"),
    open_=True,
)

ITEM_FIELDS: dict[str, Checker] = {
    "function_call": obj(
        {"call_id": string, "name": string, "arguments": string}, required=("call_id", "name", "arguments"), open_=True
    ),
    "function_call_output": obj({"call_id": string, "output": string}, required=("call_id", "output"), open_=True),
    "mcp_list_tools": obj({"server_label": string, "tools": array(_MCP_TOOL)}, required=("server_label", "tools"), open_=True),
    "mcp_call": obj(
        {
            "name": string,
            "arguments": string,
            "server_label": string,
            "approval_request_id": nullable(string),
            "output": nullable(string),
            "error": _MCP_ERROR,
        },
        required=("name", "arguments", "server_label"),
        open_=True,
    ),
    "mcp_approval_request": obj(
        {"name": string, "arguments": string, "server_label": string}, required=("name", "arguments", "server_label"), open_=True
    ),
    "mcp_approval_response": obj(
        {"approval_request_id": string, "approve": boolean, "reason": nullable(string)},
        required=("approval_request_id", "approve"),
        open_=True,
    ),
}
