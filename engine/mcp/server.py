"""The `needle mcp` loop: JSON-RPC lines in, tool calls on worker threads, answers out.

The reading thread answers `initialize`, `ping` and `tools/list` at once and applies
`notifications/cancelled` to the running call; every `tools/call` runs on its own thread with its
own CancelToken (engine/service/workers.py, as `needle serve` runs its requests), so a search is
never queued behind an ask. Lines go out through the one locked LineWriter. A cancelled call
sends nothing more, not even its answer (the spec says the receiver should not answer it).

The spec: https://modelcontextprotocol.io/specification (stdio transport, lifecycle, tools,
progress, cancellation). docs/mcp.md describes the tools."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, BinaryIO, Final

from engine import __version__
from engine.api import Engine
from engine.cancel import CancelToken
from engine.errors import ErrorKind, NeedleError
from engine.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RequestId,
    RpcError,
    RpcNotification,
    RpcRequest,
    RpcResponse,
    decode,
    error_line,
    notification_line,
    request_id_of,
    result_line,
)
from engine.mcp.tools import TOOLS, ToolContext, ToolResult, call_tool
from engine.service.output import PROGRESS_INTERVAL, BinaryOutput, LineWriter, progress_throttle
from engine.service.protocol import internal_error
from engine.service.workers import Finish, Workers, join_all

log = logging.getLogger("needle.mcp")

# Oldest to newest; an `initialize` asking for one of these gets it, any other gets the newest.
PROTOCOL_VERSIONS: Final = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_PROTOCOL_VERSION: Final = PROTOCOL_VERSIONS[-1]
STRUCTURED_SINCE: Final = "2025-06-18"  # outputSchema and structuredContent
SHUTDOWN_GRACE = 5.0  # seconds cancelled calls get to stop before the library closes
DRAIN_SECONDS = 1.0  # seconds running calls get to finish when stdin closes, before the cancel

INSTRUCTIONS: Final = (
    "Needle searches and answers questions from the user's own notes and PDFs on this computer, "
    "offline. Use `search` for passages that mention something (fast), `ask` for an answer "
    "written from the documents with citations (slower: a local model reads them), `get_chunks` "
    "for the full text of a passage by its chunk_id, and `status` for which folders are indexed."
)


class McpServer:
    """Serves one MCP client on a line stream, on the library `open_library` opens (read-only).

    When the library cannot be opened (a damaged settings file, an index from a newer Needle),
    the server still starts and every tool call answers with the reason and its fix, so the user
    sees why in their chat client instead of a server that vanished; each call tries to open it
    again, so fixing the cause (`needle settings --reset`, the app rebuilding the index) is
    enough, without restarting the assistant."""

    def __init__(
        self,
        open_library: Callable[[], Engine],
        output: BinaryOutput,
        *,
        progress_interval: float = PROGRESS_INTERVAL,
        shutdown_grace: float = SHUTDOWN_GRACE,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self._open_library = open_library
        self._engine: Engine | None = None
        self._open_lock = threading.Lock()
        self._writer = LineWriter(output)
        self._progress_interval = progress_interval
        self._shutdown_grace = shutdown_grace
        self._drain_seconds = drain_seconds
        self._workers: Workers[RequestId] = Workers()
        self._version: str | None = None  # negotiated by `initialize`
        self._closed = False
        try:
            self._library()
        except NeedleError as error:
            log.error("the library could not open: %s", error.message)

    def _library(self) -> Engine:
        """The open library, opening it now if it is not; raises NeedleError saying why not."""
        with self._open_lock:
            if self._engine is not None:
                return self._engine
            if self._closed:
                raise NeedleError(ErrorKind.ENGINE_CLOSED, "The server is shutting down.", "")
            try:
                self._engine = self._open_library()
            except NeedleError:
                raise
            except Exception as exc:
                log.exception("the library could not open")
                raise internal_error("open the library", exc).to_error() from None
            return self._engine

    # -- reading ---------------------------------------------------------------------------

    def serve(self, stream: BinaryIO) -> int:
        """Read messages until the client closes the stream; returns the exit code."""
        try:
            for line in iter(stream.readline, b""):
                self.handle_line(line)
            log.info("stdin closed (the client is gone): shutting down")
        finally:
            self.close()
        return 0

    def handle_line(self, line: bytes | str) -> None:
        """Handle one input line. Never raises: a bad line gets a JSON-RPC error (with its id
        when that could be read, else null) and the server reads on."""
        if not line.strip():
            return
        try:
            message = decode(line)
        except RpcError as error:
            log.info("refused a line: %s", error.message)
            self._send_error(error)
            return
        if isinstance(message, RpcResponse):
            log.info("ignored a response to id %r: this server sends no requests", message.id)
            return
        try:
            if isinstance(message, RpcNotification):
                self._notified(message)
            else:
                self._requested(message)
        except RpcError as error:
            self._send_error(error)
        except Exception as exc:  # a bug on the reading thread must not end the server
            log.exception("handling %r failed", message.method)
            if isinstance(message, RpcRequest):
                info = internal_error(f"handle '{message.method}'", exc)
                self._writer.write_line(error_line(message.id, INTERNAL_ERROR, info.message))

    def _send_error(self, error: RpcError) -> None:
        self._writer.write_line(error_line(error.request_id, error.code, error.message))

    def _notified(self, message: RpcNotification) -> None:
        if message.method == "notifications/cancelled":
            target = request_id_of(message.params.get("requestId"))
            if target is not None and self._workers.cancel(target):
                log.info("request %r cancelled: %s", target, message.params.get("reason", ""))
        # notifications/initialized and anything else need nothing; unknown ones are ignored.

    def _requested(self, request: RpcRequest) -> None:
        method = request.method
        if method == "initialize":
            self._reply(request.id, self._initialize(request))
        elif method == "ping":
            self._reply(request.id, {})
        elif method not in ("tools/list", "tools/call"):
            raise RpcError(METHOD_NOT_FOUND, f"Unknown method '{method}'.", request.id)
        elif self._version is None:
            raise RpcError(INVALID_REQUEST, f"'{method}' came before 'initialize'.", request.id)
        elif method == "tools/list":
            self._reply(
                request.id, {"tools": [self._tool_data(t.to_dict()) for t in TOOLS.values()]}
            )
        else:
            self._start_call(request)

    def _reply(self, request_id: RequestId, result: dict[str, Any]) -> None:
        self._writer.write_line(result_line(request_id, result))

    # -- lifecycle -------------------------------------------------------------------------

    def _initialize(self, request: RpcRequest) -> dict[str, Any]:
        asked = request.params.get("protocolVersion")
        if not isinstance(asked, str):
            raise RpcError(
                INVALID_PARAMS, "'initialize' needs a 'protocolVersion' string.", request.id
            )
        self._version = asked if asked in PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        client = request.params.get("clientInfo")
        name = client.get("name") if isinstance(client, dict) else None
        log.info("initialize from %s (asked %s, answered %s)", name, asked, self._version)
        return {
            "protocolVersion": self._version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "needle", "title": "Needle", "version": __version__},
            "instructions": INSTRUCTIONS,
        }

    def _structured(self) -> bool:
        """Does the negotiated version know outputSchema and structuredContent?"""
        if self._version is None:
            return False
        return PROTOCOL_VERSIONS.index(self._version) >= PROTOCOL_VERSIONS.index(STRUCTURED_SINCE)

    def _tool_data(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self._structured():
            data.pop("outputSchema", None)
        return data

    # -- tool calls ------------------------------------------------------------------------

    def _start_call(self, request: RpcRequest) -> None:
        params = request.params
        name = params.get("name")
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, "'tools/call' needs the tool's 'name'.", request.id)
        if name not in TOOLS:
            raise RpcError(
                INVALID_PARAMS,
                f"Unknown tool '{name}'. Tools: {', '.join(TOOLS)}.",
                request.id,
            )
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "'arguments' must be an object.", request.id)
        meta = params.get("_meta")
        progress_token = (
            request_id_of(meta.get("progressToken")) if isinstance(meta, dict) else None
        )

        def work(token: CancelToken) -> Finish:
            return self._run_call(request.id, name, arguments, progress_token, token)

        if not self._workers.start(request.id, f"mcp-{request.id}-{name}", work):
            raise RpcError(
                INVALID_REQUEST, f"Request id {request.id!r} is already running.", request.id
            )

    def _run_call(
        self,
        request_id: RequestId,
        name: str,
        arguments: dict[str, Any],
        progress_token: RequestId | None,
        token: CancelToken,
    ) -> Finish:
        throttle = progress_throttle(
            lambda p: self._send_progress(progress_token, p, token), self._progress_interval
        )
        steps = 0

        def report(message: str) -> None:
            nonlocal steps
            steps += 1  # MCP: progress must grow with every notification
            if progress_token is not None:
                throttle.push({"progress": steps, "message": message})

        try:
            result = self._call(name, arguments, ToolContext(token, report))
        finally:
            throttle.close(flush=not token.cancelled)
        if token.cancelled:
            log.info("%s call %r was cancelled; it gets no answer", name, request_id)
            return _nothing
        data = result.to_dict()
        if not self._structured():
            data.pop("structuredContent", None)
        line = result_line(request_id, data)
        return lambda: self._writer.write_line(line)

    def _call(self, name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            return call_tool(self._library(), name, arguments, ctx)
        except NeedleError as error:
            return ToolResult.from_error(error)
        except Exception as exc:
            log.exception("the %s tool failed", name)
            return ToolResult.from_error(internal_error(f"run the {name} tool", exc).to_error())

    def _send_progress(
        self, progress_token: RequestId | None, progress: dict[str, Any], token: CancelToken
    ) -> None:
        if progress_token is None or token.cancelled:
            return
        params = {"progressToken": progress_token, **progress}
        self._writer.write_line(notification_line("notifications/progress", params))

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel running calls, give them a moment, close the library. Idempotent."""
        with self._open_lock:
            if self._closed:
                return
            self._closed = True
        # A client that closed stdin right after its last call still gets a quick answer.
        join_all(self._workers.threads(), self._drain_seconds, warn=False)
        join_all(self._workers.cancel_all(), self._shutdown_grace)
        with self._open_lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.close()
            except Exception:
                log.exception("closing the library failed")


def _nothing() -> None:
    """The answer of a cancelled call: none."""
