"""Where protocol lines go: one locked writer, one line per message, and per-request progress
that is latest-value-wins."""

from __future__ import annotations

import logging
import logging.handlers
import threading
from collections.abc import Callable
from typing import Any, Protocol

from engine.service.protocol import (
    ErrorReply,
    Reply,
    encode,
    internal_error,
)
from engine.throttle import Throttle

log = logging.getLogger("needle.service")

PROGRESS_INTERVAL = 0.1  # seconds: at most 10 progress lines per second per request


class BinaryOutput(Protocol):
    """Where protocol lines go: the real stdout in `needle serve`, a buffer in tests."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...


class LineWriter:
    """The one place protocol lines are written. Thread-safe; a broken pipe (the client is gone)
    turns further writes into no-ops instead of exceptions in worker threads."""

    def __init__(self, stream: BinaryOutput) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    def send(self, message: Reply) -> None:
        try:
            line = encode(message)
        except Exception as exc:  # a result that cannot be sent is a bug, reported as one
            log.exception("cannot encode a reply")
            request_id = getattr(message, "id", None)
            line = encode(ErrorReply(request_id, internal_error("encode the reply", exc)))
        self.write_line(line)

    def write_line(self, line: bytes) -> None:
        """Write one already encoded line (`needle mcp` encodes JSON-RPC itself)."""
        with self._lock:
            if self.broken:
                return
            try:
                self._stream.write(line)
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.broken = True
                log.warning("the client closed the protocol pipe")


def progress_throttle(
    send: Callable[[dict[str, Any]], None], interval: float = PROGRESS_INTERVAL
) -> Throttle[dict[str, Any]]:
    """Per-request progress: latest-value-wins, and the last value is sent even when the work
    goes quiet. A failing send is logged, never raised: a progress line must not break the work
    it reports on."""

    def guarded(progress: dict[str, Any]) -> None:
        try:
            send(progress)
        except Exception:
            log.exception("sending progress failed")

    return Throttle(guarded, interval)
