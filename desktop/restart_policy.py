"""When the desktop restarts its engine, and when it decides the engine hung. Plain Python on an
injectable clock, so the rules are tested without Qt or a process (tests/test_restart_policy.py).

- `RestartPolicy`: a lost engine is restarted at most `max_restarts` times within `window_s`;
  after that the client gives up. An engine that has then run for `stable_after_s` since it
  became ready wipes the slate: a crash next week is a first crash again, not the sixth.
- `Heartbeat`: which reply the client waits for (the handshake, or a ping) and since when; one
  that takes longer than its limit means the engine hung. The handshake gets a longer limit,
  since opening a library (crash repair, a cold disk) may take far longer than a ping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class RestartPolicy:
    def __init__(
        self,
        max_restarts: int = 5,
        window_s: float = 60.0,
        stable_after_s: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.stable_after_s = window_s if stable_after_s is None else stable_after_s
        self._clock = clock
        self._restarts: deque[float] = deque()
        self._ready_since: float | None = None
        self.attempts = 0  # restarts since the last fresh or stable start

    def reset(self) -> None:
        """A fresh start (the app starts the engine, or the user pressed Retry)."""
        self._restarts.clear()
        self._ready_since = None
        self.attempts = 0

    def engine_ready(self) -> None:
        """The engine answered the handshake."""
        self._ready_since = self._clock()

    def allow_restart(self) -> bool:
        """The engine was lost: may it be restarted? Counts the restart when it may."""
        now = self._clock()
        if self._ready_since is not None and now - self._ready_since >= self.stable_after_s:
            self.reset()
        self._ready_since = None
        while self._restarts and now - self._restarts[0] > self.window_s:
            self._restarts.popleft()
        if len(self._restarts) >= self.max_restarts:
            return False
        self._restarts.append(now)
        self.attempts += 1
        return True


class Heartbeat:
    def __init__(
        self, ping_timeout_s: float, handshake_timeout_s: float, clock: Clock = time.monotonic
    ) -> None:
        self.ping_timeout_s = ping_timeout_s
        self.handshake_timeout_s = handshake_timeout_s
        self._clock = clock
        self._handshake_sent_at: float | None = None
        self._ping_sent_at: float | None = None

    def reset(self) -> None:
        """A new engine process: nothing is awaited yet."""
        self._handshake_sent_at = self._ping_sent_at = None

    def handshake_sent(self) -> None:
        self._handshake_sent_at = self._clock()

    def handshake_answered(self) -> None:
        self._handshake_sent_at = None

    @property
    def ping_due(self) -> bool:
        """True when no ping is waiting for its reply (one ping at a time)."""
        return self._ping_sent_at is None

    def ping_sent(self) -> None:
        self._ping_sent_at = self._clock()

    def pong(self) -> None:
        self._ping_sent_at = None

    def overdue(self) -> float | None:
        """Seconds waited for the handshake or ping reply, when that is longer than allowed."""
        now = self._clock()
        if self._handshake_sent_at is not None:
            waited = now - self._handshake_sent_at
            return waited if waited > self.handshake_timeout_s else None
        if self._ping_sent_at is not None:
            waited = now - self._ping_sent_at
            return waited if waited > self.ping_timeout_s else None
        return None
