"""A time limit on Python work inside an extraction worker (SIGALRM).

The alarm interrupts Python code only: a call that stays inside C (PDFium parsing a page, ONNX
Runtime running one batch) finishes before the handler runs. Those are bounded by the indexer's
parent-side watchdog, which stops a worker that reports no progress (library/indexer.py)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class TimeLimitExceeded(Exception):
    """Raised inside the body of `time_limit` when its time is up."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body after `seconds` with TimeLimitExceeded, where the OS allows it: on Unix,
    in the main thread (where process-pool workers run their tasks), when no other real-time timer
    is pending (we must not steal someone else's alarm). Elsewhere the body runs unguarded and
    only the caller's own budgets apply."""
    usable = (
        hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
