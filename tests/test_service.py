"""The engine service, in process over an in-memory pipe with a fake engine, and (once the real
engine is installed) as a real `python -m engine serve` subprocess."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.api import Engine
from engine.models import IndexSummary
from engine.service.protocol import PROTOCOL_VERSION
from engine.service.server import Service
from tests.helpers.service import FakeEngine

REPO_ROOT = Path(__file__).resolve().parents[1]


class Output(io.RawIOBase):
    """Collects protocol lines the service writes and lets a test wait for them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.raw = bytearray()
        self._changed = threading.Condition()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        with self._changed:
            self.raw += bytes(data)
            while b"\n" in self.raw:
                line, _, rest = bytes(self.raw).partition(b"\n")
                self.raw = bytearray(rest)
                self.lines.append(json.loads(line))
            self._changed.notify_all()
        return len(data)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching line; got {self.lines}")
                self._changed.wait(remaining)

    def final(self, request_id: int, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_for(
            lambda m: m.get("id") == request_id and m.get("type") in ("result", "error"), timeout
        )

    def of(self, request_id: int) -> list[dict[str, Any]]:
        with self._changed:
            return [m for m in self.lines if m.get("id") == request_id]


def send(service: Service, request_id: int, method: str, **params: Any) -> bool:
    line = json.dumps({"id": request_id, "method": method, "params": params})
    return service.handle_line(line.encode() + b"\n")


def handshake(service: Service, output: Output) -> dict[str, Any]:
    send(service, 1, "handshake", protocol=PROTOCOL_VERSION, client="test")
    return output.final(1)


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def served(fake: FakeEngine) -> Iterator[tuple[Service, Output]]:
    output = Output()
    service = Service(fake, output, data_dir="/data", background=False, progress_interval=0.1)
    assert handshake(service, output)["type"] == "result"
    yield service, output
    service.close()


def test_handshake_reports_version_and_data_dir(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/data", background=False)
    reply = handshake(service, output)
    assert reply["result"]["protocol"] == PROTOCOL_VERSION
    assert reply["result"]["data_dir"] == "/data"
    assert reply["result"]["engine_version"]


def test_version_mismatch_is_refused_naming_both_versions_and_the_engine_stops(
    fake: FakeEngine,
) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", background=False)
    keep_reading = send(service, 1, "handshake", protocol=99, client="needle-desktop 9.0")
    reply = output.final(1)
    assert keep_reading is False
    assert reply["error"]["kind"] == "protocol_mismatch"
    assert f"version {PROTOCOL_VERSION}" in reply["error"]["message"]
    assert "version 99" in reply["error"]["message"]
    assert "needle-desktop 9.0" in reply["error"]["message"]
    assert service.exit_code != 0


def test_requests_before_the_handshake_are_refused(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", background=False)
    send(service, 3, "search", query="x")
    assert output.final(3)["error"]["kind"] == "handshake_required"
    assert fake.searches == []


def test_an_engine_that_could_not_open_says_why_at_the_handshake() -> None:
    from engine.errors import WriterLocked

    output = Output()
    locked = WriterLocked("writer_locked", "Another engine (pid 7) holds the index.", "Quit it.")
    service = Service(None, output, data_dir="/d", startup_error=locked, background=False)
    assert send(service, 1, "handshake", protocol=PROTOCOL_VERSION) is False
    assert output.final(1)["error"] == locked.to_dict()


def test_unknown_method_is_an_error_and_the_engine_keeps_running(
    served: tuple[Service, Output],
) -> None:
    service, output = served
    assert send(service, 2, "frobnicate") is True
    error = output.final(2)["error"]
    assert error["kind"] == "unknown_method"
    assert "frobnicate" in error["message"]
    send(service, 3, "ping")
    assert output.final(3)["result"]["pong"] is True


@pytest.mark.parametrize(
    "line",
    [
        b"this is not json\n",
        b"[1,2,3]\n",
        b'{"method": "ping"}\n',
        b"\xff\xfe\n",
        b'"text"\n',
        b"[" * 100_000 + b"\n",  # RecursionError in the decoder (issue 9, item 6)
        b'{"id": 1, "method": "ping", "params": {"a": ' + b"[" * 100_000 + b"]}}\n",
    ],
)
@pytest.mark.expect_log("malformed request line")
def test_malformed_lines_get_bad_request_with_null_id_and_the_engine_keeps_running(
    served: tuple[Service, Output], line: bytes
) -> None:
    service, output = served
    assert service.handle_line(line) is True
    error = output.wait_for(lambda m: m.get("type") == "error" and m.get("id") is None)
    assert error["error"]["kind"] == "bad_request"
    send(service, 9, "ping")
    assert output.final(9)["type"] == "result"


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("search", '{"query": "caf\\ud800"}'),
        ("folders.add", '{"path": "/tmp/a\\u0000b"}'),
        ("ask", '{"question": "why \\udfff?"}'),
    ],
)
def test_text_no_file_or_search_can_hold_is_a_bad_request(
    served: tuple[Service, Output], method: str, params: str
) -> None:
    """A lone surrogate or a NUL used to come back as `internal` (issue 9, minor)."""
    service, output = served
    service.handle_line(f'{{"id": 5, "method": "{method}", "params": {params}}}\n'.encode())
    assert output.final(5)["error"]["kind"] == "bad_request"
    send(service, 9, "ping")
    assert output.final(9)["type"] == "result"


@pytest.mark.expect_log("malformed request line")
def test_a_request_without_method_names_its_id(served: tuple[Service, Output]) -> None:
    service, output = served
    service.handle_line(b'{"id": 12}\n')
    assert output.final(12)["error"]["kind"] == "bad_request"


def test_search_round_trip_with_filters(served: tuple[Service, Output], fake: FakeEngine) -> None:
    service, output = served
    send(service, 2, "search", query="tantivy", limit=2, filters={"extensions": [".PDF"]})
    result = output.final(2)["result"]
    assert result["count"] == 2
    assert [hit["chunk_id"] for hit in result["hits"]] == ["c0", "c1"]
    assert result["hits"][0]["title"] == "A 中文"
    query, limit, filters = fake.searches[-1]
    assert (query, limit) == ("tantivy", 2)
    assert filters is not None and filters.extensions == ("pdf",)
    assert fake.last_search_prefix is False
    send(service, 3, "search", query="tanti", prefix=True)
    assert output.final(3)["result"]["count"] >= 1
    assert fake.last_search_prefix is True


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "'query'"),
        ({"query": "x", "limit": 0}, "'limit'"),
        ({"query": "x", "filters": {"colour": ["red"]}}, "unknown filter"),
        ({"query": "x", "filters": {"folders": "notes"}}, "'folders'"),
        ({"query": "x", "prefix": "yes"}, "'prefix'"),
    ],
)
def test_bad_search_params_are_explained(
    served: tuple[Service, Output], params: dict[str, Any], problem: str
) -> None:
    service, output = served
    send(service, 2, "search", **params)
    error = output.final(2)["error"]
    assert error["kind"] == "bad_request"
    assert problem in error["message"]


