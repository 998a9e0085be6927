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
def time_limit(seconds: float, *, cpu: bool = False) -> Iterator[None]:
    """Interrupt the body after `seconds` with TimeLimitExceeded, where the OS allows it: on Unix,
    in the main thread (where process-pool workers run their tasks), when no other timer of that
    kind is pending (we must not steal someone else's alarm). Elsewhere the body runs unguarded
    and only the caller's own budgets apply.

    `cpu=True` counts the process's CPU seconds (all its threads) instead of the wall clock, so
    work that takes 15 CPU seconds gets the same verdict on an idle machine and on one where
    other programs take most of the cores."""
    timer, signal_name = ("ITIMER_PROF", "SIGPROF") if cpu else ("ITIMER_REAL", "SIGALRM")
    usable = (
        hasattr(signal, signal_name)
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(getattr(signal, timer))[0] == 0
    )
    if not usable:
        yield
        return
    which, number = getattr(signal, timer), getattr(signal, signal_name)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded()

    previous = signal.signal(number, on_alarm)
    signal.setitimer(which, seconds)
    try:
        yield
    finally:
        signal.setitimer(which, 0)
        signal.signal(number, previous)
