"""`needle mcp`: the process around `McpServer`. It keeps stdout for protocol lines (logs go to
stderr, which MCP clients keep in their own logs, and to mcp.log in the library's log folder),
opens the library read-only and turns SIGTERM into a clean shutdown.

Read-only always: the server never takes the writer lock, so it runs beside the Needle app (which
keeps the index current) and never stops the app from opening."""

from __future__ import annotations

import logging
import os
import sys
import time

from engine import __version__
from engine.service.main import enable_crash_log, protect_stdout, setup_logging, stop_on_terminate

log = logging.getLogger("needle.mcp")


def main(data_dir: str | None) -> int:
    """Serve MCP on stdin/stdout until the client closes stdin; returns the exit code."""
    started = time.perf_counter()
    output = protect_stdout()  # before the heavy imports, in case one of them prints

    from engine.api import Engine
    from engine.mcp.server import McpServer
    from engine.paths import resolve_paths

    paths = resolve_paths(data_dir)
    setup_logging(str(paths.logs), "mcp.log")
    enable_crash_log(str(paths.logs), "mcp")
    log.info("needle mcp %s starting, data in %s", __version__, paths.data)

    def open_library() -> Engine:
        return Engine.open(data_dir, writer=False)

    server = McpServer(open_library, output)
    log.info("ready in %.0f ms", (time.perf_counter() - started) * 1000)
    stop_on_terminate()
    try:
        code = server.serve(sys.stdin.buffer)
    except (KeyboardInterrupt, SystemExit):
        log.info("stopped by a signal; the library was closed")
        code = 0
    log.info("needle mcp exits with %d", code)
    logging.shutdown()
    sys.stderr.flush()
    # Threads of libraries (a model client's pool) must not keep a finished server alive.
    os._exit(code)
