"""Where protocol lines go: one locked writer, one line per message, and per-request progress
that is latest-value-wins."""

from __future__ import annotations

import logging
import logging.handlers
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from engine.service.protocol import (
    ErrorReply,
    Reply,
    encode,
    internal_error,
)

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
        with self._lock:
            if self.broken:
                return
            try:
                self._stream.write(line)
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.broken = True
                log.warning("the client closed the protocol pipe")


class ProgressThrottle:
    """Latest-value-wins: at most one value per `interval`; a value that arrives too early waits
    (replacing any older waiting value) and is sent when the interval has passed, so the last
    state is always shown even when the work goes quiet."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Any] | None = None
        self._last_sent = -math.inf
        self._timer: threading.Timer | None = None
        self._closed = False

    def push(self, progress: dict[str, Any]) -> None:
        # Sending under the lock keeps the order of values; the writer never takes this lock.
        with self._lock:
            if self._closed:
                return
            wait = self._last_sent + self._interval - self._clock()
            if wait <= 0 and self._timer is None:
                self._emit(progress)
                return
            self._pending = progress
            if self._timer is None:
                self._timer = threading.Timer(max(wait, 0.0), self._flush_due)
                self._timer.daemon = True
                self._timer.start()

    def close(self, *, flush: bool) -> None:
        """No more values; with `flush`, the waiting value (if any) is sent first."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if flush and self._pending is not None and not self._closed:
                self._emit(self._pending)
            self._pending = None
            self._closed = True

    def _flush_due(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending is not None and not self._closed:
                self._emit(self._pending)
                self._pending = None

    def _emit(self, progress: dict[str, Any]) -> None:
        self._last_sent = self._clock()
        try:
            self._send(progress)
        except Exception:  # a progress line must never break the work it reports on
            log.exception("sending progress failed")
