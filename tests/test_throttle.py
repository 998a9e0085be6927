"""The one progress throttle: latest value wins, forced values and the last one always arrive."""

from __future__ import annotations

import itertools
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.throttle import Throttle


def test_keeps_only_the_latest_value() -> None:
    sent: list[int] = []
    now = [0.0]
    throttle = Throttle(sent.append, 0.1, clock=lambda: now[0])
    throttle.push(1)
    for n in range(2, 50):
        throttle.push(n)
    throttle.close(flush=True)
    assert sent == [1, 49]


def test_sends_a_waiting_value_when_the_work_goes_quiet() -> None:
    sent: list[int] = []
    arrived = threading.Event()

    def send(value: int) -> None:
        sent.append(value)
        if value == 2:
            arrived.set()

    throttle = Throttle(send, 0.05)
    throttle.push(1)
    throttle.push(2)
    assert arrived.wait(2)
    assert sent == [1, 2]
    throttle.close(flush=True)


def test_without_late_delivery_an_early_value_waits_for_the_next_due_or_forced_one() -> None:
    sent: list[str] = []
    now = [0.0]
    throttle = Throttle(sent.append, 1.0, deliver_late=False, clock=lambda: now[0])
    throttle.push("scanning")
    throttle.push("file 1")  # too early: dropped unless something flushes it
    time.sleep(0.05)
    assert sent == ["scanning"]
    throttle.push("indexing", force=True)  # a phase change goes out at once
    now[0] = 5.0
    throttle.push("file 2")
    assert sent == ["scanning", "indexing", "file 2"]


def test_nothing_is_sent_after_close() -> None:
    sent: list[int] = []
    throttle = Throttle(sent.append, 0.0)
    throttle.close(flush=False)
    throttle.push(1, force=True)
    assert sent == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.5), st.booleans()), min_size=1, max_size=60))
def test_forced_values_always_arrive_and_the_rate_holds(steps: list[tuple[float, bool]]) -> None:
    interval = 0.1
    sent: list[tuple[int, float]] = []
    now = [0.0]
    throttle = Throttle(
        lambda n: sent.append((n, now[0])), interval, deliver_late=False, clock=lambda: now[0]
    )
    forced = []
    for n, (gap, force) in enumerate(steps):
        now[0] += gap
        throttle.push(n, force=force)
        if force:
            forced.append(n)
    numbers = [n for n, _ in sent]
    assert set(forced) <= set(numbers)
    assert numbers == sorted(numbers)
    for (_, before), (n, at) in itertools.pairwise(sent):
        if n not in forced:  # an unforced value never follows another within the interval
            assert at - before >= interval - 1e-9
