"""A watchdog for the UI thread: a timer that should tick every 50 ms measures how late each tick
is. A late tick means something held the event loop, which people feel as a frozen window; every
block over the threshold is logged with its length, so it can be found and moved off the UI
thread.

Time the UI thread spent runnable but waiting for a CPU is not counted: on a loaded machine (a
local model server on every core) the scheduler alone can hold a tick back for hundreds of
milliseconds, which is not the app holding its event loop. Linux reports that wait per thread in
/proc/thread-self/schedstat; elsewhere nothing is subtracted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

log = logging.getLogger("needle.responsiveness")

TICK_MS = 50
BLOCK_THRESHOLD_MS = 200
SCHEDSTAT = Path("/proc/thread-self/schedstat")


def cpu_wait_seconds() -> float:
    """Seconds the calling thread has spent runnable but waiting for a CPU (0 where the kernel
    does not say)."""
    try:
        fields = SCHEDSTAT.read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class UiWatchdog(QObject):
    blocked = Signal(float)  # milliseconds the UI thread was unresponsive

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        tick_ms: int = TICK_MS,
        threshold_ms: float = BLOCK_THRESHOLD_MS,
        clock: Callable[[], float] = time.monotonic,
        cpu_wait: Callable[[], float] = cpu_wait_seconds,
    ) -> None:
        super().__init__(parent)
        self._tick_ms = tick_ms
        self._threshold_ms = threshold_ms
        self._clock = clock
        self._cpu_wait = cpu_wait
        self._last_tick: float | None = None
        self._last_wait = 0.0
        self.longest_block_ms = 0.0
        self.block_count = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_tick)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._last_tick = self._clock()
        self._last_wait = self._cpu_wait()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._last_tick = None

    def _on_tick(self) -> None:
        now, waited = self._clock(), self._cpu_wait()
        if self._last_tick is not None:
            waited_ms = (waited - self._last_wait) * 1000
            late_ms = (now - self._last_tick) * 1000 - self._tick_ms - waited_ms
            if late_ms > self._threshold_ms:
                self.block_count += 1
                self.longest_block_ms = max(self.longest_block_ms, late_ms)
                log.warning("the UI thread was blocked for %.0f ms", late_ms)
                self.blocked.emit(late_ms)
        self._last_tick, self._last_wait = now, waited
