"""EngineClient against a real child process (the fake engine served over the real protocol):
start, handshake, round trips, stale events, supervision, restart limit, shutdown."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from desktop.engine_client import ClientState, EngineClient, default_engine_command
from desktop.engine_process import EngineExit
from engine.errors import NeedleError
from engine.service.protocol import PROTOCOL_VERSION

REPO_ROOT = Path(__file__).resolve().parents[1]
FAKE_ENGINE = [sys.executable, "-m", "tests.helpers.service"]
# Killing, stopping and probing a process by pid with signals is POSIX-only.
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")
FAST = {
    "heartbeat_interval_ms": 100,
    "heartbeat_timeout_ms": 800,
    "handshake_timeout_ms": 10_000,
    "restart_delay_ms": 50,
}


def make_client(command: list[str], **options: Any) -> EngineClient:
    return EngineClient(command, working_directory=REPO_ROOT, **{**FAST, **options})


@pytest.fixture
def client(qtbot: QtBot) -> Iterator[EngineClient]:
    engine_client = make_client(FAKE_ENGINE)
    with qtbot.waitSignal(engine_client.ready, timeout=10_000):
        engine_client.start()
    yield engine_client
    engine_client.shutdown_blocking(3)


class Collector:
    """Records what one request's callbacks received."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.progress: list[dict[str, Any]] = []
        self.results: list[Any] = []
        self.errors: list[NeedleError] = []

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_event": self.events.append,
            "on_progress": self.progress.append,
            "on_result": self.results.append,
            "on_error": self.errors.append,
        }

    @property
    def done(self) -> bool:
        return bool(self.results or self.errors)


def test_start_handshake_and_request_round_trip(qtbot: QtBot, client: EngineClient) -> None:
    assert client.state == ClientState.READY
    assert client.engine_info["protocol"] == PROTOCOL_VERSION
    assert client.engine_pid is not None
    if hasattr(os, "getsid"):
        assert os.getsid(client.engine_pid) != os.getsid(0), "terminal signals must not reach it"
    got = Collector()
    client.request("search", {"query": "needle", "limit": 2}, **got.callbacks())
    qtbot.waitUntil(lambda: got.done, timeout=5000)
    assert got.errors == []
    assert [hit["chunk_id"] for hit in got.results[0]["hits"]] == ["c0", "c1"]


def test_requests_made_before_ready_are_sent_once_it_is(qtbot: QtBot) -> None:
    engine_client = make_client(FAKE_ENGINE)
    got = Collector()
    engine_client.start()
    engine_client.request("folders.list", **got.callbacks())
    try:
        qtbot.waitUntil(lambda: got.done, timeout=10_000)
        assert got.results == [{"folders": []}]
    finally:
        engine_client.shutdown_blocking(3)


def test_errors_arrive_as_needle_errors(qtbot: QtBot, client: EngineClient) -> None:
    got = Collector()
    client.request("nonsense", **got.callbacks())
    qtbot.waitUntil(lambda: got.done, timeout=5000)
    assert got.errors[0].kind == "unknown_method"
    assert "nonsense" in got.errors[0].message


def test_events_stream_and_stale_events_are_dropped_after_cancel(
    qtbot: QtBot, client: EngineClient
) -> None:
    got = Collector()
    handle = client.request("ask", {"question": "forever"}, **got.callbacks())
    qtbot.waitUntil(lambda: len(got.events) >= 3, timeout=5000)
    handle.cancel()
    assert not handle.alive
    seen = len(got.events)
    # The engine keeps streaming until it reads the cancel; none of that may reach us, and the
    # engine's final "cancelled" error is dropped too: the UI asked for the stop itself.
    follow_up = Collector()
    client.request("ping", **follow_up.callbacks())
    qtbot.waitUntil(lambda: follow_up.done, timeout=5000)
    qtbot.wait(100)
    assert len(got.events) == seen
    assert got.results == [] and got.errors == []
    assert {e["type"] for e in got.events} <= {"level", "answer_delta"}


def test_stop_reading_lets_an_ask_finish_with_its_partial_answer(
    qtbot: QtBot, client: EngineClient
) -> None:
    got = Collector()
    handle = client.request("ask", {"question": "forever"}, **got.callbacks())
    qtbot.waitUntil(lambda: len(got.events) >= 3, timeout=5000)
    handle.stop_reading()
    assert handle.alive
    qtbot.waitUntil(lambda: got.done, timeout=5000)
    assert got.errors == []
    assert got.results[0]["partial"] is True


