"""What every model backend does around one streamed call: a bounded number of calls at once
(`Slots`), and retries with backoff of the failures worth retrying (`Transient`), but only while
no text has reached the caller (`Attempt.emitted`)."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engine.cancel import CancelToken
from engine.errors import Cancelled, OllamaError
from engine.llm.types import ChatResult, ToolCall

BACKOFF_CAP = 8.0  # seconds; the longest wait between two attempts
BACKOFF_JITTER = 0.25  # up to this fraction of the wait is added at random, so parallel readers
# that failed together do not all retry in the same instant
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Transient(Exception):
    """Wraps an OllamaError that is worth retrying (connection reset, 5xx, 429, connect timeout)."""

    def __init__(self, error: OllamaError) -> None:
        super().__init__(error.message)
        self.error = error


def unwrap(error: OllamaError | Transient) -> OllamaError:
    return error.error if isinstance(error, Transient) else error


@dataclass
class Attempt:
    """What one streamed attempt produced so far; `emitted` forbids retrying (the caller has
    already shown text that a second attempt would repeat)."""

    on_delta: Callable[[str], None] | None = None
    parts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    emitted: bool = False

    def text(self, piece: str) -> None:
        if not piece:
            return
        self.parts.append(piece)
        self.emitted = True
        if self.on_delta is not None:
            self.on_delta(piece)

    @property
    def content(self) -> str:
        return "".join(self.parts)


class Slots:
    """At most `size` calls at once; waiting for a place can be cancelled."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.size = size
        self._semaphore = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def hold(self, cancel: CancelToken) -> Iterator[None]:
        while not self._semaphore.acquire(timeout=0.05):
            cancel.raise_if_cancelled()
        try:
            yield
        finally:
            self._semaphore.release()


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more attempts after the first, waiting `backoff · 2^n` (capped, jittered)."""

    retries: int = 3
    backoff: float = 0.5

    def run(
        self,
        once: Callable[[Attempt], ChatResult],
        on_delta: Callable[[str], None] | None,
        cancel: CancelToken,
    ) -> ChatResult:
        """`once(attempt)` until it returns, it raises something other than Transient, text has
        reached `on_delta`, or the retries are used up (then the wrapped error is raised)."""
        number = 0
        while True:
            attempt = Attempt(on_delta)
            try:
                return once(attempt)
            except Transient as transient:
                if attempt.emitted or number >= self.retries:
                    raise transient.error from None
            self._sleep(number, cancel)
            number += 1

    def _sleep(self, number: int, cancel: CancelToken) -> None:
        delay = min(BACKOFF_CAP, self.backoff * 2**number)
        delay += random.uniform(0.0, BACKOFF_JITTER * delay)
        if cancel.wait(delay):
            raise Cancelled()
