"""The JSON-RPC 2.0 codec of `needle mcp`: one message per line on stdio, as the Model Context
Protocol's stdio transport has it (newline-delimited, no embedded newlines, UTF-8).

Only the codec lives here: what a line holds (`decode`) and the lines the server writes
(`result_line`, `error_line`, `notification_line`). Dispatch is engine/mcp/server.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from engine.service.protocol import to_jsonable

JSONRPC_VERSION: Final = "2.0"

# The error codes JSON-RPC 2.0 reserves, which MCP uses for protocol errors.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

RequestId = str | int  # MCP: "a string or integer", never null


@dataclass(frozen=True)
class RpcRequest:
    """A call that wants an answer."""

    id: RequestId
    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RpcNotification:
    """A message that wants no answer (`notifications/cancelled`, `notifications/initialized`)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RpcResponse:
    """A client's answer to a request of the server's. This server sends none, so any that come
    are read and dropped."""

    id: RequestId | None


RpcMessage = RpcRequest | RpcNotification | RpcResponse


class RpcError(Exception):
    """A JSON-RPC error to send back: `code` is one of the constants above, `request_id` the id
    of the request it answers when that could be read (else the reply carries null)."""

    def __init__(self, code: int, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def request_id_of(value: Any) -> RequestId | None:
    """`value` when it is a valid id (a string, or an integer that is not a bool), else None."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def _parse(line: bytes | str) -> Any:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RpcError(PARSE_ERROR, f"The line is not valid UTF-8 ({exc.reason}).") from None
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise RpcError(
            PARSE_ERROR, f"The line is not JSON ({exc.msg} at column {exc.colno})."
        ) from None
    except RecursionError:
        raise RpcError(PARSE_ERROR, "The line nests arrays or objects too deeply.") from None


def decode(line: bytes | str) -> RpcMessage:
    """What one line holds; raises RpcError (parse error or invalid request) saying what is
    wrong with it."""
    data = _parse(line)
    if isinstance(data, list):
        raise RpcError(
            INVALID_REQUEST, "Batches are not supported: send one JSON-RPC message per line."
        )
    if not isinstance(data, dict):
        raise RpcError(INVALID_REQUEST, f"A message is a JSON object, not a {type(data).__name__}.")
    request_id = request_id_of(data.get("id"))
    if data.get("jsonrpc") != JSONRPC_VERSION:
        raise RpcError(INVALID_REQUEST, 'The message lacks "jsonrpc": "2.0".', request_id)
    if "method" not in data:
        if "result" in data or "error" in data:
            return RpcResponse(request_id)
        raise RpcError(INVALID_REQUEST, "The message has no 'method'.", request_id)
    method = data["method"]
    if not isinstance(method, str) or not method:
        raise RpcError(INVALID_REQUEST, "The message's 'method' must be a string.", request_id)
    params = data.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        # MCP's params are always named: an array is not a request any method here accepts.
        raise RpcError(INVALID_PARAMS, f"'{method}': 'params' must be an object.", request_id)
    if "id" not in data:
        return RpcNotification(method, params)
    if request_id is None:
        raise RpcError(
            INVALID_REQUEST, f"'{method}': the 'id' must be a string or an integer (not null)."
        )
    return RpcRequest(request_id, method, params)


def _line(message: dict[str, Any]) -> bytes:
    """One line, UTF-8, ending in a newline. Text that is not valid Unicode (a lone surrogate a
    client sent, echoed in an error) goes as JSON escapes, which every client reads."""
    try:
        text = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        # Engine objects, or NaN, which JSON cannot carry: the slow path converts them.
        message = to_jsonable(message)
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def result_line(request_id: RequestId, result: dict[str, Any]) -> bytes:
    return _line({"jsonrpc": JSONRPC_VERSION, "id": request_id, "result": result})


def error_line(request_id: RequestId | None, code: int, message: str) -> bytes:
    error = {"code": code, "message": message}
    return _line({"jsonrpc": JSONRPC_VERSION, "id": request_id, "error": error})


def notification_line(method: str, params: dict[str, Any]) -> bytes:
    return _line({"jsonrpc": JSONRPC_VERSION, "method": method, "params": params})
