"""`needle serve`: the engine as a child process speaking the JSON-lines protocol on stdio.

The reading thread decodes one request per line and answers control methods (handshake, ping,
cancel, shutdown) at once; every other request runs on its own worker thread with its own
CancelToken, so a search is never queued behind an ask and a cancel is read while work runs.
Replies are written by one locked writer, one line each. Progress is latest-value-wins and
throttled per request; after a request is cancelled nothing but its final `cancelled` error is sent.

Protocol details and examples: docs/protocol.md. The codec is engine/protocol.py.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import logging.handlers
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from engine import __version__
from engine.agent.events import Answer, Event
from engine.cancel import CancelToken
from engine.config import LEVELS, Settings
from engine.errors import NeedleError
from engine.models import IndexProgress, IndexSummary, SearchFilters, SearchHit
from engine.protocol import (
    CONTROL_METHODS,
    METHODS,
    PROTOCOL_VERSION,
    BadMessage,
    ErrorInfo,
    ErrorKind,
    ErrorReply,
    EventReply,
    Method,
    Notification,
    ProgressReply,
    Reply,
    Request,
    ResultReply,
    Topic,
    decode_request,
    encode,
    to_jsonable,
)

log = logging.getLogger("needle.service")

PROGRESS_INTERVAL = 0.1  # seconds: at most 10 progress lines per second per request
OLLAMA_POLL_SECONDS = 30.0
SHUTDOWN_GRACE = 5.0  # seconds workers get to notice cancellation before the engine closes
SEARCH_LIMIT_MAX = 500
EXIT_OK = 0
EXIT_REFUSED = 3  # handshake refused: protocol mismatch or the engine could not open


class ServedEngine(Protocol):
    """What the service needs from engine.api.Engine (a fake implements it in tests)."""

    @property
    def settings(self) -> Settings: ...

    def update_settings(self, changes: dict[str, Any]) -> Any: ...

    def add_folder(self, path: str) -> Any: ...

    def remove_folder(self, path: str) -> Any: ...

    def folders(self) -> Sequence[Any]: ...

    def index(
        self,
        *,
        progress: Callable[[IndexProgress], None] | None = ...,
        cancel: CancelToken = ...,
    ) -> IndexSummary: ...

    def start_watching(self, on_change: Callable[[IndexSummary], None]) -> Any: ...

    def stop_watching(self) -> Any: ...

    def search(
        self, query: str, *, limit: int = ..., filters: SearchFilters | None = ...
    ) -> list[SearchHit]: ...

    def status(self) -> Any: ...

    def problems(self, folder: str | None = ...) -> Sequence[Any]: ...

    def doctor(self) -> Sequence[Any]: ...

    def ollama_status(self, host: str | None = ..., model: str | None = ...) -> Any: ...

    def pull_model(
        self,
        model: str | None = ...,
        *,
        progress: Callable[[str, int, int], None] | None = ...,
        cancel: CancelToken = ...,
    ) -> Any: ...

    def ask(
        self,
        question: str,
        *,
        level: str = ...,
        scope: SearchFilters | None = ...,
        on_event: Callable[[Event], None] | None = ...,
        cancel: CancelToken = ...,
        model: str | None = ...,
        host: str | None = ...,
    ) -> Answer: ...

    def close(self) -> None: ...


# ----------------------------------------------------------------------------------------------
# Output and progress


class BinaryOutput(Protocol):
    """Where protocol lines go: the real stdout in `needle serve`, a buffer in tests."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...


class LineWriter:
    """The one place protocol lines are written. Thread-safe; a broken pipe (the client is gone)
    turns further writes into no-ops instead of exceptions in worker threads."""

    def __init__(self, stream: BinaryOutput) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    def send(self, message: Reply) -> None:
        try:
            line = encode(message)
        except Exception as exc:  # a result that cannot be sent is a bug, reported as one
            log.exception("cannot encode a reply")
            request_id = getattr(message, "id", None)
            line = encode(ErrorReply(request_id, _internal_error("encode the reply", exc)))
        with self._lock:
            if self.broken:
                return
            try:
                self._stream.write(line)
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.broken = True
                log.warning("the client closed the protocol pipe")


