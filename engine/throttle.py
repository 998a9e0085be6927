"""Latest-value-wins rate limiting for progress: the indexer's progress callback, the CLI's
progress lines and the service's progress messages all go through one `Throttle`."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Throttle(Generic[T]):
    """At most one value per `interval` seconds reaches `send`; `push(value, force=True)` sends
    at once (a phase change, the final state).

    A value that arrives too early waits, replacing any older waiting value. With `deliver_late`
    a timer sends it once the interval has passed, so the last state shows even when the work
    goes quiet (`send` then runs on the timer's thread); without, the next due or forced value
    supersedes it (for callers that force their final value). `close(flush=True)` sends the
    waiting value.
    """

    def __init__(
        self,
        send: Callable[[T], None],
        interval: float,
        *,
        deliver_late: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._deliver_late = deliver_late
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: tuple[T] | None = None  # a 1-tuple, so that None can be a value too
        self._last_sent = -math.inf
        self._timer: threading.Timer | None = None
        self._closed = False

    def push(self, value: T, *, force: bool = False) -> None:
        # Sending under the lock keeps the order of values.
        with self._lock:
            if self._closed:
                return
            wait = self._last_sent + self._interval - self._clock()
            if force or (wait <= 0 and self._timer is None):
                self._cancel_timer()
                self._emit(value)
                return
            self._pending = (value,)
            if self._deliver_late and self._timer is None:
                self._timer = threading.Timer(max(wait, 0.0), self._flush_due)
                self._timer.daemon = True
                self._timer.start()

    def close(self, *, flush: bool) -> None:
        """No more values; with `flush`, the waiting value (if any) is sent first."""
        with self._lock:
            self._cancel_timer()
            if flush and self._pending is not None and not self._closed:
                self._emit(self._pending[0])
            self._closed = True

    def _flush_due(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending is not None and not self._closed:
                self._emit(self._pending[0])

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _emit(self, value: T) -> None:
        self._pending = None
        self._last_sent = self._clock()
        self._send(value)
