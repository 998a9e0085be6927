"""When the desktop restarts a lost engine and when it calls the engine hung: plain rules on a
fake clock, no Qt and no process."""

from __future__ import annotations

import subprocess
import sys

from desktop.restart_policy import Heartbeat, RestartPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_max_restarts_within_the_window() -> None:
    clock = Clock()
    policy = RestartPolicy(max_restarts=3, window_s=60, clock=clock)
    decisions = []
    for _ in range(4):
        clock.now += 5
        decisions.append(policy.allow_restart())
    assert decisions == [True, True, True, False]
    assert policy.attempts == 3


def test_restarts_older_than_the_window_no_longer_count() -> None:
    clock = Clock()
    policy = RestartPolicy(max_restarts=2, window_s=60, clock=clock)
    assert policy.allow_restart() and policy.allow_restart()
    clock.now += 61
    assert policy.allow_restart()


def test_a_stable_start_wipes_the_slate() -> None:
    clock = Clock()
    policy = RestartPolicy(max_restarts=2, window_s=600, stable_after_s=30, clock=clock)
    assert policy.allow_restart() and policy.allow_restart()
    policy.engine_ready()
    clock.now += 31  # ran well for longer than stable_after_s
    assert policy.allow_restart()
    assert policy.attempts == 1  # a first restart again


def test_an_engine_that_dies_soon_after_becoming_ready_still_counts() -> None:
    clock = Clock()
    policy = RestartPolicy(max_restarts=2, window_s=600, stable_after_s=30, clock=clock)
    for _ in range(2):
        assert policy.allow_restart()
        policy.engine_ready()
        clock.now += 5
    assert not policy.allow_restart()


def test_a_fresh_start_resets_everything() -> None:
    policy = RestartPolicy(max_restarts=1, window_s=60, clock=Clock())
    assert policy.allow_restart() and not policy.allow_restart()
    policy.reset()
    assert policy.allow_restart() and policy.attempts == 1


def test_the_handshake_gets_its_own_longer_limit() -> None:
    clock = Clock()
    beat = Heartbeat(ping_timeout_s=15, handshake_timeout_s=60, clock=clock)
    beat.handshake_sent()
    clock.now += 30
    assert beat.overdue() is None
    clock.now += 31
    assert beat.overdue() == 61
    beat.handshake_answered()
    assert beat.overdue() is None


def test_one_ping_at_a_time_and_a_late_pong_means_a_hang() -> None:
    clock = Clock()
    beat = Heartbeat(ping_timeout_s=15, handshake_timeout_s=60, clock=clock)
    assert beat.ping_due
    beat.ping_sent()
    assert not beat.ping_due
    clock.now += 10
    assert beat.overdue() is None
    beat.pong()
    assert beat.ping_due
    beat.ping_sent()
    clock.now += 16
    assert beat.overdue() == 16
    beat.reset()
    assert beat.overdue() is None and beat.ping_due


def test_the_policy_runs_without_qt() -> None:
    script = "import sys, desktop.restart_policy; print('PySide6' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