class ProgressThrottle:
    """Latest-value-wins: at most one value per `interval`; a value that arrives too early waits
    (replacing any older waiting value) and is sent when the interval has passed, so the last
    state is always shown even when the work goes quiet."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Any] | None = None
        self._last_sent = -math.inf
        self._timer: threading.Timer | None = None
        self._closed = False

    def push(self, progress: dict[str, Any]) -> None:
        # Sending under the lock keeps the order of values; the writer never takes this lock.
        with self._lock:
            if self._closed:
                return
            wait = self._last_sent + self._interval - self._clock()
            if wait <= 0 and self._timer is None:
                self._emit(progress)
                return
            self._pending = progress
            if self._timer is None:
                self._timer = threading.Timer(max(wait, 0.0), self._flush_due)
                self._timer.daemon = True
                self._timer.start()

    def close(self, *, flush: bool) -> None:
        """No more values; with `flush`, the waiting value (if any) is sent first."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if flush and self._pending is not None and not self._closed:
                self._emit(self._pending)
            self._pending = None
            self._closed = True

    def _flush_due(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending is not None and not self._closed:
                self._emit(self._pending)
                self._pending = None

    def _emit(self, progress: dict[str, Any]) -> None:
        self._last_sent = self._clock()
        try:
            self._send(progress)
        except Exception:  # a progress line must never break the work it reports on
            log.exception("sending progress failed")


# ----------------------------------------------------------------------------------------------
# Requests and handlers


@dataclass
class RequestContext:
    """What a handler may use besides the engine and the params."""

    request_id: int
    cancel: CancelToken
    send_event: Callable[[Event | dict[str, Any]], None]
    send_progress: Callable[[dict[str, Any]], None]
    # Run after a successful result was sent (notifications that follow from it).
    after_success: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[ServedEngine, dict[str, Any], RequestContext], Any]


def _bad_params(method: str, problem: str) -> NeedleError:
    return NeedleError(
        ErrorKind.BAD_REQUEST,
        f"Bad parameters for '{method}': {problem}",
        "See docs/protocol.md for the parameters of each method.",
    )


def _internal_error(doing: str, exc: BaseException) -> ErrorInfo:
    return ErrorInfo(
        ErrorKind.INTERNAL,
        f"The engine failed to {doing}: {type(exc).__name__}: {exc}",
        "This is a bug in Needle; the engine log has the details.",
    )


