"""EngineClient: the desktop's one connection to the engine process (`needle serve`).

The engine runs as a child process (QProcess) speaking JSON lines on stdio (docs/protocol.md).
Everything here runs on the UI thread's event loop and never waits: output is read when Qt
says bytes arrived, and every callback and signal is delivered on the UI thread.

Using it::

    client = EngineClient(default_engine_command(data_dir))
    client.ready.connect(on_ready)                    # handshake done (again after a restart)
    client.notification.connect(on_notify)            # (topic, data): "index", "index_changed",
                                                      # "ollama", "error"
    client.engine_lost.connect(show_banner)           # (reason) it died or hung; restarting
    client.engine_restarted.connect(hide_banner)      # (attempt) it is back and ready
    client.engine_failed.connect(show_fatal)          # (reason) gave up: no more restarts
    client.start()

    handle = client.request(
        "search", {"query": "tantivy", "limit": 20},
        on_result=lambda result: ...,              # dict, see docs/protocol.md per method
        on_error=lambda error: show_error(error),  # engine.errors.NeedleError: kind/message/hint
    )
    handle.cancel()   # e.g. the user typed again: the old search is dead at once, nothing of it
                      # reaches the callbacks any more (not even an error); the engine is told.

    client.request("ask", {"question": "…", "level": "auto"},
                   on_event=lambda event: ...,  # dict: Event.to_dict(); event_from_dict reads it
                   on_progress=lambda p: ..., on_result=..., on_error=...)

    client.shutdown()            # on quit: ask, then terminate, then kill; emits `stopped`;
                                 # requests still running end silently, as if cancelled
    client.shutdown_blocking(5)  # or, at the very end of the app, the synchronous variant

Requests made before the engine is ready (or while it restarts) are queued and sent once it is.
Every request ends with exactly one of on_result / on_error unless it was cancelled. Requests that
were running when the engine died end with error kind `engine_restarted`; after the client gave
up, requests end with `engine_unavailable`. Neither repeats work automatically: the UI decides.

Supervision: a `ping` every 5 s; no reply within 15 s (60 s for the handshake, since opening a
library can be slow) means the engine hung, and it is killed and restarted like a crashed one.
At most 5 restarts within 60 s, then `engine_failed`; a minute of running well wipes the slate.
A refused handshake (protocol version mismatch, another Needle holds the index) is not retried:
it emits `engine_failed` with the engine's message. Calling `start()` again after
`engine_failed` tries afresh (a "Retry" button).

The pieces: `desktop/engine_process.py` (the child process, line framing, how it ended),
`desktop/restart_policy.py` (when to restart, when the engine hung; plain Python) and this module
(handshake, queue, requests).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.engine_process import EngineExit, EngineProcess
from desktop.restart_policy import Heartbeat, RestartPolicy
from engine.errors import ErrorKind, NeedleError
from engine.service.protocol import (
    PROTOCOL_VERSION,
    BadMessage,
    ErrorReply,
    EventReply,
    Method,
    Notification,
    ProgressReply,
    Reply,
    Request,
    ResultReply,
    decode_reply,
    encode,
    handshake_params,
)

log = logging.getLogger("needle.engine_client")

CLIENT_NAME = "needle-desktop"

EventCallback = Callable[[dict[str, Any]], None]
ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[NeedleError], None]


def default_engine_command(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """How to start the engine: the bundled `needle` beside the frozen app, else this Python."""
    data_args = ["--data-dir", os.fspath(data_dir)] if data_dir is not None else []
    if getattr(sys, "frozen", False):
        name = "needle.exe" if sys.platform == "win32" else "needle"
        return [str(Path(sys.executable).resolve().parent / name), *data_args, "serve"]
    return [sys.executable, "-m", "engine", *data_args, "serve"]


class ClientState(StrEnum):
    IDLE = "idle"  # not started yet
    STARTING = "starting"  # process launched, handshake not answered yet
    READY = "ready"
    RESTARTING = "restarting"  # the engine died or hung; a new one is on its way
    SHUTTING_DOWN = "shutting_down"
    STOPPED = "stopped"
    FAILED = "failed"  # gave up; requests fail with engine_unavailable


class RequestHandle:
    """One request. `cancel()` makes it dead at once: later events, progress and its final
    reply are dropped here, and the engine is asked to stop the work."""

    def __init__(self, client: EngineClient, request_id: int, method: str) -> None:
        self._client = client
        self.id = request_id
        self.method = method
        self.cancelled = False
        self.finished = False

    @property
    def alive(self) -> bool:
        return not (self.cancelled or self.finished)

    def cancel(self) -> None:
        if self.alive:
            self.cancelled = True
            self._client._cancel_request(self)

    def stop_reading(self) -> None:
        """An `ask` stops reading and answers from what it found so far; its events and final
        answer still arrive."""
        if self.alive:
            self._client._stop_reading(self)

    def __repr__(self) -> str:
        state = "alive" if self.alive else ("cancelled" if self.cancelled else "finished")
        return f"<RequestHandle {self.id} {self.method} {state}>"


@dataclass
class _Pending:
    handle: RequestHandle
    request: Request
    on_event: EventCallback | None = None
    on_progress: EventCallback | None = None
    on_result: ResultCallback | None = None
    on_error: ErrorCallback | None = None


class EngineClient(QObject):
    ready = Signal()
    notification = Signal(str, dict)
    engine_lost = Signal(str)
    engine_restarted = Signal(int)
    engine_failed = Signal(str)
    protocol_error = Signal(str)
    stopped = Signal()

    def __init__(
        self,
        command: Sequence[str],
        parent: QObject | None = None,
        *,
        client_name: str = CLIENT_NAME,
        protocol_version: int = PROTOCOL_VERSION,
        environment: Mapping[str, str] | None = None,
        working_directory: str | os.PathLike[str] | None = None,
        heartbeat_interval_ms: int = 5000,
        heartbeat_timeout_ms: int = 15000,
        handshake_timeout_ms: int = 60000,
        max_restarts: int = 5,
        restart_window_s: float = 60.0,
        restart_delay_ms: int = 300,
    ) -> None:
        super().__init__(parent)
        if not command:
            raise ValueError("the engine command is empty")
        self._command = list(command)
        self._client_name = client_name
        self._protocol_version = protocol_version
        self._environment = dict(environment or {})
        self._working_directory = os.fspath(working_directory) if working_directory else None
        # Opening a library (crash repair, a cold disk, an antivirus scanning the bundle) may
        # take far longer than answering a ping, so the first reply gets its own, longer limit.
        self._liveness = Heartbeat(heartbeat_timeout_ms / 1000, handshake_timeout_ms / 1000)
        self._restarts = RestartPolicy(max_restarts, restart_window_s)
        self._restart_delay_ms = restart_delay_ms

        self._ids = itertools.count(1)  # never reused, so replies of a dead engine match nothing
        self._state = ClientState.IDLE
        self._process: EngineProcess | None = None
        self._stderr_tail: list[str] = []  # of the last engine that ended
        self._inflight: dict[int, _Pending] = {}  # sent to the current process
        self._queue: list[_Pending] = []  # waiting for the engine to be ready
        self._internal: dict[int, Callable[[Reply], None]] = {}  # handshake, ping, cancel replies
        self._engine_info: dict[str, Any] = {}

        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(heartbeat_interval_ms)
        self._heartbeat.timeout.connect(self._on_heartbeat)

    def __del__(self) -> None:
        # A client dropped with its engine still running: the QProcess destructor would kill the
        # child and emit signals into this half-destroyed object. Silence and stop it first.
        process = self._process
        if process is not None:
            self._process = None
            process.silence_and_kill()

    # -- public API ------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def is_ready(self) -> bool:
        return self._state == ClientState.READY

    @property
    def engine_info(self) -> dict[str, Any]:
        """The handshake result: protocol, engine_version, data_dir, pid."""
        return dict(self._engine_info)

    @property
    def engine_pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    @property
    def stderr_tail(self) -> list[str]:
        """The engine's last lines of log output, for error reports."""
        process = self._process
        return process.stderr_tail if process is not None else list(self._stderr_tail)

    def start(self) -> None:
        """Launch the engine (non-blocking); `ready` follows once the handshake succeeds."""
        if self._state not in (ClientState.IDLE, ClientState.STOPPED, ClientState.FAILED):
            return
        self._restarts.reset()
        self._launch(ClientState.STARTING)

    def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: EventCallback | None = None,
        on_progress: EventCallback | None = None,
        on_result: ResultCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> RequestHandle:
        """Send a request, or queue it until the engine is ready. Callbacks run on the UI thread."""
        request = Request(next(self._ids), method, dict(params or {}))
        handle = RequestHandle(self, request.id, method)
        pending = _Pending(handle, request, on_event, on_progress, on_result, on_error)
        if self._state in (ClientState.FAILED, ClientState.STOPPED, ClientState.SHUTTING_DOWN):
            # Deliver later, so the caller holds the handle before any callback runs.
            error = self._unavailable_error()
            self._after(0, lambda client: client._finish_with_error(pending, error))
        elif self._state == ClientState.READY:
            self._send_pending(pending)
        else:
            self._queue.append(pending)
        return handle

    def shutdown(self, grace_ms: int = 3000) -> None:
        """Ask the engine to stop; terminate it after `grace_ms`, kill it 2 s later. Emits
        `stopped` when the process is gone. Never blocks."""
        process = self._process
        self._heartbeat.stop()
        if process is None or not process.running:
            self._become_stopped()
            return
        if self._state == ClientState.SHUTTING_DOWN:
            return
        self._state = ClientState.SHUTTING_DOWN
        self._cancel_all()
        self._write(process, Request(next(self._ids), Method.SHUTDOWN, {}))
        self._after(grace_ms, lambda client: client._escalate(process, kill=False))
        self._after(grace_ms + 2000, lambda client: client._escalate(process, kill=True))

    def shutdown_blocking(self, timeout: float = 5.0) -> None:
        """Synchronous shutdown for application exit: waits up to `timeout` s, then terminates,
        then kills. Blocks the calling thread; use only when the UI is going away anyway."""
        process = self._process
        self._heartbeat.stop()
        if process is None or not process.running:
            self._become_stopped()
            return
        self._state = ClientState.SHUTTING_DOWN
        self._cancel_all()
        self._write(process, Request(next(self._ids), Method.SHUTDOWN, {}))
        if not process.wait_finished(int(timeout * 1000)):
            process.terminate()
            if not process.wait_finished(1500):
                process.kill()
                process.wait_finished(1500)
        self._become_stopped()

    # -- process lifecycle -----------------------------------------------------------------

    def _launch(self, state: ClientState) -> None:
        self._state = state
        self._liveness.reset()
        process = EngineProcess(self)
        # Bound slots: sender() tells which process spoke, so a late signal of a replaced engine
        # is recognised and dropped.
        process.started.connect(self._on_started)
        process.line_received.connect(self._on_line)
        process.exited.connect(self._on_exited)
        self._process = process
        process.start(self._command, self._environment, self._working_directory)

    def _current_sender(self) -> EngineProcess | None:
        """The process that sent the signal being handled, if it is still the current one."""
        process = self.sender()
        return process if isinstance(process, EngineProcess) and process is self._process else None

    def _on_started(self) -> None:
        process = self._current_sender()
        if process is None:
            return
        request = Request(next(self._ids), Method.HANDSHAKE, handshake_params(self._client_name))
        if self._protocol_version != PROTOCOL_VERSION:
            request.params["protocol"] = self._protocol_version
        self._internal[request.id] = self._on_handshake_reply
        self._liveness.handshake_sent()
        self._write(process, request)
        self._heartbeat.start()

    def _on_handshake_reply(self, reply: Reply) -> None:
        self._liveness.handshake_answered()
        if isinstance(reply, ErrorReply):
            error = reply.error
            reason = error.message + (f" {error.hint}" if error.hint else "")
            log.error("the engine refused the handshake: %s", reason)
            self._give_up(reason)
            process = self._process
            if process is not None:  # it exits by itself; make sure it does
                self._after(3000, lambda client: client._escalate(process, kill=True))
            return
        if not isinstance(reply, ResultReply):
            return
        self._engine_info = dict(reply.result) if isinstance(reply.result, dict) else {}
        restarted = self._state == ClientState.RESTARTING
        self._state = ClientState.READY
        self._restarts.engine_ready()
        queued, self._queue = self._queue, []
        for pending in queued:
            if pending.handle.alive:
                self._send_pending(pending)
        self.ready.emit()
        if restarted:
            self.engine_restarted.emit(self._restarts.attempts)

    def _on_exited(self, ending: EngineExit) -> None:
        process = self._current_sender()
        if process is not None:
            self._engine_gone(process, ending.describe())

    def _engine_gone(self, process: EngineProcess, reason: str) -> None:
        self._process = None
        self._stderr_tail = process.stderr_tail
        self._heartbeat.stop()
        process.deleteLater()
        if self._state in (ClientState.SHUTTING_DOWN, ClientState.STOPPED):
            self._become_stopped()
            return
        if self._state == ClientState.FAILED:
            return  # the handshake was refused; the engine ended as it said it would
        log.warning("engine lost: %s", reason)
        self.engine_lost.emit(reason)
        self._fail_inflight(
            NeedleError(
                ErrorKind.ENGINE_RESTARTED,
                "The engine stopped while working on this and is being restarted.",
                "Try again in a moment.",
            )
        )
        if not self._restarts.allow_restart():
            self._give_up(
                f"{reason} The engine stopped {self._restarts.max_restarts} times within "
                f"{self._restarts.window_s:.0f} seconds, so Needle stopped restarting it."
            )
            return
        self._state = ClientState.RESTARTING
        self._after(self._restart_delay_ms, lambda client: client._relaunch())

    def _after(self, delay_ms: int, action: Callable[[EngineClient], None]) -> None:
        """Run `action(self)` later on the event loop, unless this client is gone by then. The
        timer holds only a weak reference: a pending timer must neither keep a dropped client
        alive nor be what finally destroys it from inside another object's teardown."""
        weak_self = weakref.ref(self)

        def fire() -> None:
            client = weak_self()
            if client is not None:
                action(client)

        QTimer.singleShot(delay_ms, self, fire)

    def _relaunch(self) -> None:
        if self._state == ClientState.RESTARTING:
            self._launch(ClientState.RESTARTING)

    def _give_up(self, reason: str) -> None:
        self._state = ClientState.FAILED
        self._heartbeat.stop()
        self._fail_all(self._unavailable_error(reason))
        self.engine_failed.emit(reason)

    def _become_stopped(self) -> None:
        already = self._state == ClientState.STOPPED
        self._state = ClientState.STOPPED
        self._fail_all(self._unavailable_error())
        if not already:
            self.stopped.emit()

    def _escalate(self, process: EngineProcess, *, kill: bool) -> None:
        if process is not self._process or not process.running:
            return
        log.warning("the engine did not stop in time: %s", "killing" if kill else "terminating")
        if kill:
            process.kill()
        else:
            process.terminate()

    # -- heartbeat -------------------------------------------------------------------------

    def _on_heartbeat(self) -> None:
        process = self._process
        if process is None:
            return
        overdue = self._liveness.overdue()
        if overdue is not None:
            reason = f"The engine stopped responding (no reply for {overdue:.0f} s)."
            log.warning("%s Killing it.", reason)
            process.kill(because=reason)
            return
        if self._state == ClientState.READY and self._liveness.ping_due:
            request = Request(next(self._ids), Method.PING, {})
            self._internal[request.id] = self._on_pong
            self._liveness.ping_sent()
            self._write(process, request)

    def _on_pong(self, reply: Reply) -> None:
        self._liveness.pong()

    # -- writing ---------------------------------------------------------------------------

    def _write(self, process: EngineProcess, request: Request) -> None:
        process.write(encode(request))

    def _send_pending(self, pending: _Pending) -> None:
        process = self._process
        if process is None:
            self._queue.append(pending)
            return
        self._inflight[pending.request.id] = pending
        self._write(process, pending.request)

    def _cancel_request(self, handle: RequestHandle) -> None:
        self._queue = [p for p in self._queue if p.handle is not handle]
        pending = self._inflight.pop(handle.id, None)
        process = self._process
        if pending is not None and process is not None and self._state == ClientState.READY:
            cancel = Request(next(self._ids), Method.CANCEL, {"request": handle.id})
            self._internal[cancel.id] = lambda reply: None
            self._write(process, cancel)

    def _stop_reading(self, handle: RequestHandle) -> None:
        process = self._process
        if handle.id in self._inflight and process is not None and self._state == ClientState.READY:
            stop = Request(next(self._ids), Method.ASK_STOP_READING, {"request": handle.id})
            self._internal[stop.id] = lambda reply: None
            self._write(process, stop)

    # -- reading ---------------------------------------------------------------------------

    def _on_line(self, line: bytes) -> None:
        if self._current_sender() is not None:
            self._handle_line(line)

    def _handle_line(self, line: bytes) -> None:
        try:
            reply = decode_reply(line)
        except BadMessage as exc:
            shown = line[:200].decode("utf-8", "replace")
            message = (
                f"The engine wrote a line that is not a protocol reply: {exc.message} ({shown!r})"
            )
            log.error("%s", message)
            self.protocol_error.emit(message)
            return
        if isinstance(reply, Notification):
            self.notification.emit(reply.topic, reply.data)
            return
        if reply.id is None:
            assert isinstance(reply, ErrorReply)
            message = f"The engine could not read a request: {reply.error.message}"
            log.error("%s", message)
            self.protocol_error.emit(message)
            return
        internal = self._internal.get(reply.id)
        if internal is not None:
            if isinstance(reply, ResultReply | ErrorReply):
                del self._internal[reply.id]
            _safely(internal, reply)
            return
        pending = self._inflight.get(reply.id)
        if pending is None or not pending.handle.alive:
            return  # stale: cancelled, or from an engine that has since been replaced
        self._deliver(pending, reply)

    def _deliver(self, pending: _Pending, reply: Reply) -> None:
        if isinstance(reply, EventReply):
            if pending.on_event is not None:
                _safely(pending.on_event, reply.event)
        elif isinstance(reply, ProgressReply):
            if pending.on_progress is not None:
                _safely(pending.on_progress, reply.progress)
        elif isinstance(reply, ResultReply):
            self._inflight.pop(pending.request.id, None)
            pending.handle.finished = True
            if pending.on_result is not None:
                _safely(pending.on_result, reply.result)
        elif isinstance(reply, ErrorReply):
            self._finish_with_error(pending, reply.error.to_error())

    # -- failing requests ------------------------------------------------------------------

    def _finish_with_error(self, pending: _Pending, error: NeedleError) -> None:
        self._inflight.pop(pending.request.id, None)
        if not pending.handle.alive:
            return
        pending.handle.finished = True
        if pending.on_error is not None:
            _safely(pending.on_error, error)

    def _fail_inflight(self, error: NeedleError) -> None:
        failed, self._inflight = list(self._inflight.values()), {}
        self._internal.clear()
        for pending in failed:
            self._finish_with_error(pending, error)

    def _cancel_all(self) -> None:
        """The app is shutting the engine down: what is still running was abandoned by the app
        itself, like a cancel, so it ends silently instead of with an error dialog at quit."""
        for pending in [*self._queue, *self._inflight.values()]:
            pending.handle.cancelled = True
        self._queue, self._inflight = [], {}
        self._internal.clear()

    def _fail_all(self, error: NeedleError) -> None:
        queued, self._queue = self._queue, []
        self._fail_inflight(error)
        for pending in queued:
            self._finish_with_error(pending, error)

    def _unavailable_error(self, reason: str = "") -> NeedleError:
        return NeedleError(
            ErrorKind.ENGINE_UNAVAILABLE,
            reason or "The engine is not running.",
            "Restart Needle. If this keeps happening, the engine log in the logs folder says why.",
        )


def _safely(callback: Callable[[Any], None], value: Any) -> None:
    """A failing UI callback must not break the client's reading loop."""
    try:
        callback(value)
    except Exception:
        log.exception("an engine-client callback failed")