def test_notifications_are_signals(qtbot: QtBot) -> None:
    engine_client = make_client([*FAKE_ENGINE, "--ollama-poll", "60"])
    topics: list[str] = []
    engine_client.notification.connect(lambda topic, data: topics.append(topic))
    try:
        engine_client.start()
        qtbot.waitUntil(lambda: {"index_changed", "ollama"} <= set(topics), timeout=10_000)
    finally:
        engine_client.shutdown_blocking(3)


@pytest.mark.expect_log("engine lost: The engine crashed")
@posix_only
def test_a_killed_engine_is_restarted_and_in_flight_requests_fail_clearly(
    qtbot: QtBot, client: EngineClient
) -> None:
    first_pid = client.engine_pid
    assert first_pid is not None
    got = Collector()
    client.request("ask", {"question": "forever"}, **got.callbacks())
    qtbot.waitUntil(lambda: len(got.events) >= 1, timeout=5000)
    with (
        qtbot.waitSignal(client.engine_lost, timeout=5000) as lost,
        qtbot.waitSignal(client.engine_restarted, timeout=10_000) as restarted,
    ):
        os.kill(first_pid, signal.SIGKILL)
    assert lost.args[0] == "The engine crashed."
    assert restarted.args == [1]
    assert got.errors and got.errors[0].kind == "engine_restarted"
    assert client.engine_pid not in (None, first_pid)
    again = Collector()
    client.request("search", {"query": "back"}, **again.callbacks())
    qtbot.waitUntil(lambda: again.done, timeout=5000)
    assert again.results and again.results[0]["count"] == 3


@pytest.mark.expect_log("stopped responding", "engine lost")
@posix_only
def test_a_hung_engine_is_killed_and_restarted(qtbot: QtBot, client: EngineClient) -> None:
    pid = client.engine_pid
    assert pid is not None
    with (
        qtbot.waitSignal(client.engine_lost, timeout=5000) as lost,
        qtbot.waitSignal(client.engine_restarted, timeout=10_000),
    ):
        os.kill(pid, signal.SIGSTOP)  # alive but silent: only the heartbeat can notice
    assert "stopped responding" in lost.args[0]
    assert client.state == ClientState.READY


@pytest.mark.expect_log("stopped responding", "engine lost")
def test_an_engine_that_never_answers_the_handshake_is_restarted(qtbot: QtBot) -> None:
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]
    engine_client = make_client(silent, handshake_timeout_ms=500, max_restarts=1)
    losses: list[str] = []
    engine_client.engine_lost.connect(losses.append)
    with qtbot.waitSignal(engine_client.engine_failed, timeout=10_000):
        engine_client.start()
    assert len(losses) == 2
    assert "stopped responding" in losses[0]


def test_a_cancelled_queued_request_is_never_sent(qtbot: QtBot) -> None:
    engine_client = make_client(FAKE_ENGINE)
    got = Collector()
    engine_client.start()
    handle = engine_client.request("ask", {"question": "forever"}, **got.callbacks())
    handle.cancel()
    follow_up = Collector()
    engine_client.request("ping", **follow_up.callbacks())
    try:
        qtbot.waitUntil(lambda: follow_up.done, timeout=10_000)
        qtbot.wait(100)
        assert got.events == [] and not got.done
        assert follow_up.results[0]["running"] == 0, "the engine never started the cancelled ask"
    finally:
        engine_client.shutdown_blocking(3)