@pytest.mark.expect_log("request \\d+ \\(search\\) failed")
def test_an_engine_bug_becomes_an_internal_error_not_a_dead_engine(
    served: tuple[Service, Output],
) -> None:
    service, output = served
    send(service, 2, "search", query="explode")
    error = output.final(2)["error"]
    assert error["kind"] == "internal"
    assert "exploded" in error["message"]
    send(service, 3, "search", query="fine")
    assert output.final(3)["type"] == "result"


@pytest.mark.expect_log("dispatching request \\d+ \\(cancel\\) failed")
def test_a_bug_on_the_reading_thread_is_reported_and_the_engine_keeps_reading(
    served: tuple[Service, Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, output = served

    def broken(request: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(service, "_cancel", broken)
    assert send(service, 2, "cancel", request=1) is True
    error = output.final(2)["error"]
    assert error["kind"] == "internal" and "oops" in error["message"]
    send(service, 3, "ping")
    assert output.final(3)["type"] == "result"


@pytest.mark.expect_log("cannot encode a reply")
def test_a_result_that_cannot_be_sent_is_an_internal_error(
    served: tuple[Service, Output], fake: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, output = served
    monkeypatch.setattr(fake, "status", lambda: {"files": object()})
    send(service, 2, "status")
    error = output.final(2)["error"]
    assert error["kind"] == "internal" and "cannot send a object" in error["message"]


def test_engine_errors_cross_as_data(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "settings.update", changes={"context_window": 100})
    error = output.final(2)["error"]
    assert error["kind"] == "invalid_settings"
    assert "2048" in error["message"]
    send(service, 3, "settings.update", changes={"model": "qwen2:1.5b"})
    assert output.final(3)["result"]["values"]["model"] == "qwen2:1.5b"
    send(service, 4, "settings.get")
    snapshot = output.final(4)["result"]
    assert snapshot["values"]["model"] == "qwen2:1.5b"
    # Every field has a value, except secrets (the API key): declared, never sent.
    secrets = {f["name"] for f in snapshot["fields"] if f["kind"] == "secret"}
    assert secrets == {"api_key"} and "api_key" not in snapshot["values"]
    assert {f["name"] for f in snapshot["fields"]} - secrets == set(snapshot["values"])


def test_settings_update_refuses_values_that_are_not_finite(needle_home: Path) -> None:
    output = Output()
    with Engine.open() as engine:
        service = Service(engine, output, data_dir=str(needle_home), background=False)
        assert handshake(service, output)["type"] == "result"
        for request_id, change in enumerate(('"max_file_mb": NaN', '"max_file_mb": 1e400'), 2):
            line = f'{{"id": {request_id}, "method": "settings.update", "params": '
            service.handle_line(f'{line}{{"changes": {{{change}}}}}}}\n'.encode())
            assert output.final(request_id)["error"]["kind"] == "invalid_settings"
        assert engine.settings.max_file_mb == 64.0
        service.close()


def test_an_ignore_pattern_change_is_applied_by_a_pass_over_the_folders(
    served: tuple[Service, Output],
) -> None:
    service, output = served
    send(service, 2, "settings.update", changes={"ignore_patterns": ["*.log"]})
    assert output.final(2)["result"]["values"]["ignore_patterns"] == ["*.log"]
    changed = output.wait_for(
        lambda line: line.get("topic") == "index_changed" and line["data"]["source"] == "settings"
    )
    assert "summary" in changed["data"]
    send(service, 3, "settings.update", changes={"model": "qwen2:1.5b"})
    output.final(3)
    settings_passes = [
        line for line in output.lines
        if line.get("topic") == "index_changed" and line["data"]["source"] == "settings"
    ]  # fmt: skip
    assert len(settings_passes) == 1  # a model change needs no pass over the files


def test_folders_add_list_remove(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "folders.add", path="/notes")
    assert output.final(2)["result"]["path"] == "/notes"
    send(service, 3, "folders.list")
    assert [f["path"] for f in output.final(3)["result"]["folders"]] == ["/notes"]
    send(service, 4, "folders.remove", path="/elsewhere")
    assert output.final(4)["error"]["kind"] == "folder_unknown"


def test_cancelling_a_running_ask_stops_it_and_ends_with_cancelled(
    served: tuple[Service, Output],
) -> None:
    service, output = served
    send(service, 2, "ask", question="forever")
    output.wait_for(lambda m: m.get("id") == 2 and m["event"]["type"] == "answer_delta")
    send(service, 3, "cancel", request=2)
    assert output.final(3)["result"] == {"cancelled": True}
    final = output.final(2)
    assert final["error"]["kind"] == "cancelled"
    time.sleep(0.1)
    mine = output.of(2)
    assert mine[-1] is final, "nothing of a cancelled request may follow its final reply"
    assert sum(1 for m in mine if m["type"] in ("result", "error")) == 1


def test_stop_reading_ends_an_ask_with_its_partial_answer(
    served: tuple[Service, Output],
) -> None:
    service, output = served
    send(service, 2, "ask", question="forever")
    output.wait_for(lambda m: m.get("id") == 2 and m["event"]["type"] == "answer_delta")
    send(service, 3, "ask.stop_reading", request=2)
    assert output.final(3)["result"] == {"stopping": True}
    final = output.final(2)
    assert final["type"] == "result"
    assert final["result"]["partial"] is True
    assert final["result"]["text"] == "answer from what was read"
    send(service, 4, "ask.stop_reading", request=2)
    assert output.final(4)["result"] == {"stopping": False}
    send(service, 5, "ask.stop_reading", request="2")
    assert output.final(5)["error"]["kind"] == "bad_request"


def test_cancelling_a_finished_request_says_so(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "search", query="x")
    output.final(2)
    send(service, 3, "cancel", request=2)
    assert output.final(3)["result"] == {"cancelled": False}


def test_a_search_is_not_blocked_behind_a_running_ask(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "ask", question="forever")
    output.wait_for(lambda m: m.get("id") == 2)
    started = time.monotonic()
    send(service, 3, "search", query="quick")
    assert output.final(3)["type"] == "result"
    assert time.monotonic() - started < 1.0
    send(service, 4, "cancel", request=2)
    output.final(2)


def test_a_superseded_search_can_be_cancelled(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "search", query="slow:0.3")
    send(service, 3, "cancel", request=2)
    send(service, 4, "search", query="fresh")
    assert output.final(4)["type"] == "result"
    assert output.final(2)["error"]["kind"] == "cancelled"


def test_ask_streams_events_then_the_answer(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "ask", question="what?", level="1", scope={"paths": ["/notes/a.md"]})
    final = output.final(2)
    assert final["result"]["text"] == "answer to what?"
    events = [m["event"]["type"] for m in output.of(2) if m["type"] == "event"]
    assert events == ["level", "answer_delta", "answer_delta", "answer_delta"]
    level_event = output.of(2)[0]["event"]
    assert "/notes/a.md" in level_event["reason"]


def test_ask_refuses_an_unknown_level(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "ask", question="what?", level="7")
    assert "'level'" in output.final(2)["error"]["message"]


def test_progress_is_throttled_to_ten_per_second_and_the_last_value_arrives(
    served: tuple[Service, Output], fake: FakeEngine
) -> None:
    service, output = served
    fake.pull_updates = 300  # about 0.4 s of updates, one per millisecond or so
    started = time.monotonic()
    send(service, 2, "ollama.pull", model="qwen2:0.5b")
    assert output.final(2, timeout=10)["result"]["ready"] is True
    elapsed = time.monotonic() - started
    progress = [m["progress"] for m in output.of(2) if m["type"] == "progress"]
    assert progress[-1]["completed"] == 300, "the latest value must not be lost"
    assert 2 <= len(progress) <= elapsed * 10 + 2
    completed = [p["completed"] for p in progress]
    assert completed == sorted(completed)


def test_index_run_reports_progress_and_its_summary(
    served: tuple[Service, Output], fake: FakeEngine
) -> None:
    service, output = served
    send(service, 2, "index.run")
    result = output.final(2)["result"]
    assert result["added"] == fake.index_steps
    progress = [m["progress"] for m in output.of(2) if m["type"] == "progress"]
    assert progress[-1]["done"] == fake.index_steps
    changed = output.wait_for(lambda m: m.get("topic") == "index_changed")
    assert changed["data"]["source"] == "index.run"
    assert output.lines.index(changed) > output.lines.index(output.final(2))


def test_cancelling_an_index_run(served: tuple[Service, Output], fake: FakeEngine) -> None:
    service, output = served
    fake.index_steps, fake.step_seconds = 1000, 0.01
    send(service, 2, "index.run")
    output.wait_for(lambda m: m.get("id") == 2 and m["type"] == "progress")
    send(service, 3, "cancel", request=2)
    assert output.final(2)["error"]["kind"] == "cancelled"


def test_duplicate_ids_of_running_requests_are_refused(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "ask", question="forever")
    send(service, 2, "search", query="x")
    error = output.wait_for(lambda m: m.get("id") == 2 and m.get("type") == "error")
    assert "already running" in error["error"]["message"]
    send(service, 3, "cancel", request=2)


def test_shutdown_cancels_work_stops_watching_and_closes_the_engine(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", ollama_poll_seconds=None)
    handshake(service, output)
    output.wait_for(lambda m: m.get("topic") == "index_changed")
    assert fake.watching
    send(service, 2, "ask", question="forever")
    output.wait_for(lambda m: m.get("id") == 2)
    assert send(service, 3, "shutdown") is False
    service.close()
    assert output.final(2)["error"]["kind"] == "cancelled"
    assert fake.closed and not fake.watching


def test_background_startup_index_watcher_and_ollama_notifications(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", ollama_poll_seconds=0.05)
    handshake(service, output)
    index_progress = output.wait_for(lambda m: m.get("topic") == "index")
    assert index_progress["data"]["source"] == "startup"
    changed = output.wait_for(lambda m: m.get("topic") == "index_changed")
    assert changed["data"]["summary"]["added"] == fake.index_steps
    ollama = output.wait_for(lambda m: m.get("topic") == "ollama")
    assert ollama["data"]["state"] == "model_missing"
    assert ollama["data"]["model"] == fake.settings.model
    assert fake.watch_callback is not None
    fake.watch_callback(IndexSummary(updated=1))
    output.wait_for(lambda m: m.get("data", {}).get("source") == "watcher")
    # the Ollama state did not change: one notification, not one per poll
    time.sleep(0.2)
    assert sum(1 for m in output.lines if m.get("topic") == "ollama") == 1
    service.close()


def test_a_pulled_model_is_announced_without_waiting_for_the_next_poll(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", ollama_poll_seconds=600)
    handshake(service, output)
    output.wait_for(lambda m: m.get("topic") == "ollama")
    fake.pull_updates = 1
    send(service, 2, "ollama.pull")
    output.final(2)
    ready = output.wait_for(lambda m: m.get("topic") == "ollama" and m["data"]["state"] == "ready")
    assert ready["data"]["model"] == fake.settings.model
    send(service, 3, "settings.update", changes={"model": "qwen2:0.5b"})
    output.wait_for(lambda m: m.get("topic") == "ollama" and m["data"]["model"] == "qwen2:0.5b")
    service.close()


def test_problems_and_ollama_status_requests(served: tuple[Service, Output]) -> None:
    service, output = served
    send(service, 2, "problems", folder="/notes")
    assert output.final(2)["result"]["problems"][0]["error_kind"] == "no_text"
    send(service, 3, "ollama.status", model="llama3")
    status = output.final(3)["result"]
    assert (status["state"], status["model"]) == ("model_missing", "llama3")


def test_end_of_input_shuts_the_service_down(fake: FakeEngine) -> None:
    output = Output()
    service = Service(fake, output, data_dir="/d", background=False)
    handshake = {"id": 1, "method": "handshake", "params": {"protocol": PROTOCOL_VERSION}}
    stdin = io.BytesIO(json.dumps(handshake).encode() + b"\n")
    assert service.serve(stdin) == 0
    assert fake.closed


# ----------------------------------------------------------------------------------------------
# As a process


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ServedProcess:
    """An engine process driven line by line; a reader thread keeps every line it writes, so
    waiting never depends on pipe buffering, and notifications are kept for inspection."""

    def __init__(
        self,
        args: list[str],
        stderr_path: Path,
        env: dict[str, str] | None = None,
        *,
        ignore_sigint: bool = False,
    ) -> None:
        """`ignore_sigint`: start it with SIGINT ignored, as a background job inherits it."""
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            preexec_fn=_ignore_sigint if ignore_sigint else None,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []  # every line read so far, in order
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no answer in time; {self.diagnose()}") from None
        self.seen.append(message)
        if message.get("type") == "notify":
            self.notifications.append(message)
        return message

    def send(self, method: str, **params: Any) -> int:
        """Send a request without waiting; returns its id."""
        assert self.process.stdin is not None
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params}
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        self.process.stdin.flush()
        return self._next_id

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """The first line (already seen or still to come) that matches."""
        deadline = time.monotonic() + timeout
        for message in self.seen:
            if predicate(message):
                return message
        while True:
            message = self._next(deadline)
            if predicate(message):
                return message

    def reply(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Send a request; return its final reply (result or error)."""
        request_id = self.send(method, **params)
        return self.wait_for(
            lambda m: m.get("id") == request_id and m["type"] in ("result", "error"), timeout
        )

    def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Send a request; return its result, failing the test on an error."""
        reply = self.reply(method, timeout, **params)
        assert reply["type"] == "result", f"{method} failed: {reply['error']}"
        return dict(reply["result"])

    def wait_notification(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while not any(predicate(n) for n in self.notifications):
            self._next(deadline)

    def diagnose(self) -> str:
        """The last lines read and the engine's thread stacks, for a failing test's message."""
        if self.process.poll() is None and hasattr(signal, "SIGUSR1"):
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
        self._stderr.flush()
        stderr = Path(self._stderr.name).read_text("utf-8", "replace")
        return f"last lines: {self.seen[-3:]}\nengine stderr:\n{stderr[-6000:]}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self._stderr.close()


def test_stray_prints_do_not_reach_the_protocol_stream(tmp_path: Path) -> None:
    served = ServedProcess(["-m", "tests.helpers.service"], tmp_path / "stderr")
    try:
        assert served.call("handshake", protocol=PROTOCOL_VERSION)["protocol"] == PROTOCOL_VERSION
        served.call("shutdown")
        assert served.process.wait(timeout=10) == 0
        assert b"a library printing to stdout" in (tmp_path / "stderr").read_bytes()
    finally:
        served.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX signals")
@pytest.mark.parametrize(
    ("stop_signal", "sigint_ignored"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
)
def test_a_signal_closes_the_engine_cleanly(
    tmp_path: Path, stop_signal: signal.Signals, sigint_ignored: bool
) -> None:
    """The last case: SIGINT inherited as ignored (nohup, a background job; issue 9, item 12)."""
    served = ServedProcess(
        ["-m", "tests.helpers.service"], tmp_path / "stderr", ignore_sigint=sigint_ignored
    )
    try:
        served.call("handshake", protocol=PROTOCOL_VERSION)
        served.send("ask", question="forever")
        served.wait_for(lambda m: m.get("type") == "event")
        served.process.send_signal(stop_signal)
        assert served.process.wait(timeout=10) == 0
        assert b"fake engine closed" in (tmp_path / "stderr").read_bytes()
    finally:
        served.stop()


def test_a_locked_engine_refuses_the_handshake_and_exits(tmp_path: Path) -> None:
    served = ServedProcess(["-m", "tests.helpers.service", "--fail-open"], tmp_path / "stderr")
    try:
        reply = served.reply("handshake", protocol=PROTOCOL_VERSION)
        assert reply["error"]["kind"] == "writer_locked"
        assert served.process.wait(timeout=10) != 0
    finally:
        served.stop()


# ----------------------------------------------------------------------------------------------
# The real engine


@pytest.mark.slow
def test_the_real_engine_adds_indexes_searches_and_follows_edits(tmp_path: Path) -> None:
    from tests.helpers.pdf_factory import write_pdf

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nThe tomatoes need staking in June.\n", "utf-8")
    (notes / "中文.md").write_text("# 笔记\n\n今天学习了全文检索。\n", "utf-8")
    write_pdf(notes / "manual.pdf", ["Intro page.", "The pressure valve is on page two."])
    home = tmp_path / "home"
    engine = ServedProcess(
        ["-m", "engine", "--data-dir", str(home), "serve"],
        tmp_path / "stderr",
        env={"OLLAMA_HOST": "http://127.0.0.1:9"},  # nothing listens there: a fast "not running"
    )
    try:
        hello = engine.call("handshake", protocol=PROTOCOL_VERSION, client="test")
        assert hello["data_dir"] == str((home / "data").resolve())
        assert engine.call("folders.add", path=str(notes))["path"] == str(notes.resolve())
        summary = engine.call("index.run")
        # The running watcher may have indexed the new folder first; either way all 3 are in.
        assert summary["added"] + summary["unchanged"] == 3 and summary["errors"] == 0
        (folder,) = engine.call("folders.list")["folders"]
        assert (folder["indexed"], folder["state"], folder["watch_mode"]) == (
            3,
            "up_to_date",
            "events",
        )

        hits = engine.call("search", query="pressure valve")["hits"]
        assert hits[0]["path"].endswith("manual.pdf") and hits[0]["page"] == 2
        assert engine.call("search", query="检索")["hits"][0]["path"].endswith("中文.md")
        only_md = engine.call("search", query="page", filters={"extensions": ["md"]})
        assert only_md["count"] == 0

        (notes / "garden.md").write_text("# Garden\n\nThe courgettes are enormous.\n", "utf-8")
        engine.wait_notification(
            lambda n: n.get("topic") == "index_changed" and n["data"]["source"] == "watcher",
            timeout=20,
        )
        assert engine.call("search", query="courgettes")["count"] == 1
        assert engine.call("status")["total_files"] == 3
        engine.wait_notification(lambda n: n.get("topic") == "ollama", timeout=10)
        engine.call("shutdown")
        assert engine.process.wait(timeout=20) == 0
    finally:
        engine.stop()


@pytest.mark.slow
def test_the_real_engine_answers_with_events_and_stops_when_cancelled(tmp_path: Path) -> None:
    from tests.helpers.fake_ollama import FakeOllama, Reply, RuleResponder, default_responder

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "valve.md").write_text("# Boiler\n\nThe pressure valve is behind the boiler.\n")

    def answer(request: dict[str, Any]) -> Reply | str:
        if request.get("format"):
            return default_responder(request)
        return Reply("It is behind the boiler [1]. " + "More detail. " * 150)

    with FakeOllama(RuleResponder([], fallback=answer)) as ollama:
        engine = ServedProcess(
            ["-m", "engine", "--data-dir", str(tmp_path / "home"), "serve"],
            tmp_path / "stderr",
            env={"OLLAMA_HOST": ollama.url},
        )
        try:
            engine.call("handshake", protocol=PROTOCOL_VERSION)
            engine.call("folders.add", path=str(notes))
            engine.call("index.run")
            engine.wait_notification(
                lambda n: n.get("topic") == "ollama" and n["data"]["state"] == "ready", timeout=10
            )

            answer_result = engine.call("ask", question="Where is the pressure valve?", level="1")
            assert answer_result["type"] == "answer"
            assert answer_result["text"].startswith("It is behind the boiler")
            assert answer_result["citations"][0]["path"].endswith("valve.md")
            events = [m["event"]["type"] for m in engine.seen if m.get("type") == "event"]
            assert {"level", "hits", "llm_call", "answer_delta"} <= set(events)

            ollama.token_delay = 0.02  # the same answer now streams for several seconds
            started = time.monotonic()
            ask_id = engine.send("ask", question="Where is the pressure valve?", level="1")
            engine.wait_for(
                lambda m: m.get("id") == ask_id and m.get("event", {}).get("type") == "answer_delta"
            )
            engine.send("cancel", request=ask_id)
            final = engine.wait_for(lambda m: m.get("id") == ask_id and m["type"] == "error")
            assert final["error"]["kind"] == "cancelled"
            assert time.monotonic() - started < 3, "the stream must stop, not run to its end"
            deadline = time.monotonic() + 5
            while ollama.disconnects == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ollama.disconnects >= 1, "the model call itself was abandoned"
            engine.call("shutdown")
            assert engine.process.wait(timeout=20) == 0
        finally:
            engine.stop()


def test_retry_reads_the_files_again_and_says_the_index_changed(
    served: tuple[Service, Output], fake: FakeEngine
) -> None:
    service, output = served
    send(service, 2, "index.retry", paths=["/notes/a.pdf"])
    assert output.final(2)["result"]["updated"] == 1
    assert fake.retried == ["/notes/a.pdf"]
    notice = output.wait_for(lambda m: m.get("topic") == "index_changed")
    assert notice["data"]["source"] == "index.retry"
    send(service, 3, "index.retry", paths=[])
    assert output.final(3)["error"]["kind"] == "bad_request"


def test_threads_over_the_protocol(served: tuple[Service, Output]) -> None:
    """ask stores a thread; a follow-up names it; the history lists, shows, renames, exports
    and deletes it; a wrong id or format is a clear error."""
    service, output = served
    send(service, 2, "ask", question="Where did Marta go?")
    first = output.final(2)["result"]
    assert first["thread_id"] and first["turn"] == 1
    send(service, 3, "ask", question="and in 2021?", thread_id=first["thread_id"])
    assert output.final(3)["result"]["turn"] == 2
    follow_up = next(m["event"] for m in output.of(3) if m.get("type") == "event")
    assert follow_up["type"] == "follow_up" and follow_up["original"] == "and in 2021?"
    send(service, 4, "threads.list", search="2021")
    (listed,) = output.final(4)["result"]["threads"]
    assert (listed["thread_id"], listed["turns"]) == (first["thread_id"], 2)
    send(service, 5, "threads.rename", thread_id=first["thread_id"], title="Marta")
    assert output.final(5)["result"]["title"] == "Marta"
    send(service, 6, "threads.get", thread_id=first["thread_id"])
    turns = output.final(6)["result"]["turns"]
    assert [t["question"] for t in turns] == ["Where did Marta go?", "and in 2021?"]
    send(service, 7, "threads.export", thread_id=first["thread_id"], format="md", turns=[2])
    assert output.final(7)["result"]["text"].startswith("### and in 2021?")
    send(service, 8, "threads.export", thread_id=first["thread_id"], format="docx")
    assert output.final(8)["error"]["kind"] == "bad_export_format"
    send(service, 9, "threads.export", thread_id=first["thread_id"], turns=["x"])
    assert output.final(9)["error"]["kind"] == "bad_request"
    send(service, 10, "threads.delete", thread_id=first["thread_id"])
    assert output.final(10)["result"] == {"deleted": first["thread_id"]}
    send(service, 11, "threads.get", thread_id=first["thread_id"])
    assert output.final(11)["error"]["kind"] == "thread_unknown"
    send(service, 12, "ask", question="more?", thread_id="nope")
    assert output.final(12)["error"]["kind"] == "thread_unknown"
