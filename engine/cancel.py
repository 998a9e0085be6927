"""Cooperative cancellation shared by indexing, search and the agent."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.errors import Cancelled


class CancelToken:
    """Set once, checked often. Callbacks let blocking work (an HTTP stream) abort promptly."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Register `callback`; returns a function that unregisters it. Runs the callback at once
        when the token is already set."""
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._callbacks.append(callback)
        if already:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True when cancelled meanwhile (used for backoff)."""
        return self._event.wait(timeout)


NEVER = CancelToken()
"""A token nobody cancels, for callers that do not need cancellation. Never call cancel() on it."""