@pytest.mark.expect_log("engine lost: The engine exited unexpectedly")
def test_restarts_are_bounded_then_engine_failed(qtbot: QtBot) -> None:
    dies_at_once = [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(2)"]
    engine_client = make_client(dies_at_once, max_restarts=3)
    losses: list[str] = []
    engine_client.engine_lost.connect(losses.append)
    got = Collector()
    with qtbot.waitSignal(engine_client.engine_failed, timeout=15_000) as failed:
        engine_client.start()
        engine_client.request("status", **got.callbacks())
    assert len(losses) == 4  # the first start and three restarts
    assert "exit code 2" in losses[0] and "boom" in losses[0]
    assert "3 times" in failed.args[0]
    assert engine_client.state == ClientState.FAILED
    qtbot.waitUntil(lambda: got.done, timeout=2000)
    assert got.errors[0].kind == "engine_unavailable"
    late = Collector()
    engine_client.request("status", **late.callbacks())
    qtbot.waitUntil(lambda: late.done, timeout=2000)
    assert late.errors[0].kind == "engine_unavailable"


@pytest.mark.expect_log("refused the handshake")
def test_a_refused_handshake_is_not_retried(qtbot: QtBot) -> None:
    engine_client = make_client([*FAKE_ENGINE, "--fail-open"])
    losses: list[str] = []
    engine_client.engine_lost.connect(losses.append)
    with qtbot.waitSignal(engine_client.engine_failed, timeout=10_000) as failed:
        engine_client.start()
    assert "pid 4242" in failed.args[0]
    qtbot.wait(300)
    assert losses == []


@pytest.mark.expect_log("refused the handshake")
def test_protocol_mismatch_fails_with_the_engines_explanation(qtbot: QtBot) -> None:
    engine_client = make_client(FAKE_ENGINE, protocol_version=PROTOCOL_VERSION + 1)
    with qtbot.waitSignal(engine_client.engine_failed, timeout=10_000) as failed:
        engine_client.start()
    assert f"version {PROTOCOL_VERSION}" in failed.args[0]
    assert f"version {PROTOCOL_VERSION + 1}" in failed.args[0]


@posix_only
def test_shutdown_stops_the_child_without_blocking(qtbot: QtBot, client: EngineClient) -> None:
    pid = client.engine_pid
    assert pid is not None
    lost: list[str] = []
    client.engine_lost.connect(lost.append)
    running = Collector()
    handle = client.request("ask", {"question": "forever"}, **running.callbacks())
    qtbot.waitUntil(lambda: bool(running.events), timeout=5000)
    with qtbot.waitSignal(client.stopped, timeout=10_000):
        client.shutdown()
        assert client.state == ClientState.SHUTTING_DOWN  # returned at once
    assert client.state.value == "stopped"
    assert lost == []
    assert handle.cancelled and not running.done, "the app's own shutdown is no error to show"
    late = Collector()
    client.request("status", **late.callbacks())
    qtbot.waitUntil(lambda: late.done, timeout=2000)
    assert late.errors[0].kind == "engine_unavailable"
    assert not _process_exists(pid)


@pytest.mark.expect_log("did not stop in time")
@posix_only
def test_shutdown_escalates_to_kill_when_the_engine_ignores_it(
    qtbot: QtBot, client: EngineClient
) -> None:
    pid = client.engine_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # it can no longer read the shutdown request
    with qtbot.waitSignal(client.stopped, timeout=10_000):
        client.shutdown(grace_ms=200)
    assert not _process_exists(pid)


def test_default_engine_command() -> None:
    command = default_engine_command("/tmp/home")
    assert command[:3] == [sys.executable, "-m", "engine"]
    assert command[-1] == "serve" and "/tmp/home" in command


def test_default_engine_command_in_a_frozen_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/needle/needle-desktop")
    command = default_engine_command(None)
    assert Path(command[0]).name in ("needle", "needle.exe")
    assert Path(command[0]).parent == Path("/opt/needle").resolve()
    assert command[1:] == ["serve"]


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists" until reaped; QProcess reaps its children, so this means alive.
    return True


@pytest.mark.slow
def test_the_real_engine_through_the_default_command(qtbot: QtBot, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "boiler.md").write_text("# Boiler\n\nThe pressure valve is behind the boiler.\n")
    engine_client = EngineClient(
        default_engine_command(tmp_path / "home"),
        environment={"OLLAMA_HOST": "http://127.0.0.1:9"},  # nothing listens: "not running"
    )
    ollama: list[dict[str, Any]] = []
    engine_client.notification.connect(
        lambda topic, data: ollama.append(data) if topic == "ollama" else None
    )
    try:
        with qtbot.waitSignal(engine_client.ready, timeout=60_000):
            engine_client.start()
        added, indexed, found = Collector(), Collector(), Collector()
        engine_client.request("folders.add", {"path": str(notes)}, **added.callbacks())
        qtbot.waitUntil(lambda: added.done, timeout=30_000)
        engine_client.request("index.run", **indexed.callbacks())
        qtbot.waitUntil(lambda: indexed.done, timeout=60_000)
        assert indexed.errors == [] and indexed.progress[-1]["phase"] == "done"
        engine_client.request("search", {"query": "valve"}, **found.callbacks())
        qtbot.waitUntil(lambda: found.done, timeout=30_000)
        assert found.results[0]["hits"][0]["path"] == str((notes / "boiler.md").resolve())
        qtbot.waitUntil(lambda: bool(ollama), timeout=30_000)
        assert ollama[0]["state"] == "not_running"
    finally:
        engine_client.shutdown_blocking(10)
    assert engine_client.state == ClientState.STOPPED


def test_an_engine_exit_says_why_in_words() -> None:
    assert EngineExit(start_error="No such file").describe() == (
        "The engine could not start: No such file"
    )
    hung = "The engine stopped responding (no reply for 16 s)."
    assert EngineExit(crashed=True, killed_because=hung).describe() == hung
    assert EngineExit(crashed=True, last_message="indexing a.md").describe() == (
        "The engine crashed."
    )
    assert EngineExit(1, last_message="ValueError: bad").describe() == (
        "The engine exited unexpectedly (exit code 1). Last message: ValueError: bad"
    )
