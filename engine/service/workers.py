"""Requests that run on their own threads, each with its own CancelToken, found by request id.

Both stdio frontends use it: `needle serve` (ids are integers) and `needle mcp` (JSON-RPC ids,
strings or integers). A search is never queued behind an ask, and a cancel read on the reading
thread reaches the running work at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from engine.cancel import CancelToken

log = logging.getLogger("needle.service")

Key = TypeVar("Key", bound=Hashable)

# What a request's work returns: the action that sends its final answer. It runs after the id is
# free again, so a client may reuse the id as soon as it reads the answer.
Finish = Callable[[], None]


@dataclass
class _Running:
    token: CancelToken
    thread: threading.Thread
    # An ask's "answer from what was found so far" (docs/protocol.md, ask.stop_reading): the work
    # goes on and answers, unlike a cancel. None for requests that have nothing to stop early.
    stop_reading: CancelToken | None = None


class Workers(Generic[Key]):
    """The running requests. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Key, _Running] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._running)

    def start(
        self,
        key: Key,
        name: str,
        work: Callable[[CancelToken], Finish],
        *,
        stop_reading: CancelToken | None = None,
    ) -> bool:
        """Run `work(token)` on a new thread, then the action it returns; False (and nothing
        runs) when a request with this id is still running. `stop_reading`, the token the work
        watches to answer early, is fired by `stop_reading(key)`."""
        with self._lock:
            if key in self._running:
                return False
            token = CancelToken()
            thread = threading.Thread(
                target=self._run, args=(key, work, token), name=name, daemon=True
            )
            self._running[key] = _Running(token, thread, stop_reading)
        thread.start()
        return True

    def _run(self, key: Key, work: Callable[[CancelToken], Finish], token: CancelToken) -> None:
        try:
            finish = work(token)
        finally:
            with self._lock:
                self._running.pop(key, None)
        finish()

    def cancel(self, key: Key) -> bool:
        """Cancel the request with this id; False when none is running (it already finished)."""
        with self._lock:
            running = self._running.get(key)
        if running is not None:
            running.token.cancel()
        return running is not None

    def stop_reading(self, key: Key) -> bool:
        """Ask the request with this id to answer from what it has; False when it is not running
        (its answer is sent or coming) or has nothing to stop early."""
        with self._lock:
            running = self._running.get(key)
        if running is None or running.stop_reading is None:
            return False
        running.stop_reading.cancel()
        return True

    def threads(self) -> list[threading.Thread]:
        """The threads of the running requests."""
        with self._lock:
            return [item.thread for item in self._running.values()]

    def cancel_all(self) -> list[threading.Thread]:
        """Cancel every running request; returns their threads, to wait for with `join_all`."""
        with self._lock:
            running = list(self._running.values())
        for item in running:
            item.token.cancel()
        return [item.thread for item in running]


def join_all(threads: list[threading.Thread], grace: float, *, warn: bool = True) -> None:
    """Wait up to `grace` seconds in all for the threads to end; one that does not is left
    behind (they are daemons: it cannot keep the process alive), and logged when `warn`."""
    deadline = time.monotonic() + grace
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if warn and thread.is_alive():
            log.warning("%s did not stop within the grace period", thread.name)