def _text_param(method: str, params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad_params(method, f"'{key}' must be a non-empty string.")
    return value


def _optional_text(method: str, params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad_params(method, f"'{key}' must be a string.")
    return value


def _limit_param(method: str, params: dict[str, Any], default: int) -> int:
    value = params.get("limit", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SEARCH_LIMIT_MAX:
        raise _bad_params(method, f"'limit' must be a whole number from 1 to {SEARCH_LIMIT_MAX}.")
    return value


def _string_tuple(method: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_params(method, f"'{key}' must be a list of strings.")
    return tuple(value)


def _optional_time(method: str, data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_params(method, f"'{key}' must be unix seconds (a number) or null.")
    return float(value)


def filters_from_params(method: str, data: Any) -> SearchFilters | None:
    """The protocol's filter object -> SearchFilters; None when nothing restricts the search."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _bad_params(method, "filters must be an object.")
    unknown = set(data) - {"folders", "paths", "extensions", "modified_after", "modified_before"}
    if unknown:
        raise _bad_params(method, f"unknown filter {sorted(unknown)[0]!r}.")
    filters = SearchFilters(
        folders=_string_tuple(method, data, "folders"),
        paths=_string_tuple(method, data, "paths"),
        extensions=tuple(e.lower().lstrip(".") for e in _string_tuple(method, data, "extensions")),
        modified_after=_optional_time(method, data, "modified_after"),
        modified_before=_optional_time(method, data, "modified_before"),
    )
    return None if filters == SearchFilters() else filters


def handle_settings_get(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.settings.to_dict()


def handle_settings_update(
    engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
) -> Any:
    changes = params.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise _bad_params(Method.SETTINGS_UPDATE, "'changes' must be a non-empty object.")
    engine.update_settings(changes)
    return engine.settings.to_dict()


def handle_folders_list(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return {"folders": engine.folders()}


def handle_search(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    query = _text_param(Method.SEARCH, params, "query")
    limit = _limit_param(Method.SEARCH, params, 20)
    filters = filters_from_params(Method.SEARCH, params.get("filters"))
    started = time.perf_counter()
    hits = engine.search(query, limit=limit, filters=filters)
    seconds = time.perf_counter() - started
    return {"query": query, "count": len(hits), "seconds": round(seconds, 4), "hits": hits}


def handle_index_run(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.index(progress=lambda p: ctx.send_progress(p.to_dict()), cancel=ctx.cancel)


def handle_status(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.status()


def handle_problems(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return {"problems": engine.problems(_optional_text(Method.PROBLEMS, params, "folder"))}


def handle_doctor(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    checks = list(engine.doctor())
    healthy = all(getattr(check, "status", "ok") != "fail" for check in checks)
    return {"ok": healthy, "checks": checks}


def handle_ollama_status(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    host = _optional_text(Method.OLLAMA_STATUS, params, "host")
    model = _optional_text(Method.OLLAMA_STATUS, params, "model")
    return ollama_state(engine, host, model)


def ollama_state(engine: ServedEngine, host: str | None = None, model: str | None = None) -> Any:
    """The probe's answer plus which host and model it is about, for the status bar."""
    settings = engine.settings
    state = to_jsonable(engine.ollama_status(host, model))
    if isinstance(state, dict):
        state.setdefault("host", host or settings.ollama_host)
        state.setdefault("model", model or settings.model)
    return state


def handle_ollama_pull(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    model = _optional_text(Method.OLLAMA_PULL, params, "model")

    def report(status: str, completed: int, total: int) -> None:
        ctx.send_progress({"status": status, "completed": completed, "total": total})

    engine.pull_model(model, progress=report, cancel=ctx.cancel)
    return {"model": model or engine.settings.model, "ready": True}


def handle_ask(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    question = _text_param(Method.ASK, params, "question")
    level = params.get("level") or engine.settings.default_level
    if level not in LEVELS:
        raise _bad_params(Method.ASK, f"'level' must be one of {', '.join(LEVELS)}.")
    scope = filters_from_params(Method.ASK, params.get("scope"))
    return engine.ask(
        question,
        level=str(level),
        scope=scope,
        on_event=ctx.send_event,
        cancel=ctx.cancel,
        model=_optional_text(Method.ASK, params, "model"),
        host=_optional_text(Method.ASK, params, "host"),
    )


# ----------------------------------------------------------------------------------------------
# The service


@dataclass
class _Running:
    token: CancelToken
    thread: threading.Thread


class Service:
    """Dispatches protocol requests to an engine. `engine` is None when it failed to open; the
    handshake then reports `startup_error` and the service ends."""

    def __init__(
        self,
        engine: ServedEngine | None,
        output: BinaryOutput,
        *,
        data_dir: str,
        startup_error: NeedleError | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
        ollama_poll_seconds: float | None = OLLAMA_POLL_SECONDS,
        background: bool = True,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self._engine = engine
        self._writer = LineWriter(output)
        self._data_dir = data_dir
        self._startup_error = startup_error
        self._progress_interval = progress_interval
        self._ollama_poll_seconds = ollama_poll_seconds
        self._background_enabled = background
        self._shutdown_grace = shutdown_grace
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self._background: list[threading.Thread] = []
        self._background_token = CancelToken()
        self._ollama_wakeup = threading.Event()  # set: probe Ollama now instead of at the next poll
        self._background_token.on_cancel(self._ollama_wakeup.set)
        self._index_lock = threading.Lock()  # one index run at a time, startup reconcile included
        self._watch_lock = threading.Lock()
        self._handshaken = False
        self._closed = False
        self._watching = False
        self.exit_code = EXIT_OK
        self._handlers: dict[str, Handler] = {
            Method.SETTINGS_GET: handle_settings_get,
            Method.SETTINGS_UPDATE: self._handle_settings_update,
            Method.FOLDERS_LIST: handle_folders_list,
            Method.FOLDERS_ADD: self._handle_folders_add,
            Method.FOLDERS_REMOVE: self._handle_folders_remove,
            Method.INDEX_RUN: self._handle_index_run,
            Method.STATUS: handle_status,
            Method.PROBLEMS: handle_problems,
            Method.SEARCH: handle_search,
            Method.ASK: handle_ask,
            Method.OLLAMA_STATUS: handle_ollama_status,
            Method.OLLAMA_PULL: self._handle_ollama_pull,
            Method.DOCTOR: handle_doctor,
        }

    # -- reading ---------------------------------------------------------------------------

    def serve(self, stream: BinaryIO) -> int:
        """Read requests until shutdown or end of input; returns the process exit code."""
        try:
            for line in iter(stream.readline, b""):
                if not self.handle_line(line):
                    break
            else:
                log.info("stdin closed (the client is gone): shutting down")
        finally:
            self.close()
        return self.exit_code

    def handle_line(self, line: bytes | str) -> bool:
        """Handle one input line; False when the service must stop reading."""
        if not line.strip():
            return True  # a blank line is harmless; say nothing
        try:
            request = decode_request(line)
        except BadMessage as exc:
            log.warning("malformed request line: %s", exc.message)
            self._writer.send(ErrorReply(exc.request_id, ErrorInfo.from_error(exc)))
            return True
        try:
            return self._dispatch(request)
        except Exception as exc:  # a bug on the reading thread must not end the engine
            log.exception("dispatching request %s (%s) failed", request.id, request.method)
            self._writer.send(
                ErrorReply(request.id, _internal_error(f"read '{request.method}'", exc))
            )
            return True

    def _dispatch(self, request: Request) -> bool:
        method = request.method
        if method not in METHODS:
            self._refuse(
                request,
                ErrorKind.UNKNOWN_METHOD,
                f"Unknown method '{method}'.",
                f"Known methods: {', '.join(sorted(METHODS))}.",
            )
            return True
        if method == Method.HANDSHAKE:
            return self._handshake(request)
        if method == Method.SHUTDOWN:
            self._reply(request, {"shutting_down": True})
            return False
        if method == Method.PING:
            self._reply(request, {"pong": True, "running": len(self._running)})
            return True
        if not self._handshaken:
            self._refuse(
                request,
                ErrorKind.HANDSHAKE_REQUIRED,
                f"'{method}' was sent before the handshake.",
                "Send 'handshake' with the protocol version first.",
            )
            return True
        if method == Method.CANCEL:
            self._cancel(request)
            return True
        assert method not in CONTROL_METHODS
        self._start_worker(request, self._handlers[method])
        return True

    def _reply(self, request: Request, result: Any) -> None:
        self._writer.send(ResultReply(request.id, result))

    def _refuse(self, request: Request, kind: str, message: str, hint: str = "") -> None:
        self._writer.send(ErrorReply(request.id, ErrorInfo(kind, message, hint)))

    # -- control methods -------------------------------------------------------------------

    def _handshake(self, request: Request) -> bool:
        client = str(request.params.get("client", "an unnamed client"))
        version = request.params.get("protocol")
        if isinstance(version, bool) or not isinstance(version, int):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                "The handshake has no integer 'protocol' version.",
                f'Send {{"protocol": {PROTOCOL_VERSION}, "client": "..."}}.',
            )
            return True
        if version != PROTOCOL_VERSION:
            self._refuse(
                request,
                ErrorKind.PROTOCOL_MISMATCH,
                f"The engine speaks protocol version {PROTOCOL_VERSION} but {client} speaks "
                f"version {version}; they cannot work together.",
                "Install the Needle app and engine from the same release.",
            )
            self.exit_code = EXIT_REFUSED
            return False
        if self._startup_error is not None or self._engine is None:
            error = self._startup_error or NeedleError(
                ErrorKind.INTERNAL, "The engine is not open."
            )
            self._writer.send(ErrorReply(request.id, ErrorInfo.from_error(error)))
            self.exit_code = EXIT_REFUSED
            return False
        log.info("handshake from %s", client)
        self._reply(
            request,
            {
                "protocol": PROTOCOL_VERSION,
                "engine_version": __version__,
                "data_dir": self._data_dir,
                "pid": os.getpid(),
            },
        )
        if not self._handshaken:
            self._handshaken = True
            if self._background_enabled:
                self._start_background()
        return True

    def _cancel(self, request: Request) -> None:
        target = request.params.get("request")
        if isinstance(target, bool) or not isinstance(target, int):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                "Bad parameters for 'cancel': 'request' must be the id to cancel.",
            )
            return
        with self._lock:
            running = self._running.get(target)
        if running is not None:
            running.token.cancel()
        # False means it already finished (or never existed): its final reply is sent or coming.
        self._reply(request, {"cancelled": running is not None})

    # -- workers ---------------------------------------------------------------------------

    def _start_worker(self, request: Request, handler: Handler) -> None:
        with self._lock:
            if request.id in self._running:
                duplicate = True
            else:
                duplicate = False
                token = CancelToken()
                thread = threading.Thread(
                    target=self._run_request,
                    args=(request, handler, token),
                    name=f"request-{request.id}-{request.method}",
                    daemon=True,
                )
                self._running[request.id] = _Running(token, thread)
        if duplicate:
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                f"Request id {request.id} is already running.",
                "Use a new id for every request.",
            )
            return
        thread.start()

    def _run_request(self, request: Request, handler: Handler, token: CancelToken) -> None:
        rid = request.id

        def send_progress(progress: dict[str, Any]) -> None:
            if not token.cancelled:
                self._writer.send(ProgressReply(rid, progress))

        def send_event(event: Event | dict[str, Any]) -> None:
            if not token.cancelled:
                data = event.to_dict() if isinstance(event, Event) else event
                self._writer.send(EventReply(rid, data))

        throttle = ProgressThrottle(send_progress, self._progress_interval)
        context = RequestContext(rid, token, send_event, throttle.push)
        final: Reply
        try:
            assert self._engine is not None  # workers start only after a successful handshake
            result = handler(self._engine, request.params, context)
            final = ResultReply(rid, result)  # converted to JSON while it is written
        except NeedleError as exc:
            final = ErrorReply(rid, ErrorInfo.from_error(exc))
        except Exception as exc:
            log.exception("request %s (%s) failed", rid, request.method)
            final = ErrorReply(rid, _internal_error(f"handle '{request.method}'", exc))
        finally:
            throttle.close(flush=not token.cancelled)
        if token.cancelled:
            # Whatever the work did after the cancel, the client asked for it to stop.
            final = ErrorReply(rid, ErrorInfo(ErrorKind.CANCELLED, "Cancelled."))
        with self._lock:
            self._running.pop(rid, None)
        self._writer.send(final)
        if isinstance(final, ResultReply):
            for action in context.after_success:
                _log_failure("a follow-up notification", action)

    def _handle_index_run(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        # Waits for a running index (the startup reconcile) instead of racing it for the writer.
        while not self._index_lock.acquire(timeout=0.2):
            ctx.cancel.raise_if_cancelled()
        try:
            summary = handle_index_run(engine, params, ctx)
        finally:
            self._index_lock.release()
        # Views other than the one that asked (folder list, status bar) refresh on this.
        data = {"source": Method.INDEX_RUN, "summary": summary}
        ctx.after_success.append(lambda: self.notify(Topic.INDEX_CHANGED, data))
        return summary

    def _handle_folders_add(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        path = _text_param(Method.FOLDERS_ADD, params, "path")
        # A running watcher takes the new folder on by itself (Engine.add_folder); the lock makes
        # sure the add does not slip between the watcher reading the folders and starting.
        with self._watch_lock:
            return engine.add_folder(path)

    def _handle_folders_remove(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        path = _text_param(Method.FOLDERS_REMOVE, params, "path")
        with self._watch_lock:
            removed = engine.remove_folder(path)
        data = {"source": Method.FOLDERS_REMOVE, "folder": removed}
        ctx.after_success.append(lambda: self.notify(Topic.INDEX_CHANGED, data))
        return removed

    def _handle_settings_update(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        result = handle_settings_update(engine, params, ctx)
        if {"ollama_host", "model"} & set(params["changes"]):
            self._ollama_wakeup.set()  # the status bar should not wait 30 s to show the new model
        return result

    def _handle_ollama_pull(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        try:
            return handle_ollama_pull(engine, params, ctx)
        finally:
            self._ollama_wakeup.set()

    # -- background work -------------------------------------------------------------------

    def notify(self, topic: str, data: Any) -> None:
        if not self._closed:
            self._writer.send(Notification(topic, to_jsonable(data)))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._background.append(thread)
        thread.start()

    def _start_background(self) -> None:
        self._spawn("startup-index", self._startup_index)
        if self._ollama_poll_seconds is not None:
            self._spawn("ollama-poll", self._poll_ollama)

    def _startup_index(self) -> None:
        engine = self._engine
        assert engine is not None
        # Watch first, so nothing that changes during the reconcile is missed.
        self._start_watching()
        throttle = ProgressThrottle(lambda p: self.notify(Topic.INDEX, p), self._progress_interval)
        try:
            with self._index_lock:
                summary = engine.index(
                    progress=lambda p: throttle.push({**p.to_dict(), "source": "startup"}),
                    cancel=self._background_token,
                )
            throttle.close(flush=True)
            self.notify(Topic.INDEX_CHANGED, {"source": "startup", "summary": summary})
        except NeedleError as exc:
            throttle.close(flush=False)
            if exc.kind != ErrorKind.CANCELLED:
                self.notify(Topic.ERROR, {**exc.to_dict(), "during": "startup index"})
        except Exception as exc:
            throttle.close(flush=False)
            log.exception("startup index failed")
            info = _internal_error("bring the index up to date at startup", exc)
            self.notify(Topic.ERROR, {**info.to_dict(), "during": "startup index"})

    def _on_watched_change(self, summary: IndexSummary) -> None:
        self.notify(Topic.INDEX_CHANGED, {"source": "watcher", "summary": summary})

    def _start_watching(self) -> None:
        engine = self._engine
        if engine is None or self._closed:
            return
        with self._watch_lock:
            try:
                engine.start_watching(self._on_watched_change)
                self._watching = True
            except NeedleError as exc:
                self.notify(Topic.ERROR, {**exc.to_dict(), "during": "watching folders"})
            except Exception as exc:
                log.exception("starting the watcher failed")
                info = _internal_error("watch the folders", exc)
                self.notify(Topic.ERROR, {**info.to_dict(), "during": "watching folders"})

    def _poll_ollama(self) -> None:
        """Notify `ollama` with the first state and whenever it changes."""
        engine = self._engine
        assert engine is not None and self._ollama_poll_seconds is not None
        previous: Any = None
        while not self._background_token.cancelled:
            self._ollama_wakeup.clear()
            try:
                state = ollama_state(engine)
            except NeedleError as exc:
                state = {"error": exc.to_dict()}
            except Exception as exc:
                log.exception("probing Ollama failed")
                state = {"error": _internal_error("probe Ollama", exc).to_dict()}
            if state != previous:
                self.notify(Topic.OLLAMA, state if isinstance(state, dict) else {"state": state})
                previous = state
            self._ollama_wakeup.wait(self._ollama_poll_seconds)

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop watching, cancel running work, give it a moment, close the engine. Idempotent."""
        if self._closed:
            return
        self._closed = True
        engine = self._engine
        self._background_token.cancel()
        with self._lock:
            running = list(self._running.values())
        with self._watch_lock:
            watching, self._watching = self._watching, False
        for item in running:
            item.token.cancel()
        if engine is not None and watching:
            _log_failure("stopping the watcher", engine.stop_watching)
        deadline = time.monotonic() + self._shutdown_grace
        for thread in [r.thread for r in running] + self._background:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop within the grace period", thread.name)
        if engine is not None:
            _log_failure("closing the engine", engine.close)


def _log_failure(doing: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:
        log.exception("%s failed", doing)


# ----------------------------------------------------------------------------------------------
# Process entry


def _protect_stdout() -> BinaryIO:
    """Return a private stream onto the real stdout, and point fd 1 and sys.stdout at stderr,
    so a stray print() in any library (or a child process) can never corrupt the protocol."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


def _setup_logging(log_dir: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir:
        try:
            os.makedirs(log_dir, exist_ok=True)
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    os.path.join(log_dir, "engine.log"),
                    maxBytes=2_000_000,
                    backupCount=3,
                    encoding="utf-8",
                )
            )
        except OSError as exc:
            print(f"needle serve: cannot write the log file: {exc}", file=sys.stderr)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
        handlers=handlers,
        force=True,
    )


def run_stdio(
    open_engine: Callable[[], ServedEngine],
    *,
    data_dir: str,
    output: BinaryOutput | None = None,
    **service_options: Any,
) -> int:
    """Serve the protocol on this process's stdin/stdout. `open_engine` errors (another engine
    holds the writer lock, say) are reported in reply to the handshake, then the process ends.
    `output` is the protocol stream when the caller already protected stdout."""
    if output is None:
        output = _protect_stdout()
    engine: ServedEngine | None = None
    startup_error: NeedleError | None = None
    try:
        engine = open_engine()
    except NeedleError as exc:
        log.error("the engine could not open: %s", exc)
        startup_error = exc
    except Exception as exc:
        log.exception("the engine could not open")
        startup_error = _internal_error("open its data", exc).to_error()
    service = Service(
        engine, output, data_dir=data_dir, startup_error=startup_error, **service_options
    )
    _stop_on_terminate()
    try:
        return service.serve(sys.stdin.buffer)
    except (KeyboardInterrupt, SystemExit):
        # serve() closed the engine on the way out; being told to stop is not a failure.
        log.info("stopped by a signal; the engine was closed")
        return EXIT_OK


def _stop_on_terminate() -> None:
    """SIGTERM (the client's "terminate", a logout) ends the reading loop like SIGINT does, so
    the engine still stops watching, cancels work and closes its index before it exits."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(EXIT_OK)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """`needle serve [--data-dir D]` / `python -m engine serve`."""
    parser = argparse.ArgumentParser(prog="needle serve", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the index, settings and cache here")
    args = parser.parse_args(argv)
    output = _protect_stdout()  # before the heavy imports, in case one of them prints

    from engine.api import Engine
    from engine.paths import resolve_paths

    paths = resolve_paths(args.data_dir)
    _setup_logging(str(paths.logs))
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID` prints every thread's stack: why is it stuck?
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    log.info("needle serve %s starting, data in %s", __version__, paths.data)

    def open_engine() -> ServedEngine:
        return Engine.open(args.data_dir, writer=True)

    code = run_stdio(open_engine, data_dir=str(paths.data), output=output)
    log.info("needle serve exits with %d", code)
    logging.shutdown()
    sys.stderr.flush()
    # Non-daemon threads of libraries (observers, pools) must not keep a finished engine alive.
    os._exit(code)
